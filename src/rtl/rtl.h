/*
 * Run-time library (Rtl) internals shared by the files of src/rtl/.
 *
 * Character sets: WCHAR strings are UTF-16 on uint16_t. The "ANSI code page"
 * of kmhost is Windows-1252 (what an English-locale Windows uses); OEM is
 * treated the same. Text that leaves kmhost (DbgPrint) is UTF-8.
 */
#ifndef KM_RTL_RTL_H
#define KM_RTL_RTL_H

#include "km.h"

/*
 * Registers Sym under an export name that differs from the C symbol: the C
 * runtime routines that ntoskrnl exports (memcpy, strlen, sprintf...) are
 * ms_abi wrappers named km_*, because the host's own memcpy is SysV.
 */
#define KM_EXPORT_NAMED(name, sym)                                                                 \
    static const KM_EXPORT_ENTRY km_export_named_##sym                                             \
        __attribute__((used, section("km_exports"), aligned(8))) = {name, (void *)&sym,            \
                                                                    KM_MOD_NTOSKRNL}

/* Pool tag of strings that Rtl allocates for the caller ("Strg" in a dump). */
#define RTLP_STRING_TAG 0x67727453u

#define RTLP_MAX_USTRING 0xFFFEu /* bytes: the largest even USHORT */

/* src/rtl/debug.c */
ULONG NTAPI DbgPrint(PCSTR Format, ...);

/* Windows-1252 <-> UTF-16 for one character; unmappable WCHARs become '?'. */
WCHAR RtlpAnsiCharToUnicode(UCHAR Ch);
UCHAR RtlpUnicodeCharToAnsi(WCHAR Ch);
/* Simple case mapping (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic). */
WCHAR RtlpUpcaseChar(WCHAR Ch);
WCHAR RtlpDowncaseChar(WCHAR Ch);
/* Length in WCHARs of a NUL-terminated wide string, at any address. */
size_t RtlpWideLength(const KM_UNALIGNED_WCHAR *S);

/*
 * The formatting engine behind RtlpFormat, the sprintf family and DbgPrint.
 * Output goes to a bounded buffer of narrow (UTF-8) or wide (UTF-16) units;
 * the count is what the full output would need.
 */
typedef struct RTLP_FORMAT_SINK {
    void *Buf;       /* char * or WCHAR * at any address; may be NULL when Cap is 0 */
    size_t Cap;      /* units that may be written */
    size_t Count;    /* units the whole output needs */
    BOOLEAN WideOut; /* WCHAR output */
} RTLP_FORMAT_SINK;

/* Formats into Sink without terminating. WideFormat: Format is a WCHAR string,
   and %s/%c then take wide arguments (as in swprintf). */
void RtlpFormatSink(RTLP_FORMAT_SINK *Sink, const void *Format, BOOLEAN WideFormat,
                    __builtin_ms_va_list *Args);

#endif
