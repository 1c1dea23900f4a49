/*
 * Values: set, query, enumerate, delete, and typed conveniences.
 *
 * Data is stored as the exact bytes a ZwSetValueKey caller passed; a value's
 * enumeration place is fixed when it is created (seq) and kept when it is
 * overwritten, so values enumerate in creation order, as Windows returns
 * them in practice (RegEnumValue documents no order). Setting or deleting a
 * value updates the key's LastWriteTime.
 */
#include "cm/cmp.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *CmpFoldValueName(const char *Name, size_t *Len, NTSTATUS *Status)
{
    long bytes = CmpUtf16Bytes(Name, strlen(Name));
    if (bytes < 0 || bytes / 2 > CM_MAX_VALUE_NAME_CHARS) {
        CmpSetError(bytes < 0 ? "value name is not valid UTF-8"
                              : "value name longer than 16383 characters");
        *Status = STATUS_OBJECT_NAME_INVALID;
        return NULL;
    }
    uint8_t *fold = CmpFoldName(Name, strlen(Name), Len);
    *Status = fold ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    return fold;
}

static NTSTATUS CmpReadValueRow(sqlite3_stmt *St, CM_VALUE *Value)
{
    const char *name = (const char *)sqlite3_column_text(St, 0);
    int n = sqlite3_column_bytes(St, 2);
    const void *data = sqlite3_column_blob(St, 2);
    Value->Name = strdup(name ? name : "");
    Value->Type = (ULONG)sqlite3_column_int64(St, 1);
    Value->DataLength = (ULONG)n;
    Value->Data = malloc((size_t)n + 1);
    if (!Value->Name || !Value->Data) {
        CmFreeValue(Value);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (n)
        memcpy(Value->Data, data, (size_t)n);
    return STATUS_SUCCESS;
}

void CmFreeValue(CM_VALUE *Value)
{
    free(Value->Name);
    free(Value->Data);
    memset(Value, 0, sizeof(*Value));
}

NTSTATUS CmQueryValue(CM_STORE *Store, CM_KEY_ID Key, const char *Name, CM_VALUE *Value)
{
    memset(Value, 0, sizeof(*Value));
    NTSTATUS s;
    size_t flen;
    uint8_t *fold = CmpFoldValueName(Name ? Name : "", &flen, &s);
    if (!fold)
        return s;
    s = CmpBegin(Store, 0);
    if (NT_SUCCESS(s)) {
        s = CmpCheckKey(Store, Key);
        sqlite3_stmt *st = NT_SUCCESS(s) ? CmpPrepare(Store, "SELECT name, type, data FROM vals "
                                                             "WHERE key=? AND fold=?")
                                         : NULL;
        if (st) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
            sqlite3_bind_blob(st, 2, fold, (int)flen, SQLITE_STATIC);
            int rc = sqlite3_step(st);
            s = rc == SQLITE_ROW    ? CmpReadValueRow(st, Value)
                : rc == SQLITE_DONE ? STATUS_OBJECT_NAME_NOT_FOUND
                                    : CmpDbError(Store, "query value");
            sqlite3_finalize(st);
        } else if (NT_SUCCESS(s)) {
            s = STATUS_REGISTRY_IO_FAILED;
        }
        s = CmpEnd(Store, s);
    }
    free(fold);
    return s;
}

NTSTATUS CmEnumerateValue(CM_STORE *Store, CM_KEY_ID Key, ULONG Index, CM_VALUE *Value)
{
    memset(Value, 0, sizeof(*Value));
    NTSTATUS s = CmpBegin(Store, 0);
    if (!NT_SUCCESS(s))
        return s;
    s = CmpCheckKey(Store, Key);
    if (!NT_SUCCESS(s))
        return CmpEnd(Store, s);
    sqlite3_stmt *st = CmpPrepare(
        Store, "SELECT name, type, data FROM vals WHERE key=? ORDER BY seq LIMIT 1 OFFSET ?");
    if (!st)
        return CmpEnd(Store, STATUS_REGISTRY_IO_FAILED);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
    sqlite3_bind_int64(st, 2, Index);
    int rc = sqlite3_step(st);
    s = rc == SQLITE_ROW    ? CmpReadValueRow(st, Value)
        : rc == SQLITE_DONE ? STATUS_NO_MORE_ENTRIES
                            : CmpDbError(Store, "enumerate values");
    sqlite3_finalize(st);
    return CmpEnd(Store, s);
}

static NTSTATUS CmpSetValueLocked(CM_STORE *Store, CM_KEY_ID Key, const char *Name,
                                  const uint8_t *Fold, size_t FoldLen, ULONG Type, const void *Data,
                                  ULONG DataLength)
{
    NTSTATUS s = CmpCheckKey(Store, Key);
    if (!NT_SUCCESS(s))
        return s;
    sqlite3_stmt *st =
        CmpPrepare(Store, "UPDATE vals SET type=?3, data=?4 WHERE key=?1 AND fold=?2");
    if (!st)
        return STATUS_REGISTRY_IO_FAILED;
    static const uint8_t empty[1];
    for (int pass = 0; pass < 2; pass++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
        sqlite3_bind_blob(st, 2, Fold, (int)FoldLen, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, Type);
        sqlite3_bind_blob(st, 4, DataLength ? Data : empty, (int)DataLength, SQLITE_STATIC);
        if (pass == 1)
            sqlite3_bind_text(st, 5, Name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return CmpDbError(Store, "set value");
        if (sqlite3_changes(Store->Db) > 0)
            break;
        if (pass == 1)
            return CmpDbError(Store, "set value");
        st = CmpPrepare(Store,
                        "INSERT INTO vals(key, fold, name, seq, type, data) VALUES(?1, ?2, "
                        "?5, (SELECT ifnull(max(seq), 0) + 1 FROM vals WHERE key=?1), ?3, ?4)");
        if (!st)
            return STATUS_REGISTRY_IO_FAILED;
    }
    return CmpTouchKey(Store, Key);
}

NTSTATUS CmSetValue(CM_STORE *Store, CM_KEY_ID Key, const char *Name, ULONG Type, const void *Data,
                    ULONG DataLength)
{
    NTSTATUS s;
    size_t flen;
    if (!Name)
        Name = "";
    if (DataLength > INT32_MAX || (DataLength && !Data))
        return STATUS_INVALID_PARAMETER;
    uint8_t *fold = CmpFoldValueName(Name, &flen, &s);
    if (!fold)
        return s;
    s = CmpBegin(Store, 1);
    if (NT_SUCCESS(s))
        s = CmpEnd(Store, CmpSetValueLocked(Store, Key, Name, fold, flen, Type, Data, DataLength));
    free(fold);
    return s;
}

NTSTATUS CmDeleteValue(CM_STORE *Store, CM_KEY_ID Key, const char *Name)
{
    NTSTATUS s;
    size_t flen;
    uint8_t *fold = CmpFoldValueName(Name ? Name : "", &flen, &s);
    if (!fold)
        return s;
    s = CmpBegin(Store, 1);
    if (!NT_SUCCESS(s)) {
        free(fold);
        return s;
    }
    s = CmpCheckKey(Store, Key);
    if (NT_SUCCESS(s)) {
        sqlite3_stmt *st = CmpPrepare(Store, "DELETE FROM vals WHERE key=? AND fold=?");
        if (st) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
            sqlite3_bind_blob(st, 2, fold, (int)flen, SQLITE_STATIC);
            int rc = sqlite3_step(st);
            sqlite3_finalize(st);
            if (rc != SQLITE_DONE)
                s = CmpDbError(Store, "delete value");
            else if (sqlite3_changes(Store->Db) == 0)
                s = STATUS_OBJECT_NAME_NOT_FOUND;
            else
                s = CmpTouchKey(Store, Key);
        } else {
            s = STATUS_REGISTRY_IO_FAILED;
        }
    }
    free(fold);
    return CmpEnd(Store, s);
}

NTSTATUS CmSetValueString(CM_STORE *Store, CM_KEY_ID Key, const char *Name, ULONG Type,
                          const char *Utf8)
{
    long n = CmUtf8ToUtf16(Utf8, NULL, 0);
    if (n < 0) {
        CmpSetError("string is not valid UTF-8");
        return STATUS_INVALID_PARAMETER;
    }
    uint16_t *w = malloc(((size_t)n + 1) * 2);
    if (!w)
        return STATUS_INSUFFICIENT_RESOURCES;
    CmUtf8ToUtf16(Utf8, w, (size_t)n + 1);
    uint8_t *b = malloc(((size_t)n + 1) * 2);
    if (!b) {
        free(w);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    for (long i = 0; i <= n; i++) {
        b[2 * i] = (uint8_t)w[i];
        b[2 * i + 1] = (uint8_t)(w[i] >> 8);
    }
    NTSTATUS s = CmSetValue(Store, Key, Name, Type, b, (ULONG)((n + 1) * 2));
    free(w);
    free(b);
    return s;
}

NTSTATUS CmSetValueDword(CM_STORE *Store, CM_KEY_ID Key, const char *Name, ULONG Data)
{
    uint8_t b[4] = {(uint8_t)Data, (uint8_t)(Data >> 8), (uint8_t)(Data >> 16),
                    (uint8_t)(Data >> 24)};
    return CmSetValue(Store, Key, Name, REG_DWORD, b, 4);
}

NTSTATUS CmQueryValueString(CM_STORE *Store, CM_KEY_ID Key, const char *Name, char *Utf8,
                            size_t Len)
{
    CM_VALUE v;
    NTSTATUS s = CmQueryValue(Store, Key, Name, &v);
    if (!NT_SUCCESS(s))
        return s;
    if (v.Type != REG_SZ && v.Type != REG_EXPAND_SZ) {
        CmFreeValue(&v);
        return STATUS_OBJECT_TYPE_MISMATCH;
    }
    size_t units = v.DataLength / 2;
    uint16_t *w = malloc(units * 2 + 2);
    if (!w) {
        CmFreeValue(&v);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    for (size_t i = 0; i < units; i++)
        w[i] = (uint16_t)(v.Data[2 * i] | v.Data[2 * i + 1] << 8);
    while (units && w[units - 1] == 0)
        units--;
    long n = CmUtf16ToUtf8(w, units, Utf8, Len);
    free(w);
    CmFreeValue(&v);
    if (n < 0)
        return STATUS_DATA_ERROR;
    return (size_t)n < Len ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
}

NTSTATUS CmQueryValueDword(CM_STORE *Store, CM_KEY_ID Key, const char *Name, ULONG *Data)
{
    CM_VALUE v;
    NTSTATUS s = CmQueryValue(Store, Key, Name, &v);
    if (!NT_SUCCESS(s))
        return s;
    if (v.Type != REG_DWORD || v.DataLength != 4)
        s = STATUS_OBJECT_TYPE_MISMATCH;
    else
        *Data = (ULONG)v.Data[0] | (ULONG)v.Data[1] << 8 | (ULONG)v.Data[2] << 16 |
                (ULONG)v.Data[3] << 24;
    CmFreeValue(&v);
    return s;
}
