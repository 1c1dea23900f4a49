/*
 * Character sets and case mapping: the ANSI code page (Windows-1252) and the
 * simple upcase/downcase of RtlUpcaseUnicodeChar and friends.
 *
 * Windows-1252 maps 0x00-0x7F and 0xA0-0xFF to the same code points; 0x80-0x9F
 * hold typographic characters, and its five undefined bytes map to U+0081,
 * U+008D, U+008F, U+0090, U+009D as Windows' best-fit tables do. Case mapping
 * covers the scripts a driver's identifiers and device names use; other
 * characters map to themselves.
 */
#include "rtl.h"

static const WCHAR RtlpCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

WCHAR RtlpAnsiCharToUnicode(UCHAR Ch)
{
    return (Ch >= 0x80 && Ch < 0xA0) ? RtlpCp1252High[Ch - 0x80] : Ch;
}

UCHAR RtlpUnicodeCharToAnsi(WCHAR Ch)
{
    if (Ch < 0x80 || (Ch >= 0xA0 && Ch <= 0xFF))
        return (UCHAR)Ch;
    for (unsigned i = 0; i < 32; i++) {
        if (RtlpCp1252High[i] == Ch)
            return (UCHAR)(0x80 + i);
    }
    return '?';
}

/* Latin Extended-A pairs (upper even, lower odd) except where the pairing shifts. */
static BOOLEAN Rtlp_latin_ext_pair_odd_upper(WCHAR Ch)
{
    return (Ch >= 0x139 && Ch <= 0x148) || (Ch >= 0x179 && Ch <= 0x17E);
}

WCHAR RtlpUpcaseChar(WCHAR Ch)
{
    if (Ch >= 'a' && Ch <= 'z')
        return Ch - 0x20;
    if (Ch < 0x80)
        return Ch;
    if ((Ch >= 0xE0 && Ch <= 0xFE && Ch != 0xF7))
        return Ch - 0x20;
    if (Ch == 0xFF)
        return 0x178;
    if (Ch >= 0x100 && Ch <= 0x17F && Ch != 0x131 && Ch != 0x138 && Ch != 0x149 && Ch != 0x17F) {
        BOOLEAN odd_upper = Rtlp_latin_ext_pair_odd_upper(Ch);
        if (odd_upper ? !(Ch & 1) : (Ch & 1))
            return Ch - 1;
        return Ch;
    }
    if (Ch >= 0x3B1 && Ch <= 0x3C9 && Ch != 0x3C2)
        return Ch - 0x20;
    if (Ch >= 0x430 && Ch <= 0x44F)
        return Ch - 0x20;
    if (Ch >= 0x450 && Ch <= 0x45F)
        return Ch - 0x50;
    if (Ch >= 0xFF41 && Ch <= 0xFF5A)
        return Ch - 0x20;
    return Ch;
}

WCHAR RtlpDowncaseChar(WCHAR Ch)
{
    if (Ch >= 'A' && Ch <= 'Z')
        return Ch + 0x20;
    if (Ch < 0x80)
        return Ch;
    if (Ch >= 0xC0 && Ch <= 0xDE && Ch != 0xD7)
        return Ch + 0x20;
    if (Ch == 0x178)
        return 0xFF;
    if (Ch >= 0x100 && Ch <= 0x17F && Ch != 0x130 && Ch != 0x138 && Ch != 0x149 && Ch != 0x17F) {
        BOOLEAN odd_upper = Rtlp_latin_ext_pair_odd_upper(Ch);
        if (odd_upper ? (Ch & 1) : !(Ch & 1))
            return Ch + 1;
        return Ch;
    }
    if (Ch >= 0x391 && Ch <= 0x3A9 && Ch != 0x3A2)
        return Ch + 0x20;
    if (Ch >= 0x410 && Ch <= 0x42F)
        return Ch + 0x20;
    if (Ch >= 0x400 && Ch <= 0x40F)
        return Ch + 0x50;
    if (Ch >= 0xFF21 && Ch <= 0xFF3A)
        return Ch + 0x20;
    return Ch;
}

size_t RtlpWideLength(const KM_UNALIGNED_WCHAR *S)
{
    size_t n = 0;
    while (S[n])
        n++;
    return n;
}
