/*
 * Names: UTF-8 <-> UTF-16LE, and the case folding that makes key and value
 * names case-insensitive.
 *
 * Windows compares registry names after upcasing each UTF-16 code unit with
 * its NLS upcase table (RtlUpcaseUnicodeChar). CmpUpcase covers the ranges a
 * registry name realistically uses with simple one-to-one mappings: ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic. Other code units compare
 * exactly (a documented limitation: e.g. Armenian or Georgian names are
 * case-sensitive here).
 */
#include "cm/cmp.h"

#include <stdlib.h>
#include <string.h>

/* Decodes one code point; returns its length in bytes, or 0 if invalid. */
static size_t Cmpu8Decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, c = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, c = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static long CmpUtf8ToUtf16N(const char *In, size_t InLen, uint16_t *Out, size_t OutUnits)
{
    const unsigned char *s = (const unsigned char *)In;
    size_t o = 0;
    for (size_t i = 0; i < InLen;) {
        uint32_t cp;
        size_t n = Cmpu8Decode(s + i, InLen - i, &cp);
        if (!n)
            return -1;
        i += n;
        if (cp >= 0x10000) {
            if (Out && o + 2 <= OutUnits) {
                Out[o] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
                Out[o + 1] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
            }
            o += 2;
        } else {
            if (Out && o < OutUnits)
                Out[o] = (uint16_t)cp;
            o++;
        }
    }
    if (Out && OutUnits)
        Out[o < OutUnits ? o : OutUnits - 1] = 0;
    return (long)o;
}

long CmUtf8ToUtf16(const char *In, uint16_t *Out, size_t OutUnits)
{
    return CmpUtf8ToUtf16N(In, strlen(In), Out, OutUnits);
}

/* In may be a driver's name at an odd address: it is read unaligned. */
long CmUtf16ToUtf8(const void *InAny, size_t InUnits, char *Out, size_t OutLen)
{
    const KM_UNALIGNED_WCHAR *In = InAny;
    size_t o = 0;
    size_t written = 0; /* bytes of whole characters that fitted */
    int full = 0;       /* once a character does not fit, none after it is written */
    for (size_t i = 0; i < InUnits; i++) {
        uint32_t cp = In[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < InUnits && In[i + 1] >= 0xDC00 &&
            In[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (In[i + 1] - 0xDC00);
            i++;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            return -1; /* unpaired surrogate: no UTF-8 form */
        }
        unsigned char b[4];
        size_t n;
        if (cp < 0x80) {
            b[0] = (unsigned char)cp, n = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | cp >> 12);
            b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | cp >> 18);
            b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        if (Out && !full && o + n < OutLen) {
            memcpy(Out + o, b, n);
            written = o + n;
        } else {
            full = 1;
        }
        o += n;
    }
    if (Out && OutLen)
        Out[written] = 0;
    return (long)o;
}

uint16_t CmpUpcase(uint16_t c)
{
    if (c >= 'a' && c <= 'z')
        return (uint16_t)(c - 0x20);
    if (c < 0x80)
        return c;
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7))
        return (uint16_t)(c - 0x20);
    if (c == 0xFF)
        return 0x178;
    /* Latin Extended-A: pairs upper (even) / lower (odd), except the ranges
       where the pairing is odd/even and the dotless i / long s. */
    if (c >= 0x100 && c <= 0x137)
        return (uint16_t)(c & ~1u);
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
        return (c & 1) ? c : (uint16_t)(c - 1);
    if (c >= 0x14A && c <= 0x177)
        return (uint16_t)(c & ~1u);
    if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2)
        return (uint16_t)(c - 0x20);
    if (c == 0x3C2) /* final sigma */
        return 0x3A3;
    if (c >= 0x430 && c <= 0x44F)
        return (uint16_t)(c - 0x20);
    if (c >= 0x450 && c <= 0x45F)
        return (uint16_t)(c - 0x50);
    return c;
}

long CmpUtf16Bytes(const char *Name, size_t NameLen)
{
    long n = CmpUtf8ToUtf16N(Name, NameLen, NULL, 0);
    return n < 0 ? -1 : n * 2;
}

uint8_t *CmpFoldName(const char *Name, size_t NameLen, size_t *Len)
{
    long n = CmpUtf8ToUtf16N(Name, NameLen, NULL, 0);
    if (n < 0)
        return NULL;
    uint16_t *w = malloc(((size_t)n + 1) * sizeof(uint16_t));
    uint8_t *out = malloc((size_t)n * 2 + 1);
    if (!w || !out) {
        free(w);
        free(out);
        return NULL;
    }
    CmpUtf8ToUtf16N(Name, NameLen, w, (size_t)n + 1);
    for (long i = 0; i < n; i++) {
        uint16_t u = CmpUpcase(w[i]);
        out[2 * i] = (uint8_t)(u >> 8);
        out[2 * i + 1] = (uint8_t)u;
    }
    free(w);
    *Len = (size_t)n * 2;
    return out;
}

NTSTATUS CmpCheckKeyName(const char *Name, size_t Len)
{
    if (Len == 0 || memchr(Name, '\\', Len))
        return STATUS_OBJECT_NAME_INVALID;
    long bytes = CmpUtf16Bytes(Name, Len);
    if (bytes < 0) {
        CmpSetError("key name is not valid UTF-8");
        return STATUS_OBJECT_NAME_INVALID;
    }
    if (bytes / 2 > CM_MAX_KEY_NAME_CHARS) {
        CmpSetError("key name longer than %d characters", CM_MAX_KEY_NAME_CHARS);
        return STATUS_OBJECT_NAME_INVALID;
    }
    return STATUS_SUCCESS;
}
