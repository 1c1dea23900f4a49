/*
 * Keys: lookup by path, create, delete, enumerate, query.
 *
 * A path is resolved one component at a time from \Registry (absolute) or
 * from a key (relative), comparing upcased names (see cmp.h). As with
 * ZwCreateKey, only the last component is created unless the caller asks
 * for the intermediate keys too; creating or deleting a key updates its
 * parent's LastWriteTime.
 */
#include "cm/cmp.h"

#include <stdlib.h>
#include <string.h>

NTSTATUS CmpCreateKeyLocked(CM_STORE *Store, CM_KEY_ID Root, const char *Path, ULONG Options,
                            CM_KEY_ID *Key, ULONG *Disposition);

/* The child of Parent named Name[0..Len), or 0 if there is none. */
static NTSTATUS CmpLookupChild(CM_STORE *Store, CM_KEY_ID Parent, const char *Name, size_t Len,
                               CM_KEY_ID *Child, int *Volatile)
{
    size_t flen;
    uint8_t *fold = CmpFoldName(Name, Len, &flen);
    if (!fold)
        return STATUS_OBJECT_NAME_INVALID;
    sqlite3_stmt *st = CmpPrepare(Store, "SELECT id, volatile FROM keys WHERE parent=? AND fold=?");
    if (!st) {
        free(fold);
        return STATUS_REGISTRY_IO_FAILED;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)Parent);
    sqlite3_bind_blob(st, 2, fold, (int)flen, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    *Child = 0;
    if (rc == SQLITE_ROW) {
        *Child = (CM_KEY_ID)sqlite3_column_int64(st, 0);
        if (Volatile)
            *Volatile = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    free(fold);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return CmpDbError(Store, "look up key");
    return STATUS_SUCCESS;
}

static NTSTATUS CmpIsVolatile(CM_STORE *Store, CM_KEY_ID Key, int *Volatile)
{
    sqlite3_stmt *st = CmpPrepare(Store, "SELECT volatile FROM keys WHERE id=?");
    if (!st)
        return STATUS_REGISTRY_IO_FAILED;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *Volatile = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW    ? STATUS_SUCCESS
           : rc == SQLITE_DONE ? STATUS_KEY_DELETED
                               : CmpDbError(Store, "read key");
}

static NTSTATUS CmpInsertKey(CM_STORE *Store, CM_KEY_ID Parent, const char *Name, size_t Len,
                             int Volatile, CM_KEY_ID *Key)
{
    size_t flen;
    uint8_t *fold = CmpFoldName(Name, Len, &flen);
    if (!fold)
        return STATUS_OBJECT_NAME_INVALID;
    sqlite3_stmt *st = CmpPrepare(Store, "INSERT INTO keys(parent, name, fold, volatile, "
                                         "last_write) VALUES(?, ?, ?, ?, ?)");
    if (!st) {
        free(fold);
        return STATUS_REGISTRY_IO_FAILED;
    }
    LONGLONG now = CmpNow();
    sqlite3_bind_int64(st, 1, (sqlite3_int64)Parent);
    sqlite3_bind_text(st, 2, Name, (int)Len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, fold, (int)flen, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, Volatile);
    sqlite3_bind_int64(st, 5, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    free(fold);
    if (rc != SQLITE_DONE)
        return CmpDbError(Store, "create key");
    *Key = (CM_KEY_ID)sqlite3_last_insert_rowid(Store->Db);
    return CmpTouchKey(Store, Parent);
}

/* Walks Path from Root. With Create, missing keys are made (all of them
   with CM_CREATE_INTERMEDIATE, else only the last). */
static NTSTATUS CmpWalk(CM_STORE *Store, CM_KEY_ID Root, const char *Path, int Create,
                        ULONG Options, CM_KEY_ID *Key, ULONG *Disposition)
{
    CM_KEY_ID cur;
    const char *p = Path;
    if (Root == 0) {
        if (p[0] != '\\') {
            CmpSetError("\"%s\" is not an absolute registry path (\\Registry\\...)", Path);
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        }
        p++;
        size_t n = strcspn(p, "\\");
        /* \Registry is the only root. */
        size_t flen, rlen;
        uint8_t *f = CmpFoldName(p, n, &flen), *r = CmpFoldName("Registry", 8, &rlen);
        int match = f && r && flen == rlen && memcmp(f, r, flen) == 0;
        free(f);
        free(r);
        if (!match) {
            CmpSetError("registry paths start with \\Registry: \"%s\"", Path);
            return STATUS_OBJECT_NAME_NOT_FOUND;
        }
        cur = CMP_ROOT_ID;
        p += n;
        if (*p == '\\')
            p++;
        else if (*p == 0)
            goto done;
    } else {
        NTSTATUS s = CmpCheckKey(Store, Root);
        if (!NT_SUCCESS(s))
            return s;
        if (p[0] == '\\') {
            CmpSetError("a path relative to a key must not start with a backslash");
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        }
        cur = Root;
        if (*p == 0)
            goto done;
    }
    for (;;) {
        size_t n = strcspn(p, "\\");
        int last = p[n] == 0;
        NTSTATUS s = CmpCheckKeyName(p, n);
        if (!NT_SUCCESS(s)) {
            if (!CmLastError()[0])
                CmpSetError("empty key name in \"%s\"", Path);
            return s;
        }
        CM_KEY_ID child;
        s = CmpLookupChild(Store, cur, p, n, &child, NULL);
        if (!NT_SUCCESS(s))
            return s;
        if (!child) {
            if (!Create || (!last && !(Options & CM_CREATE_INTERMEDIATE)))
                return STATUS_OBJECT_NAME_NOT_FOUND;
            int pv = 0, v = (Options & REG_OPTION_VOLATILE) != 0;
            s = CmpIsVolatile(Store, cur, &pv);
            if (!NT_SUCCESS(s))
                return s;
            if (pv && !v)
                return STATUS_CHILD_MUST_BE_VOLATILE;
            s = CmpInsertKey(Store, cur, p, n, v, &child);
            if (!NT_SUCCESS(s))
                return s;
            if (last && Disposition)
                *Disposition = REG_CREATED_NEW_KEY;
        }
        cur = child;
        if (last)
            break;
        p += n + 1;
    }
done:
    if (Disposition && *Disposition != REG_CREATED_NEW_KEY)
        *Disposition = REG_OPENED_EXISTING_KEY;
    *Key = cur;
    return STATUS_SUCCESS;
}

NTSTATUS CmpCreateKeyLocked(CM_STORE *Store, CM_KEY_ID Root, const char *Path, ULONG Options,
                            CM_KEY_ID *Key, ULONG *Disposition)
{
    if (Disposition)
        *Disposition = 0;
    return CmpWalk(Store, Root, Path, 1, Options, Key, Disposition);
}

NTSTATUS CmCreateKey(CM_STORE *Store, CM_KEY_ID Root, const char *Path, ULONG Options,
                     CM_KEY_ID *Key, ULONG *Disposition)
{
    ULONG disp = 0;
    if (Options & ~(REG_OPTION_VOLATILE | CM_CREATE_INTERMEDIATE))
        return STATUS_INVALID_PARAMETER;
    NTSTATUS s = CmpBegin(Store, 1);
    if (!NT_SUCCESS(s))
        return s;
    s = CmpEnd(Store, CmpWalk(Store, Root, Path, 1, Options, Key, &disp));
    if (Disposition)
        *Disposition = NT_SUCCESS(s) ? disp : 0;
    return s;
}

NTSTATUS CmOpenKey(CM_STORE *Store, CM_KEY_ID Root, const char *Path, CM_KEY_ID *Key)
{
    NTSTATUS s = CmpBegin(Store, 0);
    if (!NT_SUCCESS(s))
        return s;
    return CmpEnd(Store, CmpWalk(Store, Root, Path, 0, 0, Key, NULL));
}

static NTSTATUS CmpParentOf(CM_STORE *Store, CM_KEY_ID Key, CM_KEY_ID *Parent)
{
    sqlite3_stmt *st = CmpPrepare(Store, "SELECT parent FROM keys WHERE id=?");
    if (!st)
        return STATUS_REGISTRY_IO_FAILED;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *Parent = (CM_KEY_ID)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW    ? STATUS_SUCCESS
           : rc == SQLITE_DONE ? STATUS_KEY_DELETED
                               : CmpDbError(Store, "read key");
}

static NTSTATUS CmpDeleteLocked(CM_STORE *Store, CM_KEY_ID Key, int Tree)
{
    CM_KEY_ID parent = 0;
    NTSTATUS s = CmpParentOf(Store, Key, &parent);
    if (!NT_SUCCESS(s))
        return s;
    CM_KEY_ID grandparent = 0;
    if (parent && parent != CMP_ROOT_ID) {
        s = CmpParentOf(Store, parent, &grandparent);
        if (!NT_SUCCESS(s))
            return s;
    }
    /* \Registry, \Registry\Machine and the hives below it (SYSTEM,
       SOFTWARE...) are hive roots: Windows refuses to delete them. */
    if (Key == CMP_ROOT_ID || parent == CMP_ROOT_ID || grandparent == CMP_ROOT_ID) {
        CmpSetError("the registry root and the hive roots cannot be deleted");
        return STATUS_ACCESS_DENIED;
    }
    if (!Tree) {
        sqlite3_stmt *st = CmpPrepare(Store, "SELECT 1 FROM keys WHERE parent=? LIMIT 1");
        if (!st)
            return STATUS_REGISTRY_IO_FAILED;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_ROW)
            return STATUS_CANNOT_DELETE;
        if (rc != SQLITE_DONE)
            return CmpDbError(Store, "read key");
    }
    static const char *const sql[] = {
        "WITH RECURSIVE t(id) AS (SELECT ?1 UNION ALL SELECT k.id FROM keys k JOIN t ON "
        "k.parent=t.id) DELETE FROM vals WHERE key IN t",
        "WITH RECURSIVE t(id) AS (SELECT ?1 UNION ALL SELECT k.id FROM keys k JOIN t ON "
        "k.parent=t.id) DELETE FROM keys WHERE id IN t",
    };
    for (size_t i = 0; i < KM_ARRAY_SIZE(sql); i++) {
        sqlite3_stmt *st = CmpPrepare(Store, sql[i]);
        if (!st)
            return STATUS_REGISTRY_IO_FAILED;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return CmpDbError(Store, "delete key");
    }
    return CmpTouchKey(Store, parent);
}

NTSTATUS CmDeleteKey(CM_STORE *Store, CM_KEY_ID Key)
{
    NTSTATUS s = CmpBegin(Store, 1);
    if (!NT_SUCCESS(s))
        return s;
    return CmpEnd(Store, CmpDeleteLocked(Store, Key, 0));
}

NTSTATUS CmDeleteKeyTree(CM_STORE *Store, CM_KEY_ID Key)
{
    NTSTATUS s = CmpBegin(Store, 1);
    if (!NT_SUCCESS(s))
        return s;
    return CmpEnd(Store, CmpDeleteLocked(Store, Key, 1));
}

NTSTATUS CmEnumerateKey(CM_STORE *Store, CM_KEY_ID Key, ULONG Index, char **Name,
                        LONGLONG *LastWriteTime)
{
    *Name = NULL;
    NTSTATUS s = CmpBegin(Store, 0);
    if (!NT_SUCCESS(s))
        return s;
    s = CmpCheckKey(Store, Key);
    if (!NT_SUCCESS(s))
        return CmpEnd(Store, s);
    sqlite3_stmt *st = CmpPrepare(
        Store, "SELECT name, last_write FROM keys WHERE parent=? ORDER BY fold LIMIT 1 OFFSET ?");
    if (!st)
        return CmpEnd(Store, STATUS_REGISTRY_IO_FAILED);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
    sqlite3_bind_int64(st, 2, Index);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *Name = strdup((const char *)sqlite3_column_text(st, 0));
        if (LastWriteTime)
            *LastWriteTime = sqlite3_column_int64(st, 1);
        s = *Name ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    } else {
        s = rc == SQLITE_DONE ? STATUS_NO_MORE_ENTRIES : CmpDbError(Store, "enumerate keys");
    }
    sqlite3_finalize(st);
    return CmpEnd(Store, s);
}

static NTSTATUS CmpFullPath(CM_STORE *Store, CM_KEY_ID Key, char **Path)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return STATUS_INSUFFICIENT_RESOURCES;
    buf[0] = 0;
    sqlite3_stmt *st = CmpPrepare(Store, "SELECT parent, name FROM keys WHERE id=?");
    if (!st) {
        free(buf);
        return STATUS_REGISTRY_IO_FAILED;
    }
    /* Built leaf first, then each ancestor prepended. */
    while (Key) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_finalize(st);
            free(buf);
            return STATUS_KEY_DELETED;
        }
        const char *name = (const char *)sqlite3_column_text(st, 1);
        size_t n = strlen(name) + 1;
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                sqlite3_finalize(st);
                free(buf);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            buf = nb;
        }
        memmove(buf + n, buf, len + 1);
        buf[0] = '\\';
        memcpy(buf + 1, name, n - 1);
        len += n;
        Key = (CM_KEY_ID)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    *Path = buf;
    return STATUS_SUCCESS;
}

NTSTATUS CmQueryKey(CM_STORE *Store, CM_KEY_ID Key, CM_KEY_INFO *Info)
{
    memset(Info, 0, sizeof(*Info));
    NTSTATUS s = CmpBegin(Store, 0);
    if (!NT_SUCCESS(s))
        return s;
    sqlite3_stmt *st =
        CmpPrepare(Store, "SELECT k.last_write, k.volatile, k.name, length(k.fold),"
                          " (SELECT count(*) FROM keys c WHERE c.parent=k.id),"
                          " (SELECT ifnull(max(length(c.fold)),0) FROM keys c WHERE c.parent=k.id),"
                          " (SELECT count(*) FROM vals v WHERE v.key=k.id),"
                          " (SELECT ifnull(max(length(v.fold)),0) FROM vals v WHERE v.key=k.id),"
                          " (SELECT ifnull(max(length(v.data)),0) FROM vals v WHERE v.key=k.id)"
                          " FROM keys k WHERE k.id=?");
    if (!st)
        return CmpEnd(Store, STATUS_REGISTRY_IO_FAILED);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        Info->LastWriteTime = sqlite3_column_int64(st, 0);
        Info->Volatile = (BOOLEAN)sqlite3_column_int(st, 1);
        Info->Name = strdup((const char *)sqlite3_column_text(st, 2));
        Info->NameLength = (ULONG)sqlite3_column_int(st, 3);
        Info->SubKeys = (ULONG)sqlite3_column_int(st, 4);
        Info->MaxNameLen = (ULONG)sqlite3_column_int(st, 5);
        Info->Values = (ULONG)sqlite3_column_int(st, 6);
        Info->MaxValueNameLen = (ULONG)sqlite3_column_int(st, 7);
        Info->MaxValueDataLen = (ULONG)sqlite3_column_int(st, 8);
        s = Info->Name ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    } else {
        s = rc == SQLITE_DONE ? STATUS_KEY_DELETED : CmpDbError(Store, "query key");
    }
    sqlite3_finalize(st);
    if (NT_SUCCESS(s))
        s = CmpFullPath(Store, Key, &Info->FullPath);
    s = CmpEnd(Store, s);
    if (!NT_SUCCESS(s))
        CmFreeKeyInfo(Info);
    return s;
}

void CmFreeKeyInfo(CM_KEY_INFO *Info)
{
    free(Info->Name);
    free(Info->FullPath);
    Info->Name = Info->FullPath = NULL;
}
