/*
 * The Authenticode PE image hash (Windows Authenticode Portable Executable
 * Signature Format, "Calculating the PE Image Hash"):
 *   1. the headers up to SizeOfHeaders, except OptionalHeader.CheckSum and
 *      the certificate table's data directory entry, which signing rewrites;
 *   2. the raw data of every section with SizeOfRawData != 0, in ascending
 *      PointerToRawData order; SUM_OF_BYTES_HASHED counts 1 and 2;
 *   3. when the file is longer than SUM_OF_BYTES_HASHED, the
 *      FILE_SIZE - (CertificateTable.Size + SUM_OF_BYTES_HASHED) bytes that
 *      start at offset SUM_OF_BYTES_HASHED: the data after the last section
 *      (debug symbols, the padding signing adds), up to the certificate table.
 * The certificate table itself is never hashed: it holds the signature.
 */
#include "ci/cip.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

static bool CipHashRange(EVP_MD_CTX *Ctx, const uint8_t *File, size_t From, size_t To)
{
    return To <= From || EVP_DigestUpdate(Ctx, File + From, To - From) == 1;
}

size_t CiComputeImageHash(const uint8_t *File, size_t Size, const char *Algorithm, uint8_t *Digest,
                          size_t DigestLen, char *Why, size_t WhyLen)
{
    CIP_PE_LAYOUT *layout = malloc(sizeof(*layout));
    const EVP_MD *md = EVP_get_digestbyname(Algorithm);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t result = 0;
    if (!layout || !ctx) {
        snprintf(Why, WhyLen, "out of memory");
        goto out;
    }
    if (!md || (size_t)EVP_MD_get_size(md) > DigestLen) {
        snprintf(Why, WhyLen, "the digest algorithm %s is not supported", Algorithm);
        goto out;
    }
    if (!CipParseLayout(File, Size, layout, Why, WhyLen))
        goto out;

    bool ok = EVP_DigestInit_ex(ctx, md, NULL) == 1;
    size_t checksumEnd = layout->CheckSumOffset + 4;
    if (layout->SecurityEntryOffset) {
        size_t entryEnd = layout->SecurityEntryOffset + 8;
        ok = ok && CipHashRange(ctx, File, 0, layout->CheckSumOffset) &&
             CipHashRange(ctx, File, checksumEnd, layout->SecurityEntryOffset) &&
             CipHashRange(ctx, File, entryEnd, layout->SizeOfHeaders);
    } else {
        ok = ok && CipHashRange(ctx, File, 0, layout->CheckSumOffset) &&
             CipHashRange(ctx, File, checksumEnd, layout->SizeOfHeaders);
    }
    uint64_t hashed = layout->SizeOfHeaders;
    for (size_t i = 0; ok && i < layout->SectionCount; i++) {
        const CIP_RANGE *s = &layout->Sections[i];
        ok = CipHashRange(ctx, File, s->Offset, s->Offset + s->Length);
        hashed += s->Length;
    }
    if (ok && Size > hashed + layout->CertSize)
        ok = CipHashRange(ctx, File, hashed, Size - layout->CertSize);
    unsigned int len = 0;
    if (ok && EVP_DigestFinal_ex(ctx, Digest, &len) == 1)
        result = len;
    else
        snprintf(Why, WhyLen, "the image hash could not be computed");
out:
    EVP_MD_CTX_free(ctx);
    free(layout);
    return result;
}
