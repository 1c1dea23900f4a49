/*
 * Conversions: UNICODE_STRING <-> ANSI_STRING in the ANSI code page
 * (Windows-1252: one byte per WCHAR), and integers <-> strings.
 *
 * Sizes returned by the Rtlx*Size routines include the terminator, as the
 * documentation says. A conversion that allocates allocates that size; one
 * that does not needs room for the terminator too, else the result is
 * STATUS_BUFFER_OVERFLOW. A caller's wide buffer may sit at any address, so
 * it is read and written through KM_UNALIGNED_WCHAR pointers.
 */
#include "ex/ex.h"
#include "rtl.h"

#include <string.h>

ULONG NTAPI RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString)
{
    return UnicodeString->Length / sizeof(WCHAR) + 1;
}
KM_EXPORT(RtlxUnicodeStringToAnsiSize);

ULONG NTAPI RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString)
{
    return ((ULONG)AnsiString->Length + 1) * sizeof(WCHAR);
}
KM_EXPORT(RtlxAnsiStringToUnicodeSize);

/* Same as the ANSI ones: kmhost's OEM code page is its ANSI code page. */
ULONG NTAPI RtlxUnicodeStringToOemSize(PCUNICODE_STRING UnicodeString)
{
    return RtlxUnicodeStringToAnsiSize(UnicodeString);
}
KM_EXPORT(RtlxUnicodeStringToOemSize);

ULONG NTAPI RtlxOemStringToUnicodeSize(PCANSI_STRING OemString)
{
    return RtlxAnsiStringToUnicodeSize(OemString);
}
KM_EXPORT(RtlxOemStringToUnicodeSize);

/*
 * Without allocation and with too small a destination, Windows converts what
 * fits (leaving room for the terminator) and returns STATUS_BUFFER_OVERFLOW.
 */
NTSTATUS NTAPI RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                            PCUNICODE_STRING SourceString,
                                            BOOLEAN AllocateDestinationString)
{
    ULONG size = RtlxUnicodeStringToAnsiSize(SourceString);
    NTSTATUS status = STATUS_SUCCESS;
    if (size > 0xFFFF)
        return STATUS_INVALID_PARAMETER_2;
    size_t n = size - 1;
    if (AllocateDestinationString) {
        DestinationString->Buffer =
            ExpAllocatePool(PagedPool, size, RTLP_STRING_TAG, FALSE, __builtin_return_address(0));
        if (!DestinationString->Buffer)
            return STATUS_NO_MEMORY;
        DestinationString->MaximumLength = (USHORT)size;
    } else if (n >= DestinationString->MaximumLength) {
        if (DestinationString->MaximumLength == 0)
            return STATUS_BUFFER_OVERFLOW;
        status = STATUS_BUFFER_OVERFLOW;
        n = DestinationString->MaximumLength - 1u;
    }
    const KM_UNALIGNED_WCHAR *src = SourceString->Buffer;
    for (size_t i = 0; i < n; i++)
        DestinationString->Buffer[i] = (CHAR)RtlpUnicodeCharToAnsi(src[i]);
    DestinationString->Buffer[n] = 0;
    DestinationString->Length = (USHORT)n;
    return status;
}
KM_EXPORT(RtlUnicodeStringToAnsiString);

NTSTATUS NTAPI RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                            PCANSI_STRING SourceString,
                                            BOOLEAN AllocateDestinationString)
{
    ULONG size = RtlxAnsiStringToUnicodeSize(SourceString);
    if (size > RTLP_MAX_USTRING)
        return STATUS_INVALID_PARAMETER_2;
    size_t n = SourceString->Length;
    if (AllocateDestinationString) {
        DestinationString->Buffer =
            ExpAllocatePool(PagedPool, size, RTLP_STRING_TAG, FALSE, __builtin_return_address(0));
        if (!DestinationString->Buffer)
            return STATUS_NO_MEMORY;
        DestinationString->MaximumLength = (USHORT)size;
    } else if (n * sizeof(WCHAR) >= DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    KM_UNALIGNED_WCHAR *d = DestinationString->Buffer;
    for (size_t i = 0; i < n; i++)
        d[i] = RtlpAnsiCharToUnicode((UCHAR)SourceString->Buffer[i]);
    d[n] = 0;
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    return STATUS_SUCCESS;
}
KM_EXPORT(RtlAnsiStringToUnicodeString);

/* Digits of Value in Base (2, 8, 10, 16), most significant first; returns the count. */
static size_t Rtlp_digits(ULONG64 Value, ULONG Base, char Out[65])
{
    char rev[65];
    size_t n = 0;
    do {
        rev[n++] = "0123456789ABCDEF"[Value % Base];
        Value /= Base;
    } while (Value);
    for (size_t i = 0; i < n; i++)
        Out[i] = rev[n - 1 - i];
    return n;
}

static NTSTATUS Rtlp_integer_to_unicode(ULONG64 Value, ULONG Base, PUNICODE_STRING String)
{
    char digits[65];
    if (Base == 0)
        Base = 10;
    if (Base != 2 && Base != 8 && Base != 10 && Base != 16)
        return STATUS_INVALID_PARAMETER;
    size_t n = Rtlp_digits(Value, Base, digits);
    /* The result is terminated, so the terminator must fit too. */
    if ((n + 1) * sizeof(WCHAR) > String->MaximumLength)
        return STATUS_BUFFER_OVERFLOW;
    KM_UNALIGNED_WCHAR *d = String->Buffer;
    for (size_t i = 0; i < n; i++)
        d[i] = (WCHAR)digits[i];
    d[n] = 0;
    String->Length = (USHORT)(n * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String)
{
    return Rtlp_integer_to_unicode(Value, Base, String);
}
KM_EXPORT(RtlIntegerToUnicodeString);

NTSTATUS NTAPI RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String)
{
    return Rtlp_integer_to_unicode(Value, Base, String);
}
KM_EXPORT(RtlInt64ToUnicodeString);

/* Writes the digits to String (not terminated when they fill it exactly). */
NTSTATUS NTAPI RtlIntegerToChar(ULONG Value, ULONG Base, LONG OutputLength, PCHAR String)
{
    char digits[65];
    if (Base == 0)
        Base = 10;
    if (Base != 2 && Base != 8 && Base != 10 && Base != 16)
        return STATUS_INVALID_PARAMETER;
    size_t n = Rtlp_digits(Value, Base, digits);
    size_t room = OutputLength < 0 ? (size_t)-OutputLength : (size_t)OutputLength;
    if (n > room)
        return STATUS_BUFFER_OVERFLOW;
    memcpy(String, digits, n);
    if (n < room)
        String[n] = 0;
    return STATUS_SUCCESS;
}
KM_EXPORT(RtlIntegerToChar);

static int Rtlp_digit_value(unsigned C)
{
    if (C >= '0' && C <= '9')
        return (int)(C - '0');
    if (C >= 'a' && C <= 'f')
        return (int)(C - 'a' + 10);
    if (C >= 'A' && C <= 'F')
        return (int)(C - 'A' + 10);
    return 99;
}

/*
 * The documented parse: skip white space, an optional sign, with Base 0 an
 * optional 0x/0o/0b prefix (else decimal), then the digits valid in the base
 * up to the first other character. No digits gives 0 and STATUS_SUCCESS.
 */
static NTSTATUS Rtlp_parse(const void *Text, size_t Len, BOOLEAN Wide, ULONG Base, PULONG Value)
{
#define CH(i) (Wide ? ((const KM_UNALIGNED_WCHAR *)Text)[i] : ((const UCHAR *)Text)[i])
    size_t i = 0;
    BOOLEAN neg = FALSE;
    if (Base != 0 && Base != 2 && Base != 8 && Base != 10 && Base != 16)
        return STATUS_INVALID_PARAMETER;
    while (i < Len && CH(i) <= ' ')
        i++;
    if (i < Len && (CH(i) == '-' || CH(i) == '+'))
        neg = CH(i++) == '-';
    if (Base == 0) {
        Base = 10;
        if (i + 1 < Len && CH(i) == '0') {
            unsigned p = CH(i + 1);
            if (p == 'x' || p == 'o' || p == 'b') {
                Base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
                i += 2;
            }
        }
    }
    ULONG v = 0;
    for (; i < Len; i++) {
        int d = Rtlp_digit_value(CH(i));
        if (d >= (int)Base)
            break;
        v = v * Base + (ULONG)d;
    }
    *Value = neg ? (ULONG)(0u - v) : v;
    return STATUS_SUCCESS;
#undef CH
}

NTSTATUS NTAPI RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value)
{
    if (!String || String->Length == 0 || !String->Buffer)
        return STATUS_INVALID_PARAMETER;
    return Rtlp_parse(String->Buffer, String->Length / sizeof(WCHAR), TRUE, Base, Value);
}
KM_EXPORT(RtlUnicodeStringToInteger);

NTSTATUS NTAPI RtlCharToInteger(const char *String, ULONG Base, PULONG Value)
{
    if (!String)
        return STATUS_INVALID_PARAMETER;
    return Rtlp_parse(String, strlen(String), FALSE, Base, Value);
}
KM_EXPORT(RtlCharToInteger);
