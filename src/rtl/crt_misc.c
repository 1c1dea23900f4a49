/*
 * The rest of the C runtime that ntoskrnl exports: character classes in the
 * "C" locale, number parsing and formatting with LLP64 sizes (long is 32
 * bits: strtoul saturates at 0xFFFFFFFF), rand/srand, qsort and bsearch
 * (whose comparison callbacks are driver code, hence ms_abi).
 */
#include "rtl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int NTAPI km_isdigit(int c)
{
    return c >= '0' && c <= '9';
}
KM_EXPORT_NAMED("isdigit", km_isdigit);

static int NTAPI km_islower(int c)
{
    return c >= 'a' && c <= 'z';
}
KM_EXPORT_NAMED("islower", km_islower);

static int NTAPI km_isupper(int c)
{
    return c >= 'A' && c <= 'Z';
}
KM_EXPORT_NAMED("isupper", km_isupper);

static int NTAPI km_isalpha(int c)
{
    return km_islower(c) || km_isupper(c);
}
KM_EXPORT_NAMED("isalpha", km_isalpha);

static int NTAPI km_isalnum(int c)
{
    return km_isalpha(c) || km_isdigit(c);
}
KM_EXPORT_NAMED("isalnum", km_isalnum);

static int NTAPI km_isspace(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}
KM_EXPORT_NAMED("isspace", km_isspace);

static int NTAPI km_isxdigit(int c)
{
    return km_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
KM_EXPORT_NAMED("isxdigit", km_isxdigit);

static int NTAPI km_isprint(int c)
{
    return c >= 0x20 && c < 0x7F;
}
KM_EXPORT_NAMED("isprint", km_isprint);

static int NTAPI km_tolower(int c)
{
    return km_isupper(c) ? c + 32 : c;
}
KM_EXPORT_NAMED("tolower", km_tolower);

static int NTAPI km_toupper(int c)
{
    return km_islower(c) ? c - 32 : c;
}
KM_EXPORT_NAMED("toupper", km_toupper);

static LONG Rtlp_strtol(const char *s, char **end, int base)
{
    long long v = strtoll(s, end, base);
    if (v > INT32_MAX)
        return INT32_MAX;
    if (v < INT32_MIN)
        return INT32_MIN;
    return (LONG)v;
}

static LONG NTAPI km_strtol(const char *s, char **end, int base)
{
    return Rtlp_strtol(s, end, base);
}
KM_EXPORT_NAMED("strtol", km_strtol);

/* A negative number is negated modulo 2^32, as C specifies for strtoul. */
static ULONG NTAPI km_strtoul(const char *s, char **end, int base)
{
    const char *p = s;
    while (km_isspace((unsigned char)*p))
        p++;
    BOOLEAN neg = *p == '-';
    errno = 0;
    unsigned long long v = strtoull(neg ? p + 1 : (*p == '+' ? p + 1 : p), end, base);
    if (end && *end == (neg || *p == '+' ? p + 1 : p))
        *end = (char *)s;
    if (errno == ERANGE || v > UINT32_MAX)
        return UINT32_MAX;
    return neg ? (ULONG)(0u - (ULONG)v) : (ULONG)v;
}
KM_EXPORT_NAMED("strtoul", km_strtoul);

static int NTAPI km_atoi(const char *s)
{
    return Rtlp_strtol(s, NULL, 10);
}
KM_EXPORT_NAMED("atoi", km_atoi);

static LONG NTAPI km_atol(const char *s)
{
    return Rtlp_strtol(s, NULL, 10);
}
KM_EXPORT_NAMED("atol", km_atol);

/* Wide parse: the digits are ASCII, so narrow them first. A caller's wide
   string may sit at any address (KM_UNALIGNED_WCHAR). */
static size_t Rtlp_narrow_number(const KM_UNALIGNED_WCHAR *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; i + 1 < cap && s[i] && s[i] < 0x80; i++)
        out[i] = (char)s[i];
    out[i] = 0;
    return i;
}

static LONG NTAPI km__wtol(const KM_UNALIGNED_WCHAR *s)
{
    char buf[80];
    Rtlp_narrow_number(s, buf, sizeof(buf));
    return Rtlp_strtol(buf, NULL, 10);
}
KM_EXPORT_NAMED("_wtol", km__wtol);

static int NTAPI km__wtoi(const KM_UNALIGNED_WCHAR *s)
{
    return km__wtol(s);
}
KM_EXPORT_NAMED("_wtoi", km__wtoi);

static ULONG NTAPI km_wcstoul(const KM_UNALIGNED_WCHAR *s, WCHAR **end, int base)
{
    char buf[80], *e;
    Rtlp_narrow_number(s, buf, sizeof(buf));
    ULONG v = km_strtoul(buf, &e, base);
    if (end)
        *end = (WCHAR *)(s + (e - buf));
    return v;
}
KM_EXPORT_NAMED("wcstoul", km_wcstoul);

/* Digits of V in Radix (2..36), lower case as the C runtime writes them. */
static size_t Rtlp_to_digits(ULONG64 V, int Radix, BOOLEAN Negative, char Out[68])
{
    char rev[66];
    size_t n = 0, o = 0;
    if (Radix < 2 || Radix > 36)
        Radix = 10;
    do {
        rev[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[V % (unsigned)Radix];
        V /= (unsigned)Radix;
    } while (V);
    if (Negative)
        Out[o++] = '-';
    while (n)
        Out[o++] = rev[--n];
    Out[o] = 0;
    return o;
}

/* _itoa: only base 10 treats the value as signed. */
static char *NTAPI km__itoa(int v, char *buf, int radix)
{
    char tmp[68];
    BOOLEAN neg = radix == 10 && v < 0;
    Rtlp_to_digits(neg ? 0u - (ULONG)v : (ULONG)v, radix, neg, tmp);
    return strcpy(buf, tmp);
}
KM_EXPORT_NAMED("_itoa", km__itoa);

static char *NTAPI km__i64toa(LONGLONG v, char *buf, int radix)
{
    char tmp[68];
    BOOLEAN neg = radix == 10 && v < 0;
    Rtlp_to_digits(neg ? 0ull - (ULONG64)v : (ULONG64)v, radix, neg, tmp);
    return strcpy(buf, tmp);
}
KM_EXPORT_NAMED("_i64toa", km__i64toa);

static char *NTAPI km__ui64toa(ULONGLONG v, char *buf, int radix)
{
    char tmp[68];
    Rtlp_to_digits(v, radix, FALSE, tmp);
    return strcpy(buf, tmp);
}
KM_EXPORT_NAMED("_ui64toa", km__ui64toa);

static WCHAR *NTAPI km__itow(int v, KM_UNALIGNED_WCHAR *buf, int radix)
{
    char tmp[68];
    BOOLEAN neg = radix == 10 && v < 0;
    size_t n = Rtlp_to_digits(neg ? 0u - (ULONG)v : (ULONG)v, radix, neg, tmp);
    for (size_t i = 0; i <= n; i++)
        buf[i] = (WCHAR)tmp[i];
    return buf;
}
KM_EXPORT_NAMED("_itow", km__itow);

/* The C runtime's linear congruential generator: RAND_MAX is 0x7FFF. */
static ULONG Rtlp_rand_state = 1;

static int NTAPI km_rand(void)
{
    ULONG x = __atomic_load_n(&Rtlp_rand_state, __ATOMIC_RELAXED), n;
    do
        n = x * 214013u + 2531011u;
    while (!__atomic_compare_exchange_n(&Rtlp_rand_state, &x, n, TRUE, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
    return (int)((n >> 16) & 0x7FFF);
}
KM_EXPORT_NAMED("rand", km_rand);

static void NTAPI km_srand(unsigned seed)
{
    __atomic_store_n(&Rtlp_rand_state, seed, __ATOMIC_RELAXED);
}
KM_EXPORT_NAMED("srand", km_srand);

typedef int(NTAPI *RTLP_COMPARE)(const void *, const void *);

static int Rtlp_qsort_thunk(const void *a, const void *b, void *ctx)
{
    return (*(RTLP_COMPARE *)ctx)(a, b);
}

static void NTAPI km_qsort(void *base, SIZE_T n, SIZE_T size, RTLP_COMPARE cmp)
{
    qsort_r(base, n, size, Rtlp_qsort_thunk, &cmp);
}
KM_EXPORT_NAMED("qsort", km_qsort);

static void *NTAPI km_bsearch(const void *key, const void *base, SIZE_T n, SIZE_T size,
                              RTLP_COMPARE cmp)
{
    SIZE_T lo = 0, hi = n;
    while (lo < hi) {
        SIZE_T mid = lo + (hi - lo) / 2;
        const char *e = (const char *)base + mid * size;
        int c = cmp(key, e);
        if (c == 0)
            return (void *)e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}
KM_EXPORT_NAMED("bsearch", km_bsearch);
