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

/* Reads Path whole: a regular file of at most CIP_MAX_DRIVER_FILE bytes. */
static NTSTATUS CipReadImage(const char *Path, uint8_t **Data, size_t *Size, char *Why,
                             size_t WhyLen)
{
    struct stat st;
    *Data = NULL;
    int fd = open(Path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(Why, WhyLen, "cannot open %s: %s", Path, strerror(errno));
        return errno == ENOENT ? STATUS_OBJECT_NAME_NOT_FOUND : STATUS_ACCESS_DENIED;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > CIP_MAX_DRIVER_FILE) {
        snprintf(Why, WhyLen, "%s is not a regular file of at most %u MiB", Path,
                 CIP_MAX_DRIVER_FILE >> 20);
        close(fd);
        return STATUS_INVALID_IMAGE_FORMAT;
    }
    *Size = (size_t)st.st_size;
    *Data = malloc(*Size ? *Size : 1);
    size_t done = *Data ? CipReadAll(fd, *Data, *Size) : 0;
    close(fd);
    if (!*Data || done != *Size) {
        snprintf(Why, WhyLen, "cannot read %s", Path);
        free(*Data);
        *Data = NULL;
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    return STATUS_SUCCESS;
}

/* Whether these bytes were checked before against the roots of TrustedDir
   as they are now (cache.c); Digest and Roots as the lookup used them. */
static bool CipInCache(const uint8_t *File, size_t Size, const char *TrustedDir,
                       uint8_t Digest[CIP_DIGEST_SIZE], uint8_t Roots[CIP_DIGEST_SIZE],
                       bool *ChainTrusted)
{
    CipDigestImage(File, Size, Digest);
    CipRootsFingerprint(TrustedDir, Roots);
    return CipCacheLookup(Digest, Roots, ChainTrusted);
}

bool CiImageInCache(const char *Path)
{
    char trusted[4096], why[8];
    uint8_t *file, digest[CIP_DIGEST_SIZE], roots[CIP_DIGEST_SIZE];
    size_t size;
    bool chainTrusted;
    if (!NT_SUCCESS(CipReadImage(Path, &file, &size, why, sizeof(why))))
        return false;
    bool hit = CipInCache(file, size, CiGetTrustedDir(trusted, sizeof(trusted)) ? trusted : NULL,
                          digest, roots, &chainTrusted);
    free(file);
    return hit;
}

static _Atomic unsigned CipVerifiedCount, CipCachedCount;

void CiCheckCounts(unsigned *Verified, unsigned *Cached)
{
    *Verified = CipVerifiedCount;
    *Cached = CipCachedCount;
}

NTSTATUS CiCheckDriverImage(const char *Path, uint8_t **Image, size_t *ImageSize, char *Why,
                            size_t WhyLen, bool *TestMode)
{
    if (Image)
        *Image = NULL;
    CipSettingsError[0] = 0;
    bool testSigning = CipSettingOn(CI_SETTING_TESTSIGNING);
    if (TestMode)
        *TestMode = testSigning;
    if (Why && WhyLen)
        Why[0] = 0;
    if (testSigning)
        fprintf(stderr, "kmhost: test mode (TESTSIGNING ON)\n");
    uint8_t *file, digest[CIP_DIGEST_SIZE], roots[CIP_DIGEST_SIZE];
    size_t size;
    NTSTATUS status = CipReadImage(Path, &file, &size, Why, WhyLen);
    if (!NT_SUCCESS(status))
        return status;
    if (CipSettingOn(CI_SETTING_NOINTEGRITYCHECKS)) {
        fprintf(stderr,
                "kmhost: WARNING: driver signature enforcement is disabled "
                "(NOINTEGRITYCHECKS ON); %s is loaded without checking its signature. "
                "For development only: kmhost bcdedit -set NOINTEGRITYCHECKS OFF\n",
                Path);
        goto out;
    }
    char trusted[4096];
    CI_POLICY policy = {.TestSigning = testSigning,
                        .TrustedDir = CiGetTrustedDir(trusted, sizeof(trusted)) ? trusted : NULL};
    bool chainTrusted;
    if (CipInCache(file, size, policy.TrustedDir, digest, roots, &chainTrusted) &&
        (chainTrusted || testSigning)) {
        CipCachedCount++;
    } else {
        CI_RESULT result = {0};
        status = CiVerifyImage(file, size, &policy, &result, Why, WhyLen);
        if (result.RootsChecked) /* hash, signature and code-signing usage good */
            CipCacheStore(digest, result.RootsFingerprint, result.ChainTrusted);
        if (NT_SUCCESS(status))
            CipVerifiedCount++;
    }
out:
    if (NT_SUCCESS(status) && Image) {
        *Image = file; /* the loader maps these very bytes */
        *ImageSize = size;
    } else {
        free(file);
    }
    if (!NT_SUCCESS(status) && CipSettingsError[0] && Why && WhyLen) {
        size_t used = strlen(Why);
        snprintf(Why + used, WhyLen - used,
                 " (The boot settings could not be read, so signatures are enforced: %s.)",
                 CipSettingsError);
    }
    return status;
}
