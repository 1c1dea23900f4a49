/*
 * The narrow C runtime routines that ntoskrnl exports: memory and byte
 * strings. Drivers call them with the Windows x64 convention, so each is an
 * ms_abi wrapper (km_*) registered under the C name; the host's own routines
 * do the work where their semantics are the same. _stricmp and _strnicmp fold
 * ASCII letters only (the "C" locale, which the kernel runtime uses).
 */
#include "rtl.h"

#include <string.h>

static void *NTAPI km_memcpy(void *d, const void *s, SIZE_T n)
{
    /* Drivers (and the compilers that build them) rely on memcpy tolerating
       overlap the way the Windows one does in practice: use memmove. */
    return memmove(d, s, n);
}
KM_EXPORT_NAMED("memcpy", km_memcpy);

static void *NTAPI km_memmove(void *d, const void *s, SIZE_T n)
{
    return memmove(d, s, n);
}
KM_EXPORT_NAMED("memmove", km_memmove);

static void *NTAPI km_memset(void *d, int c, SIZE_T n)
{
    return memset(d, c, n);
}
KM_EXPORT_NAMED("memset", km_memset);

static int NTAPI km_memcmp(const void *a, const void *b, SIZE_T n)
{
    return memcmp(a, b, n);
}
KM_EXPORT_NAMED("memcmp", km_memcmp);

static void *NTAPI km_memchr(const void *s, int c, SIZE_T n)
{
    return memchr(s, c, n);
}
KM_EXPORT_NAMED("memchr", km_memchr);

static SIZE_T NTAPI km_strlen(const char *s)
{
    return strlen(s);
}
KM_EXPORT_NAMED("strlen", km_strlen);

static SIZE_T NTAPI km_strnlen(const char *s, SIZE_T n)
{
    return strnlen(s, n);
}
KM_EXPORT_NAMED("strnlen", km_strnlen);

static int NTAPI km_strcmp(const char *a, const char *b)
{
    return strcmp(a, b);
}
KM_EXPORT_NAMED("strcmp", km_strcmp);

static int NTAPI km_strncmp(const char *a, const char *b, SIZE_T n)
{
    return strncmp(a, b, n);
}
KM_EXPORT_NAMED("strncmp", km_strncmp);

static int Rtlp_ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int NTAPI km__strnicmp(const char *a, const char *b, SIZE_T n)
{
    for (SIZE_T i = 0; i < n; i++) {
        int x = Rtlp_ascii_lower((unsigned char)a[i]), y = Rtlp_ascii_lower((unsigned char)b[i]);
        if (x != y || !x)
            return x - y;
    }
    return 0;
}
KM_EXPORT_NAMED("_strnicmp", km__strnicmp);

static int NTAPI km__stricmp(const char *a, const char *b)
{
    return km__strnicmp(a, b, SIZE_MAX);
}
KM_EXPORT_NAMED("_stricmp", km__stricmp);

static char *NTAPI km_strcpy(char *d, const char *s)
{
    return strcpy(d, s);
}
KM_EXPORT_NAMED("strcpy", km_strcpy);

static char *NTAPI km_strncpy(char *d, const char *s, SIZE_T n)
{
    return strncpy(d, s, n);
}
KM_EXPORT_NAMED("strncpy", km_strncpy);

static char *NTAPI km_strcat(char *d, const char *s)
{
    return strcat(d, s);
}
KM_EXPORT_NAMED("strcat", km_strcat);

static char *NTAPI km_strncat(char *d, const char *s, SIZE_T n)
{
    return strncat(d, s, n);
}
KM_EXPORT_NAMED("strncat", km_strncat);

static char *NTAPI km_strchr(const char *s, int c)
{
    return strchr(s, c);
}
KM_EXPORT_NAMED("strchr", km_strchr);

static char *NTAPI km_strrchr(const char *s, int c)
{
    return strrchr(s, c);
}
KM_EXPORT_NAMED("strrchr", km_strrchr);

static char *NTAPI km_strstr(const char *h, const char *n)
{
    return strstr(h, n);
}
KM_EXPORT_NAMED("strstr", km_strstr);

static SIZE_T NTAPI km_strspn(const char *s, const char *set)
{
    return strspn(s, set);
}
KM_EXPORT_NAMED("strspn", km_strspn);

static SIZE_T NTAPI km_strcspn(const char *s, const char *set)
{
    return strcspn(s, set);
}
KM_EXPORT_NAMED("strcspn", km_strcspn);

static char *NTAPI km_strpbrk(const char *s, const char *set)
{
    return strpbrk(s, set);
}
KM_EXPORT_NAMED("strpbrk", km_strpbrk);

static char *NTAPI km__strlwr(char *s)
{
    for (char *p = s; *p; p++)
        *p = (char)Rtlp_ascii_lower((unsigned char)*p);
    return s;
}
KM_EXPORT_NAMED("_strlwr", km__strlwr);

static char *NTAPI km__strupr(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    }
    return s;
}
KM_EXPORT_NAMED("_strupr", km__strupr);

/* The Windows x64 memory routines that are real exports (wdm.h maps most
   uses to the C routines above, but drivers may still import these). */
VOID NTAPI RtlCopyMemory(void *Destination, const void *Source, SIZE_T Length)
{
    memmove(Destination, Source, Length);
}
KM_EXPORT(RtlCopyMemory);

VOID NTAPI RtlMoveMemory(void *Destination, const void *Source, SIZE_T Length)
{
    memmove(Destination, Source, Length);
}
KM_EXPORT(RtlMoveMemory);

VOID NTAPI RtlFillMemory(void *Destination, SIZE_T Length, UCHAR Fill)
{
    memset(Destination, Fill, Length);
}
KM_EXPORT(RtlFillMemory);

VOID NTAPI RtlZeroMemory(void *Destination, SIZE_T Length)
{
    memset(Destination, 0, Length);
}
KM_EXPORT(RtlZeroMemory);

/* Number of leading bytes that match. */
SIZE_T NTAPI RtlCompareMemory(const void *Source1, const void *Source2, SIZE_T Length)
{
    const UCHAR *a = Source1, *b = Source2;
    SIZE_T i = 0;
    while (i < Length && a[i] == b[i])
        i++;
    return i;
}
KM_EXPORT(RtlCompareMemory);

/* Bytes, in whole ULONGs, that equal Pattern before the first that does not;
   a tail shorter than a ULONG is not compared. */
SIZE_T NTAPI RtlCompareMemoryUlong(PVOID Source, SIZE_T Length, ULONG Pattern)
{
    const UCHAR *p = Source;
    SIZE_T i = 0;
    for (; i + sizeof(ULONG) <= Length; i += sizeof(ULONG)) {
        ULONG v;
        memcpy(&v, p + i, sizeof(v));
        if (v != Pattern)
            break;
    }
    return i;
}
KM_EXPORT(RtlCompareMemoryUlong);
