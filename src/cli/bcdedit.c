/*
 * kmhost bcdedit: the boot settings that code integrity reads, with the
 * syntax and the messages of Windows' bcdedit.exe:
 *   bcdedit [/enum [ACTIVE|ALL|{current}]] [/v]
 *   bcdedit /set [{current}] testsigning|nointegritychecks on|off
 *   bcdedit /deletevalue [{current}] testsigning|nointegritychecks
 * Switches start with '/' or '-'; switches, element names and values are
 * case-insensitive. kmhost has one boot entry, {current} (alias {default}).
 * /enum lists the elements that are set, as bcdedit lists only present ones.
 * Settings persist in the store (CmSetBootSetting), stored as "Yes"/"No".
 */
#include "ci/ci.h"
#include "cli/cli.h"
#include "cm/cm.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const BcdpElements[] = {CI_SETTING_TESTSIGNING, CI_SETTING_NOINTEGRITYCHECKS};

static const char BcdpHelpHint[] = "Run \"bcdedit /?\" for command line assistance.\n";

static int BcdpUsageError(const char *Message)
{
    fprintf(stderr, "%s\n%s", Message, BcdpHelpHint);
    return KM_EXIT_USAGE;
}

static bool BcdpIsSwitch(const char *Arg, const char *Name)
{
    return (Arg[0] == '/' || Arg[0] == '-') && strcasecmp(Arg + 1, Name) == 0;
}

static const char *BcdpElement(const char *Name)
{
    for (size_t i = 0; i < KM_ARRAY_SIZE(BcdpElements); i++)
        if (strcasecmp(Name, BcdpElements[i]) == 0)
            return BcdpElements[i];
    return NULL;
}

/* bcdedit's boolean forms. Returns -1 when Text is none of them. */
static int BcdpBoolean(const char *Text)
{
    static const char *const yes[] = {"on", "yes", "true", "1"};
    static const char *const no[] = {"off", "no", "false", "0"};
    for (size_t i = 0; i < KM_ARRAY_SIZE(yes); i++) {
        if (strcasecmp(Text, yes[i]) == 0)
            return 1;
        if (strcasecmp(Text, no[i]) == 0)
            return 0;
    }
    return -1;
}

static bool BcdpIsIdentifier(const char *Arg)
{
    return Arg[0] == '{';
}

static bool BcdpKnownIdentifier(const char *Arg)
{
    return strcasecmp(Arg, "{current}") == 0 || strcasecmp(Arg, "{default}") == 0;
}

static void BcdpHelp(void)
{
    printf("BCDEDIT - Boot Configuration Data Store Editor (kmhost)\n\n"
           "  bcdedit [/enum]                        lists the boot settings\n"
           "  bcdedit /set [{current}] ELEMENT on|off sets an element\n"
           "  bcdedit /deletevalue [{current}] ELEMENT\n\n"
           "Elements:\n"
           "  testsigning        load drivers signed by any certificate (test mode)\n"
           "  nointegritychecks  load drivers without checking signatures\n"
           "                     (development only; every run warns)\n\n"
           "Trusted roots live in the kmhost home's trusted/ folder; add one with\n"
           "  kmhost certutil -addstore root ROOT.pem\n");
}

static int BcdpStoreError(const char *What, NTSTATUS Status)
{
    fprintf(stderr, "An error occurred while attempting to %s.\n%s (0x%08X)\n", What,
            *CmLastError() ? CmLastError()
                           : "The boot configuration data store could not be "
                             "opened.",
            (unsigned)Status);
    return KM_EXIT_LOAD_FAILED;
}

static int BcdpEnum(void)
{
    char value[32];
    printf("\nWindows Boot Loader\n-------------------\n");
    printf("%-24s%s\n", "identifier", "{current}");
    printf("%-24s%s\n", "description", "kmhost");
    for (size_t i = 0; i < KM_ARRAY_SIZE(BcdpElements); i++) {
        NTSTATUS status = CmGetBootSetting(BcdpElements[i], value, sizeof(value));
        if (status == STATUS_OBJECT_NAME_NOT_FOUND)
            continue;
        if (!NT_SUCCESS(status))
            return BcdpStoreError("enumerate the boot settings", status);
        printf("%-24s%s\n", BcdpElements[i], BcdpBoolean(value) == 1 ? "Yes" : "No");
    }
    return KM_EXIT_OK;
}

/* Args: [{id}] ELEMENT [VALUE]; Set selects /set (VALUE required) or
   /deletevalue (no VALUE). */
static int BcdpSetOrDelete(int argc, char **argv, bool Set)
{
    const char *invalid = Set ? "The set command specified is not valid."
                              : "The delete value command specified is not valid.";
    int i = 0;
    if (i < argc && BcdpIsIdentifier(argv[i])) {
        if (!BcdpKnownIdentifier(argv[i]))
            return BcdpUsageError("The specified entry identifier is not valid: kmhost has "
                                  "one boot entry, {current}.");
        i++;
    }
    if (argc - i != (Set ? 2 : 1))
        return BcdpUsageError(invalid);
    const char *element = BcdpElement(argv[i]);
    if (!element)
        return BcdpUsageError(invalid);
    NTSTATUS status;
    if (Set) {
        int on = BcdpBoolean(argv[i + 1]);
        if (on < 0)
            return BcdpUsageError("The boolean value specified is not valid: use on or off.");
        status = CmSetBootSetting(element, on ? "Yes" : "No");
        if (!NT_SUCCESS(status))
            return BcdpStoreError("set the element data", status);
    } else {
        char value[32];
        status = CmGetBootSetting(element, value, sizeof(value));
        if (status == STATUS_OBJECT_NAME_NOT_FOUND) {
            fprintf(stderr, "An error occurred while attempting to delete the specified data "
                            "element.\nElement not found.\n");
            return KM_EXIT_LOAD_FAILED;
        }
        status = CmSetBootSetting(element, NULL);
        if (!NT_SUCCESS(status))
            return BcdpStoreError("delete the specified data element", status);
    }
    printf("The operation completed successfully.\n");
    return KM_EXIT_OK;
}

int KmCliBcdedit(int argc, char **argv)
{
    argc--;
    argv++;
    if (argc == 0)
        return BcdpEnum();
    if (BcdpIsSwitch(argv[0], "?") || BcdpIsSwitch(argv[0], "help")) {
        BcdpHelp();
        return KM_EXIT_OK;
    }
    if (BcdpIsSwitch(argv[0], "enum")) {
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            if (!BcdpIsSwitch(a, "v") && strcasecmp(a, "active") && strcasecmp(a, "all") &&
                !BcdpKnownIdentifier(a))
                return BcdpUsageError("The parameter is incorrect.");
        }
        return BcdpEnum();
    }
    if (BcdpIsSwitch(argv[0], "v") && argc == 1)
        return BcdpEnum();
    if (BcdpIsSwitch(argv[0], "set"))
        return BcdpSetOrDelete(argc - 1, argv + 1, true);
    if (BcdpIsSwitch(argv[0], "deletevalue"))
        return BcdpSetOrDelete(argc - 1, argv + 1, false);
    return BcdpUsageError("The parameter is incorrect.");
}
