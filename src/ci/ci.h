/*
 * Code integrity: the Authenticode signature embedded in a driver file and
 * the policy that decides whether the driver may load, as on 64-bit Windows.
 *
 * The verifier (authenticode.c) is pure: it reads a byte buffer, never the
 * loader's structures, so a unit test or a fuzzer can feed it any bytes. The
 * policy (policy.c) reads the boot settings TESTSIGNING and NOINTEGRITYCHECKS
 * from the store and the trusted roots from KMHOST_HOME/trusted.
 *
 * Every refusal is STATUS_INVALID_IMAGE_HASH, as Windows' code integrity
 * reports it, with a message that says what was wrong and how to sign the
 * driver or change the policy.
 */
#ifndef KM_CI_CI_H
#define KM_CI_CI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "km.h"

/* The boot settings the policy reads (bcdedit element names, lower case). */
#define CI_SETTING_TESTSIGNING "testsigning"
#define CI_SETTING_NOINTEGRITYCHECKS "nointegritychecks"

/* The folder under the kmhost home that holds the trusted roots. */
#define CI_TRUSTED_DIR "trusted"

typedef struct CI_POLICY {
    /* TESTSIGNING ON: a valid signature from any certificate is enough; the
       chain need not reach a trusted root. */
    bool TestSigning;
    /* Folder of trusted root certificates (*.pem, *.crt, *.cer; PEM or
       DER). NULL or a missing folder: no root is trusted. */
    const char *TrustedDir;
} CI_POLICY;

typedef struct CI_RESULT {
    bool Signed;         /* a PKCS#7 signature is present and parses */
    bool HashMatches;    /* the Authenticode image hash equals the signed one */
    bool SignatureValid; /* the signer's signature over the content verifies */
    bool ChainTrusted;   /* the signer chains to a trusted root */
    /* The hash matched, the signature verified, the certificate is for code
       signing, and the chain was checked against the roots of: */
    bool RootsChecked;
    uint8_t RootsFingerprint[32]; /* SHA-256 of the root files' names and contents */
    char Subject[256];            /* signer certificate, "CN=...,O=..." */
    char Issuer[256];
    char DigestAlgorithm[16]; /* "SHA256", "SHA1", ... */
} CI_RESULT;

/* Verifies the Authenticode signature embedded in File (a PE image as read
   from disk) under Policy. STATUS_SUCCESS when the driver may load;
   otherwise STATUS_INVALID_IMAGE_HASH (or STATUS_INVALID_PARAMETER for NULL
   arguments) with the reason and the remedy in Why. Result is filled as far
   as the verification got. Never reads outside File[0..Size). */
NTSTATUS CiVerifyImage(const uint8_t *File, size_t Size, const CI_POLICY *Policy, CI_RESULT *Result,
                       char *Why, size_t WhyLen);

/* Does the first-use work of the OpenSSL that CiVerifyImage uses (about
   1 ms of the first CiVerifyImage), so that a thread with nothing else to
   do can take it off the path to the first DriverEntry. Thread-safe;
   CiVerifyImage works without. */
void CiWarmUp(void);

/* Computes the Authenticode PE image hash of File with the OpenSSL digest
   named Algorithm ("SHA256", "SHA1"). Returns the digest length, or 0 when
   the image's headers, sections or certificate table are malformed (the
   reason in Why). */
size_t CiComputeImageHash(const uint8_t *File, size_t Size, const char *Algorithm, uint8_t *Digest,
                          size_t DigestLen, char *Why, size_t WhyLen);

/* The loader's gate, called before mapping: reads Path and applies the
   policy of the boot settings and the trusted roots of the kmhost home.
   NOINTEGRITYCHECKS Yes loads anything and prints a warning on stderr;
   TESTSIGNING Yes accepts a valid signature from any certificate, prints
   "kmhost: test mode (TESTSIGNING ON)" on stderr and sets *TestMode (may be
   NULL). STATUS_INVALID_IMAGE_HASH with the reason and remedy in Why, or
   the status of reading the file. An image checked by an earlier run is
   taken from the cache of checked images (cache.c): the same bytes against
   the same roots. On success *Image (when Image is not NULL) holds the
   bytes that were checked (under NOINTEGRITYCHECKS, read), *ImageSize of
   them, for the loader to map; the caller frees them. */
NTSTATUS CiCheckDriverImage(const char *Path, uint8_t **Image, size_t *ImageSize, char *Why,
                            size_t WhyLen, bool *TestMode);

/* Whether the image in Path is one whose signature an earlier run checked
   and found valid, against the trusted roots as they are now: its
   CiCheckDriverImage will then likely not need OpenSSL (it will when its
   signer does not chain to a trusted root and TESTSIGNING is off). A guess
   for planning the start; CiCheckDriverImage decides. */
bool CiImageInCache(const char *Path);

/* How many images CiCheckDriverImage accepted after checking their
   signature, and how many it accepted from the cache of images checked by
   earlier runs (KMHOST_HOME/ci-cache, src/ci/cache.c), for kmhost run
   --stats. */
void CiCheckCounts(unsigned *Verified, unsigned *Cached);

/* The folder of trusted roots of the kmhost home, into Buf. False when the
   home cannot be determined. */
bool CiGetTrustedDir(char *Buf, size_t Len);

#endif
