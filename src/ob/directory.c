/*
 * The object namespace: object directories and the named objects in them.
 *
 * kmhost has one directory tree, rooted at "\" and holding \BaseNamedObjects
 * (where Windows keeps the named events, semaphores and mutants that drivers
 * and applications share). Directories are the namespace's own records, not
 * objects with handles: a RootDirectory handle is therefore never a
 * directory here.
 *
 * Rules implemented (Windows' object manager):
 *  - A name is a path from "\": components separated by one '\'. Without a
 *    leading '\' (and no RootDirectory) it is STATUS_OBJECT_PATH_SYNTAX_BAD;
 *    an empty component or a trailing '\' STATUS_OBJECT_NAME_INVALID; an odd
 *    byte length STATUS_OBJECT_NAME_INVALID; a missing directory on the way
 *    STATUS_OBJECT_PATH_NOT_FOUND.
 *  - Names compare case-insensitively when OBJ_CASE_INSENSITIVE is given,
 *    exactly otherwise.
 *  - Creating under a name that exists is STATUS_OBJECT_NAME_COLLISION; with
 *    OBJ_OPENIF it opens the existing object (STATUS_OBJECT_NAME_EXISTS) if
 *    its type is the one being created, else STATUS_OBJECT_TYPE_MISMATCH.
 *  - A named object leaves the namespace when its last handle is closed,
 *    unless it was created OBJ_PERMANENT (until ZwMakeTemporaryObject).
 *
 * Invariants:
 *  - ObpNamespaceLock protects every directory's entry list and each entry's
 *    Permanent flag. Handles to named objects are created while holding it,
 *    so an object found by name cannot lose its name before its new handle
 *    counts: ObpDeleteNameCheck re-reads HandleCount under the lock.
 *  - An entry holds one reference to its object, dropped after the entry is
 *    unlinked and the lock released.
 *  - Lock order: ObpNamespaceLock, then the handle table's allocation lock.
 */
#include "ob/directory.h"

#include "rtl/rtl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct OBP_DIRECTORY OBP_DIRECTORY;

typedef struct OBP_ENTRY {
    struct OBP_ENTRY *Next;
    OBP_DIRECTORY *Directory; /* the entry is a directory ... */
    PVOID Object;             /* ... or a named object, referenced */
    BOOLEAN Permanent;
    USHORT Length; /* WCHARs */
    WCHAR Name[];
} OBP_ENTRY;

struct OBP_DIRECTORY {
    OBP_ENTRY *Entries;
};

static pthread_mutex_t ObpNamespaceLock = PTHREAD_MUTEX_INITIALIZER;
static OBP_DIRECTORY ObpRootDirectory;
static OBP_DIRECTORY ObpBaseNamedObjects;
static bool ObpNamespaceReady;

static OBP_ENTRY *ObpNewEntry(const KM_UNALIGNED_WCHAR *Name, USHORT Length)
{
    OBP_ENTRY *e = calloc(1, sizeof(OBP_ENTRY) + (size_t)Length * sizeof(WCHAR));
    if (e) {
        memcpy(e->Name, Name, (size_t)Length * sizeof(WCHAR));
        e->Length = Length;
    }
    return e;
}

/* With the lock held: the directories every Windows system has. */
static void ObpInitNamespace(void)
{
    static const WCHAR bno[] = {'B', 'a', 's', 'e', 'N', 'a', 'm', 'e',
                                'd', 'O', 'b', 'j', 'e', 'c', 't', 's'};
    if (ObpNamespaceReady)
        return;
    OBP_ENTRY *e = ObpNewEntry(bno, (USHORT)KM_ARRAY_SIZE(bno));
    if (!e)
        KeBugCheckEx(0x7D /* INSTALL_MORE_MEMORY */, 0, 0, 0, 0);
    e->Directory = &ObpBaseNamedObjects;
    e->Permanent = TRUE;
    ObpRootDirectory.Entries = e;
    ObpNamespaceReady = true;
}

static bool ObpNameEqual(const OBP_ENTRY *e, const KM_UNALIGNED_WCHAR *Name, USHORT Length,
                         bool CaseInsensitive)
{
    if (e->Length != Length)
        return false;
    for (USHORT i = 0; i < Length; i++) {
        WCHAR a = e->Name[i], b = Name[i];
        if (a != b && (!CaseInsensitive || RtlpUpcaseChar(a) != RtlpUpcaseChar(b)))
            return false;
    }
    return true;
}

static OBP_ENTRY *ObpFind(OBP_DIRECTORY *Dir, const KM_UNALIGNED_WCHAR *Name, USHORT Length,
                          bool CaseInsensitive)
{
    for (OBP_ENTRY *e = Dir->Entries; e; e = e->Next) {
        if (ObpNameEqual(e, Name, Length, CaseInsensitive))
            return e;
    }
    return NULL;
}

/* The outcome of walking a name: the directory that holds (or would hold)
   the last component, and the entry under that name if there is one. An
   empty last component means the name is "\" itself. */
typedef struct OBP_LOOKUP {
    OBP_DIRECTORY *Parent;
    const KM_UNALIGNED_WCHAR *Last; /* in the caller's name, any alignment */
    USHORT LastLength;
    OBP_ENTRY *Found;
    bool Root; /* the name was "\" */
} OBP_LOOKUP;

ACCESS_MASK ObpGrantedAccess(POBJECT_TYPE Type, ACCESS_MASK DesiredAccess)
{
    if (DesiredAccess & MAXIMUM_ALLOWED)
        return Type->GenericMapping.GenericAll;
    return ObpMapGenericMask(Type, DesiredAccess);
}

/* Checks ObjectAttributes. *Name is NULL when they carry no name. */
static NTSTATUS ObpCheckAttributes(POBJECT_ATTRIBUTES Oa, PUNICODE_STRING *Name)
{
    *Name = NULL;
    if (!Oa)
        return STATUS_SUCCESS;
    if (Oa->Length != sizeof(OBJECT_ATTRIBUTES) || (Oa->Attributes & ~(ULONG)OBJ_VALID_ATTRIBUTES))
        return STATUS_INVALID_PARAMETER;
    PUNICODE_STRING n = Oa->ObjectName;
    if (!n || n->Length == 0)
        return STATUS_SUCCESS;
    if ((n->Length & 1) || !n->Buffer)
        return STATUS_OBJECT_NAME_INVALID;
    *Name = n;
    return STATUS_SUCCESS;
}

/* Only "\"-rooted names are supported: a RootDirectory handle is at best a
   handle to something that is not a directory. */
static NTSTATUS ObpCheckRootDirectory(HANDLE Root)
{
    PVOID object;
    NTSTATUS status = ObReferenceObjectByHandle(Root, 0, NULL, KernelMode, &object, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ObfDereferenceObject(object);
    return STATUS_OBJECT_TYPE_MISMATCH;
}

/* With the lock held. */
static NTSTATUS ObpLookup(PUNICODE_STRING Name, bool CaseInsensitive, OBP_LOOKUP *L)
{
    const KM_UNALIGNED_WCHAR *p = Name->Buffer;
    USHORT n = Name->Length / sizeof(WCHAR);

    ObpInitNamespace();
    memset(L, 0, sizeof(*L));
    if (p[0] != '\\')
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    L->Parent = &ObpRootDirectory;
    if (n == 1) {
        L->Root = true;
        return STATUS_SUCCESS;
    }
    USHORT i = 1;
    for (;;) {
        USHORT start = i;
        while (i < n && p[i] != '\\')
            i++;
        if (i == start)
            return STATUS_OBJECT_NAME_INVALID; /* "\\" or a trailing '\' */
        OBP_ENTRY *e = ObpFind(L->Parent, &p[start], (USHORT)(i - start), CaseInsensitive);
        if (i == n) {
            L->Last = &p[start];
            L->LastLength = (USHORT)(i - start);
            L->Found = e;
            return STATUS_SUCCESS;
        }
        if (!e)
            return STATUS_OBJECT_PATH_NOT_FOUND;
        if (!e->Directory)
            return STATUS_OBJECT_TYPE_MISMATCH; /* no parse procedure to go on with */
        L->Parent = e->Directory;
        i++;
    }
}

NTSTATUS ObpInsertObject(PVOID Object, POBJECT_ATTRIBUTES ObjectAttributes,
                         ACCESS_MASK DesiredAccess, PHANDLE Handle)
{
    POBJECT_TYPE type = ObpHeader(Object)->Type;
    ACCESS_MASK granted = ObpGrantedAccess(type, DesiredAccess);
    PUNICODE_STRING name;
    NTSTATUS status = ObpCheckAttributes(ObjectAttributes, &name);
    ULONG attributes = ObjectAttributes ? ObjectAttributes->Attributes : 0;

    if (NT_SUCCESS(status) && name && ObjectAttributes->RootDirectory)
        status = ObpCheckRootDirectory(ObjectAttributes->RootDirectory);
    if (!NT_SUCCESS(status)) {
        ObfDereferenceObject(Object);
        return status;
    }
    if (!name) {
        status = ObpInsertHandle(Object, granted, attributes, false, Handle);
        if (!NT_SUCCESS(status))
            ObfDereferenceObject(Object);
        return status;
    }

    OBP_LOOKUP l;
    OBP_ENTRY *entry = NULL;
    PVOID existing = NULL;
    pthread_mutex_lock(&ObpNamespaceLock);
    status = ObpLookup(name, attributes & OBJ_CASE_INSENSITIVE, &l);
    if (NT_SUCCESS(status) && (l.Root || l.Found)) {
        existing = l.Found ? l.Found->Object : NULL;
        if (!(attributes & OBJ_OPENIF))
            status = STATUS_OBJECT_NAME_COLLISION;
        else if (!existing || ObpHeader(existing)->Type != type)
            status = STATUS_OBJECT_TYPE_MISMATCH;
        else {
            status = ObpInsertHandle(existing, granted, attributes, true, Handle);
            if (NT_SUCCESS(status))
                status = STATUS_OBJECT_NAME_EXISTS;
        }
    } else if (NT_SUCCESS(status)) {
        entry = ObpNewEntry(l.Last, l.LastLength);
        if (!entry) {
            status = STATUS_INSUFFICIENT_RESOURCES;
        } else {
            entry->Object = Object;
            entry->Permanent = (attributes & OBJ_PERMANENT) != 0;
            ObfReferenceObject(Object); /* the entry's */
            __atomic_fetch_or(&ObpHeader(Object)->Flags, OBP_FLAG_NAMED, __ATOMIC_RELAXED);
            status = ObpInsertHandle(Object, granted, attributes, false, Handle);
            if (NT_SUCCESS(status)) {
                entry->Next = l.Parent->Entries;
                l.Parent->Entries = entry;
                entry = NULL;
                Object = NULL; /* the handle has the creator's reference */
            } else {
                ObfDereferenceObject(Object); /* the entry's, never inserted */
            }
        }
    }
    pthread_mutex_unlock(&ObpNamespaceLock);
    free(entry);
    if (Object)
        ObfDereferenceObject(Object);
    return status;
}

NTSTATUS ObpOpenObjectByName(POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE Type,
                             ACCESS_MASK DesiredAccess, PHANDLE Handle)
{
    PUNICODE_STRING name;
    NTSTATUS status = ObpCheckAttributes(ObjectAttributes, &name);
    if (!NT_SUCCESS(status))
        return status;
    if (!ObjectAttributes)
        return STATUS_INVALID_PARAMETER;
    if (ObjectAttributes->RootDirectory)
        return ObpCheckRootDirectory(ObjectAttributes->RootDirectory);
    if (!name)
        return STATUS_OBJECT_PATH_SYNTAX_BAD;

    ULONG attributes = ObjectAttributes->Attributes;
    OBP_LOOKUP l;
    pthread_mutex_lock(&ObpNamespaceLock);
    status = ObpLookup(name, attributes & OBJ_CASE_INSENSITIVE, &l);
    if (NT_SUCCESS(status)) {
        PVOID object = l.Found ? l.Found->Object : NULL;
        if (!l.Root && !l.Found)
            status = STATUS_OBJECT_NAME_NOT_FOUND;
        else if (!object || (Type && ObpHeader(object)->Type != Type))
            status = STATUS_OBJECT_TYPE_MISMATCH;
        else
            status =
                ObpInsertHandle(object, ObpGrantedAccess(ObpHeader(object)->Type, DesiredAccess),
                                attributes, true, Handle);
    }
    pthread_mutex_unlock(&ObpNamespaceLock);
    return status;
}

/* With the lock held: unlinks the entry of Object if it is temporary and
   has no handle left; returns it (the caller frees it and drops its
   reference once the lock is released). */
static OBP_ENTRY *ObpUnlinkIfUnused(PVOID Object, bool MakeTemporary)
{
    OBP_DIRECTORY *dirs[] = {&ObpRootDirectory, &ObpBaseNamedObjects};
    for (size_t d = 0; d < KM_ARRAY_SIZE(dirs); d++) {
        for (OBP_ENTRY **pp = &dirs[d]->Entries; *pp; pp = &(*pp)->Next) {
            OBP_ENTRY *e = *pp;
            if (e->Object != Object)
                continue;
            if (MakeTemporary)
                e->Permanent = FALSE;
            if (e->Permanent || atomic_load(&ObpHeader(Object)->HandleCount) != 0)
                return NULL;
            *pp = e->Next;
            return e;
        }
    }
    return NULL;
}

static void ObpDropName(PVOID Object, bool MakeTemporary)
{
    if (!(__atomic_load_n(&ObpHeader(Object)->Flags, __ATOMIC_RELAXED) & OBP_FLAG_NAMED))
        return;
    pthread_mutex_lock(&ObpNamespaceLock);
    OBP_ENTRY *e = ObpUnlinkIfUnused(Object, MakeTemporary);
    pthread_mutex_unlock(&ObpNamespaceLock);
    if (e) {
        free(e);
        ObfDereferenceObject(Object);
    }
}

void ObpDeleteNameCheck(PVOID Object)
{
    ObpDropName(Object, false);
}

/* Documented: clears OBJ_PERMANENT; the name goes with the last handle. */
VOID NTAPI ObMakeTemporaryObject(PVOID Object)
{
    ObpDropName(Object, true);
}
KM_EXPORT(ObMakeTemporaryObject);

NTSTATUS NTAPI ZwMakeTemporaryObject(HANDLE Handle)
{
    PVOID object;
    NTSTATUS status = ObReferenceObjectByHandle(Handle, DELETE, NULL, KernelMode, &object, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ObMakeTemporaryObject(object);
    ObfDereferenceObject(object);
    return STATUS_SUCCESS;
}
KM_EXPORT(ZwMakeTemporaryObject);
