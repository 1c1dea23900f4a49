/*
 * The Windows x64 ABI: base types, as the WDK defines them.
 *
 * Windows is LLP64: LONG and ULONG are 32 bits, WCHAR is 16 bits. Never use
 * long or wchar_t here. Everything a driver can import, or that calls into a
 * driver, is NTAPI (ms_abi).
 */
#ifndef KM_NT_NTDEF_H
#define KM_NT_NTDEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTAPI __attribute__((ms_abi))

typedef void VOID, *PVOID;
typedef const void *PCVOID;
typedef int8_t CHAR, CCHAR, *PCHAR;
typedef uint8_t UCHAR, BOOLEAN, KIRQL, *PUCHAR, *PBOOLEAN, *PKIRQL;
typedef int16_t SHORT, CSHORT, *PSHORT;
typedef uint16_t USHORT, WCHAR, *PUSHORT, *PWCHAR, *PWSTR;
typedef const uint16_t *PCWSTR;
typedef char *PSTR;
typedef const char *PCSTR;
typedef int32_t LONG, NTSTATUS, *PLONG;
typedef uint32_t ULONG, *PULONG, ACCESS_MASK, *PACCESS_MASK;
typedef int64_t LONGLONG, LONG_PTR, *PLONGLONG;
typedef uint64_t ULONGLONG, ULONG_PTR, SIZE_T, ULONG64, *PULONGLONG, *PULONG_PTR, *PSIZE_T;
typedef PVOID HANDLE, *PHANDLE;
typedef CCHAR KPROCESSOR_MODE;
typedef LONG KPRIORITY;

#define TRUE 1
#define FALSE 0

#define KernelMode 0
#define UserMode 1

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    };
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;
_Static_assert(sizeof(LARGE_INTEGER) == 8, "LARGE_INTEGER");

typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink;
    struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY;
_Static_assert(sizeof(LIST_ENTRY) == 16, "LIST_ENTRY");

typedef struct _SINGLE_LIST_ENTRY {
    struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

typedef struct _UNICODE_STRING {
    USHORT Length;        /* bytes, without a terminator */
    USHORT MaximumLength; /* bytes */
    PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;
_Static_assert(sizeof(UNICODE_STRING) == 16, "UNICODE_STRING");
_Static_assert(offsetof(UNICODE_STRING, Buffer) == 8, "UNICODE_STRING.Buffer");

typedef struct _STRING {
    USHORT Length;
    USHORT MaximumLength;
    PCHAR Buffer;
} STRING, ANSI_STRING, *PSTRING, *PANSI_STRING;
typedef const STRING *PCANSI_STRING;
_Static_assert(sizeof(ANSI_STRING) == 16, "ANSI_STRING");

typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID;

#define NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)
#define NT_INFORMATION(s) ((ULONG)(s) >> 30 == 1)
#define NT_WARNING(s) ((ULONG)(s) >> 30 == 2)
#define NT_ERROR(s) ((ULONG)(s) >> 30 == 3)

#define CONTAINING_RECORD(address, type, field) \
    ((type *)((char *)(address) - offsetof(type, field)))

#endif
