/*
 * The configuration manager's private interfaces between its files.
 *
 * Invariants of the store (store.c):
 * - Table keys holds one row per key; \Registry is the row with parent NULL.
 *   (parent, fold) is unique: fold is the name upcased (CmpFoldName) and
 *   encoded as UTF-16BE, so that byte order is the order of upcased UTF-16
 *   code units, the order in which Windows keeps subkey lists.
 * - Table vals holds one row per value; (key, fold) is unique; seq grows
 *   with each new value of a key and never changes, so ORDER BY seq is
 *   creation order.
 * - A key id that is not in keys was deleted (ids are AUTOINCREMENT, never
 *   reused).
 * - Every routine that touches the database holds Store->Lock for the whole
 *   transaction; writers begin with BEGIN IMMEDIATE so that two processes
 *   never deadlock upgrading a read lock.
 */
#ifndef KM_CM_CMP_H
#define KM_CM_CMP_H

#include <pthread.h>
#include <sqlite3.h>

#include "cm/cm.h"
#include "km.h"

struct CM_STORE {
    sqlite3 *Db;
    pthread_mutex_t Lock;
    char *Path;
    /* CmStoreBatchBegin: the thread whose calls join one transaction, and
       whether it holds Lock for it (BatchDepth > 0). */
    pthread_t BatchOwner;
    int BatchDepth;
    bool FlushAfterBatch; /* CmStoreFlush was called inside the batch */
};

#define CMP_ROOT_ID 1 /* \Registry */

/* store.c */
NTSTATUS CmpBegin(CM_STORE *Store, int Write); /* takes Store->Lock */
NTSTATUS CmpEnd(CM_STORE *Store,
                NTSTATUS Status); /* commits if NT_SUCCESS, else rolls back; releases */
NTSTATUS CmpDbError(CM_STORE *Store, const char *What); /* records the SQLite error */
void CmpSetError(const char *Fmt, ...) __attribute__((format(printf, 1, 2)));
sqlite3_stmt *CmpPrepare(CM_STORE *Store, const char *Sql);
LONGLONG CmpNow(void); /* 100 ns since 1601 */
/* STATUS_SUCCESS if Key exists, STATUS_KEY_DELETED if not. */
NTSTATUS CmpCheckKey(CM_STORE *Store, CM_KEY_ID Key);
NTSTATUS CmpTouchKey(CM_STORE *Store, CM_KEY_ID Key);

/* name.c */
/* Upcased UTF-16BE of Name (malloc'ed, *Len bytes); NULL on invalid UTF-8. */
uint8_t *CmpFoldName(const char *Name, size_t NameLen, size_t *Len);
/* UTF-16 length in bytes of a UTF-8 name; -1 on invalid UTF-8. */
long CmpUtf16Bytes(const char *Name, size_t NameLen);
uint16_t CmpUpcase(uint16_t C);
/* Validates one key name component. */
NTSTATUS CmpCheckKeyName(const char *Name, size_t Len);

#endif
