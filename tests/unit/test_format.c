/*
 * Windows printf formatting (src/rtl/format.c) and the sprintf family that
 * ntoskrnl exports, called through ms_abi pointers as a driver would. The
 * expected strings are what Windows' documented format rules produce.
 */
#include "km.h"
#include "kmtest.h"

#include <stdio.h>
#include <string.h>

/* A driver-style variadic call: arguments pass with the Windows convention. */
static int NTAPI fmt(char *Buf, size_t Len, const char *Format, ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, Format);
    int r = RtlpFormat(Buf, Len, Format, ap);
    __builtin_ms_va_end(ap);
    return r;
}

static char out[512];

#define EXPECT(expected, ...)                                                                      \
    do {                                                                                           \
        int r_ = fmt(out, sizeof(out), __VA_ARGS__);                                               \
        CHECK(strcmp(out, expected) == 0 && r_ == (int)strlen(expected),                           \
              "%s: got \"%s\" (%d), want \"%s\"", #__VA_ARGS__, out, r_, expected);                \
    } while (0)

static const uint16_t W_hello[] = {'h', 'e', 'l', 'l', 'o', 0};
/* "é€😀" in UTF-16: U+00E9, U+20AC, U+1F600 as a surrogate pair. */
static const uint16_t W_intl[] = {0xE9, 0x20AC, 0xD83D, 0xDE00, 0};

static void test_integers(void)
{
    EXPECT("42 -42 42", "%d %i %u", 42, -42, 42u);
    EXPECT("ff FF 17", "%x %X %o", 255u, 255u, 15u);
    EXPECT("0xff 0XFF 017", "%#x %#X %#o", 255u, 255u, 15u);
    EXPECT("0", "%#x", 0u);
    EXPECT("+5 -5  5", "%+d %+d % d", 5, -5, 5);
    EXPECT("   42|42   |00042", "%5d|%-5d|%05d", 42, 42, 42);
    EXPECT("  -0042", "%7.4d", -42);
    EXPECT("-0042", "%05d", -42);
    EXPECT("   42", "%*d", 5, 42);
    EXPECT("42   |", "%*d|", -5, 42);
    EXPECT("00042", "%.*d", 5, 42);
    EXPECT("", "%.0d", 0);
    /* LLP64: l is 32 bits, so %lx of a 64-bit value shows only the low half. */
    EXPECT("ffffffff", "%lx", 0xFFFFFFFFull);
    EXPECT("-1 4294967295", "%ld %lu", -1, 0xFFFFFFFFu);
    EXPECT("123456789abcdef0", "%llx", 0x123456789ABCDEF0ull);
    EXPECT("123456789abcdef0", "%I64x", 0x123456789ABCDEF0ull);
    EXPECT("-9223372036854775808", "%I64d", (long long)INT64_MIN);
    EXPECT("18446744073709551615", "%I64u", UINT64_MAX);
    EXPECT("123456789abcdef0", "%Ix", 0x123456789ABCDEF0ull);
    EXPECT("deadbeef", "%I32x", 0xDEADBEEFu);
    EXPECT("-1 65535", "%hd %hu", 0xFFFF, 0xFFFF);
    EXPECT("-1 255", "%hhd %hhu", 0xFF, 0xFF);
    EXPECT("12345678901", "%zu", (size_t)12345678901ull);
}

static void test_pointers(void)
{
    /* x64 Windows: 16 uppercase hex digits, no 0x. */
    EXPECT("00000000DEADBEEF", "%p", (void *)0xDEADBEEFull);
    EXPECT("FFFFF78000000000", "%p", (void *)0xFFFFF78000000000ull);
    EXPECT("0000000000000000", "%p", (void *)0);
    EXPECT("  00000000000000AB|", "%18p|", (void *)0xAB);
}

static void test_chars_and_strings(void)
{
    EXPECT("A", "%c", 'A');
    EXPECT("  A|A  |", "%3c|%-3c|", 'A', 'A');
    EXPECT("hi", "%s", "hi");
    EXPECT("(null)", "%s", (char *)NULL);
    EXPECT("   hi|hi   |h", "%5s|%-5s|%.1s", "hi", "hi", "hi");
    EXPECT("hello hello hello", "%ws %ls %S", W_hello, W_hello, W_hello);
    EXPECT("hel", "%.3ws", W_hello);
    EXPECT("narrow", "%hs", "narrow");
    EXPECT("(null)", "%ws", (uint16_t *)NULL);
    EXPECT("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", "%ws", W_intl);
    EXPECT("xyz", "%C%wc%lc", (int)'x', (int)'y', (int)'z');
    EXPECT("\xE2\x82\xAC", "%wc", 0x20AC);
    EXPECT("%", "%%");
    /* An unpaired surrogate becomes U+FFFD. */
    static const uint16_t lone[] = {'a', 0xD800, 'b', 0};
    EXPECT("a\xEF\xBF\xBD"
           "b",
           "%ws", lone);
}

static void test_counted_strings(void)
{
    /* %wZ reads exactly Length bytes: the buffer has no terminator. */
    uint16_t buf[8] = {'D', 'e', 'v', 'i', 'c', 'e', 'X', 'Y'};
    UNICODE_STRING u = {12, 16, buf};
    EXPECT("[Device]", "[%wZ]", &u);
    EXPECT("(null)", "%wZ", (UNICODE_STRING *)NULL);
    UNICODE_STRING nobuf = {0, 0, NULL};
    EXPECT("(null)", "%wZ", &nobuf);
    UNICODE_STRING empty = {0, 16, buf};
    EXPECT("[]", "[%wZ]", &empty);
    EXPECT("  Dev", "%5.3wZ", &u);
    char abuf[4] = {'a', 'b', 'c', 'd'};
    ANSI_STRING a = {3, 4, (PCHAR)abuf};
    EXPECT("abc", "%Z", &a);
    EXPECT("(null)", "%Z", (ANSI_STRING *)NULL);
}

static void test_odd_specs(void)
{
    int target = 1234;
    /* %n is disabled: nothing printed, nothing written. */
    EXPECT("ab", "a%nb", &target);
    CHECK(target == 1234, "%%n wrote %d", target);
    EXPECT("%y", "%y");
    EXPECT("%-5y!", "%-5y!");
    EXPECT("x%", "x%");
    EXPECT("1.500000 2.50 1e+02", "%f %.2f %.0e", 1.5, 2.5, 100.0);
}

static void test_truncation(void)
{
    char small[6];
    memset(small, 'Z', sizeof(small));
    int r = fmt(small, sizeof(small), "%s", "abcdefgh");
    CHECK(r == 8 && strcmp(small, "abcde") == 0, "truncated: %d \"%s\"", r, small);
    r = fmt(NULL, 0, "%d", 12345);
    CHECK(r == 5, "size query: %d", r);
}

typedef int(NTAPI *SNPRINTF)(char *, SIZE_T, const char *, ...);
typedef int(NTAPI *SPRINTF)(char *, const char *, ...);
typedef int(NTAPI *SNWPRINTF)(uint16_t *, SIZE_T, const uint16_t *, ...);
typedef int(NTAPI *SWPRINTF)(uint16_t *, const uint16_t *, ...);
typedef int(NTAPI *VSNPRINTF)(char *, SIZE_T, const char *, __builtin_ms_va_list);

static void *import(const char *name)
{
    const KM_EXPORT_ENTRY *e = KmLookupExport("ntoskrnl.exe", name);
    CHECK(e != NULL, "ntoskrnl.exe exports %s", name);
    return e ? e->Address : NULL;
}

static VSNPRINTF vsnp;
static int NTAPI call_vsnprintf(char *b, SIZE_T n, const char *f, ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, f);
    int r = vsnp(b, n, f, ap);
    __builtin_ms_va_end(ap);
    return r;
}

static size_t wlen(const uint16_t *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int wequal(const uint16_t *w, const char *a)
{
    size_t i = 0;
    for (; a[i]; i++) {
        if (w[i] != (unsigned char)a[i])
            return 0;
    }
    return w[i] == 0;
}

static void test_exported_printf(void)
{
    SNPRINTF snp = (SNPRINTF)import("_snprintf");
    SPRINTF sp = (SPRINTF)import("sprintf");
    SNWPRINTF snwp = (SNWPRINTF)import("_snwprintf");
    SWPRINTF swp = (SWPRINTF)import("swprintf");
    vsnp = (VSNPRINTF)import("_vsnprintf");
    if (!snp || !sp || !snwp || !swp || !vsnp)
        return;
    char b[8];
    memset(b, 'Z', sizeof(b));
    /* Fits: terminated, length returned. */
    CHECK(snp(b, 8, "%d", 123) == 3 && strcmp(b, "123") == 0, "_snprintf fits: %s", b);
    /* Exactly Count characters: not terminated, Count returned. */
    memset(b, 'Z', sizeof(b));
    CHECK(snp(b, 4, "%s", "abcd") == 4 && memcmp(b, "abcdZ", 5) == 0, "_snprintf exact");
    /* Too long: Count characters, no terminator, -1. */
    memset(b, 'Z', sizeof(b));
    CHECK(snp(b, 4, "%s", "abcdefg") == -1 && memcmp(b, "abcdZ", 5) == 0, "_snprintf truncated");
    memset(b, 'Z', sizeof(b));
    CHECK(call_vsnprintf(b, 3, "%x", 0xABCDu) == -1 && memcmp(b, "abcZ", 4) == 0,
          "_vsnprintf truncated");
    char big[64];
    CHECK(sp(big, "%s-%I64u", "x", 7ull) == 3 && strcmp(big, "x-7") == 0, "sprintf: %s", big);

    /* Wide forms: the format is WCHAR; %s is wide, %S narrow, %hs narrow. */
    uint16_t w[32];
    static const uint16_t wf[] = {'%', 's', '|', '%', 'S', '|', '%', 'h', 's',
                                  '|', '%', 'd', '|', '%', 'w', 'Z', 0};
    uint16_t ubuf[] = {'u', 's'};
    UNICODE_STRING us = {4, 4, ubuf};
    int r = swp(w, wf, W_hello, "ansi", "h", -3, &us);
    CHECK(r == (int)wlen(w) && wequal(w, "hello|ansi|h|-3|us"), "swprintf (%d)", r);
    static const uint16_t wf2[] = {'%', 'd', 0};
    memset(w, 0xAA, sizeof(w));
    CHECK(snwp(w, 3, wf2, 12345) == -1 && w[0] == '1' && w[2] == '3' && w[3] == 0xAAAA,
          "_snwprintf truncated");
    CHECK(snwp(w, 10, wf2, 12345) == 5 && wequal(w, "12345"), "_snwprintf fits");
    /* Narrow text widens through Windows-1252: 0x80 is the euro sign. */
    static const uint16_t wf3[] = {'%', 'S', 0};
    CHECK(swp(w, wf3, "\x80") == 1 && w[0] == 0x20AC, "swprintf cp1252: %04x", w[0]);
}

int main(void)
{
    test_integers();
    test_pointers();
    test_chars_and_strings();
    test_counted_strings();
    test_odd_specs();
    test_truncation();
    test_exported_printf();
    return KMTEST_DONE();
}
