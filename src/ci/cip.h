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

/* The cache of verified images (cache.c). CipRootsFingerprint stands for
   the trusted roots folder as it is now; *Settled is false when a root
   changed too recently to be told apart from a later change. A lookup
   finds an image checked earlier (the hash matched, the signature verified,
   the certificate is for code signing) that has not changed since, and
   whether its signer chained to a trusted root. */
struct stat;
uint64_t CipRootsFingerprint(const char *TrustedDir, bool *Settled);
bool CipCacheLookup(const struct stat *St, uint64_t Roots, bool *ChainTrusted);
void CipCacheStore(const struct stat *St, uint64_t Roots, bool RootsSettled, bool ChainTrusted);

#endif
