/*
 * Key objects: what a driver's registry key handle refers to.
 *
 * A key handle is an ordinary object-manager handle to an object of type
 * "Key" (CmKeyObjectType), so ObReferenceObjectByHandle, ZwClose and the
 * verifier's handle-leak report work on it as on any other handle. The body
 * names the key in the store by its id; ids are never reused, so a handle to
 * a key that was deleted keeps failing with STATUS_KEY_DELETED (until it is
 * closed), even if a key of the same name is created again.
 *
 * The body is immutable after creation: many threads may use one handle at
 * once without a lock. All state lives in the store (cm.h), whose every call
 * is one transaction.
 */
#ifndef KM_CM_KEYOBJ_H
#define KM_CM_KEYOBJ_H

#include "cm/cm.h"
#include "ob/ob.h"

#include <stdint.h>
#include <string.h>

/* winnt.h/wdm.h access rights of keys. */
#define KEY_QUERY_VALUE 0x0001
#define KEY_SET_VALUE 0x0002
#define KEY_CREATE_SUB_KEY 0x0004
#define KEY_ENUMERATE_SUB_KEYS 0x0008
#define KEY_NOTIFY 0x0010
#define KEY_CREATE_LINK 0x0020
#define KEY_WOW64_64KEY 0x0100
#define KEY_WOW64_32KEY 0x0200
#define KEY_READ 0x00020019
#define KEY_WRITE 0x00020006
#define KEY_EXECUTE 0x00020019
#define KEY_ALL_ACCESS 0x000F003F

/* ZwCreateKey/ZwOpenKeyEx options beyond cm.h's. */
#define REG_OPTION_CREATE_LINK 0x00000002
#define REG_OPTION_BACKUP_RESTORE 0x00000004
#define REG_OPTION_OPEN_LINK 0x00000008
#define REG_OPTION_DONT_VIRTUALIZE 0x00000010

typedef struct CM_KEY_BODY {
    CM_KEY_ID Id;
    USHORT PathLength; /* bytes of Path, the key's full NT name ("\REGISTRY\MACHINE\...") */
    USHORT NameOffset; /* bytes: where the key's own name (last component) starts in Path */
    WCHAR *Path;       /* malloc'ed, not terminated */
} CM_KEY_BODY;

/* The process-wide store; a failure is reported on stderr with its reason. */
NTSTATUS CmpStore(CM_STORE **Store);

/* One line on stderr: "kmhost: Routine: message", for what a driver got wrong
   or what the host could not do (the status alone would not say why). */
void CmpReport(const char *Routine, const char *Fmt, ...) __attribute__((format(printf, 2, 3)));

/* Routine's status from the store: STATUS_REGISTRY_IO_FAILED is reported on
   stderr with the store's reason (a driver only sees the status). */
NTSTATUS CmpStoreStatus(const char *Routine, NTSTATUS s);

/* The pointer checks of the Zw*Key / Zw*ValueKey query routines, before any
   class check: STATUS_ACCESS_VIOLATION (reported) for a NULL ResultLength or
   a NULL Buffer with a Length. */
NTSTATUS CmpCheckInfoArgs(const char *Routine, PVOID Buffer, ULONG Length, PULONG ResultLength);

/* Stores a little-endian ULONG at an unaligned p. */
static inline void CmpPut32(uint8_t *p, ULONG v)
{
    memcpy(p, &v, 4);
}

/* A referenced key body from a handle: STATUS_INVALID_HANDLE,
   STATUS_OBJECT_TYPE_MISMATCH (not a key). Release with ObfDereferenceObject. */
NTSTATUS CmpReferenceKey(HANDLE Handle, CM_KEY_BODY **Key);

/* A value name from a driver's UNICODE_STRING (NULL: the default value ""),
   as malloc'ed UTF-8. STATUS_OBJECT_NAME_INVALID for an odd Length, an
   embedded NUL or an unpaired surrogate; STATUS_INVALID_PARAMETER for
   Length > MaximumLength or a NULL Buffer with a Length. */
NTSTATUS CmpCaptureValueName(const char *Routine, PCUNICODE_STRING Name, char **Utf8);
/* Same for a counted UTF-16 string. */
NTSTATUS CmpUtf16ToName(const WCHAR *Name, size_t Chars, char **Utf8);

/*
 * Resolves a key name as the object manager and the configuration manager
 * parse it: Root 0 and an absolute name ("\Registry\..."), or a key and a
 * relative name ("" is Root itself). Runs of backslashes inside the registry
 * part count as one, and a trailing backslash is ignored. With Create, the
 * last component is created if missing (Options: REG_OPTION_VOLATILE).
 * Statuses: STATUS_OBJECT_PATH_SYNTAX_BAD (no leading '\' without a root,
 * or one with a root), STATUS_OBJECT_TYPE_MISMATCH ("\" is a directory, not
 * a key), STATUS_OBJECT_NAME_INVALID, STATUS_OBJECT_NAME_NOT_FOUND,
 * STATUS_OBJECT_PATH_NOT_FOUND (no such object directory), STATUS_KEY_DELETED
 * (Root was deleted), and the store's.
 */
NTSTATUS CmpResolveKey(CM_KEY_ID Root, const WCHAR *Name, size_t Chars, bool Create, ULONG Options,
                       CM_KEY_ID *Key, ULONG *Disposition);

/* Opens a handle to key Id (ObpInsertHandle; Attributes OBJ_KERNEL_HANDLE,
   OBJ_INHERIT). Creator: the driver's call site, for leak reports. */
NTSTATUS CmpInsertKeyHandle(CM_KEY_ID Id, ACCESS_MASK DesiredAccess, ULONG Attributes,
                            void *Creator, PHANDLE Handle);

#endif
