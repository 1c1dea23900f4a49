/*
 * Registry keys for drivers: the "Key" object type, ZwCreateKey, ZwOpenKey,
 * ZwOpenKeyEx, ZwQueryKey, ZwEnumerateKey, ZwDeleteKey, ZwFlushKey and their
 * Nt forms.
 *
 * Rules implemented (wdm.h documentation, and Windows' observed behaviour
 * where the documentation is silent):
 *  - Keys are always case-insensitive, whether or not OBJ_CASE_INSENSITIVE
 *    is given. An absolute name starts at "\Registry"; a relative name is
 *    relative to RootDirectory, which must be a key handle
 *    (STATUS_OBJECT_TYPE_MISMATCH otherwise).
 *  - ZwCreateKey creates only the last component (STATUS_OBJECT_NAME_NOT_FOUND
 *    when a parent is missing); a non-volatile key cannot be created under a
 *    volatile one (STATUS_CHILD_MUST_BE_VOLATILE).
 *  - Information buffers: a Length below the fixed part of the structure is
 *    STATUS_BUFFER_TOO_SMALL with nothing written; a Length that holds the
 *    fixed part but not the name is STATUS_BUFFER_OVERFLOW with the fixed
 *    part and as much of the name as fits written. Either way *ResultLength
 *    is the size the whole answer needs.
 *  - ZwDeleteKey marks the key deleted: every later operation on any handle
 *    to it fails with STATUS_KEY_DELETED (a second ZwDeleteKey succeeds), and
 *    the handles must still be closed. A key with subkeys cannot be deleted
 *    (STATUS_CANNOT_DELETE).
 *  - Kernel-mode callers (Zw, and Nt from system threads, whose previous mode
 *    is KernelMode) are not access-checked; the granted access is recorded in
 *    the handle.
 *  - A pointer a routine must write through or read from that is NULL is
 *    STATUS_ACCESS_VIOLATION, as Windows' Nt routines return when their
 *    capture faults; kmhost also says which parameter on stderr.
 */
#include "cm/keyobj.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    KeyBasicInformation,
    KeyNodeInformation,
    KeyFullInformation,
    KeyNameInformation,
    KeyCachedInformation,
    KeyFlagsInformation,
    KeyVirtualizationInformation,
    KeyHandleTagsInformation,
} KEY_INFORMATION_CLASS;

/* Fixed parts (offsets of the variable member) of the wdm.h/ntddk.h layouts. */
#define CMP_KEY_BASIC_FIXED 16   /* LastWriteTime, TitleIndex, NameLength | Name */
#define CMP_KEY_NODE_FIXED 24    /* + ClassOffset, ClassLength | Name */
#define CMP_KEY_FULL_FIXED 44    /* LastWriteTime ... MaxValueDataLen | Class */
#define CMP_KEY_NAME_FIXED 4     /* NameLength | Name */
#define CMP_KEY_CACHED_SIZE 40   /* KEY_CACHED_INFORMATION: no variable part */
#define CMP_NO_CLASS 0xFFFFFFFFu /* ClassOffset of a key without a class */

static void CmpDeleteKeyBody(PVOID Body)
{
    CM_KEY_BODY *k = Body;
    free(k->Path);
    k->Path = NULL;
}

static OBJECT_TYPE CmpKeyType = {
    .Name = "Key",
    .GenericMapping = {KEY_READ, KEY_WRITE, KEY_EXECUTE, KEY_ALL_ACCESS},
    .ValidAccessMask = KEY_ALL_ACCESS | KEY_WOW64_64KEY | KEY_WOW64_32KEY | SYNCHRONIZE,
    .DeleteProcedure = CmpDeleteKeyBody,
};
POBJECT_TYPE CmKeyObjectType = &CmpKeyType;
KM_EXPORT(CmKeyObjectType);

void CmpReport(const char *Routine, const char *Fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, Fmt);
    vsnprintf(msg, sizeof(msg), Fmt, ap);
    va_end(ap);
    fprintf(stderr, "kmhost: %s: %s\n", Routine, msg);
}

/* The host's hook (CmSetDriverAccessHook). CmpHookPending is set while CmpHook
   has not run; both change under CmpHookLock, which is taken before any
   store lock (a hook may write the store), never after one. */
static pthread_mutex_t CmpHookLock = PTHREAD_MUTEX_INITIALIZER;
static void (*CmpHook)(void);
static _Atomic bool CmpHookPending;

void CmSetDriverAccessHook(void (*Hook)(void))
{
    pthread_mutex_lock(&CmpHookLock);
    CmpHook = Hook;
    atomic_store(&CmpHookPending, Hook != NULL);
    pthread_mutex_unlock(&CmpHookLock);
}

bool CmRunDriverAccessHook(void)
{
    bool ran = false;
    pthread_mutex_lock(&CmpHookLock);
    if (atomic_load(&CmpHookPending)) {
        CmpHook();
        CmpHook = NULL;
        atomic_store(&CmpHookPending, false);
        ran = true;
    }
    pthread_mutex_unlock(&CmpHookLock);
    return ran;
}

NTSTATUS CmpStore(CM_STORE **Store)
{
    if (atomic_load_explicit(&CmpHookPending, memory_order_acquire))
        CmRunDriverAccessHook();
    NTSTATUS s = CmStoreDefault(Store);
    if (!NT_SUCCESS(s))
        CmpReport("registry", "cannot open the registry store: %s", CmLastError());
    return s;
}

NTSTATUS CmpStoreStatus(const char *Routine, NTSTATUS s)
{
    if (s == STATUS_REGISTRY_IO_FAILED)
        CmpReport(Routine, "registry store failure: %s", CmLastError());
    return s;
}

NTSTATUS CmpReferenceKey(HANDLE Handle, CM_KEY_BODY **Key)
{
    PVOID obj;
    NTSTATUS s = ObReferenceObjectByHandle(Handle, 0, CmKeyObjectType, KernelMode, &obj, NULL);
    *Key = NT_SUCCESS(s) ? obj : NULL;
    return s;
}

/* Name, as every driver-supplied name in this file, may sit at an odd
   address (Windows reads a KernelMode caller's name as it is): it is read
   through KM_UNALIGNED_WCHAR. */
NTSTATUS CmpUtf16ToName(const WCHAR *NameAny, size_t Chars, char **Utf8)
{
    const KM_UNALIGNED_WCHAR *Name = NameAny;
    *Utf8 = NULL;
    for (size_t i = 0; i < Chars; i++) {
        if (Name[i] == 0)
            return STATUS_OBJECT_NAME_INVALID; /* the store's names are C strings */
    }
    char *out = malloc(Chars * 3 + 1);
    if (!out)
        return STATUS_INSUFFICIENT_RESOURCES;
    long n = CmUtf16ToUtf8(Name, Chars, out, Chars * 3 + 1);
    if (n < 0) {
        free(out);
        return STATUS_OBJECT_NAME_INVALID;
    }
    out[n] = 0;
    *Utf8 = out;
    return STATUS_SUCCESS;
}

/* Checks a UNICODE_STRING a driver passed. */
static NTSTATUS CmpCheckString(const char *Routine, const char *What, PCUNICODE_STRING S)
{
    if (S->Length & 1) {
        CmpReport(Routine, "%s has an odd Length (%u): UNICODE_STRING lengths are in bytes", What,
                  S->Length);
        return STATUS_OBJECT_NAME_INVALID;
    }
    if (S->Length > S->MaximumLength) {
        CmpReport(Routine, "%s has Length %u > MaximumLength %u", What, S->Length,
                  S->MaximumLength);
        return STATUS_INVALID_PARAMETER;
    }
    if (S->Length && !S->Buffer) {
        CmpReport(Routine, "%s has a NULL Buffer and Length %u", What, S->Length);
        return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

NTSTATUS CmpCaptureValueName(const char *Routine, PCUNICODE_STRING Name, char **Utf8)
{
    *Utf8 = NULL;
    if (!Name) {
        *Utf8 = strdup("");
        return *Utf8 ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    }
    NTSTATUS s = CmpCheckString(Routine, "ValueName", Name);
    if (!NT_SUCCESS(s))
        return s;
    s = CmpUtf16ToName(Name->Buffer, Name->Length / sizeof(WCHAR), Utf8);
    if (s == STATUS_OBJECT_NAME_INVALID)
        CmpReport(Routine, "ValueName contains a NUL character or an unpaired surrogate");
    return s;
}

static bool CmpIsSeparator(WCHAR c)
{
    return c == '\\';
}

static bool CmpEqualsAscii(const KM_UNALIGNED_WCHAR *s, size_t n, const char *Ascii)
{
    size_t len = strlen(Ascii);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++) {
        WCHAR a = s[i], b = (WCHAR)(unsigned char)Ascii[i];
        if (a >= 'a' && a <= 'z')
            a = (WCHAR)(a - 32);
        if (b >= 'a' && b <= 'z')
            b = (WCHAR)(b - 32);
        if (a != b)
            return false;
    }
    return true;
}

NTSTATUS CmpResolveKey(CM_KEY_ID Root, const WCHAR *NameAny, size_t Chars, bool Create,
                       ULONG Options, CM_KEY_ID *Key, ULONG *Disposition)
{
    const KM_UNALIGNED_WCHAR *Name = NameAny;
    size_t i = 0;
    if (Root == 0) {
        if (Chars == 0 || !CmpIsSeparator(Name[0]))
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        /* The object-manager part: "\" is the root directory, and the
           namespace has no empty components. */
        if (Chars == 1)
            return STATUS_OBJECT_TYPE_MISMATCH;
        if (CmpIsSeparator(Name[1]))
            return STATUS_OBJECT_NAME_INVALID;
        size_t n = 1;
        while (n < Chars && !CmpIsSeparator(Name[n]))
            n++;
        if (!CmpEqualsAscii(Name + 1, n - 1, "Registry")) {
            /* kmhost's namespace has no other object a path could go through. */
            return n == Chars ? STATUS_OBJECT_NAME_NOT_FOUND : STATUS_OBJECT_PATH_NOT_FOUND;
        }
        i = n;
    } else if (Chars && CmpIsSeparator(Name[0])) {
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    }

    /* The registry part, as the store's path: components joined by one '\'. */
    char *path = malloc(Chars * 3 + 16);
    if (!path)
        return STATUS_INSUFFICIENT_RESOURCES;
    size_t len = 0;
    if (Root == 0) {
        memcpy(path, "\\Registry", 9);
        len = 9;
    }
    while (i < Chars) {
        while (i < Chars && CmpIsSeparator(Name[i]))
            i++;
        size_t start = i;
        while (i < Chars && !CmpIsSeparator(Name[i]))
            i++;
        if (i == start)
            break;
        char *comp;
        NTSTATUS s = CmpUtf16ToName((const WCHAR *)(Name + start), i - start, &comp);
        if (!NT_SUCCESS(s)) {
            free(path);
            return s;
        }
        if (len)
            path[len++] = '\\';
        size_t cl = strlen(comp);
        memcpy(path + len, comp, cl);
        len += cl;
        free(comp);
    }
    path[len] = 0;

    CM_STORE *store;
    NTSTATUS s = CmpStore(&store);
    if (NT_SUCCESS(s)) {
        s = Create ? CmCreateKey(store, Root, path, Options, Key, Disposition)
                   : CmOpenKey(store, Root, path, Key);
    }
    free(path);
    return s;
}

/* The key's full NT name as Windows reports it: the hive-level components
   upcased ("\REGISTRY\MACHINE\SYSTEM\..."), the rest as created. */
static NTSTATUS CmpBuildKeyBody(CM_KEY_BODY *Body, CM_KEY_ID Id)
{
    CM_STORE *store;
    NTSTATUS s = CmpStore(&store);
    if (!NT_SUCCESS(s))
        return s;
    CM_KEY_INFO info;
    s = CmQueryKey(store, Id, &info);
    if (!NT_SUCCESS(s))
        return s;
    long units = CmUtf8ToUtf16(info.FullPath, NULL, 0);
    if (units < 0 || (size_t)units * sizeof(WCHAR) > 0xFFFE) {
        CmFreeKeyInfo(&info);
        return STATUS_NAME_TOO_LONG;
    }
    WCHAR *w = malloc(((size_t)units + 1) * sizeof(WCHAR));
    if (!w) {
        CmFreeKeyInfo(&info);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    CmUtf8ToUtf16(info.FullPath, w, (size_t)units + 1);
    CmFreeKeyInfo(&info);
    int seps = 0;
    size_t last = 1;
    for (long i = 0; i < units; i++) {
        if (w[i] == '\\') {
            seps++;
            last = (size_t)i + 1;
        } else if (seps <= 2 && w[i] >= 'a' && w[i] <= 'z') {
            w[i] = (WCHAR)(w[i] - 32);
        }
    }
    Body->Id = Id;
    Body->Path = w;
    Body->PathLength = (USHORT)(units * sizeof(WCHAR));
    Body->NameOffset = (USHORT)(last * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

NTSTATUS CmpInsertKeyHandle(CM_KEY_ID Id, ACCESS_MASK DesiredAccess, ULONG Attributes,
                            void *Creator, PHANDLE Handle)
{
    CM_KEY_BODY *body = ObpCreateObject(CmKeyObjectType, sizeof(CM_KEY_BODY), Creator);
    if (!body)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS s = CmpBuildKeyBody(body, Id);
    if (!NT_SUCCESS(s)) {
        ObfDereferenceObject(body);
        return s;
    }
    /* KEY_WOW64_* select a registry view; they are not rights. */
    ACCESS_MASK want = DesiredAccess & ~(ACCESS_MASK)(KEY_WOW64_64KEY | KEY_WOW64_32KEY);
    ACCESS_MASK granted = want & MAXIMUM_ALLOWED ? CmKeyObjectType->GenericMapping.GenericAll
                                                 : ObpMapGenericMask(CmKeyObjectType, want);
    s = ObpInsertHandle(body, granted, Attributes, false, Handle);
    if (!NT_SUCCESS(s))
        ObfDereferenceObject(body);
    return s;
}

/* The common part of ZwCreateKey and ZwOpenKey(Ex). */
static NTSTATUS CmpOpenOrCreate(const char *Routine, PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                                POBJECT_ATTRIBUTES Oa, bool Create, ULONG Options,
                                PULONG Disposition, void *Creator)
{
    if (!KeyHandle) {
        CmpReport(Routine, "KeyHandle is NULL");
        return STATUS_ACCESS_VIOLATION;
    }
    *KeyHandle = NULL;
    if (!Oa) {
        CmpReport(Routine, "ObjectAttributes is NULL: initialize one with "
                           "InitializeObjectAttributes");
        return STATUS_ACCESS_VIOLATION;
    }
    if (Oa->Length != sizeof(OBJECT_ATTRIBUTES)) {
        CmpReport(Routine, "ObjectAttributes->Length is %u, not sizeof(OBJECT_ATTRIBUTES) (%zu)",
                  Oa->Length, sizeof(OBJECT_ATTRIBUTES));
        return STATUS_INVALID_PARAMETER;
    }
    if (Oa->Attributes & ~(ULONG)OBJ_VALID_ATTRIBUTES) {
        CmpReport(Routine, "ObjectAttributes->Attributes 0x%x has undefined bits", Oa->Attributes);
        return STATUS_INVALID_PARAMETER;
    }
    const WCHAR *name = NULL;
    size_t chars = 0;
    if (Oa->ObjectName) {
        NTSTATUS s = CmpCheckString(Routine, "ObjectAttributes->ObjectName", Oa->ObjectName);
        if (!NT_SUCCESS(s))
            return s;
        name = Oa->ObjectName->Buffer;
        chars = Oa->ObjectName->Length / sizeof(WCHAR);
    }

    CM_KEY_BODY *root = NULL;
    if (Oa->RootDirectory) {
        NTSTATUS s = CmpReferenceKey(Oa->RootDirectory, &root);
        if (!NT_SUCCESS(s)) {
            CmpReport(Routine, "ObjectAttributes->RootDirectory %p is %s", Oa->RootDirectory,
                      s == STATUS_OBJECT_TYPE_MISMATCH ? "not a key handle" : "not a handle");
            return s;
        }
    }
    CM_KEY_ID id;
    ULONG disp = 0;
    NTSTATUS s = CmpResolveKey(root ? root->Id : 0, name, chars, Create, Options, &id, &disp);
    if (root)
        ObfDereferenceObject(root);
    if (NT_SUCCESS(s))
        s = CmpInsertKeyHandle(id, DesiredAccess, Oa->Attributes, Creator, KeyHandle);
    if (NT_SUCCESS(s) && Disposition)
        *Disposition = disp;
    return CmpStoreStatus(Routine, s);
}

NTSTATUS NTAPI ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex,
                           PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition)
{
    (void)TitleIndex;
    const ULONG valid = REG_OPTION_VOLATILE | REG_OPTION_CREATE_LINK | REG_OPTION_BACKUP_RESTORE |
                        REG_OPTION_OPEN_LINK | REG_OPTION_DONT_VIRTUALIZE;
    if (CreateOptions & ~valid) {
        CmpReport("ZwCreateKey", "CreateOptions 0x%x has undefined bits", CreateOptions);
        return STATUS_INVALID_PARAMETER;
    }
    if (CreateOptions & REG_OPTION_CREATE_LINK) {
        CmpReport("ZwCreateKey", "REG_OPTION_CREATE_LINK: kmhost has no registry links");
        return STATUS_NOT_SUPPORTED;
    }
    if (Class && Class->Length)
        CmpReport("ZwCreateKey", "the key class is not kept (kmhost keys have no class)");
    return CmpOpenOrCreate("ZwCreateKey", KeyHandle, DesiredAccess, ObjectAttributes, true,
                           CreateOptions & REG_OPTION_VOLATILE, Disposition,
                           __builtin_return_address(0));
}
KM_EXPORT(ZwCreateKey);

NTSTATUS NTAPI NtCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex,
                           PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition)
{
    return ZwCreateKey(KeyHandle, DesiredAccess, ObjectAttributes, TitleIndex, Class, CreateOptions,
                       Disposition);
}
KM_EXPORT(NtCreateKey);

NTSTATUS NTAPI ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                         POBJECT_ATTRIBUTES ObjectAttributes)
{
    return CmpOpenOrCreate("ZwOpenKey", KeyHandle, DesiredAccess, ObjectAttributes, false, 0, NULL,
                           __builtin_return_address(0));
}
KM_EXPORT(ZwOpenKey);

NTSTATUS NTAPI NtOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                         POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ZwOpenKey(KeyHandle, DesiredAccess, ObjectAttributes);
}
KM_EXPORT(NtOpenKey);

NTSTATUS NTAPI ZwOpenKeyEx(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes, ULONG OpenOptions)
{
    if (OpenOptions & ~(ULONG)(REG_OPTION_OPEN_LINK | REG_OPTION_BACKUP_RESTORE)) {
        CmpReport("ZwOpenKeyEx",
                  "OpenOptions 0x%x: only REG_OPTION_OPEN_LINK and "
                  "REG_OPTION_BACKUP_RESTORE are defined",
                  OpenOptions);
        return STATUS_INVALID_PARAMETER;
    }
    return CmpOpenOrCreate("ZwOpenKeyEx", KeyHandle, DesiredAccess, ObjectAttributes, false, 0,
                           NULL, __builtin_return_address(0));
}
KM_EXPORT(ZwOpenKeyEx);

NTSTATUS NTAPI NtOpenKeyEx(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes, ULONG OpenOptions)
{
    return ZwOpenKeyEx(KeyHandle, DesiredAccess, ObjectAttributes, OpenOptions);
}
KM_EXPORT(NtOpenKeyEx);

/* Writes Fixed (FixedLen bytes) then Var at offset FixedLen, by the buffer
   rules in the top comment. */
static NTSTATUS CmpReturnInfo(void *Buffer, ULONG Length, PULONG ResultLength, const void *Fixed,
                              ULONG FixedLen, const void *Var, ULONG VarLen)
{
    *ResultLength = FixedLen + VarLen;
    if (Length < FixedLen)
        return STATUS_BUFFER_TOO_SMALL;
    memcpy(Buffer, Fixed, FixedLen);
    ULONG room = Length - FixedLen;
    if (room < VarLen) {
        memcpy((char *)Buffer + FixedLen, Var, room & ~1u);
        return STATUS_BUFFER_OVERFLOW;
    }
    if (VarLen)
        memcpy((char *)Buffer + FixedLen, Var, VarLen);
    return STATUS_SUCCESS;
}

/* One KEY_*_INFORMATION for a key: Info from the store, Name its own name
   (UTF-16), FullPath its full NT name (KeyNameInformation only). */
static NTSTATUS CmpKeyInformation(ULONG Class, const CM_KEY_INFO *Info, const WCHAR *Name,
                                  ULONG NameBytes, const WCHAR *FullPath, ULONG FullBytes,
                                  void *Buffer, ULONG Length, PULONG ResultLength)
{
    uint8_t f[CMP_KEY_FULL_FIXED];
    memset(f, 0, sizeof(f));
    memcpy(f, &Info->LastWriteTime, 8);
    switch (Class) {
    case KeyBasicInformation:
        CmpPut32(f + 12, NameBytes);
        return CmpReturnInfo(Buffer, Length, ResultLength, f, CMP_KEY_BASIC_FIXED, Name, NameBytes);
    case KeyNodeInformation:
        CmpPut32(f + 12, CMP_NO_CLASS);
        CmpPut32(f + 20, NameBytes);
        return CmpReturnInfo(Buffer, Length, ResultLength, f, CMP_KEY_NODE_FIXED, Name, NameBytes);
    case KeyFullInformation:
        CmpPut32(f + 12, CMP_NO_CLASS);
        CmpPut32(f + 20, Info->SubKeys);
        CmpPut32(f + 24, Info->MaxNameLen);
        CmpPut32(f + 32, Info->Values);
        CmpPut32(f + 36, Info->MaxValueNameLen);
        CmpPut32(f + 40, Info->MaxValueDataLen);
        return CmpReturnInfo(Buffer, Length, ResultLength, f, CMP_KEY_FULL_FIXED, NULL, 0);
    case KeyNameInformation:
        CmpPut32(f, FullBytes);
        return CmpReturnInfo(Buffer, Length, ResultLength, f, CMP_KEY_NAME_FIXED, FullPath,
                             FullBytes);
    case KeyCachedInformation:
        CmpPut32(f + 12, Info->SubKeys);
        CmpPut32(f + 16, Info->MaxNameLen);
        CmpPut32(f + 20, Info->Values);
        CmpPut32(f + 24, Info->MaxValueNameLen);
        CmpPut32(f + 28, Info->MaxValueDataLen);
        CmpPut32(f + 32, NameBytes);
        return CmpReturnInfo(Buffer, Length, ResultLength, f, CMP_KEY_CACHED_SIZE, NULL, 0);
    case KeyVirtualizationInformation: /* not a virtualization candidate: all flags 0 */
    case KeyHandleTagsInformation:     /* no handle tags */
        memset(f, 0, 4);
        return CmpReturnInfo(Buffer, Length, ResultLength, f, 4, NULL, 0);
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

NTSTATUS CmpCheckInfoArgs(const char *Routine, PVOID Buffer, ULONG Length, PULONG ResultLength)
{
    if (!ResultLength) {
        CmpReport(Routine, "ResultLength is NULL");
        return STATUS_ACCESS_VIOLATION;
    }
    if (!Buffer && Length) {
        CmpReport(Routine, "the information buffer is NULL but Length is %u", Length);
        return STATUS_ACCESS_VIOLATION;
    }
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwQueryKey(HANDLE KeyHandle, ULONG KeyInformationClass, PVOID KeyInformation,
                          ULONG Length, PULONG ResultLength)
{
    NTSTATUS s = CmpCheckInfoArgs("ZwQueryKey", KeyInformation, Length, ResultLength);
    if (!NT_SUCCESS(s))
        return s;
    if (KeyInformationClass > KeyHandleTagsInformation ||
        KeyInformationClass == KeyFlagsInformation)
        return STATUS_INVALID_PARAMETER;
    CM_KEY_BODY *key;
    s = CmpReferenceKey(KeyHandle, &key);
    if (!NT_SUCCESS(s))
        return s;
    CM_STORE *store;
    CM_KEY_INFO info;
    s = CmpStore(&store);
    if (NT_SUCCESS(s))
        s = CmQueryKey(store, key->Id, &info);
    if (NT_SUCCESS(s)) {
        s = CmpKeyInformation(KeyInformationClass, &info,
                              key->Path + key->NameOffset / sizeof(WCHAR),
                              (ULONG)(key->PathLength - key->NameOffset), key->Path,
                              key->PathLength, KeyInformation, Length, ResultLength);
        CmFreeKeyInfo(&info);
    }
    ObfDereferenceObject(key);
    return CmpStoreStatus("ZwQueryKey", s);
}
KM_EXPORT(ZwQueryKey);

NTSTATUS NTAPI NtQueryKey(HANDLE KeyHandle, ULONG KeyInformationClass, PVOID KeyInformation,
                          ULONG Length, PULONG ResultLength)
{
    return ZwQueryKey(KeyHandle, KeyInformationClass, KeyInformation, Length, ResultLength);
}
KM_EXPORT(NtQueryKey);

NTSTATUS NTAPI ZwEnumerateKey(HANDLE KeyHandle, ULONG Index, ULONG KeyInformationClass,
                              PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
    NTSTATUS s = CmpCheckInfoArgs("ZwEnumerateKey", KeyInformation, Length, ResultLength);
    if (!NT_SUCCESS(s))
        return s;
    /* Documented: Basic, Node and Full only. */
    if (KeyInformationClass != KeyBasicInformation && KeyInformationClass != KeyNodeInformation &&
        KeyInformationClass != KeyFullInformation)
        return STATUS_INVALID_PARAMETER;
    CM_KEY_BODY *key;
    s = CmpReferenceKey(KeyHandle, &key);
    if (!NT_SUCCESS(s))
        return s;
    CM_STORE *store;
    char *name = NULL;
    CM_KEY_INFO info;
    memset(&info, 0, sizeof(info));
    s = CmpStore(&store);
    if (NT_SUCCESS(s))
        s = CmEnumerateKey(store, key->Id, Index, &name, &info.LastWriteTime);
    if (NT_SUCCESS(s) && KeyInformationClass == KeyFullInformation) {
        CM_KEY_ID sub;
        s = CmOpenKey(store, key->Id, name, &sub);
        if (NT_SUCCESS(s))
            s = CmQueryKey(store, sub, &info);
    }
    if (NT_SUCCESS(s)) {
        long units = CmUtf8ToUtf16(name, NULL, 0);
        WCHAR *w = units >= 0 ? malloc(((size_t)units + 1) * sizeof(WCHAR)) : NULL;
        if (w) {
            CmUtf8ToUtf16(name, w, (size_t)units + 1);
            s = CmpKeyInformation(KeyInformationClass, &info, w, (ULONG)units * sizeof(WCHAR), NULL,
                                  0, KeyInformation, Length, ResultLength);
            free(w);
        } else {
            s = STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    CmFreeKeyInfo(&info);
    free(name);
    ObfDereferenceObject(key);
    return CmpStoreStatus("ZwEnumerateKey", s);
}
KM_EXPORT(ZwEnumerateKey);

NTSTATUS NTAPI NtEnumerateKey(HANDLE KeyHandle, ULONG Index, ULONG KeyInformationClass,
                              PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
    return ZwEnumerateKey(KeyHandle, Index, KeyInformationClass, KeyInformation, Length,
                          ResultLength);
}
KM_EXPORT(NtEnumerateKey);

NTSTATUS NTAPI ZwDeleteKey(HANDLE KeyHandle)
{
    CM_KEY_BODY *key;
    NTSTATUS s = CmpReferenceKey(KeyHandle, &key);
    if (!NT_SUCCESS(s))
        return s;
    CM_STORE *store;
    s = CmpStore(&store);
    if (NT_SUCCESS(s))
        s = CmDeleteKey(store, key->Id);
    /* Deleting a key that is already deleted succeeds, as on Windows. */
    if (s == STATUS_KEY_DELETED)
        s = STATUS_SUCCESS;
    ObfDereferenceObject(key);
    return CmpStoreStatus("ZwDeleteKey", s);
}
KM_EXPORT(ZwDeleteKey);

NTSTATUS NTAPI NtDeleteKey(HANDLE KeyHandle)
{
    return ZwDeleteKey(KeyHandle);
}
KM_EXPORT(NtDeleteKey);

/* Every change is committed (and the journal synced) before the routine that
   made it returns, so there is nothing left to flush; the key must exist. */
NTSTATUS NTAPI ZwFlushKey(HANDLE KeyHandle)
{
    CM_KEY_BODY *key;
    NTSTATUS s = CmpReferenceKey(KeyHandle, &key);
    if (!NT_SUCCESS(s))
        return s;
    CM_STORE *store;
    CM_KEY_INFO info;
    s = CmpStore(&store);
    if (NT_SUCCESS(s))
        s = CmQueryKey(store, key->Id, &info); /* STATUS_KEY_DELETED for a deleted key */
    if (NT_SUCCESS(s)) {
        CmFreeKeyInfo(&info);
        s = CmStoreFlush(store);
    }
    ObfDereferenceObject(key);
    return CmpStoreStatus("ZwFlushKey", s);
}
KM_EXPORT(ZwFlushKey);

NTSTATUS NTAPI NtFlushKey(HANDLE KeyHandle)
{
    return ZwFlushKey(KeyHandle);
}
KM_EXPORT(NtFlushKey);
