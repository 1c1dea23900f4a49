/*
 * kmhost verifier: the persistent setting, in the style of verifier.exe.
 *
 *   kmhost verifier /standard /driver NAME [NAME...] | /all
 *   kmhost verifier /flags FLAGS /driver NAME [NAME...] | /all
 *   kmhost verifier /querysettings
 *   kmhost verifier /reset
 *
 * FLAGS is verifier.exe's number (bit 0 special pool, 1 force IRQL checking,
 * 3 pool tracking, 5 deadlock detection, 8 security checks, 11 miscellaneous
 * checks; other bits have no kmhost check and are refused) or a list of
 * kmhost check names. /standard is every check. The setting is kept in the
 * boot settings of the kmhost home (VerifierChecks: the names;
 * VerifierDrivers: service names, or * for all) and applies to later
 * `kmhost run`s of those drivers that give no --verifier; it takes effect at
 * the next run, as verifier.exe's takes effect at the next boot.
 */
#include "vf/vf.h"

#include "cm/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    unsigned long Bit;
    unsigned Flags;
} VfpWindowsBits[] = {
    {0x1, VF_SPECIAL_POOL},         {0x2, VF_IRQL},      {0x8, VF_LEAKS | VF_PENDING},
    {0x20, VF_DEADLOCK | VF_LOCKS}, {0x100, VF_HANDLES}, {0x800, VF_OBJECTS | VF_INIT_WAITED},
};

static bool VfpParseWindowsFlags(const char *Text, unsigned *Flags, char *Why, size_t WhyLen)
{
    char *end;
    unsigned long bits = strtoul(Text, &end, 0);
    if (*end || end == Text)
        return VfpParseOptions(Text, Flags, Why, WhyLen);
    unsigned flags = 0;
    for (size_t i = 0; i < KM_ARRAY_SIZE(VfpWindowsBits); i++) {
        if (bits & VfpWindowsBits[i].Bit) {
            flags |= VfpWindowsBits[i].Flags;
            bits &= ~VfpWindowsBits[i].Bit;
        }
    }
    if (bits) {
        snprintf(Why, WhyLen,
                 "flags 0x%lx have no kmhost check; the supported bits are 0x1 (special pool), "
                 "0x2 (IRQL), 0x8 (pool tracking), 0x20 (deadlock detection), 0x100 (security "
                 "checks: handles), 0x800 (miscellaneous checks)",
                 bits);
        return false;
    }
    *Flags = flags;
    return true;
}

static int VfpUsage(void)
{
    fprintf(stderr, "usage: kmhost verifier /standard|/flags FLAGS /driver NAME [NAME...]|/all\n"
                    "       kmhost verifier /querysettings | /reset\n");
    return 2;
}

int VfpCliVerifier(int argc, char **argv)
{
    char why[512], names[256], drivers[1024] = "";
    unsigned flags = 0;
    bool have_flags = false;

    if (argc < 2)
        return VfpUsage();
    if (!strcasecmp(argv[1], "/reset")) {
        CmSetBootSetting("VerifierChecks", NULL);
        CmSetBootSetting("VerifierDrivers", NULL);
        printf("The verifier settings are removed: kmhost run uses its default checks.\n");
        return 0;
    }
    if (!strcasecmp(argv[1], "/querysettings") || !strcasecmp(argv[1], "/query")) {
        char checks[256] = "", list[1024] = "";
        if (!NT_SUCCESS(CmGetBootSetting("VerifierChecks", checks, sizeof(checks)))) {
            VfpFormatFlags(VF_DEFAULT, names, sizeof(names));
            printf("No driver is set up for verification: kmhost run checks %s.\n", names);
            return 0;
        }
        CmGetBootSetting("VerifierDrivers", list, sizeof(list));
        printf("Checks: %s\nVerified drivers: %s\n", checks, list);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcasecmp(argv[i], "/standard")) {
            flags = VF_ALL, have_flags = true;
        } else if (!strcasecmp(argv[i], "/flags") && i + 1 < argc) {
            if (!VfpParseWindowsFlags(argv[++i], &flags, why, sizeof(why))) {
                fprintf(stderr, "kmhost verifier: %s\n", why);
                return 2;
            }
            have_flags = true;
        } else if (!strcasecmp(argv[i], "/all")) {
            snprintf(drivers, sizeof(drivers), "*");
        } else if (!strcasecmp(argv[i], "/driver")) {
            for (; i + 1 < argc && argv[i + 1][0] != '/'; i++) {
                size_t used = strlen(drivers);
                char name[256];
                snprintf(name, sizeof(name), "%s", argv[i + 1]);
                char *dot = strrchr(name, '.');
                if (dot && !strcasecmp(dot, ".sys"))
                    *dot = 0; /* verifier.exe takes image names; kmhost keys by service */
                snprintf(drivers + used, sizeof(drivers) - used, "%s%s", used ? " " : "", name);
            }
        } else {
            return VfpUsage();
        }
    }
    if (!have_flags || !drivers[0])
        return VfpUsage();
    VfpFormatFlags(flags, names, sizeof(names));
    if (!NT_SUCCESS(CmSetBootSetting("VerifierChecks", names)) ||
        !NT_SUCCESS(CmSetBootSetting("VerifierDrivers", drivers))) {
        fprintf(stderr, "kmhost verifier: cannot write the settings: %s\n", CmLastError());
        return 1;
    }
    printf("Checks %s for %s; they apply from the next kmhost run.\n", names,
           strcmp(drivers, "*") ? drivers : "every driver");
    return 0;
}

bool VfpLoadPersistentFlags(const char *Service, unsigned *Flags)
{
    char checks[256], list[1024], why[512];
    if (!NT_SUCCESS(CmGetBootSetting("VerifierChecks", checks, sizeof(checks))) ||
        !NT_SUCCESS(CmGetBootSetting("VerifierDrivers", list, sizeof(list))))
        return false;
    bool listed = !strcmp(list, "*");
    for (char *save = NULL, *tok = strtok_r(list, " ", &save); tok && !listed;
         tok = strtok_r(NULL, " ", &save))
        listed = !strcasecmp(tok, Service);
    return listed && VfpParseOptions(checks, Flags, why, sizeof(why));
}
