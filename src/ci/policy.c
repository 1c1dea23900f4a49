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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Opens Path for the check: a regular file of at most CIP_MAX_DRIVER_FILE
   bytes. The descriptor, or -1 with the status in *Status. */
static int CipOpenImage(const char *Path, struct stat *St, NTSTATUS *Status, char *Why,
                        size_t WhyLen)
{
    int fd = open(Path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(Why, WhyLen, "cannot open %s: %s", Path, strerror(errno));
        *Status = errno == ENOENT ? STATUS_OBJECT_NAME_NOT_FOUND : STATUS_ACCESS_DENIED;
        return -1;
    }
    if (fstat(fd, St) != 0 || !S_ISREG(St->st_mode) ||
        (uint64_t)St->st_size > CIP_MAX_DRIVER_FILE) {
        snprintf(Why, WhyLen, "%s is not a regular file of at most %u MiB", Path,
                 CIP_MAX_DRIVER_FILE >> 20);
        close(fd);
        *Status = STATUS_INVALID_IMAGE_FORMAT;
        return -1;
    }
    return fd;
}

static NTSTATUS CipReadImage(int Fd, const char *Path, size_t Size, uint8_t **Data, char *Why,
                             size_t WhyLen)
{
    *Data = malloc(Size ? Size : 1);
    size_t done = 0;
    while (*Data && done < Size) {
        ssize_t n = read(Fd, *Data + done, Size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    if (!*Data || done != Size) {
        snprintf(Why, WhyLen, "cannot read %s", Path);
        free(*Data);
        *Data = NULL;
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    return STATUS_SUCCESS;
}

bool CiImageInCache(const char *Path)
{
    char trusted[4096];
    struct stat st;
    bool settled, chainTrusted;
    return stat(Path, &st) == 0 &&
           CipCacheLookup(&st,
                          CipRootsFingerprint(
                              CiGetTrustedDir(trusted, sizeof(trusted)) ? trusted : NULL, &settled),
                          &chainTrusted);
}

static _Atomic unsigned CipVerifiedCount, CipCachedCount;

void CiCheckCounts(unsigned *Verified, unsigned *Cached)
{
    *Verified = CipVerifiedCount;
    *Cached = CipCachedCount;
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

    struct stat st;
    NTSTATUS status;
    int fd = CipOpenImage(Path, &st, &status, Why, WhyLen);
    if (fd < 0)
        return status;
    char trusted[4096];
    CI_POLICY policy = {.TestSigning = testSigning,
                        .TrustedDir = CiGetTrustedDir(trusted, sizeof(trusted)) ? trusted : NULL};
    bool rootsSettled, chainTrusted;
    uint64_t roots = CipRootsFingerprint(policy.TrustedDir, &rootsSettled);
    if (CipCacheLookup(&st, roots, &chainTrusted) && (chainTrusted || testSigning)) {
        close(fd);
        CipCachedCount++;
        return STATUS_SUCCESS;
    }
    uint8_t *file;
    status = CipReadImage(fd, Path, (size_t)st.st_size, &file, Why, WhyLen);
    close(fd);
    if (!NT_SUCCESS(status))
        return status;
    CI_RESULT result = {0};
    status = CiVerifyImage(file, (size_t)st.st_size, &policy, &result, Why, WhyLen);
    free(file);
    if (result.SignatureValid && result.CodeSigning)
        CipCacheStore(&st, roots, rootsSettled, result.ChainTrusted);
    if (NT_SUCCESS(status))
        CipVerifiedCount++;
    if (!NT_SUCCESS(status) && CipSettingsError[0] && Why && WhyLen) {
        size_t used = strlen(Why);
        snprintf(Why + used, WhyLen - used,
                 " (The boot settings could not be read, so signatures are enforced: %s.)",
                 CipSettingsError);
    }
    return status;
}
