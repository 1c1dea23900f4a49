/*
 * The configuration manager's store: a persistent registry in one SQLite
 * database file (<kmhost home>/registry.db).
 *
 * Keys are addressed by NT paths in UTF-8, rooted at "\Registry"
 * ("\Registry\Machine\System\CurrentControlSet\Services\kthreads").
 * CmNormalizeKeyPath also accepts reg.exe's forms (HKLM\..., HKEY_LOCAL_MACHINE\...).
 *
 * Rules (as the Windows configuration manager documents them):
 * - Key and value names compare case-insensitively and keep the case they
 *   were created with. Case folding: each UTF-16 code unit is upcased with a
 *   simple one-to-one table (ASCII, Latin-1, Latin Extended-A, Greek,
 *   Cyrillic), as RtlUpcaseUnicodeChar does for those ranges; other
 *   characters compare exactly.
 * - A key name component is 1..255 characters and contains no backslash;
 *   a value name is 0..16383 characters ("" is the default value).
 * - Subkeys enumerate in the order of their upcased UTF-16 names (Windows
 *   keeps a key's subkey list sorted that way); values enumerate in creation
 *   order, and setting an existing value keeps its place.
 * - CmCreateKey does not create missing parents (STATUS_OBJECT_NAME_NOT_FOUND,
 *   like ZwCreateKey) unless CM_CREATE_INTERMEDIATE is passed (like
 *   RegCreateKeyEx, which reg.exe uses).
 * - A key with subkeys cannot be deleted (STATUS_CANNOT_DELETE, as
 *   ZwDeleteKey); deleting a key deletes its values. Operations on a key
 *   id whose key was deleted return STATUS_KEY_DELETED, as operations on a
 *   handle to a deleted key do. Key ids are never reused.
 * - Values are raw bytes exactly as ZwSetValueKey receives them (REG_SZ is
 *   UTF-16LE with its terminator); the store never interprets them.
 * - LastWriteTime (100 ns units since 1601-01-01 UTC) changes when the key is
 *   created, when one of its values is set or deleted, and when a subkey is
 *   created or deleted.
 * - Volatile keys (REG_OPTION_VOLATILE) last until the machine reboots: the
 *   store records the Linux boot id and drops volatile keys when it changes.
 *   A volatile key can have only volatile subkeys (STATUS_CHILD_MUST_BE_VOLATILE).
 *
 * Durability and sharing: every call that changes the store is one SQLite
 * transaction, committed to the WAL journal before the call returns; a
 * process killed at any moment (SIGKILL) loses nothing committed. As on
 * Windows, where the registry is written back lazily, the disk itself is
 * brought up to date by CmStoreFlush (ZwFlushKey; the reg, sc and bcdedit
 * commands flush after their changes): a power cut loses only unflushed
 * changes and never corrupts the store. Any number of
 * processes and threads may use one database at once (writers wait for each
 * other, up to CM_BUSY_TIMEOUT_MS). A CM_STORE may be used from many threads;
 * it must not be used across fork(): open a new one in the child.
 *
 * Every routine returns an NTSTATUS: STATUS_OBJECT_NAME_NOT_FOUND (no such
 * key or value), STATUS_NO_MORE_ENTRIES (enumeration index past the end),
 * STATUS_OBJECT_NAME_INVALID (bad name), STATUS_REGISTRY_IO_FAILED (the
 * database could not be read or written; the reason is in CmLastError).
 */
#ifndef KM_CM_CM_H
#define KM_CM_CM_H

#include <stddef.h>
#include <stdint.h>

#include <nt/ntdef.h>
#include <nt/ntstatus.h>

/* Value types (winnt.h). */
#define REG_NONE 0
#define REG_SZ 1
#define REG_EXPAND_SZ 2
#define REG_BINARY 3
#define REG_DWORD 4
#define REG_DWORD_LITTLE_ENDIAN 4
#define REG_DWORD_BIG_ENDIAN 5
#define REG_LINK 6
#define REG_MULTI_SZ 7
#define REG_RESOURCE_LIST 8
#define REG_FULL_RESOURCE_DESCRIPTOR 9
#define REG_RESOURCE_REQUIREMENTS_LIST 10
#define REG_QWORD 11
#define REG_QWORD_LITTLE_ENDIAN 11

/* ZwCreateKey options and dispositions (wdm.h). */
#define REG_OPTION_NON_VOLATILE 0x00000000
#define REG_OPTION_VOLATILE 0x00000001
#define REG_CREATED_NEW_KEY 0x00000001
#define REG_OPENED_EXISTING_KEY 0x00000002
/* kmhost's own option bit: create missing parent keys too. */
#define CM_CREATE_INTERMEDIATE 0x80000000u

#define CM_MAX_KEY_NAME_CHARS 255
#define CM_MAX_VALUE_NAME_CHARS 16383
#define CM_BUSY_TIMEOUT_MS 30000

typedef struct CM_STORE CM_STORE;
typedef uint64_t CM_KEY_ID; /* 0 = none; never reused */

/* ---- the store ---- */

/* Opens (creating if needed) the database at DbPath. */
NTSTATUS CmStoreOpen(const char *DbPath, CM_STORE **Store);
void CmStoreClose(CM_STORE *Store);
/* Everything committed so far reaches the disk (fsync) before this returns. */
NTSTATUS CmStoreFlush(CM_STORE *Store);
/* Makes the calling thread's following changes one transaction, committed by
   CmStoreBatchEnd (or rolled back with a failure Status): fewer commits
   where a command writes several values at once (kmhost run's temporary
   service key). Each call inside still succeeds or fails by itself (a
   savepoint). Other threads wait until the batch ends. */
NTSTATUS CmStoreBatchBegin(CM_STORE *Store);
NTSTATUS CmStoreBatchEnd(CM_STORE *Store, NTSTATUS Status);
/* The process-wide store at <CmGetHome()>/registry.db, opened on first use;
   thread-safe; never close it. */
NTSTATUS CmStoreDefault(CM_STORE **Store);
/* The host's hook for the first registry access of driver code (kmhost
   run's temporary service key, created only when needed): Hook runs once,
   before the first driver-facing registry routine reaches the store, or
   when the host calls CmRunDriverAccessHook, whichever comes first; the
   routine waits until it returned. NULL removes a hook that has not run.
   Neither routine may be called while the caller holds a batch (a hook
   running on another thread may be waiting for the store's lock), and
   Hook must not call them, nor the driver-facing routines (Zw*,
   Rtl*Registry*). Driver-facing routines get the store through CmpStore
   (keyobj.h), which runs the hook; host code uses CmStoreDefault. */
void CmSetDriverAccessHook(void (*Hook)(void));
/* Runs the hook now if it has not run; true if it ran here. */
bool CmRunDriverAccessHook(void);
/* Why the last failing call on this thread failed ("database is locked",
   "unable to open database file: /x/registry.db"...), or "". */
const char *CmLastError(void);

/* ---- the kmhost home directory ---- */

/* Sets the home (from --home); NULL returns to the default. Call before the
   first CmStoreDefault. */
void CmSetHome(const char *Dir);
/* --home, else $KMHOST_HOME, else $XDG_DATA_HOME/kmhost, else
   ~/.local/share/kmhost. Created (mode 0700) if missing; never NULL. */
const char *CmGetHome(void);

/* ---- paths ---- */

/* Converts a key path in any accepted form to the NT form:
   "HKLM\Software\X", "HKEY_LOCAL_MACHINE\Software\X", "\Registry\Machine\Software\X"
   -> "\Registry\Machine\Software\X". HKU/HKEY_USERS map to \Registry\User.
   HKCU, HKCR, HKCC give STATUS_OBJECT_PATH_SYNTAX_BAD (kmhost has no user
   session). A trailing backslash is dropped. */
NTSTATUS CmNormalizeKeyPath(const char *Path, char *NtPath, size_t Len);
/* The reverse for display: "\Registry\Machine\X" -> "HKEY_LOCAL_MACHINE\X". */
void CmDisplayKeyPath(const char *NtPath, char *Buf, size_t Len);

/* ---- keys ---- */

/* Root: 0 and Path absolute (starts with '\'), or a key id and Path relative
   to it ("" means Root itself for CmOpenKey). Options: REG_OPTION_* |
   CM_CREATE_INTERMEDIATE. Disposition may be NULL. */
NTSTATUS CmCreateKey(CM_STORE *Store, CM_KEY_ID Root, const char *Path, ULONG Options,
                     CM_KEY_ID *Key, ULONG *Disposition);
NTSTATUS CmOpenKey(CM_STORE *Store, CM_KEY_ID Root, const char *Path, CM_KEY_ID *Key);
/* STATUS_CANNOT_DELETE if the key has subkeys; STATUS_ACCESS_DENIED for
   \Registry, its children (\Registry\Machine, \Registry\User) and theirs
   (the hive roots: \Registry\Machine\SYSTEM, ...\SOFTWARE...). */
NTSTATUS CmDeleteKey(CM_STORE *Store, CM_KEY_ID Key);
/* Deletes Key and all its subkeys (reg delete, [-key] in .reg files). */
NTSTATUS CmDeleteKeyTree(CM_STORE *Store, CM_KEY_ID Key);

typedef struct CM_KEY_INFO {
    LONGLONG LastWriteTime; /* 100 ns since 1601-01-01 UTC */
    ULONG SubKeys;
    ULONG MaxNameLen; /* longest subkey name, in bytes of UTF-16 */
    ULONG Values;
    ULONG MaxValueNameLen; /* longest value name, in bytes of UTF-16 */
    ULONG MaxValueDataLen; /* bytes */
    ULONG NameLength;      /* this key's own name, in bytes of UTF-16 */
    BOOLEAN Volatile;
    char *Name;     /* this key's own name (last component), malloc'ed */
    char *FullPath; /* "\Registry\Machine\...", malloc'ed */
} CM_KEY_INFO;
NTSTATUS CmQueryKey(CM_STORE *Store, CM_KEY_ID Key, CM_KEY_INFO *Info);
void CmFreeKeyInfo(CM_KEY_INFO *Info);

/* The Index-th subkey in enumeration order. *Name is malloc'ed (free()).
   LastWriteTime may be NULL. STATUS_NO_MORE_ENTRIES past the end. */
NTSTATUS CmEnumerateKey(CM_STORE *Store, CM_KEY_ID Key, ULONG Index, char **Name,
                        LONGLONG *LastWriteTime);

/* ---- values ---- */

typedef struct CM_VALUE {
    char *Name; /* as created, malloc'ed */
    ULONG Type;
    ULONG DataLength;
    uint8_t *Data; /* malloc'ed (never NULL on success, even when empty) */
} CM_VALUE;
void CmFreeValue(CM_VALUE *Value);

/* Name "" is the default value. */
NTSTATUS CmQueryValue(CM_STORE *Store, CM_KEY_ID Key, const char *Name, CM_VALUE *Value);
NTSTATUS CmEnumerateValue(CM_STORE *Store, CM_KEY_ID Key, ULONG Index, CM_VALUE *Value);
/* Creates or replaces; an existing value keeps its enumeration place and the
   case of its name. */
NTSTATUS CmSetValue(CM_STORE *Store, CM_KEY_ID Key, const char *Name, ULONG Type, const void *Data,
                    ULONG DataLength);
NTSTATUS CmDeleteValue(CM_STORE *Store, CM_KEY_ID Key, const char *Name);

/* ---- typed helpers (data converted between UTF-8 and Windows' encoding) ---- */

/* REG_SZ / REG_EXPAND_SZ: UTF-8 in, UTF-16LE with terminator stored. */
NTSTATUS CmSetValueString(CM_STORE *Store, CM_KEY_ID Key, const char *Name, ULONG Type,
                          const char *Utf8);
NTSTATUS CmSetValueDword(CM_STORE *Store, CM_KEY_ID Key, const char *Name, ULONG Data);
/* REG_SZ or REG_EXPAND_SZ read as UTF-8 (missing terminator tolerated).
   STATUS_OBJECT_TYPE_MISMATCH for another type; STATUS_BUFFER_OVERFLOW if
   Len is too small (Utf8 then holds a terminated prefix). */
NTSTATUS CmQueryValueString(CM_STORE *Store, CM_KEY_ID Key, const char *Name, char *Utf8,
                            size_t Len);
/* REG_DWORD; STATUS_OBJECT_TYPE_MISMATCH for another type or size. */
NTSTATUS CmQueryValueDword(CM_STORE *Store, CM_KEY_ID Key, const char *Name, ULONG *Data);

/* UTF-8 <-> UTF-16LE. Return the number of UTF-16 units / bytes written
   (without the terminator, which is always written when room allows), or -1
   on invalid input. CmUtf8ToUtf16 with Out NULL counts. */
long CmUtf8ToUtf16(const char *In, uint16_t *Out, size_t OutUnits);
long CmUtf16ToUtf8(const void *In, size_t InUnits, char *Out, size_t OutLen);

/* ---- BCD-style boot settings (for bcdedit) ----
   REG_SZ values under \Registry\Machine\BCD00000000\kmhost in the default
   store. Get: STATUS_OBJECT_NAME_NOT_FOUND if unset; STATUS_BUFFER_OVERFLOW if
   Len is too small. Set with Value NULL deletes the setting. */
#define CM_BOOT_SETTINGS_KEY "\\Registry\\Machine\\BCD00000000\\kmhost"
NTSTATUS CmGetBootSetting(const char *Name, char *Value, size_t Len);
NTSTATUS CmSetBootSetting(const char *Name, const char *Value);

#endif
