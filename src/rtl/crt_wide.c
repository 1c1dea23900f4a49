/*
 * The wide-character C runtime routines that ntoskrnl exports. Windows'
 * wchar_t is 16 bits, so these work on WCHAR (uint16_t), never on the host's
 * 32-bit wchar_t. Case folding is the "C" locale's: ASCII letters only.
 * Multibyte conversion (wcstombs, mbstowcs) uses the ANSI code page.
 * Callers' strings may sit at any address (Windows reads them as they are),
 * so every caller string is a KM_UNALIGNED_WCHAR pointer here.
 */
#include "rtl.h"

#include <string.h>

static WCHAR Rtlp_wlower(WCHAR c)
{
    return (c >= 'A' && c <= 'Z') ? (WCHAR)(c + 32) : c;
}

static WCHAR Rtlp_wupper(WCHAR c)
{
    return (c >= 'a' && c <= 'z') ? (WCHAR)(c - 32) : c;
}

static SIZE_T NTAPI km_wcslen(const KM_UNALIGNED_WCHAR *s)
{
    return RtlpWideLength(s);
}
KM_EXPORT_NAMED("wcslen", km_wcslen);

static SIZE_T NTAPI km_wcsnlen(const KM_UNALIGNED_WCHAR *s, SIZE_T n)
{
    SIZE_T i = 0;
    while (i < n && s[i])
        i++;
    return i;
}
KM_EXPORT_NAMED("wcsnlen", km_wcsnlen);

static int Rtlp_wcsncmp(const KM_UNALIGNED_WCHAR *a, const KM_UNALIGNED_WCHAR *b, SIZE_T n,
                        BOOLEAN fold)
{
    for (SIZE_T i = 0; i < n; i++) {
        WCHAR x = fold ? Rtlp_wlower(a[i]) : a[i], y = fold ? Rtlp_wlower(b[i]) : b[i];
        if (x != y || !x)
            return (int)x - (int)y;
    }
    return 0;
}

static int NTAPI km_wcscmp(const KM_UNALIGNED_WCHAR *a, const KM_UNALIGNED_WCHAR *b)
{
    return Rtlp_wcsncmp(a, b, SIZE_MAX, FALSE);
}
KM_EXPORT_NAMED("wcscmp", km_wcscmp);

static int NTAPI km_wcsncmp(const KM_UNALIGNED_WCHAR *a, const KM_UNALIGNED_WCHAR *b, SIZE_T n)
{
    return Rtlp_wcsncmp(a, b, n, FALSE);
}
KM_EXPORT_NAMED("wcsncmp", km_wcsncmp);

static int NTAPI km__wcsicmp(const KM_UNALIGNED_WCHAR *a, const KM_UNALIGNED_WCHAR *b)
{
    return Rtlp_wcsncmp(a, b, SIZE_MAX, TRUE);
}
KM_EXPORT_NAMED("_wcsicmp", km__wcsicmp);

static int NTAPI km__wcsnicmp(const KM_UNALIGNED_WCHAR *a, const KM_UNALIGNED_WCHAR *b, SIZE_T n)
{
    return Rtlp_wcsncmp(a, b, n, TRUE);
}
KM_EXPORT_NAMED("_wcsnicmp", km__wcsnicmp);

static WCHAR *NTAPI km_wcscpy(KM_UNALIGNED_WCHAR *d, const KM_UNALIGNED_WCHAR *s)
{
    SIZE_T i = 0;
    do
        d[i] = s[i];
    while (s[i++]);
    return d;
}
KM_EXPORT_NAMED("wcscpy", km_wcscpy);

/* As strncpy: pads with zeros up to n, not terminated when s is n or longer. */
static WCHAR *NTAPI km_wcsncpy(KM_UNALIGNED_WCHAR *d, const KM_UNALIGNED_WCHAR *s, SIZE_T n)
{
    SIZE_T i = 0;
    for (; i < n && s[i]; i++)
        d[i] = s[i];
    for (; i < n; i++)
        d[i] = 0;
    return d;
}
KM_EXPORT_NAMED("wcsncpy", km_wcsncpy);

static WCHAR *NTAPI km_wcscat(KM_UNALIGNED_WCHAR *d, const KM_UNALIGNED_WCHAR *s)
{
    km_wcscpy(d + RtlpWideLength(d), s);
    return d;
}
KM_EXPORT_NAMED("wcscat", km_wcscat);

static WCHAR *NTAPI km_wcsncat(KM_UNALIGNED_WCHAR *d, const KM_UNALIGNED_WCHAR *s, SIZE_T n)
{
    KM_UNALIGNED_WCHAR *e = d + RtlpWideLength(d);
    SIZE_T i = 0;
    for (; i < n && s[i]; i++)
        e[i] = s[i];
    e[i] = 0;
    return d;
}
KM_EXPORT_NAMED("wcsncat", km_wcsncat);

static WCHAR *NTAPI km_wcschr(const KM_UNALIGNED_WCHAR *s, WCHAR c)
{
    for (;; s++) {
        if (*s == c)
            return (WCHAR *)s;
        if (!*s)
            return NULL;
    }
}
KM_EXPORT_NAMED("wcschr", km_wcschr);

static WCHAR *NTAPI km_wcsrchr(const KM_UNALIGNED_WCHAR *s, WCHAR c)
{
    const KM_UNALIGNED_WCHAR *last = NULL;
    for (;; s++) {
        if (*s == c)
            last = s;
        if (!*s)
            return (WCHAR *)last;
    }
}
KM_EXPORT_NAMED("wcsrchr", km_wcsrchr);

static WCHAR *NTAPI km_wcsstr(const KM_UNALIGNED_WCHAR *h, const KM_UNALIGNED_WCHAR *n)
{
    SIZE_T ln = RtlpWideLength(n);
    for (; *h; h++) {
        if (Rtlp_wcsncmp(h, n, ln, FALSE) == 0)
            return (WCHAR *)h;
    }
    return ln == 0 ? (WCHAR *)h : NULL;
}
KM_EXPORT_NAMED("wcsstr", km_wcsstr);

static BOOLEAN Rtlp_in_set(WCHAR c, const KM_UNALIGNED_WCHAR *set)
{
    for (; *set; set++) {
        if (*set == c)
            return TRUE;
    }
    return FALSE;
}

static SIZE_T NTAPI km_wcsspn(const KM_UNALIGNED_WCHAR *s, const KM_UNALIGNED_WCHAR *set)
{
    SIZE_T i = 0;
    while (s[i] && Rtlp_in_set(s[i], set))
        i++;
    return i;
}
KM_EXPORT_NAMED("wcsspn", km_wcsspn);

static SIZE_T NTAPI km_wcscspn(const KM_UNALIGNED_WCHAR *s, const KM_UNALIGNED_WCHAR *set)
{
    SIZE_T i = 0;
    while (s[i] && !Rtlp_in_set(s[i], set))
        i++;
    return i;
}
KM_EXPORT_NAMED("wcscspn", km_wcscspn);

static WCHAR *NTAPI km_wcspbrk(const KM_UNALIGNED_WCHAR *s, const KM_UNALIGNED_WCHAR *set)
{
    SIZE_T i = km_wcscspn(s, set);
    return s[i] ? (WCHAR *)(s + i) : NULL;
}
KM_EXPORT_NAMED("wcspbrk", km_wcspbrk);

static WCHAR *NTAPI km__wcslwr(KM_UNALIGNED_WCHAR *s)
{
    for (KM_UNALIGNED_WCHAR *p = s; *p; p++)
        *p = Rtlp_wlower(*p);
    return s;
}
KM_EXPORT_NAMED("_wcslwr", km__wcslwr);

static WCHAR *NTAPI km__wcsupr(KM_UNALIGNED_WCHAR *s)
{
    for (KM_UNALIGNED_WCHAR *p = s; *p; p++)
        *p = Rtlp_wupper(*p);
    return s;
}
KM_EXPORT_NAMED("_wcsupr", km__wcsupr);

static WCHAR NTAPI km_towlower(WCHAR c)
{
    return Rtlp_wlower(c);
}
KM_EXPORT_NAMED("towlower", km_towlower);

static WCHAR NTAPI km_towupper(WCHAR c)
{
    return Rtlp_wupper(c);
}
KM_EXPORT_NAMED("towupper", km_towupper);

/* Converts up to n bytes; with d NULL returns the length it would need. */
static SIZE_T NTAPI km_wcstombs(char *d, const KM_UNALIGNED_WCHAR *s, SIZE_T n)
{
    SIZE_T i = 0;
    if (!d)
        return RtlpWideLength(s);
    for (; i < n; i++) {
        d[i] = (char)RtlpUnicodeCharToAnsi(s[i]);
        if (!s[i])
            return i;
    }
    return i;
}
KM_EXPORT_NAMED("wcstombs", km_wcstombs);

static SIZE_T NTAPI km_mbstowcs(KM_UNALIGNED_WCHAR *d, const char *s, SIZE_T n)
{
    SIZE_T i = 0;
    if (!d)
        return strlen(s);
    for (; i < n; i++) {
        d[i] = RtlpAnsiCharToUnicode((UCHAR)s[i]);
        if (!s[i])
            return i;
    }
    return i;
}
KM_EXPORT_NAMED("mbstowcs", km_mbstowcs);
