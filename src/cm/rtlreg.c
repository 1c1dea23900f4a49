/*
 * The Rtl registry helpers drivers use: RtlQueryRegistryValues,
 * RtlWriteRegistryValue, RtlDeleteRegistryValue, RtlCheckRegistryKey,
 * RtlCreateRegistryKey.
 *
 * RelativeTo names the key Path is relative to (wdm.h): RTL_REGISTRY_ABSOLUTE
 * (Path is "\Registry\..."), _SERVICES, _CONTROL, _WINDOWS_NT, _DEVICEMAP,
 * _USER (\Registry\User\.Default for the System process: kmhost has no user
 * hive, so it is not found), or RTL_REGISTRY_HANDLE (Path is a key handle).
 * RTL_REGISTRY_OPTIONAL: a missing key is not an error; the query table is
 * then not processed.
 *
 * RtlQueryRegistryValues walks the table until an entry with neither a
 * QueryRoutine, a Name nor a SUBKEY/TOPKEY/DIRECT flag:
 *  - SUBKEY: later entries use Name, a path relative to the top key (a
 *    missing one is skipped with the entries that use it, or is
 *    STATUS_OBJECT_NAME_NOT_FOUND with REQUIRED); TOPKEY goes back. Either,
 *    given a QueryRoutine, also reports every value of its key.
 *  - Name NULL reports every value of the current key (REQUIRED: at least
 *    one must exist); NOVALUE calls the routine once with REG_NONE, no data.
 *  - A missing named value is STATUS_OBJECT_NAME_NOT_FOUND with REQUIRED;
 *    otherwise the default (DefaultType's low byte, DefaultData,
 *    DefaultLength, computed for strings when 0) is reported, unless it is
 *    REG_NONE.
 *  - Unless NOEXPAND: REG_EXPAND_SZ is expanded with Environment ("NAME=value"
 *    strings ending with an empty one; without one, references stay as they
 *    are: the System process has no environment) and reported as REG_SZ;
 *    REG_MULTI_SZ is reported one REG_SZ per string.
 *  - DIRECT stores into EntryContext: strings into a UNICODE_STRING
 *    (allocated from paged pool when Buffer is NULL, else
 *    STATUS_BUFFER_TOO_SMALL when MaximumLength cannot hold the string and
 *    its terminator); other data of at most 4 bytes as is; larger data by
 *    the first LONG of the buffer: -size means data only, +size means
 *    {ULONG length, ULONG type, data}. TYPECHECK (2014's security fix, which
 *    drivers using DIRECT must set): the stored type must be DefaultType's
 *    high byte, else STATUS_OBJECT_TYPE_MISMATCH and nothing is written.
 *  - A QueryRoutine's failure ends the walk with its status, except
 *    STATUS_BUFFER_TOO_SMALL, which is ignored. DELETE deletes a value once
 *    it was reported.
 * No lock is held while a QueryRoutine runs: it may use the registry.
 */
#include "cm/keyobj.h"
#include "ex/ex.h"
#include "rtl/rtl.h"

#include <stdlib.h>
#include <string.h>

#define RTL_REGISTRY_ABSOLUTE 0
#define RTL_REGISTRY_SERVICES 1
#define RTL_REGISTRY_CONTROL 2
#define RTL_REGISTRY_WINDOWS_NT 3
#define RTL_REGISTRY_DEVICEMAP 4
#define RTL_REGISTRY_USER 5
#define RTL_REGISTRY_MAXIMUM 6
#define RTL_REGISTRY_HANDLE 0x40000000u
#define RTL_REGISTRY_OPTIONAL 0x80000000u

#define RTL_QUERY_REGISTRY_SUBKEY 0x00000001
#define RTL_QUERY_REGISTRY_TOPKEY 0x00000002
#define RTL_QUERY_REGISTRY_REQUIRED 0x00000004
#define RTL_QUERY_REGISTRY_NOVALUE 0x00000008
#define RTL_QUERY_REGISTRY_NOEXPAND 0x00000010
#define RTL_QUERY_REGISTRY_DIRECT 0x00000020
#define RTL_QUERY_REGISTRY_DELETE 0x00000040
#define RTL_QUERY_REGISTRY_TYPECHECK 0x00000100
#define RTL_QUERY_REGISTRY_TYPECHECK_SHIFT 24

typedef NTSTATUS(NTAPI *PRTL_QUERY_REGISTRY_ROUTINE)(PWSTR ValueName, ULONG ValueType,
                                                     PVOID ValueData, ULONG ValueLength,
                                                     PVOID Context, PVOID EntryContext);

typedef struct _RTL_QUERY_REGISTRY_TABLE {
    PRTL_QUERY_REGISTRY_ROUTINE QueryRoutine;
    ULONG Flags;
    PCWSTR Name;
    PVOID EntryContext;
    ULONG DefaultType;
    PVOID DefaultData;
    ULONG DefaultLength;
} RTL_QUERY_REGISTRY_TABLE, *PRTL_QUERY_REGISTRY_TABLE;
_Static_assert(sizeof(RTL_QUERY_REGISTRY_TABLE) == 56, "RTL_QUERY_REGISTRY_TABLE");
_Static_assert(offsetof(RTL_QUERY_REGISTRY_TABLE, DefaultType) == 32, "DefaultType");

static const char *const RtlpRelativeRoots[RTL_REGISTRY_MAXIMUM] = {
    [RTL_REGISTRY_SERVICES] = "\\Registry\\Machine\\System\\CurrentControlSet\\Services",
    [RTL_REGISTRY_CONTROL] = "\\Registry\\Machine\\System\\CurrentControlSet\\Control",
    [RTL_REGISTRY_WINDOWS_NT] =
        "\\Registry\\Machine\\Software\\Microsoft\\Windows NT\\CurrentVersion",
    [RTL_REGISTRY_DEVICEMAP] = "\\Registry\\Machine\\Hardware\\DeviceMap",
    [RTL_REGISTRY_USER] = "\\Registry\\User\\.Default",
};

/* The key RelativeTo and Path name; with Create, its last component is
   created if missing. */
static NTSTATUS RtlpOpenKey(ULONG RelativeTo, PCWSTR Path, bool Create, CM_KEY_ID *Key)
{
    if (RelativeTo & RTL_REGISTRY_HANDLE) {
        CM_KEY_BODY *k;
        NTSTATUS s = CmpReferenceKey((HANDLE)Path, &k);
        if (NT_SUCCESS(s)) {
            *Key = k->Id;
            ObfDereferenceObject(k);
        }
        return s;
    }
    ULONG base = RelativeTo & ~(RTL_REGISTRY_OPTIONAL | RTL_REGISTRY_HANDLE);
    if (base >= RTL_REGISTRY_MAXIMUM)
        return STATUS_INVALID_PARAMETER;
    const KM_UNALIGNED_WCHAR *path = Path; /* the caller's, at any address */
    size_t pathChars = path ? RtlpWideLength(path) : 0;
    const char *root = RtlpRelativeRoots[base];
    size_t rootChars = root ? strlen(root) : 0;
    WCHAR *full = malloc((rootChars + 1 + pathChars + 1) * sizeof(WCHAR));
    if (!full)
        return STATUS_INSUFFICIENT_RESOURCES;
    size_t n = 0;
    for (size_t i = 0; i < rootChars; i++)
        full[n++] = (WCHAR)root[i];
    if (root && pathChars && path[0] != '\\')
        full[n++] = '\\';
    if (pathChars)
        memcpy(full + n, path, pathChars * sizeof(WCHAR));
    n += pathChars;
    NTSTATUS s = CmpResolveKey(0, full, n, Create, 0, Key, NULL);
    free(full);
    return s;
}

static bool RtlpIsString(ULONG Type)
{
    return Type == REG_SZ || Type == REG_EXPAND_SZ || Type == REG_MULTI_SZ;
}

/* DIRECT: stores one value into the entry's EntryContext. */
static NTSTATUS RtlpStoreDirect(PVOID Dest, ULONG Type, const uint8_t *Data, ULONG Len,
                                void *Caller)
{
    if (RtlpIsString(Type)) {
        PUNICODE_STRING u = Dest;
        ULONG bytes = Len & ~1u;
        if (bytes >= 2 && Data[bytes - 1] == 0 && Data[bytes - 2] == 0)
            bytes -= 2;
        ULONG need = bytes + sizeof(WCHAR);
        if (need > RTLP_MAX_USTRING)
            return STATUS_BUFFER_TOO_SMALL;
        if (!u->Buffer) {
            u->Buffer = ExpAllocatePool(PagedPool, need, RTLP_STRING_TAG, FALSE, Caller);
            if (!u->Buffer)
                return STATUS_INSUFFICIENT_RESOURCES;
            u->MaximumLength = (USHORT)need;
        } else if (u->MaximumLength < need) {
            return STATUS_BUFFER_TOO_SMALL;
        }
        memcpy(u->Buffer, Data, bytes);
        ((KM_UNALIGNED_WCHAR *)u->Buffer)[bytes / sizeof(WCHAR)] = 0; /* the caller's buffer */
        u->Length = (USHORT)bytes;
        return STATUS_SUCCESS;
    }
    if (Len <= sizeof(ULONG)) {
        memcpy(Dest, Data, Len);
        return STATUS_SUCCESS;
    }
    LONG size;
    memcpy(&size, Dest, sizeof(size));
    if (size < 0) {
        if ((ULONGLONG)(-(LONGLONG)size) < Len)
            return STATUS_BUFFER_TOO_SMALL;
        memcpy(Dest, Data, Len);
    } else {
        if ((ULONGLONG)size < (ULONGLONG)Len + 2 * sizeof(ULONG))
            return STATUS_BUFFER_TOO_SMALL;
        ULONG head[2] = {Len, Type};
        memcpy(Dest, head, sizeof(head));
        memcpy((uint8_t *)Dest + sizeof(head), Data, Len);
    }
    return STATUS_SUCCESS;
}

/* The value of NAME in an environment block (the caller's, at any
   address), or NULL. */
static const KM_UNALIGNED_WCHAR *RtlpLookupEnv(const KM_UNALIGNED_WCHAR *Env, const WCHAR *Name,
                                               size_t Chars, size_t *ValueChars)
{
    for (const KM_UNALIGNED_WCHAR *e = Env; e && *e; e += RtlpWideLength(e) + 1) {
        size_t i = 0;
        while (i < Chars && e[i] && RtlpUpcaseChar(e[i]) == RtlpUpcaseChar(Name[i]))
            i++;
        if (i == Chars && e[i] == '=') {
            *ValueChars = RtlpWideLength(e + i + 1);
            return e + i + 1;
        }
    }
    return NULL;
}

/* Expands %NAME% references; unknown ones stay as written. Returns a
   malloc'ed terminated string and its size in bytes with the terminator. */
static WCHAR *RtlpExpand(const WCHAR *Src, size_t Chars, const KM_UNALIGNED_WCHAR *Env,
                         ULONG *Bytes)
{
    size_t cap = Chars + 64, n = 0;
    WCHAR *out = malloc(cap * sizeof(WCHAR));
    for (size_t i = 0; out && i < Chars;) {
        const KM_UNALIGNED_WCHAR *piece = Src + i;
        size_t len = 1;
        if (Src[i] == '%') {
            size_t j = i + 1;
            while (j < Chars && Src[j] != '%')
                j++;
            size_t vlen;
            const KM_UNALIGNED_WCHAR *v =
                j < Chars && j > i + 1 ? RtlpLookupEnv(Env, Src + i + 1, j - i - 1, &vlen) : NULL;
            if (v) {
                piece = v;
                len = vlen;
                i = j + 1;
            } else {
                len = j < Chars ? j - i : Chars - i;
                i += len;
            }
        } else {
            i++;
        }
        if (n + len + 1 > cap) {
            cap = (n + len + 1) * 2;
            WCHAR *grown = realloc(out, cap * sizeof(WCHAR));
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + n, piece, len * sizeof(WCHAR));
        n += len;
    }
    if (!out)
        return NULL;
    out[n] = 0;
    *Bytes = (ULONG)((n + 1) * sizeof(WCHAR));
    return out;
}

typedef struct RTLP_QUERY {
    PVOID Context;
    const KM_UNALIGNED_WCHAR *Environment;
    void *Caller;
} RTLP_QUERY;

/* Reports one (already expanded) value to the entry: DIRECT or QueryRoutine. */
static NTSTATUS RtlpReportOne(const RTLP_QUERY *Q, PRTL_QUERY_REGISTRY_TABLE E, PWSTR Name,
                              ULONG Type, const uint8_t *Data, ULONG Len)
{
    if (E->Flags & RTL_QUERY_REGISTRY_DIRECT)
        return RtlpStoreDirect(E->EntryContext, Type, Data, Len, Q->Caller);
    NTSTATUS s = E->QueryRoutine(Name, Type, (PVOID)Data, Len, Q->Context, E->EntryContext);
    return s == STATUS_BUFFER_TOO_SMALL ? STATUS_SUCCESS : s;
}

/* Reports a value (Data has two zero bytes after Len, so strings end). */
static NTSTATUS RtlpReport(const RTLP_QUERY *Q, PRTL_QUERY_REGISTRY_TABLE E, PWSTR Name, ULONG Type,
                           const uint8_t *Data, ULONG Len)
{
    if ((E->Flags & (RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK)) ==
            (RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK) &&
        Type != E->DefaultType >> RTL_QUERY_REGISTRY_TYPECHECK_SHIFT)
        return STATUS_OBJECT_TYPE_MISMATCH;
    if (E->Flags & RTL_QUERY_REGISTRY_NOEXPAND)
        return RtlpReportOne(Q, E, Name, Type, Data, Len);
    if (Type == REG_MULTI_SZ) {
        const WCHAR *w = (const WCHAR *)Data;
        size_t chars = Len / sizeof(WCHAR);
        for (size_t i = 0; i < chars && w[i];) {
            size_t n = RtlpWideLength(w + i);
            NTSTATUS s = RtlpReportOne(Q, E, Name, REG_SZ, (const uint8_t *)(w + i),
                                       (ULONG)((n + 1) * sizeof(WCHAR)));
            if (!NT_SUCCESS(s))
                return s;
            i += n + 1;
        }
        return STATUS_SUCCESS;
    }
    if (Type == REG_EXPAND_SZ) {
        const WCHAR *w = (const WCHAR *)Data;
        size_t chars = 0;
        while (chars < Len / sizeof(WCHAR) && w[chars])
            chars++;
        ULONG bytes;
        WCHAR *x = RtlpExpand(w, chars, Q->Environment, &bytes);
        if (!x)
            return STATUS_INSUFFICIENT_RESOURCES;
        NTSTATUS s = RtlpReportOne(Q, E, Name, REG_SZ, (const uint8_t *)x, bytes);
        free(x);
        return s;
    }
    return RtlpReportOne(Q, E, Name, Type, Data, Len);
}

/* A store value as the callers see it: UTF-16 name, data with a spare
   terminator. */
static NTSTATUS RtlpReportStored(const RTLP_QUERY *Q, PRTL_QUERY_REGISTRY_TABLE E, PWSTR Name,
                                 const CM_VALUE *V)
{
    uint8_t *data = calloc(1, (size_t)V->DataLength + 2 * sizeof(WCHAR));
    WCHAR *wname = NULL;
    if (!Name) {
        long units = CmUtf8ToUtf16(V->Name, NULL, 0);
        wname = units >= 0 ? malloc(((size_t)units + 1) * sizeof(WCHAR)) : NULL;
        if (wname)
            CmUtf8ToUtf16(V->Name, wname, (size_t)units + 1);
        Name = wname;
    }
    NTSTATUS s = STATUS_INSUFFICIENT_RESOURCES;
    if (data && Name) {
        memcpy(data, V->Data, V->DataLength);
        s = RtlpReport(Q, E, Name, V->Type, data, V->DataLength);
    }
    free(data);
    free(wname);
    return s;
}

static NTSTATUS RtlpReportAllValues(CM_STORE *Store, const RTLP_QUERY *Q,
                                    PRTL_QUERY_REGISTRY_TABLE E, CM_KEY_ID Key)
{
    ULONG index = 0, seen = 0;
    for (;;) {
        CM_VALUE v;
        NTSTATUS s = CmEnumerateValue(Store, Key, index, &v);
        if (s == STATUS_NO_MORE_ENTRIES)
            break;
        if (!NT_SUCCESS(s))
            return s;
        seen++;
        s = RtlpReportStored(Q, E, NULL, &v);
        if (NT_SUCCESS(s) && (E->Flags & RTL_QUERY_REGISTRY_DELETE))
            s = CmDeleteValue(Store, Key, v.Name); /* the next value moves to index */
        else
            index++;
        CmFreeValue(&v);
        if (!NT_SUCCESS(s))
            return s;
    }
    if (!seen && (E->Flags & RTL_QUERY_REGISTRY_REQUIRED))
        return STATUS_OBJECT_NAME_NOT_FOUND;
    return STATUS_SUCCESS;
}

/* Data is the caller's DefaultData, at any address. */
static ULONG RtlpDefaultLength(ULONG Type, const KM_UNALIGNED_WCHAR *Data)
{
    if (Type == REG_SZ || Type == REG_EXPAND_SZ)
        return (ULONG)((RtlpWideLength(Data) + 1) * sizeof(WCHAR));
    if (Type == REG_MULTI_SZ) {
        size_t i = 0;
        while (Data[i])
            i += RtlpWideLength(Data + i) + 1;
        return (ULONG)((i + 1) * sizeof(WCHAR));
    }
    return 0;
}

static NTSTATUS RtlpQueryNamed(CM_STORE *Store, const RTLP_QUERY *Q, PRTL_QUERY_REGISTRY_TABLE E,
                               CM_KEY_ID Key)
{
    char *name;
    NTSTATUS s = CmpUtf16ToName(E->Name, RtlpWideLength(E->Name), &name);
    if (!NT_SUCCESS(s))
        return s;
    CM_VALUE v;
    s = CmQueryValue(Store, Key, name, &v);
    if (NT_SUCCESS(s)) {
        s = RtlpReportStored(Q, E, (PWSTR)E->Name, &v);
        if (NT_SUCCESS(s) && (E->Flags & RTL_QUERY_REGISTRY_DELETE))
            s = CmDeleteValue(Store, Key, name);
        CmFreeValue(&v);
    } else if (s == STATUS_OBJECT_NAME_NOT_FOUND && !(E->Flags & RTL_QUERY_REGISTRY_REQUIRED)) {
        ULONG type = E->DefaultType & 0xFF;
        s = STATUS_SUCCESS;
        if (type != REG_NONE) {
            ULONG len = E->DefaultLength;
            if (!E->DefaultData) {
                CmpReport("RtlQueryRegistryValues",
                          "entry for value %s has DefaultType %u but no DefaultData", name, type);
                s = STATUS_INVALID_PARAMETER;
            } else {
                if (len == 0 && RtlpIsString(type))
                    len = RtlpDefaultLength(type, E->DefaultData);
                uint8_t *data = calloc(1, (size_t)len + 2 * sizeof(WCHAR));
                s = STATUS_INSUFFICIENT_RESOURCES;
                if (data) {
                    memcpy(data, E->DefaultData, len);
                    s = RtlpReport(Q, E, (PWSTR)E->Name, type, data, len);
                    free(data);
                }
            }
        }
    }
    free(name);
    return s;
}

static NTSTATUS RtlpQueryTable(CM_STORE *Store, const RTLP_QUERY *Q, PRTL_QUERY_REGISTRY_TABLE T,
                               CM_KEY_ID Top)
{
    const ULONG keyFlags =
        RTL_QUERY_REGISTRY_SUBKEY | RTL_QUERY_REGISTRY_TOPKEY | RTL_QUERY_REGISTRY_DIRECT;
    CM_KEY_ID cur = Top;
    bool skipping = false;
    for (PRTL_QUERY_REGISTRY_TABLE e = T; e->QueryRoutine || e->Name || (e->Flags & keyFlags);
         e++) {
        NTSTATUS s = STATUS_SUCCESS;
        if (e->Flags & (RTL_QUERY_REGISTRY_TOPKEY | RTL_QUERY_REGISTRY_SUBKEY)) {
            cur = Top;
            skipping = false;
            if (e->Flags & RTL_QUERY_REGISTRY_SUBKEY) {
                if (!e->Name)
                    return STATUS_INVALID_PARAMETER;
                s = CmpResolveKey(Top, e->Name, RtlpWideLength(e->Name), false, 0, &cur, NULL);
                if (!NT_SUCCESS(s)) {
                    if (e->Flags & RTL_QUERY_REGISTRY_REQUIRED)
                        return s;
                    skipping = true;
                    continue;
                }
            }
            if (!e->QueryRoutine)
                continue;
            s = RtlpReportAllValues(Store, Q, e, cur);
        } else if (skipping) {
            continue;
        } else if (!e->QueryRoutine && !(e->Flags & RTL_QUERY_REGISTRY_DIRECT)) {
            return STATUS_INVALID_PARAMETER;
        } else if (e->Flags & RTL_QUERY_REGISTRY_NOVALUE) {
            if (!e->QueryRoutine)
                return STATUS_INVALID_PARAMETER;
            s = e->QueryRoutine((PWSTR)e->Name, REG_NONE, NULL, 0, Q->Context, e->EntryContext);
            if (s == STATUS_BUFFER_TOO_SMALL)
                s = STATUS_SUCCESS;
        } else if (!e->Name) {
            if (e->Flags & RTL_QUERY_REGISTRY_DIRECT)
                return STATUS_INVALID_PARAMETER;
            s = RtlpReportAllValues(Store, Q, e, cur);
        } else {
            if ((e->Flags & RTL_QUERY_REGISTRY_DIRECT) && !e->EntryContext)
                return STATUS_INVALID_PARAMETER;
            s = RtlpQueryNamed(Store, Q, e, cur);
        }
        if (!NT_SUCCESS(s))
            return s;
    }
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlQueryRegistryValues(ULONG RelativeTo, PCWSTR Path,
                                      PRTL_QUERY_REGISTRY_TABLE QueryTable, PVOID Context,
                                      PVOID Environment)
{
    if (!QueryTable) {
        CmpReport("RtlQueryRegistryValues", "QueryTable is NULL");
        return STATUS_INVALID_PARAMETER;
    }
    CM_STORE *store;
    NTSTATUS s = CmpStore(&store);
    if (!NT_SUCCESS(s))
        return s;
    CM_KEY_ID top;
    s = RtlpOpenKey(RelativeTo, Path, false, &top);
    if (!NT_SUCCESS(s)) {
        if ((RelativeTo & RTL_REGISTRY_OPTIONAL) &&
            (s == STATUS_OBJECT_NAME_NOT_FOUND || s == STATUS_OBJECT_PATH_NOT_FOUND))
            return STATUS_SUCCESS;
        return s;
    }
    RTLP_QUERY q = {Context, Environment, __builtin_return_address(0)};
    s = RtlpQueryTable(store, &q, QueryTable, top);
    if (s == STATUS_REGISTRY_IO_FAILED)
        CmpReport("RtlQueryRegistryValues", "registry store failure: %s", CmLastError());
    return s;
}
KM_EXPORT(RtlQueryRegistryValues);

/* Documented: creates the key (its last component only) if it is missing. */
NTSTATUS NTAPI RtlWriteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName,
                                     ULONG ValueType, PVOID ValueData, ULONG ValueLength)
{
    if (!ValueData && ValueLength) {
        CmpReport("RtlWriteRegistryValue", "ValueData is NULL but ValueLength is %u", ValueLength);
        return STATUS_ACCESS_VIOLATION;
    }
    CM_STORE *store;
    NTSTATUS s = CmpStore(&store);
    CM_KEY_ID key;
    if (NT_SUCCESS(s))
        s = RtlpOpenKey(RelativeTo, Path, true, &key);
    char *name = NULL;
    if (NT_SUCCESS(s))
        s = CmpUtf16ToName(ValueName ? ValueName : (PCWSTR)u"",
                           ValueName ? RtlpWideLength(ValueName) : 0, &name);
    if (NT_SUCCESS(s))
        s = CmSetValue(store, key, name, ValueType, ValueData, ValueLength);
    free(name);
    return s;
}
KM_EXPORT(RtlWriteRegistryValue);

NTSTATUS NTAPI RtlDeleteRegistryValue(ULONG RelativeTo, PCWSTR Path, PCWSTR ValueName)
{
    CM_STORE *store;
    NTSTATUS s = CmpStore(&store);
    CM_KEY_ID key;
    if (NT_SUCCESS(s))
        s = RtlpOpenKey(RelativeTo, Path, false, &key);
    char *name = NULL;
    if (NT_SUCCESS(s))
        s = CmpUtf16ToName(ValueName ? ValueName : (PCWSTR)u"",
                           ValueName ? RtlpWideLength(ValueName) : 0, &name);
    if (NT_SUCCESS(s))
        s = CmDeleteValue(store, key, name);
    free(name);
    return s;
}
KM_EXPORT(RtlDeleteRegistryValue);

NTSTATUS NTAPI RtlCheckRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    CM_KEY_ID key;
    return RtlpOpenKey(RelativeTo, Path, false, &key);
}
KM_EXPORT(RtlCheckRegistryKey);

/* Documented: creates only the last key of the path; a missing parent fails. */
NTSTATUS NTAPI RtlCreateRegistryKey(ULONG RelativeTo, PWSTR Path)
{
    CM_KEY_ID key;
    return RtlpOpenKey(RelativeTo, Path, true, &key);
}
KM_EXPORT(RtlCreateRegistryKey);
