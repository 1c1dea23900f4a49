/*
 * Code integrity's private interface: the PE layout that the Authenticode
 * hash needs, found in the file independently of the loader, and the
 * refusal message every verdict shares.
 *
 * CipParseLayout proves that every range it returns lies inside the file,
 * that the headers hashed cover the section table, and that the certificate
 * table (when present) is the last thing in the file and overlaps nothing
 * that is hashed: bytes outside the hash could otherwise be changed without
 * breaking the signature.
 */
#ifndef KM_CI_CIP_H
#define KM_CI_CIP_H

#include "ci/ci.h"

#include <stdarg.h>

/* Windows refuses more sections than this (PE Format specification). */
#define CIP_MAX_SECTIONS 96

/* WIN_CERTIFICATE (WinTrust.h): the only revision and type Authenticode uses. */
#define CIP_WIN_CERT_REVISION_2_0 0x0200
#define CIP_WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002
#define CIP_WIN_CERTIFICATE_HEADER 8

typedef struct CIP_RANGE {
    size_t Offset;
    size_t Length;
} CIP_RANGE;

typedef struct CIP_PE_LAYOUT {
    size_t CheckSumOffset;      /* OptionalHeader.CheckSum, 4 bytes */
    size_t SecurityEntryOffset; /* DataDirectory[4], 8 bytes; 0 when absent */
    size_t SizeOfHeaders;
    size_t SectionCount;                  /* sections with raw data */
    CIP_RANGE Sections[CIP_MAX_SECTIONS]; /* ascending Offset */
    size_t CertOffset;                    /* certificate table: a file offset */
    size_t CertSize;                      /* 0: the image is not signed */
} CIP_PE_LAYOUT;

bool CipParseLayout(const uint8_t *File, size_t Size, CIP_PE_LAYOUT *Layout, char *Why,
                    size_t WhyLen);

/* Writes "<reason>. <how to sign or change the policy>" into Why and returns
   STATUS_INVALID_IMAGE_HASH. */
NTSTATUS CipRefuse(char *Why, size_t WhyLen, const char *Format, ...)
    __attribute__((format(printf, 3, 4)));

/* The trusted roots and the cache of checked images (cache.c). */
#define CIP_DIGEST_SIZE 32 /* SHA-256 */

/* A trusted root file: *.pem, *.crt or *.cer (any case) in the roots
   folder, read whole. */
typedef struct CIP_ROOT_FILE {
    char *Name;
    uint8_t *Data;
    size_t Size;
} CIP_ROOT_FILE;
bool CipIsRootFile(const char *Name);
/* Reads up to Size bytes of Fd (retrying interrupted reads); the count. */
size_t CipReadAll(int Fd, uint8_t *Buf, size_t Size);
/* Reads every root file of Dir (none when Dir is NULL or missing) into
   *Files, in name order, and fingerprints them (names and contents);
   returns their number. A name of a root file that is not a regular file,
   cannot be read or is larger than 8 MiB is skipped, by the chain check
   and the fingerprint alike. Free with CipFreeRoots. */
size_t CipReadRoots(const char *Dir, CIP_ROOT_FILE **Files, uint8_t Fingerprint[CIP_DIGEST_SIZE]);
void CipFreeRoots(CIP_ROOT_FILE *Files, size_t Count);
void CipRootsFingerprint(const char *Dir, uint8_t Fingerprint[CIP_DIGEST_SIZE]);

/* The SHA-256 of a whole image file, which names its cache entry. */
void CipDigestImage(const uint8_t *File, size_t Size, uint8_t Out[CIP_DIGEST_SIZE]);
/* Finds an image checked earlier (its hash matched, its signature
   verified, its certificate is for code signing) against the roots of
   fingerprint Roots, and whether its signer chained to one of them. */
bool CipCacheLookup(const uint8_t Image[CIP_DIGEST_SIZE], const uint8_t Roots[CIP_DIGEST_SIZE],
                    bool *ChainTrusted);
void CipCacheStore(const uint8_t Image[CIP_DIGEST_SIZE], const uint8_t Roots[CIP_DIGEST_SIZE],
                   bool ChainTrusted);

#endif
