/*
 * Registry values for drivers: ZwSetValueKey, ZwQueryValueKey,
 * ZwEnumerateValueKey, ZwDeleteValueKey and their Nt forms.
 *
 * Layouts (wdm.h): KEY_VALUE_BASIC_INFORMATION {TitleIndex, Type, NameLength,
 * Name}, KEY_VALUE_FULL_INFORMATION {TitleIndex, Type, DataOffset,
 * DataLength, NameLength, Name, then the data at DataOffset},
 * KEY_VALUE_PARTIAL_INFORMATION {TitleIndex, Type, DataLength, Data} and
 * KEY_VALUE_PARTIAL_INFORMATION_ALIGN64 {Type, DataLength, Data}.
 * DataOffset is the end of the name rounded up to a multiple of 4 (of 8 for
 * KeyValueFullInformationAlign64); a value without data has DataOffset
 * 0xFFFFFFFF.
 *
 * Buffer rules: Length below the fixed part (the offset of Name or Data) is
 * STATUS_BUFFER_TOO_SMALL with nothing written. Otherwise the fixed part is
 * written; if the rest does not fit, as much of the name (basic, full) or of
 * the data (partial) as fits is copied, the data of a full record is not,
 * and the status is STATUS_BUFFER_OVERFLOW. *ResultLength is always the
 * size the whole record needs. (Windows does not enforce the 8-byte buffer
 * alignment that the documentation of the Align64 classes asks for, so
 * kmhost does not either.)
 *
 * Values keep the exact bytes and type ZwSetValueKey received; the type is
 * not checked against the data (REG_DWORD of 3 bytes is stored as given).
 */
#include "cm/keyobj.h"

#include <stdlib.h>
#include <string.h>

typedef enum {
    KeyValueBasicInformation,
    KeyValueFullInformation,
    KeyValuePartialInformation,
    KeyValueFullInformationAlign64,
    KeyValuePartialInformationAlign64,
} KEY_VALUE_INFORMATION_CLASS;

#define CMP_VALUE_BASIC_FIXED 12
#define CMP_VALUE_FULL_FIXED 20
#define CMP_VALUE_PARTIAL_FIXED 12
#define CMP_VALUE_PARTIAL64_FIXED 8
#define CMP_NO_DATA 0xFFFFFFFFu

/* Copies up to Room bytes of Src[0..Len); true if all of it fitted. */
static bool CmpCopySome(uint8_t *Dst, ULONG Room, const void *Src, ULONG Len)
{
    ULONG n = Room < Len ? Room : Len;
    if (n)
        memcpy(Dst, Src, n);
    return n == Len;
}

/* Formats one value record for the routines above. */
static NTSTATUS CmpValueInformation(ULONG Class, const CM_VALUE *Value, uint8_t *Buf, ULONG Length,
                                    PULONG ResultLength)
{
    long units = CmUtf8ToUtf16(Value->Name, NULL, 0);
    if (units < 0)
        return STATUS_REGISTRY_CORRUPT;
    WCHAR *name = malloc(((size_t)units + 1) * sizeof(WCHAR));
    if (!name)
        return STATUS_INSUFFICIENT_RESOURCES;
    CmUtf8ToUtf16(Value->Name, name, (size_t)units + 1);
    ULONG nameLen = (ULONG)units * sizeof(WCHAR);
    ULONG dataLen = Value->DataLength;
    NTSTATUS s = STATUS_SUCCESS;

    switch (Class) {
    case KeyValueBasicInformation:
        *ResultLength = CMP_VALUE_BASIC_FIXED + nameLen;
        if (Length < CMP_VALUE_BASIC_FIXED) {
            s = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        CmpPut32(Buf, 0);
        CmpPut32(Buf + 4, Value->Type);
        CmpPut32(Buf + 8, nameLen);
        if (!CmpCopySome(Buf + CMP_VALUE_BASIC_FIXED, (Length - CMP_VALUE_BASIC_FIXED) & ~1u, name,
                         nameLen))
            s = STATUS_BUFFER_OVERFLOW;
        break;
    case KeyValueFullInformation:
    case KeyValueFullInformationAlign64: {
        ULONG align = Class == KeyValueFullInformation ? 4 : 8;
        ULONG offset = (CMP_VALUE_FULL_FIXED + nameLen + align - 1) & ~(align - 1);
        *ResultLength = dataLen ? offset + dataLen : CMP_VALUE_FULL_FIXED + nameLen;
        if (Length < CMP_VALUE_FULL_FIXED) {
            s = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        CmpPut32(Buf, 0);
        CmpPut32(Buf + 4, Value->Type);
        CmpPut32(Buf + 8, dataLen ? offset : CMP_NO_DATA);
        CmpPut32(Buf + 12, dataLen);
        CmpPut32(Buf + 16, nameLen);
        if (!CmpCopySome(Buf + CMP_VALUE_FULL_FIXED, (Length - CMP_VALUE_FULL_FIXED) & ~1u, name,
                         nameLen) ||
            Length < *ResultLength)
            s = STATUS_BUFFER_OVERFLOW;
        else if (dataLen)
            memcpy(Buf + offset, Value->Data, dataLen);
        break;
    }
    case KeyValuePartialInformation:
        *ResultLength = CMP_VALUE_PARTIAL_FIXED + dataLen;
        if (Length < CMP_VALUE_PARTIAL_FIXED) {
            s = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        CmpPut32(Buf, 0);
        CmpPut32(Buf + 4, Value->Type);
        CmpPut32(Buf + 8, dataLen);
        if (!CmpCopySome(Buf + CMP_VALUE_PARTIAL_FIXED, Length - CMP_VALUE_PARTIAL_FIXED,
                         Value->Data, dataLen))
            s = STATUS_BUFFER_OVERFLOW;
        break;
    case KeyValuePartialInformationAlign64:
        *ResultLength = CMP_VALUE_PARTIAL64_FIXED + dataLen;
        if (Length < CMP_VALUE_PARTIAL64_FIXED) {
            s = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        CmpPut32(Buf, Value->Type);
        CmpPut32(Buf + 4, dataLen);
        if (!CmpCopySome(Buf + CMP_VALUE_PARTIAL64_FIXED, Length - CMP_VALUE_PARTIAL64_FIXED,
                         Value->Data, dataLen))
            s = STATUS_BUFFER_OVERFLOW;
        break;
    default:
        s = STATUS_INVALID_PARAMETER;
        break;
    }
    free(name);
    return s;
}

static NTSTATUS CmpCheckValueInfoArgs(const char *Routine, ULONG Class, PVOID Buffer, ULONG Length,
                                      PULONG ResultLength)
{
    NTSTATUS s = CmpCheckInfoArgs(Routine, Buffer, Length, ResultLength);
    if (!NT_SUCCESS(s))
        return s;
    if (Class > KeyValuePartialInformationAlign64)
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                               ULONG KeyValueInformationClass, PVOID KeyValueInformation,
                               ULONG Length, PULONG ResultLength)
{
    NTSTATUS s = CmpCheckValueInfoArgs("ZwQueryValueKey", KeyValueInformationClass,
                                       KeyValueInformation, Length, ResultLength);
    if (!NT_SUCCESS(s))
        return s;
    CM_KEY_BODY *key;
    s = CmpReferenceKey(KeyHandle, &key);
    if (!NT_SUCCESS(s))
        return s;
    char *name;
    s = CmpCaptureValueName("ZwQueryValueKey", ValueName, &name);
    CM_STORE *store;
    if (NT_SUCCESS(s)) {
        s = CmpStore(&store);
        CM_VALUE v;
        if (NT_SUCCESS(s))
            s = CmQueryValue(store, key->Id, name, &v);
        if (NT_SUCCESS(s)) {
            s = CmpValueInformation(KeyValueInformationClass, &v, KeyValueInformation, Length,
                                    ResultLength);
            CmFreeValue(&v);
        }
        free(name);
    }
    ObfDereferenceObject(key);
    return CmpStoreStatus("ZwQueryValueKey", s);
}
KM_EXPORT(ZwQueryValueKey);

NTSTATUS NTAPI NtQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                               ULONG KeyValueInformationClass, PVOID KeyValueInformation,
                               ULONG Length, PULONG ResultLength)
{
    return ZwQueryValueKey(KeyHandle, ValueName, KeyValueInformationClass, KeyValueInformation,
                           Length, ResultLength);
}
KM_EXPORT(NtQueryValueKey);

NTSTATUS NTAPI ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index, ULONG KeyValueInformationClass,
                                   PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    NTSTATUS s = CmpCheckValueInfoArgs("ZwEnumerateValueKey", KeyValueInformationClass,
                                       KeyValueInformation, Length, ResultLength);
    if (!NT_SUCCESS(s))
        return s;
    CM_KEY_BODY *key;
    s = CmpReferenceKey(KeyHandle, &key);
    if (!NT_SUCCESS(s))
        return s;
    CM_STORE *store;
    CM_VALUE v;
    s = CmpStore(&store);
    if (NT_SUCCESS(s))
        s = CmEnumerateValue(store, key->Id, Index, &v);
    if (NT_SUCCESS(s)) {
        s = CmpValueInformation(KeyValueInformationClass, &v, KeyValueInformation, Length,
                                ResultLength);
        CmFreeValue(&v);
    }
    ObfDereferenceObject(key);
    return CmpStoreStatus("ZwEnumerateValueKey", s);
}
KM_EXPORT(ZwEnumerateValueKey);

NTSTATUS NTAPI NtEnumerateValueKey(HANDLE KeyHandle, ULONG Index, ULONG KeyValueInformationClass,
                                   PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    return ZwEnumerateValueKey(KeyHandle, Index, KeyValueInformationClass, KeyValueInformation,
                               Length, ResultLength);
}
KM_EXPORT(NtEnumerateValueKey);

/* Sets (Type, Data, DataSize) or deletes value ValueName of the key behind
   KeyHandle, in one store transaction. */
static NTSTATUS CmpChangeValue(const char *Routine, HANDLE KeyHandle, PUNICODE_STRING ValueName,
                               bool Delete, ULONG Type, const void *Data, ULONG DataSize)
{
    CM_KEY_BODY *key;
    NTSTATUS s = CmpReferenceKey(KeyHandle, &key);
    if (!NT_SUCCESS(s))
        return s;
    char *name;
    s = CmpCaptureValueName(Routine, ValueName, &name);
    if (NT_SUCCESS(s)) {
        CM_STORE *store;
        s = CmpStore(&store);
        if (NT_SUCCESS(s))
            s = Delete ? CmDeleteValue(store, key->Id, name)
                       : CmSetValue(store, key->Id, name, Type, Data, DataSize);
        free(name);
    }
    ObfDereferenceObject(key);
    return CmpStoreStatus(Routine, s);
}

NTSTATUS NTAPI ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex,
                             ULONG Type, PVOID Data, ULONG DataSize)
{
    (void)TitleIndex;
    if (!Data && DataSize) {
        CmpReport("ZwSetValueKey", "Data is NULL but DataSize is %u", DataSize);
        return STATUS_ACCESS_VIOLATION;
    }
    return CmpChangeValue("ZwSetValueKey", KeyHandle, ValueName, false, Type, Data, DataSize);
}
KM_EXPORT(ZwSetValueKey);

NTSTATUS NTAPI NtSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex,
                             ULONG Type, PVOID Data, ULONG DataSize)
{
    return ZwSetValueKey(KeyHandle, ValueName, TitleIndex, Type, Data, DataSize);
}
KM_EXPORT(NtSetValueKey);

NTSTATUS NTAPI ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
    return CmpChangeValue("ZwDeleteValueKey", KeyHandle, ValueName, true, 0, NULL, 0);
}
KM_EXPORT(ZwDeleteValueKey);

NTSTATUS NTAPI NtDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
    return ZwDeleteValueKey(KeyHandle, ValueName);
}
KM_EXPORT(NtDeleteValueKey);
