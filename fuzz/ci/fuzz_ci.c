/*
 * libFuzzer harness for the Authenticode verifier: CiVerifyImage and
 * CiComputeImageHash over any bytes. Both promise never to read outside
 * File[0..Size) and to answer a malformed file with a status, never a crash.
 * Seeds: the signed .sys files of a build (scripts/fuzz.sh).
 */
#include "ci/ci.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size);

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size)
{
    /* An exact-size copy, so that ASan sees a read one byte past the end. */
    uint8_t *file = malloc(Size ? Size : 1);
    if (!file)
        return 0;
    memcpy(file, Data, Size);
    CI_POLICY policy = {.TestSigning = true, .TrustedDir = NULL};
    CI_RESULT result;
    char why[512];
    NTSTATUS st = CiVerifyImage(file, Size, &policy, &result, why, sizeof(why));
    if (st != STATUS_SUCCESS && st != STATUS_INVALID_IMAGE_HASH)
        abort(); /* the only statuses it documents for non-NULL arguments */
    if (memchr(why, 0, sizeof(why)) == NULL)
        abort(); /* the reason is always terminated */
    uint8_t digest[64];
    size_t n = CiComputeImageHash(file, Size, "SHA256", digest, sizeof(digest), why, sizeof(why));
    if (n != 0 && n != 32)
        abort();
    free(file);
    return 0;
}
