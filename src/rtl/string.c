/*
 * Counted strings: UNICODE_STRING and ANSI_STRING initialisation, copying,
 * comparison and appending, as the WDK documents each routine.
 *
 * Invariant of a well-formed counted string: Length <= MaximumLength, both
 * even for UNICODE_STRING, Buffer holds MaximumLength bytes, and the text is
 * Length bytes that need not be terminated. Routines write a terminator only
 * when the documentation says so and only when it fits in MaximumLength.
 *
 * A caller's Buffer may sit at any address (Windows reads and writes it as
 * it is for KernelMode callers), so its WCHARs are reached through
 * KM_UNALIGNED_WCHAR pointers; buffers kmhost allocates stay WCHAR.
 */
#include "ex/ex.h"
#include "rtl.h"

#include <string.h>

VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    size_t bytes = SourceString ? RtlpWideLength(SourceString) * sizeof(WCHAR) : 0;
    /* Longer strings are cut to the largest length that still leaves room for
       the terminator in MaximumLength. */
    if (bytes > RTLP_MAX_USTRING - sizeof(WCHAR))
        bytes = RTLP_MAX_USTRING - sizeof(WCHAR);
    DestinationString->Buffer = (PWSTR)SourceString;
    DestinationString->Length = (USHORT)bytes;
    DestinationString->MaximumLength = SourceString ? (USHORT)(bytes + sizeof(WCHAR)) : 0;
}
KM_EXPORT(RtlInitUnicodeString);

NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    if (SourceString &&
        RtlpWideLength(SourceString) * sizeof(WCHAR) > RTLP_MAX_USTRING - sizeof(WCHAR))
        return STATUS_NAME_TOO_LONG;
    RtlInitUnicodeString(DestinationString, SourceString);
    return STATUS_SUCCESS;
}
KM_EXPORT(RtlInitUnicodeStringEx);

VOID NTAPI RtlInitAnsiString(PANSI_STRING DestinationString, const char *SourceString)
{
    size_t len = SourceString ? strlen(SourceString) : 0;
    if (len > 0xFFFE)
        len = 0xFFFE;
    DestinationString->Buffer = (PCHAR)SourceString;
    DestinationString->Length = (USHORT)len;
    DestinationString->MaximumLength = SourceString ? (USHORT)(len + 1) : 0;
}
KM_EXPORT(RtlInitAnsiString);

NTSTATUS NTAPI RtlInitAnsiStringEx(PANSI_STRING DestinationString, const char *SourceString)
{
    if (SourceString && strlen(SourceString) > 0xFFFE)
        return STATUS_NAME_TOO_LONG;
    RtlInitAnsiString(DestinationString, SourceString);
    return STATUS_SUCCESS;
}
KM_EXPORT(RtlInitAnsiStringEx);

VOID NTAPI RtlInitString(PSTRING DestinationString, const char *SourceString)
{
    RtlInitAnsiString(DestinationString, SourceString);
}
KM_EXPORT(RtlInitString);

/* Copies min(Source.Length, Destination.MaximumLength) bytes; terminates if
   there is room; a NULL source gives an empty destination. */
VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    if (!SourceString || !SourceString->Buffer) {
        DestinationString->Length = 0;
        return;
    }
    USHORT n = SourceString->Length < DestinationString->MaximumLength
                   ? SourceString->Length
                   : DestinationString->MaximumLength;
    n &= (USHORT)~1u;
    memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
    if (n + sizeof(WCHAR) <= DestinationString->MaximumLength)
        ((KM_UNALIGNED_WCHAR *)DestinationString->Buffer)[n / sizeof(WCHAR)] = 0;
}
KM_EXPORT(RtlCopyUnicodeString);

VOID NTAPI RtlCopyString(PSTRING DestinationString, const STRING *SourceString)
{
    if (!SourceString || !SourceString->Buffer) {
        DestinationString->Length = 0;
        return;
    }
    USHORT n = SourceString->Length < DestinationString->MaximumLength
                   ? SourceString->Length
                   : DestinationString->MaximumLength;
    memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
    if (n < DestinationString->MaximumLength)
        DestinationString->Buffer[n] = 0;
}
KM_EXPORT(RtlCopyString);

/* Negative, zero or positive as String1 sorts before, with or after String2:
   the first differing character decides, then the length. */
LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                   BOOLEAN CaseInSensitive)
{
    size_t n1 = String1->Length / sizeof(WCHAR), n2 = String2->Length / sizeof(WCHAR);
    size_t n = n1 < n2 ? n1 : n2;
    const KM_UNALIGNED_WCHAR *s1 = String1->Buffer, *s2 = String2->Buffer;
    for (size_t i = 0; i < n; i++) {
        WCHAR a = s1[i], b = s2[i];
        if (CaseInSensitive) {
            a = RtlpUpcaseChar(a);
            b = RtlpUpcaseChar(b);
        }
        if (a != b)
            return (LONG)a - (LONG)b;
    }
    return (LONG)n1 - (LONG)n2;
}
KM_EXPORT(RtlCompareUnicodeString);

BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                    BOOLEAN CaseInSensitive)
{
    if (String1->Length != String2->Length)
        return FALSE;
    return RtlCompareUnicodeString(String1, String2, CaseInSensitive) == 0;
}
KM_EXPORT(RtlEqualUnicodeString);

static UCHAR Rtlp_upper_ansi(UCHAR C)
{
    return RtlpUnicodeCharToAnsi(RtlpUpcaseChar(RtlpAnsiCharToUnicode(C)));
}

LONG NTAPI RtlCompareString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    size_t n = String1->Length < String2->Length ? String1->Length : String2->Length;
    for (size_t i = 0; i < n; i++) {
        UCHAR a = (UCHAR)String1->Buffer[i], b = (UCHAR)String2->Buffer[i];
        if (CaseInSensitive) {
            a = Rtlp_upper_ansi(a);
            b = Rtlp_upper_ansi(b);
        }
        if (a != b)
            return (LONG)a - (LONG)b;
    }
    return (LONG)String1->Length - (LONG)String2->Length;
}
KM_EXPORT(RtlCompareString);

BOOLEAN NTAPI RtlEqualString(const STRING *String1, const STRING *String2, BOOLEAN CaseInSensitive)
{
    if (String1->Length != String2->Length)
        return FALSE;
    return RtlCompareString(String1, String2, CaseInSensitive) == 0;
}
KM_EXPORT(RtlEqualString);

/* TRUE when String1 is a prefix of String2. */
BOOLEAN NTAPI RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                     BOOLEAN CaseInSensitive)
{
    if (String1->Length > String2->Length)
        return FALSE;
    const KM_UNALIGNED_WCHAR *s1 = String1->Buffer, *s2 = String2->Buffer;
    for (size_t i = 0; i < String1->Length / sizeof(WCHAR); i++) {
        WCHAR a = s1[i], b = s2[i];
        if (CaseInSensitive ? RtlpUpcaseChar(a) != RtlpUpcaseChar(b) : a != b)
            return FALSE;
    }
    return TRUE;
}
KM_EXPORT(RtlPrefixUnicodeString);

static NTSTATUS Rtlp_append(PUNICODE_STRING Destination, const KM_UNALIGNED_WCHAR *Src,
                            size_t Bytes)
{
    if (Bytes == 0)
        return STATUS_SUCCESS;
    if ((size_t)Destination->Length + Bytes > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    memmove((char *)Destination->Buffer + Destination->Length, Src, Bytes);
    Destination->Length = (USHORT)(Destination->Length + Bytes);
    if ((size_t)Destination->Length + sizeof(WCHAR) <= Destination->MaximumLength)
        ((KM_UNALIGNED_WCHAR *)Destination->Buffer)[Destination->Length / sizeof(WCHAR)] = 0;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source)
{
    if (!Source)
        return STATUS_SUCCESS;
    return Rtlp_append(Destination, Source, RtlpWideLength(Source) * sizeof(WCHAR));
}
KM_EXPORT(RtlAppendUnicodeToString);

NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source)
{
    return Rtlp_append(Destination, Source->Buffer, Source->Length);
}
KM_EXPORT(RtlAppendUnicodeStringToString);

NTSTATUS NTAPI RtlAppendStringToString(PSTRING Destination, const STRING *Source)
{
    if (Source->Length == 0)
        return STATUS_SUCCESS;
    if ((size_t)Destination->Length + Source->Length > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    memmove(Destination->Buffer + Destination->Length, Source->Buffer, Source->Length);
    Destination->Length = (USHORT)(Destination->Length + Source->Length);
    return STATUS_SUCCESS;
}
KM_EXPORT(RtlAppendStringToString);

/* Allocating forms allocate exactly Source.Length bytes (no terminator);
   otherwise the destination must hold Source.Length bytes. */
static NTSTATUS Rtlp_map_case(PUNICODE_STRING Destination, PCUNICODE_STRING Source,
                              BOOLEAN Allocate, WCHAR (*Map)(WCHAR), void *Caller)
{
    if (Allocate) {
        Destination->Buffer =
            ExpAllocatePool(PagedPool, Source->Length, RTLP_STRING_TAG, FALSE, Caller);
        if (!Destination->Buffer)
            return STATUS_NO_MEMORY;
        Destination->MaximumLength = Source->Length;
    } else if (Source->Length > Destination->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    size_t n = Source->Length / sizeof(WCHAR);
    KM_UNALIGNED_WCHAR *d = Destination->Buffer;
    const KM_UNALIGNED_WCHAR *src = Source->Buffer;
    for (size_t i = 0; i < n; i++)
        d[i] = Map(src[i]);
    Destination->Length = (USHORT)(n * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
                                      PCUNICODE_STRING SourceString,
                                      BOOLEAN AllocateDestinationString)
{
    return Rtlp_map_case(DestinationString, SourceString, AllocateDestinationString, RtlpUpcaseChar,
                         __builtin_return_address(0));
}
KM_EXPORT(RtlUpcaseUnicodeString);

NTSTATUS NTAPI RtlDowncaseUnicodeString(PUNICODE_STRING DestinationString,
                                        PCUNICODE_STRING SourceString,
                                        BOOLEAN AllocateDestinationString)
{
    return Rtlp_map_case(DestinationString, SourceString, AllocateDestinationString,
                         RtlpDowncaseChar, __builtin_return_address(0));
}
KM_EXPORT(RtlDowncaseUnicodeString);

WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter)
{
    return RtlpUpcaseChar(SourceCharacter);
}
KM_EXPORT(RtlUpcaseUnicodeChar);

WCHAR NTAPI RtlDowncaseUnicodeChar(WCHAR SourceCharacter)
{
    return RtlpDowncaseChar(SourceCharacter);
}
KM_EXPORT(RtlDowncaseUnicodeChar);

CHAR NTAPI RtlUpperChar(CHAR Character)
{
    return (CHAR)Rtlp_upper_ansi((UCHAR)Character);
}
KM_EXPORT(RtlUpperChar);

VOID NTAPI RtlUpperString(PSTRING DestinationString, const STRING *SourceString)
{
    USHORT n = SourceString->Length < DestinationString->MaximumLength
                   ? SourceString->Length
                   : DestinationString->MaximumLength;
    for (USHORT i = 0; i < n; i++)
        DestinationString->Buffer[i] = (CHAR)Rtlp_upper_ansi((UCHAR)SourceString->Buffer[i]);
    DestinationString->Length = n;
}
KM_EXPORT(RtlUpperString);

VOID NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
    if (UnicodeString->Buffer)
        ExpFreePool(UnicodeString->Buffer, 0, __builtin_return_address(0));
    UnicodeString->Buffer = NULL;
    UnicodeString->Length = UnicodeString->MaximumLength = 0;
}
KM_EXPORT(RtlFreeUnicodeString);

VOID NTAPI RtlFreeAnsiString(PANSI_STRING AnsiString)
{
    if (AnsiString->Buffer)
        ExpFreePool(AnsiString->Buffer, 0, __builtin_return_address(0));
    AnsiString->Buffer = NULL;
    AnsiString->Length = AnsiString->MaximumLength = 0;
}
KM_EXPORT(RtlFreeAnsiString);

BOOLEAN NTAPI RtlCreateUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    size_t bytes = (RtlpWideLength(SourceString) + 1) * sizeof(WCHAR);
    if (bytes > RTLP_MAX_USTRING)
        return FALSE;
    DestinationString->Buffer =
        ExpAllocatePool(PagedPool, bytes, RTLP_STRING_TAG, FALSE, __builtin_return_address(0));
    if (!DestinationString->Buffer)
        return FALSE;
    memcpy(DestinationString->Buffer, SourceString, bytes);
    DestinationString->Length = (USHORT)(bytes - sizeof(WCHAR));
    DestinationString->MaximumLength = (USHORT)bytes;
    return TRUE;
}
KM_EXPORT(RtlCreateUnicodeString);

#define RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE 1u
#define RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING 2u

NTSTATUS NTAPI RtlDuplicateUnicodeString(ULONG Flags, PCUNICODE_STRING StringIn,
                                         PUNICODE_STRING StringOut)
{
    if (!StringIn || !StringOut || Flags > 3 || (StringIn->Length & 1) ||
        StringIn->Length > StringIn->MaximumLength || (StringIn->Length && !StringIn->Buffer))
        return STATUS_INVALID_PARAMETER;
    if (StringIn->Length == 0 && !(Flags & RTL_DUPLICATE_UNICODE_STRING_ALLOCATE_NULL_STRING)) {
        StringOut->Length = StringOut->MaximumLength = 0;
        StringOut->Buffer = NULL;
        return STATUS_SUCCESS;
    }
    size_t bytes = StringIn->Length +
                   ((Flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE) ? sizeof(WCHAR) : 0);
    if (bytes > RTLP_MAX_USTRING)
        return STATUS_NAME_TOO_LONG;
    PWSTR buf =
        ExpAllocatePool(PagedPool, bytes, RTLP_STRING_TAG, FALSE, __builtin_return_address(0));
    if (!buf)
        return STATUS_NO_MEMORY;
    if (StringIn->Length)
        memcpy(buf, StringIn->Buffer, StringIn->Length);
    if (Flags & RTL_DUPLICATE_UNICODE_STRING_NULL_TERMINATE)
        buf[StringIn->Length / sizeof(WCHAR)] = 0;
    StringOut->Buffer = buf;
    StringOut->Length = StringIn->Length;
    StringOut->MaximumLength = (USHORT)bytes;
    return STATUS_SUCCESS;
}
KM_EXPORT(RtlDuplicateUnicodeString);
