/*
 * The parts of a PE file that the Authenticode image hash covers, found
 * from the raw file (Microsoft PE Format specification; Windows Authenticode
 * Portable Executable Signature Format, "Calculating the PE Image Hash").
 *
 * The certificate table's data directory entry (IMAGE_DIRECTORY_ENTRY_SECURITY)
 * holds a file offset, not an RVA: the table is not mapped into memory.
 * Offsets and sizes are checked in 64-bit arithmetic so that no sum wraps.
 */
#include "ci/cip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CIP_PE32_MAGIC 0x10b
#define CIP_PE32PLUS_MAGIC 0x20b
#define CIP_DIRECTORY_SECURITY 4
#define CIP_SECTION_HEADER_SIZE 40

static uint16_t Cipu16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t Cipu32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool CipFail(char *Why, size_t WhyLen, const char *Text)
{
    if (Why && WhyLen)
        snprintf(Why, WhyLen, "%s", Text);
    return false;
}

static int CipCompareRange(const void *A, const void *B)
{
    const CIP_RANGE *a = A, *b = B;
    return a->Offset < b->Offset ? -1 : a->Offset > b->Offset;
}

bool CipParseLayout(const uint8_t *File, size_t Size, CIP_PE_LAYOUT *Layout, char *Why,
                    size_t WhyLen)
{
    memset(Layout, 0, sizeof(*Layout));
    if (Size < 64 || File[0] != 'M' || File[1] != 'Z')
        return CipFail(Why, WhyLen, "the file is not a PE image (no MZ header)");
    uint64_t nt = Cipu32(File + 0x3c);
    if (nt + 24 > Size || memcmp(File + nt, "PE\0\0", 4) != 0)
        return CipFail(Why, WhyLen, "the file is not a PE image (no PE signature)");
    uint64_t sections = Cipu16(File + nt + 6);
    uint64_t optSize = Cipu16(File + nt + 20);
    uint64_t opt = nt + 24;
    if (opt + optSize > Size || optSize < 2)
        return CipFail(Why, WhyLen, "the optional header lies beyond the end of the file");
    uint16_t magic = Cipu16(File + opt);
    uint64_t dirs, countField;
    if (magic == CIP_PE32PLUS_MAGIC) {
        dirs = 112;
        countField = 108;
    } else if (magic == CIP_PE32_MAGIC) {
        dirs = 96;
        countField = 92;
    } else {
        return CipFail(Why, WhyLen, "the optional header has an unknown magic");
    }
    if (optSize < dirs)
        return CipFail(Why, WhyLen, "the optional header is too short");
    uint64_t dirCount = Cipu32(File + opt + countField);
    if (dirCount > (optSize - dirs) / 8)
        return CipFail(Why, WhyLen, "NumberOfRvaAndSizes exceeds the optional header");
    Layout->CheckSumOffset = opt + 64;
    uint64_t headers = Cipu32(File + opt + 60);
    uint64_t table = opt + optSize;
    uint64_t tableEnd = table + sections * CIP_SECTION_HEADER_SIZE;
    if (sections > CIP_MAX_SECTIONS)
        return CipFail(Why, WhyLen, "the image has more sections than Windows accepts");
    /* The section table must be covered by the hash, or it could be changed
       to point the sections elsewhere without breaking the signature. */
    if (headers > Size || headers < tableEnd)
        return CipFail(Why, WhyLen,
                       "SizeOfHeaders does not cover the section table or exceeds the file");
    Layout->SizeOfHeaders = headers;

    if (dirCount > CIP_DIRECTORY_SECURITY) {
        uint64_t entry = opt + dirs + CIP_DIRECTORY_SECURITY * 8;
        Layout->SecurityEntryOffset = entry;
        uint64_t certOffset = Cipu32(File + entry);
        uint64_t certSize = Cipu32(File + entry + 4);
        if (certSize != 0) {
            if (certOffset + certSize > Size)
                return CipFail(Why, WhyLen,
                               "the certificate table lies beyond the end of the file");
            if (certOffset + certSize != Size)
                return CipFail(Why, WhyLen,
                               "data follows the certificate table, outside the signed hash");
            if (certOffset < headers)
                return CipFail(Why, WhyLen, "the certificate table overlaps the headers");
            Layout->CertOffset = certOffset;
            Layout->CertSize = certSize;
        }
    }

    for (uint64_t i = 0; i < sections; i++) {
        const uint8_t *s = File + table + i * CIP_SECTION_HEADER_SIZE;
        uint64_t rawSize = Cipu32(s + 16);
        uint64_t rawOffset = Cipu32(s + 20);
        if (rawSize == 0)
            continue;
        if (rawOffset + rawSize > Size)
            return CipFail(Why, WhyLen, "a section's raw data lies beyond the end of the file");
        if (Layout->CertSize && rawOffset + rawSize > Layout->CertOffset)
            return CipFail(Why, WhyLen, "a section overlaps the certificate table");
        Layout->Sections[Layout->SectionCount].Offset = rawOffset;
        Layout->Sections[Layout->SectionCount].Length = rawSize;
        Layout->SectionCount++;
    }
    qsort(Layout->Sections, Layout->SectionCount, sizeof(CIP_RANGE), CipCompareRange);
    return true;
}
