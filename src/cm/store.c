/*
 * The registry's database: opening, schema, transactions, errors.
 *
 * Durability: the journal is a WAL with synchronous=NORMAL. Each changing
 * call is one transaction, written to the WAL before it returns: a process
 * killed at any moment (SIGKILL included) leaves either the state before the
 * call or after it, because the written WAL is in the kernel's page cache.
 * Like the Windows registry, which writes hives back lazily, the last
 * changes reach the disk itself at a checkpoint or at CmStoreFlush
 * (ZwFlushKey, and every change the kmhost reg/sc/bcdedit commands make);
 * a power cut can lose unflushed changes, never corrupt the store. An fsync
 * per change (synchronous=FULL) cost 14 fsyncs, 8 ms, on every kmhost run.
 *
 * Sharing: WAL lets readers run beside one writer; writers begin with
 * BEGIN IMMEDIATE (a deferred transaction that later wants to write can fail
 * with SQLITE_BUSY without waiting) and wait up to CM_BUSY_TIMEOUT_MS for
 * each other. Within a process, Store->Lock serialises users of a connection.
 *
 * Schema versions live in PRAGMA user_version; a database from a newer
 * kmhost is refused rather than misread.
 */
#include "cm/cmp.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define CMP_SCHEMA_VERSION 1

static _Thread_local char CmpError[512];

const char *CmLastError(void)
{
    return CmpError;
}

void CmpSetError(const char *Fmt, ...)
{
    va_list ap;
    va_start(ap, Fmt);
    vsnprintf(CmpError, sizeof(CmpError), Fmt, ap);
    va_end(ap);
}

/* Why a write to the store's files failed, when the host's limits explain
   it: SQLite keeps no reliable errno past the rollback, so look. */
static const char *CmpWriteLimit(CM_STORE *Store, char *Buf, size_t Len)
{
    struct rlimit fsize;
    if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY) {
        snprintf(Buf, Len, "a file size limit (ulimit -f) of %llu bytes was reached",
                 (unsigned long long)fsize.rlim_cur);
        return Buf;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", Store->Path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    struct statvfs fs;
    if (statvfs(slash ? dir : ".", &fs) == 0 &&
        (unsigned long long)fs.f_bavail * fs.f_frsize < (1u << 20)) {
        snprintf(Buf, Len, "the disk is full (%llu bytes free)",
                 (unsigned long long)fs.f_bavail * fs.f_frsize);
        return Buf;
    }
    return NULL;
}

/* The SQLite error, with what to do about it when the cause is the host's:
   a store the user may not write (STATUS_REGISTRY_IO_FAILED), a full disk or
   a file size limit (STATUS_DISK_FULL). A failed change is rolled back
   whole; what was committed before stays. */
NTSTATUS CmpDbError(CM_STORE *Store, const char *What)
{
    int primary = sqlite3_extended_errcode(Store->Db) & 0xff;
    char why[128];
    const char *limit = primary == SQLITE_FULL || primary == SQLITE_IOERR
                            ? CmpWriteLimit(Store, why, sizeof(why))
                            : NULL;
    if (primary == SQLITE_FULL || limit) {
        CmpSetError("%s: %s (%s): %s; make room and try again (nothing committed before is "
                    "lost)",
                    What, sqlite3_errmsg(Store->Db), Store->Path,
                    limit ? limit : "the disk is full");
        return STATUS_DISK_FULL;
    }
    if (primary == SQLITE_READONLY) {
        CmpSetError("%s: %s (%s): the registry store is read-only for this user; give it write "
                    "access (chmod u+w on the file and its folder), or use another kmhost home "
                    "(--home DIR or KMHOST_HOME)",
                    What, sqlite3_errmsg(Store->Db), Store->Path);
        return STATUS_REGISTRY_IO_FAILED;
    }
    CmpSetError("%s: %s (%s)", What, sqlite3_errmsg(Store->Db), Store->Path);
    return STATUS_REGISTRY_IO_FAILED;
}

LONGLONG CmpNow(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* 1601-01-01 to 1970-01-01: 11644473600 s */
    return ((LONGLONG)ts.tv_sec + 11644473600LL) * 10000000LL + ts.tv_nsec / 100;
}

sqlite3_stmt *CmpPrepare(CM_STORE *Store, const char *Sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(Store->Db, Sql, -1, &st, NULL) != SQLITE_OK) {
        CmpDbError(Store, "prepare");
        return NULL;
    }
    return st;
}

static int CmpExec(CM_STORE *Store, const char *Sql)
{
    return sqlite3_exec(Store->Db, Sql, NULL, NULL, NULL);
}

/* Read without Lock by every caller; only the owner changes them while
   BatchDepth > 0 (it publishes BatchOwner before BatchDepth). */
static bool CmpInBatch(CM_STORE *Store)
{
    return __atomic_load_n(&Store->BatchDepth, __ATOMIC_ACQUIRE) > 0 &&
           pthread_equal(__atomic_load_n(&Store->BatchOwner, __ATOMIC_RELAXED), pthread_self());
}

static void CmpSetBatchDepth(CM_STORE *Store, int Depth)
{
    __atomic_store_n(&Store->BatchDepth, Depth, __ATOMIC_RELEASE);
}

/* SQLite rolls a whole transaction back on some errors (a full disk, an I/O
   error): a batch whose transaction is gone fails every later call instead
   of letting them commit one by one. */
static bool CmpBatchLost(CM_STORE *Store)
{
    if (!sqlite3_get_autocommit(Store->Db))
        return false;
    if (!CmpError[0])
        CmpSetError("the registry transaction was rolled back by an earlier error (%s)",
                    Store->Path);
    return true;
}

NTSTATUS CmpBegin(CM_STORE *Store, int Write)
{
    if (CmpInBatch(Store)) {
        if (CmpBatchLost(Store))
            return STATUS_REGISTRY_IO_FAILED;
        CmpError[0] = 0;
        if (CmpExec(Store, "SAVEPOINT cm_call") != SQLITE_OK)
            return CmpDbError(Store, "begin transaction");
        CmpSetBatchDepth(Store, Store->BatchDepth + 1);
        return STATUS_SUCCESS;
    }
    CmpError[0] = 0;
    pthread_mutex_lock(&Store->Lock);
    if (CmpExec(Store, Write ? "BEGIN IMMEDIATE" : "BEGIN") != SQLITE_OK) {
        NTSTATUS s = CmpDbError(Store, "begin transaction");
        pthread_mutex_unlock(&Store->Lock);
        return s;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS CmpCheckpoint(CM_STORE *Store)
{
    /* A FULL checkpoint copies the WAL into the database and fsyncs both. It
       waits for readers and writers (the busy timeout), but fails at once
       with SQLITE_BUSY while another process checkpoints: that one makes
       progress, so try again for as long as the busy timeout allows. */
    for (unsigned waited_ms = 0;; waited_ms++) {
        int rc = sqlite3_wal_checkpoint_v2(Store->Db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return STATUS_SUCCESS;
        if (rc != SQLITE_BUSY || waited_ms >= CM_BUSY_TIMEOUT_MS)
            return CmpDbError(Store, "flush (checkpoint)");
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

NTSTATUS CmStoreFlush(CM_STORE *Store)
{
    if (CmpInBatch(Store)) { /* the lock is this thread's: flush when the batch commits */
        Store->FlushAfterBatch = true;
        return STATUS_SUCCESS;
    }
    pthread_mutex_lock(&Store->Lock);
    NTSTATUS s = CmpCheckpoint(Store);
    pthread_mutex_unlock(&Store->Lock);
    return s;
}

NTSTATUS CmStoreBatchBegin(CM_STORE *Store)
{
    if (CmpInBatch(Store)) /* nested: one more savepoint, ended by its BatchEnd */
        return CmpBegin(Store, 1);
    NTSTATUS s = CmpBegin(Store, 1);
    if (NT_SUCCESS(s)) {
        Store->FlushAfterBatch = false;
        __atomic_store_n(&Store->BatchOwner, pthread_self(), __ATOMIC_RELAXED);
        CmpSetBatchDepth(Store, 1);
    }
    return s;
}

NTSTATUS CmStoreBatchEnd(CM_STORE *Store, NTSTATUS Status)
{
    if (Store->BatchDepth > 1)
        return CmpEnd(Store, Status);
    bool lost = CmpBatchLost(Store);
    CmpSetBatchDepth(Store, 0);
    if (lost) {
        pthread_mutex_unlock(&Store->Lock);
        return NT_SUCCESS(Status) ? STATUS_REGISTRY_IO_FAILED : Status;
    }
    Status = CmpEnd(Store, Status);
    if (NT_SUCCESS(Status) && Store->FlushAfterBatch) {
        pthread_mutex_lock(&Store->Lock);
        Status = CmpCheckpoint(Store);
        pthread_mutex_unlock(&Store->Lock);
    }
    return Status;
}

NTSTATUS CmpEnd(CM_STORE *Store, NTSTATUS Status)
{
    if (CmpInBatch(Store) && Store->BatchDepth > 1) {
        if (!CmpBatchLost(Store)) {
            if (!NT_SUCCESS(Status))
                CmpExec(Store, "ROLLBACK TO cm_call");
            if (CmpExec(Store, "RELEASE cm_call") != SQLITE_OK && NT_SUCCESS(Status))
                Status = CmpDbError(Store, "commit");
        } else if (NT_SUCCESS(Status)) {
            Status = STATUS_REGISTRY_IO_FAILED;
        }
        CmpSetBatchDepth(Store, Store->BatchDepth - 1);
        return Status;
    }
    if (NT_SUCCESS(Status)) {
        if (CmpExec(Store, "COMMIT") != SQLITE_OK) {
            Status = CmpDbError(Store, "commit");
            CmpExec(Store, "ROLLBACK");
        }
    } else {
        CmpExec(Store, "ROLLBACK");
    }
    pthread_mutex_unlock(&Store->Lock);
    return Status;
}

NTSTATUS CmpCheckKey(CM_STORE *Store, CM_KEY_ID Key)
{
    sqlite3_stmt *st = CmpPrepare(Store, "SELECT 1 FROM keys WHERE id=?");
    if (!st)
        return STATUS_REGISTRY_IO_FAILED;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)Key);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return STATUS_SUCCESS;
    if (rc == SQLITE_DONE)
        return STATUS_KEY_DELETED;
    return CmpDbError(Store, "read key");
}

NTSTATUS CmpTouchKey(CM_STORE *Store, CM_KEY_ID Key)
{
    sqlite3_stmt *st = CmpPrepare(Store, "UPDATE keys SET last_write=? WHERE id=?");
    if (!st)
        return STATUS_REGISTRY_IO_FAILED;
    sqlite3_bind_int64(st, 1, CmpNow());
    sqlite3_bind_int64(st, 2, (sqlite3_int64)Key);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STATUS_SUCCESS : CmpDbError(Store, "update key");
}

static const char CmpSchema[] =
    "CREATE TABLE keys(id INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER,"
    " name TEXT NOT NULL, fold BLOB NOT NULL, volatile INTEGER NOT NULL,"
    " last_write INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX keys_child ON keys(parent, fold);"
    "CREATE TABLE vals(key INTEGER NOT NULL, fold BLOB NOT NULL, name TEXT NOT NULL,"
    " seq INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(key, fold)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX vals_order ON vals(key, seq);"
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);";

/* The keys every Windows registry has, so that paths drivers expect exist. */
static const char *const CmpSkeleton[] = {
    "\\Registry\\Machine",
    "\\Registry\\User",
    "\\Registry\\Machine\\HARDWARE",
    "\\Registry\\Machine\\SOFTWARE",
    "\\Registry\\Machine\\SYSTEM",
    "\\Registry\\Machine\\SYSTEM\\CurrentControlSet",
    "\\Registry\\Machine\\SYSTEM\\CurrentControlSet\\Control",
    "\\Registry\\Machine\\SYSTEM\\CurrentControlSet\\Services",
};

NTSTATUS CmpCreateKeyLocked(CM_STORE *Store, CM_KEY_ID Root, const char *Path, ULONG Options,
                            CM_KEY_ID *Key, ULONG *Disposition); /* key.c */

static NTSTATUS CmpCreateSchema(CM_STORE *Store)
{
    NTSTATUS s = CmpBegin(Store, 1);
    if (!NT_SUCCESS(s))
        return s;
    sqlite3_stmt *st = CmpPrepare(Store, "PRAGMA user_version");
    if (!st)
        return CmpEnd(Store, STATUS_REGISTRY_IO_FAILED);
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version == CMP_SCHEMA_VERSION)
        return CmpEnd(Store, STATUS_SUCCESS);
    if (version != 0) {
        CmpSetError("%s has registry schema version %d; this kmhost reads version %d", Store->Path,
                    version, CMP_SCHEMA_VERSION);
        return CmpEnd(Store, STATUS_REGISTRY_CORRUPT);
    }
    if (CmpExec(Store, CmpSchema) != SQLITE_OK)
        return CmpEnd(Store, CmpDbError(Store, "create schema"));
    size_t flen;
    uint8_t *fold = CmpFoldName("Registry", 8, &flen);
    st = CmpPrepare(Store, "INSERT INTO keys VALUES(1, NULL, 'Registry', ?, 0, ?)");
    if (!st || !fold) {
        free(fold);
        return CmpEnd(Store, STATUS_REGISTRY_IO_FAILED);
    }
    sqlite3_bind_blob(st, 1, fold, (int)flen, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, CmpNow());
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    free(fold);
    if (rc != SQLITE_DONE)
        return CmpEnd(Store, CmpDbError(Store, "create root key"));
    for (size_t i = 0; i < KM_ARRAY_SIZE(CmpSkeleton); i++) {
        CM_KEY_ID k;
        s = CmpCreateKeyLocked(Store, 0, CmpSkeleton[i], 0, &k, NULL);
        if (!NT_SUCCESS(s))
            return CmpEnd(Store, s);
    }
    if (CmpExec(Store, "PRAGMA user_version=1") != SQLITE_OK)
        return CmpEnd(Store, CmpDbError(Store, "set schema version"));
    return CmpEnd(Store, STATUS_SUCCESS);
}

static void CmpReadBootId(char *Buf, size_t Len)
{
    Buf[0] = 0;
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, Buf, Len - 1);
    close(fd);
    Buf[n > 0 ? n : 0] = 0;
    Buf[strcspn(Buf, "\n")] = 0;
}

static int CmpBootIdMatches(CM_STORE *Store, const char *BootId)
{
    sqlite3_stmt *st = CmpPrepare(Store, "SELECT value FROM meta WHERE name='boot_id'");
    if (!st)
        return -1;
    int same = sqlite3_step(st) == SQLITE_ROW &&
               strcmp((const char *)sqlite3_column_text(st, 0), BootId) == 0;
    sqlite3_finalize(st);
    return same;
}

/* Volatile keys last until the machine reboots: drop them on a new boot id. */
static NTSTATUS CmpDropVolatileKeys(CM_STORE *Store)
{
    char boot[64];
    CmpReadBootId(boot, sizeof(boot));
    if (!boot[0])
        return STATUS_SUCCESS;
    NTSTATUS s = CmpBegin(Store, 0);
    if (!NT_SUCCESS(s))
        return s;
    int same = CmpBootIdMatches(Store, boot);
    CmpEnd(Store, STATUS_SUCCESS);
    if (same)
        return STATUS_SUCCESS;
    s = CmpBegin(Store, 1);
    if (!NT_SUCCESS(s))
        return s;
    if (CmpBootIdMatches(Store, boot) == 1)
        return CmpEnd(Store, STATUS_SUCCESS);
    if (CmpExec(Store, "DELETE FROM vals WHERE key IN (SELECT id FROM keys WHERE volatile=1);"
                       "DELETE FROM keys WHERE volatile=1;") != SQLITE_OK)
        return CmpEnd(Store, CmpDbError(Store, "drop volatile keys"));
    sqlite3_stmt *st = CmpPrepare(Store, "INSERT OR REPLACE INTO meta VALUES('boot_id', ?)");
    if (!st)
        return CmpEnd(Store, STATUS_REGISTRY_IO_FAILED);
    sqlite3_bind_text(st, 1, boot, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return CmpEnd(Store, rc == SQLITE_DONE ? STATUS_SUCCESS : CmpDbError(Store, "record boot id"));
}

/* SQLite's page cache takes each page's memory from malloc as the page is
   first read, instead of carving a first bulk of 20 pages, which it writes
   through whole when the first page is read: 20 page faults for a store of
   which a kmhost run reads a handful of pages. Before SQLite initialises
   (sqlite3_open_v2 does that); a no-op if something initialised it first. */
static pthread_once_t CmpSqliteOnce = PTHREAD_ONCE_INIT;

static void CmpConfigureSqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

NTSTATUS CmStoreOpen(const char *DbPath, CM_STORE **Store)
{
    *Store = NULL;
    pthread_once(&CmpSqliteOnce, CmpConfigureSqlite);
    CM_STORE *s = calloc(1, sizeof(*s));
    if (!s || !(s->Path = strdup(DbPath))) {
        free(s);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    pthread_mutex_init(&s->Lock, NULL);
    int rc = sqlite3_open_v2(
        DbPath, &s->Db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    NTSTATUS status = STATUS_SUCCESS;
    if (rc != SQLITE_OK) {
        status = CmpDbError(s, "cannot open the registry database");
        goto fail;
    }
    sqlite3_busy_timeout(s->Db, CM_BUSY_TIMEOUT_MS);
    sqlite3_stmt *st = CmpPrepare(s, "PRAGMA journal_mode=WAL");
    if (!st) {
        status = STATUS_REGISTRY_IO_FAILED;
        goto fail;
    }
    rc = sqlite3_step(st);
    int wal = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal) {
        status = CmpDbError(s, "cannot switch the registry database to WAL mode");
        goto fail;
    }
    /* A short WAL: the next process to open the store reads and checksums
       what the previous ones left (kmhost processes do not close the store:
       its WAL files also let a read-only store be read), so keep it a few
       hundred KiB rather than the default 4 MiB. */
    CmpExec(s, "PRAGMA wal_autocheckpoint=64");
    CmpExec(s, "PRAGMA journal_size_limit=1048576");
    if (CmpExec(s, "PRAGMA synchronous=NORMAL") != SQLITE_OK) {
        status = CmpDbError(s, "set synchronous");
        goto fail;
    }
    status = CmpCreateSchema(s);
    if (NT_SUCCESS(status))
        status = CmpDropVolatileKeys(s);
    if (!NT_SUCCESS(status))
        goto fail;
    *Store = s;
    return STATUS_SUCCESS;
fail:
    CmStoreClose(s);
    return status;
}

void CmStoreClose(CM_STORE *Store)
{
    if (!Store)
        return;
    sqlite3_close_v2(Store->Db);
    pthread_mutex_destroy(&Store->Lock);
    free(Store->Path);
    free(Store);
}

static pthread_mutex_t CmpDefaultLock = PTHREAD_MUTEX_INITIALIZER;
static CM_STORE *CmpDefault;
static pthread_once_t CmpAtforkOnce = PTHREAD_ONCE_INIT;

/* A SQLite connection must not cross fork(): the child forgets (and leaks)
   the parent's; closing it could remove the parent's WAL files. */
static void CmpAtforkChild(void)
{
    CmpDefault = NULL;
    pthread_mutex_init(&CmpDefaultLock, NULL);
}

static void CmpInstallAtfork(void)
{
    pthread_atfork(NULL, NULL, CmpAtforkChild);
}

NTSTATUS CmStoreDefault(CM_STORE **Store)
{
    /* Once open, no lock: callers may hold the store's own Lock (a batch). */
    CM_STORE *open = __atomic_load_n(&CmpDefault, __ATOMIC_ACQUIRE);
    if (open) {
        *Store = open;
        return STATUS_SUCCESS;
    }
    pthread_once(&CmpAtforkOnce, CmpInstallAtfork);
    pthread_mutex_lock(&CmpDefaultLock);
    NTSTATUS s = STATUS_SUCCESS;
    if (!CmpDefault) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/registry.db", CmGetHome());
        s = CmStoreOpen(path, &open);
        if (NT_SUCCESS(s))
            __atomic_store_n(&CmpDefault, open, __ATOMIC_RELEASE);
    }
    *Store = CmpDefault;
    pthread_mutex_unlock(&CmpDefaultLock);
    return s;
}
