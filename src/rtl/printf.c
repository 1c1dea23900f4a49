/*
 * The sprintf family that ntoskrnl exports, on the formatter of format.c.
 *
 * Counted forms (_snprintf, _vsnprintf, _snwprintf, _vsnwprintf) follow the
 * documented legacy contract: when the output fits with room to spare it is
 * terminated and its length returned; when it is exactly Count units long it
 * is returned unterminated with that length; when it is longer, Count units
 * are written, unterminated, and the result is -1. ntstrsafe.h's inline
 * RtlStringCb/CchPrintf routines call _vsnprintf/_vsnwprintf and rely on this.
 * Unbounded forms (sprintf, vsprintf, swprintf, _swprintf, _vswprintf) write
 * the whole output and a terminator. Wide forms take a WCHAR format, in which
 * %s and %c are wide and %S and %C narrow. A wide buffer or format may sit
 * at any address (KM_UNALIGNED_WCHAR in format.c and here).
 */
#include "rtl.h"

#define RTLP_UNBOUNDED ((size_t)INT32_MAX)

static int Rtlp_counted(void *Buf, SIZE_T Count, const void *Format, BOOLEAN Wide,
                        __builtin_ms_va_list Args)
{
    RTLP_FORMAT_SINK s = {Buf, Count, 0, Wide};
    RtlpFormatSink(&s, Format, Wide, &Args);
    if (s.Count < Count) {
        if (Wide)
            ((KM_UNALIGNED_WCHAR *)Buf)[s.Count] = 0;
        else
            ((char *)Buf)[s.Count] = 0;
        return (int)s.Count;
    }
    return s.Count == Count && Count <= RTLP_UNBOUNDED ? (int)Count : -1;
}

static int Rtlp_unbounded(void *Buf, const void *Format, BOOLEAN Wide, __builtin_ms_va_list Args)
{
    return Rtlp_counted(Buf, RTLP_UNBOUNDED, Format, Wide, Args);
}

static int NTAPI km__vsnprintf(char *buf, SIZE_T count, const char *fmt, __builtin_ms_va_list args)
{
    return Rtlp_counted(buf, count, fmt, FALSE, args);
}
KM_EXPORT_NAMED("_vsnprintf", km__vsnprintf);

static int NTAPI km__snprintf(char *buf, SIZE_T count, const char *fmt, ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, fmt);
    int r = Rtlp_counted(buf, count, fmt, FALSE, ap);
    __builtin_ms_va_end(ap);
    return r;
}
KM_EXPORT_NAMED("_snprintf", km__snprintf);

static int NTAPI km_vsprintf(char *buf, const char *fmt, __builtin_ms_va_list args)
{
    return Rtlp_unbounded(buf, fmt, FALSE, args);
}
KM_EXPORT_NAMED("vsprintf", km_vsprintf);

static int NTAPI km_sprintf(char *buf, const char *fmt, ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, fmt);
    int r = Rtlp_unbounded(buf, fmt, FALSE, ap);
    __builtin_ms_va_end(ap);
    return r;
}
KM_EXPORT_NAMED("sprintf", km_sprintf);

static int NTAPI km__vsnwprintf(KM_UNALIGNED_WCHAR *buf, SIZE_T count,
                                const KM_UNALIGNED_WCHAR *fmt, __builtin_ms_va_list args)
{
    return Rtlp_counted(buf, count, fmt, TRUE, args);
}
KM_EXPORT_NAMED("_vsnwprintf", km__vsnwprintf);

static int NTAPI km__snwprintf(KM_UNALIGNED_WCHAR *buf, SIZE_T count, const KM_UNALIGNED_WCHAR *fmt,
                               ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, fmt);
    int r = Rtlp_counted(buf, count, fmt, TRUE, ap);
    __builtin_ms_va_end(ap);
    return r;
}
KM_EXPORT_NAMED("_snwprintf", km__snwprintf);

static int NTAPI km__vswprintf(KM_UNALIGNED_WCHAR *buf, const KM_UNALIGNED_WCHAR *fmt,
                               __builtin_ms_va_list args)
{
    return Rtlp_unbounded(buf, fmt, TRUE, args);
}
KM_EXPORT_NAMED("_vswprintf", km__vswprintf);

/* ntoskrnl's swprintf is the legacy form without a count. */
static int NTAPI km_swprintf(KM_UNALIGNED_WCHAR *buf, const KM_UNALIGNED_WCHAR *fmt, ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, fmt);
    int r = Rtlp_unbounded(buf, fmt, TRUE, ap);
    __builtin_ms_va_end(ap);
    return r;
}
KM_EXPORT_NAMED("swprintf", km_swprintf);

static int NTAPI km__swprintf(KM_UNALIGNED_WCHAR *buf, const KM_UNALIGNED_WCHAR *fmt, ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, fmt);
    int r = Rtlp_unbounded(buf, fmt, TRUE, ap);
    __builtin_ms_va_end(ap);
    return r;
}
KM_EXPORT_NAMED("_swprintf", km__swprintf);
