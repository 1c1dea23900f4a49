/*
 * The driver signing policy of 64-bit Windows, read from kmhost's boot
 * settings (kmhost bcdedit) and the trusted roots of the kmhost home:
 *   - by default a driver loads only with a valid Authenticode signature
 *     that chains to a trusted root;
 *   - TESTSIGNING Yes: a valid signature from any certificate is enough,
 *     and the host says it runs in test mode, as Windows draws "Test Mode"
 *     on the desktop;
 *   - NOINTEGRITYCHECKS Yes: nothing is checked, and every run says so.
 * A boolean boot setting is "Yes" when set to Yes/On/True/1 (any case).
 */
#include "ci/cip.h"
#include "cm/cm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Windows refuses driver files above this size; so do we, before reading. */
#define CIP_MAX_DRIVER_FILE (512u << 20)

/* Why the boot settings could not be read (a store error, not a setting
   that is absent), for the refusal message; "" when they could. Unreadable
   settings leave the secure default: signatures are enforced. */
static char CipSettingsError[600];

static bool CipSettingOn(const char *Name)
{
    char value[32];
    NTSTATUS s = CmGetBootSetting(Name, value, sizeof(value));
    if (s == STATUS_REGISTRY_IO_FAILED || s == STATUS_DISK_FULL)
        snprintf(CipSettingsError, sizeof(CipSettingsError), "%s",
                 *CmLastError() ? CmLastError() : "registry store error");
    if (!NT_SUCCESS(s))
        return false;
    return !strcasecmp(value, "yes") || !strcasecmp(value, "on") || !strcasecmp(value, "true") ||
           !strcmp(value, "1");
}

bool CiGetTrustedDir(char *Buf, size_t Len)
{
    const char *home = CmGetHome();
    if (!home || !*home)
        return false;
    int n = snprintf(Buf, Len, "%s/%s", home, CI_TRUSTED_DIR);
    return n > 0 && (size_t)n < Len;
}

static NTSTATUS CipReadFile(const char *Path, uint8_t **Data, size_t *Size, char *Why,
                            size_t WhyLen)
{
    FILE *f = fopen(Path, "rb");
    struct stat st;
    *Data = NULL;
    if (!f) {
        snprintf(Why, WhyLen, "cannot open %s: %s", Path, strerror(errno));
        return errno == ENOENT ? STATUS_OBJECT_NAME_NOT_FOUND : STATUS_ACCESS_DENIED;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > CIP_MAX_DRIVER_FILE) {
        snprintf(Why, WhyLen, "%s is not a regular file of at most %u MiB", Path,
                 CIP_MAX_DRIVER_FILE >> 20);
        fclose(f);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    *Size = (size_t)st.st_size;
    *Data = malloc(*Size ? *Size : 1);
    if (!*Data || fread(*Data, 1, *Size, f) != *Size) {
        snprintf(Why, WhyLen, "cannot read %s", Path);
        free(*Data);
        *Data = NULL;
        fclose(f);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    fclose(f);
    return STATUS_SUCCESS;
}

NTSTATUS CiCheckDriverImage(const char *Path, char *Why, size_t WhyLen, bool *TestMode)
{
    CipSettingsError[0] = 0;
    bool testSigning = CipSettingOn(CI_SETTING_TESTSIGNING);
    if (TestMode)
        *TestMode = testSigning;
    if (Why && WhyLen)
        Why[0] = 0;
    if (testSigning)
        fprintf(stderr, "kmhost: test mode (TESTSIGNING ON)\n");
    if (CipSettingOn(CI_SETTING_NOINTEGRITYCHECKS)) {
        fprintf(stderr,
                "kmhost: WARNING: driver signature enforcement is disabled "
                "(NOINTEGRITYCHECKS ON); %s is loaded without checking its signature. "
                "For development only: kmhost bcdedit -set NOINTEGRITYCHECKS OFF\n",
                Path);
        return STATUS_SUCCESS;
    }

    uint8_t *file;
    size_t size;
    NTSTATUS status = CipReadFile(Path, &file, &size, Why, WhyLen);
    if (!NT_SUCCESS(status))
        return status;
    char trusted[4096];
    CI_POLICY policy = {.TestSigning = testSigning,
                        .TrustedDir = CiGetTrustedDir(trusted, sizeof(trusted)) ? trusted : NULL};
    CI_RESULT result;
    status = CiVerifyImage(file, size, &policy, &result, Why, WhyLen);
    free(file);
    if (!NT_SUCCESS(status) && CipSettingsError[0] && Why && WhyLen) {
        size_t used = strlen(Why);
        snprintf(Why + used, WhyLen - used,
                 " (The boot settings could not be read, so signatures are enforced: %s.)",
                 CipSettingsError);
    }
    return status;
}
