/*
 * Executive resources (ERESOURCE): reader/writer locks with recursion.
 *
 * The driver owns the 0x68-byte ERESOURCE. Its fields keep the state, under
 * the resource's own lock word (ERESOURCE.SpinLock, bit 0), never held while
 * waiting:
 *  - Flag & ResourceOwnedExclusive: owned exclusively, by OwnerEntry
 *    (OwnerThread, OwnerCount = recursion).
 *  - Otherwise ActiveCount > 0 means owned shared; each shared owner has an
 *    entry (thread, recursion count) in OwnerTable, a side allocation whose
 *    entry 0 holds the table's size in TableSize, as NT keeps it; entries
 *    with OwnerThread 0 are free. ActiveEntries counts used entries.
 *  - ActiveCount counts owning threads, including waiters the lock was
 *    already handed to and that have not yet woken up to record themselves.
 *  - NumberOfSharedWaiters / NumberOfExclusiveWaiters count threads committed
 *    to waiting on SharedWaiters (a semaphore) / ExclusiveWaiters (a
 *    synchronization event), both in a side allocation made by
 *    ExInitializeResourceLite and freed by ExDeleteResourceLite.
 *
 * Hand-over: a waiter never retries. The releaser that makes the resource
 * available grants it under the lock: to every shared waiter at once
 * (ActiveCount += n, semaphore released n times), or to one exclusive
 * waiter (owned exclusive with OwnerThread 0 until the woken thread records
 * itself; the event wakes exactly one). After an exclusive release shared
 * waiters go first, after the last shared release an exclusive waiter, so
 * neither side starves the other. Signals are sent after the lock is
 * dropped: the grant is already recorded, and a semaphore or event remembers
 * a signal that arrives before its waiter.
 *
 * Documented rules: acquires at IRQL <= APC_LEVEL with normal kernel APCs
 * disabled (KeEnterCriticalRegion) until the release; kmhost does not check
 * the latter yet, the verifier will. A thread that owns the resource shared
 * and asks for exclusive access would wait for itself forever: kmhost stops
 * with a message instead. Releasing a resource the thread does not own is bug
 * check 0xE3 RESOURCE_NOT_OWNED (P1 resource, P2 thread, P3 owner table).
 */
#include "ex/exlock.h"
#include "vf/vf.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOURCE_NOT_OWNED 0xE3
#define EXP_INITIAL_TABLE_SIZE 8

typedef struct EXP_RESOURCE_WAIT {
    KSEMAPHORE SharedWaiters;
    KEVENT ExclusiveWaiters;
} EXP_RESOURCE_WAIT;

typedef enum { ExpShared, ExpSharedStarveExclusive, ExpSharedWaitForExclusive } EXP_SHARED_KIND;

static void ExpLockResource(PERESOURCE r)
{
    unsigned spins = 0;
    while (__atomic_exchange_n(&r->SpinLock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&r->SpinLock, __ATOMIC_RELAXED)) {
            if (++spins < 256)
                __builtin_ia32_pause();
            else
                sched_yield();
        }
    }
}

static void ExpUnlockResource(PERESOURCE r)
{
    __atomic_store_n(&r->SpinLock, 0, __ATOMIC_RELEASE);
}

static inline ERESOURCE_THREAD ExpCurrentOwner(void)
{
    return (ERESOURCE_THREAD)KiCurrentThread();
}

static POWNER_ENTRY ExpFindShared(PERESOURCE r, ERESOURCE_THREAD Owner)
{
    ULONG size = r->OwnerTable[0].TableSize;
    for (ULONG i = 1; i < size; i++) {
        if (r->OwnerTable[i].OwnerThread == Owner)
            return &r->OwnerTable[i];
    }
    return NULL;
}

/* Lock held. Records Owner as a shared owner with Count; grows the table. */
static void ExpAddShared(PERESOURCE r, ERESOURCE_THREAD Owner, ULONG Count)
{
    ULONG size = r->OwnerTable[0].TableSize;
    for (ULONG i = 1; i < size; i++) {
        if (r->OwnerTable[i].OwnerThread == 0) {
            r->OwnerTable[i].OwnerThread = Owner;
            r->OwnerTable[i].OwnerCount = Count;
            r->ActiveEntries++;
            return;
        }
    }
    POWNER_ENTRY t = realloc(r->OwnerTable, 2 * size * sizeof(OWNER_ENTRY));
    if (!t)
        KeBugCheckEx(0x7D /* INSTALL_MORE_MEMORY */, 0, 0, 0, 0);
    memset(&t[size], 0, size * sizeof(OWNER_ENTRY));
    t[0].TableSize = 2 * size;
    t[size].OwnerThread = Owner;
    t[size].OwnerCount = Count;
    r->OwnerTable = t;
    r->ActiveEntries++;
}

typedef struct EXP_WAKE {
    LONG Shared;
    BOOLEAN Exclusive;
} EXP_WAKE;

static void ExpHandToSharedWaiters(PERESOURCE r, EXP_WAKE *Wake)
{
    Wake->Shared = (LONG)r->NumberOfSharedWaiters;
    r->ActiveCount = (SHORT)(r->ActiveCount + Wake->Shared);
    r->NumberOfSharedWaiters = 0;
}

/* Lock held, the resource just became free: grant it to waiters. */
static void ExpGrantWaiters(PERESOURCE r, BOOLEAN SharedFirst, EXP_WAKE *Wake)
{
    if (r->NumberOfSharedWaiters && (SharedFirst || !r->NumberOfExclusiveWaiters)) {
        ExpHandToSharedWaiters(r, Wake);
    } else if (r->NumberOfExclusiveWaiters) {
        r->NumberOfExclusiveWaiters--;
        r->Flag |= ResourceOwnedExclusive;
        r->ActiveCount = 1;
        r->OwnerEntry.OwnerThread = 0;
        r->OwnerEntry.OwnerCount = 1;
        Wake->Exclusive = TRUE;
    }
}

static void ExpWake(PERESOURCE r, const EXP_WAKE *Wake)
{
    if (Wake->Shared) {
        DISPATCHER_HEADER *h = &r->SharedWaiters->Header;
        KiLockObject(h);
        KiSetSignalState(h, KiGetSignalState(h) + Wake->Shared);
        KiWaitTest(h);
        KiUnlockObject(h);
    }
    if (Wake->Exclusive)
        KeSetEvent(r->ExclusiveWaiters, 0, FALSE);
}

static void ExpInitializeWaitObjects(EXP_RESOURCE_WAIT *w)
{
    /* The semaphore is private to the resource; its header is written here
       as KeInitializeSemaphore would, with the largest limit. */
    memset(&w->SharedWaiters, 0, sizeof(w->SharedWaiters));
    w->SharedWaiters.Header.Type = SemaphoreObject;
    w->SharedWaiters.Header.Size = (UCHAR)(sizeof(KSEMAPHORE) / 4);
    KiInitializeListHead(&w->SharedWaiters.Header.WaitListHead);
    w->SharedWaiters.Limit = 0x7fffffff;
    KeInitializeEvent(&w->ExclusiveWaiters, SynchronizationEvent, FALSE);
}

/* Documented: STATUS_SUCCESS; the storage must be nonpaged and the resource
   deleted with ExDeleteResourceLite before it is freed. */
NTSTATUS NTAPI ExInitializeResourceLite(PERESOURCE Resource)
{
    EXP_RESOURCE_WAIT *w = malloc(sizeof(*w));
    POWNER_ENTRY table = calloc(EXP_INITIAL_TABLE_SIZE, sizeof(OWNER_ENTRY));
    if (!w || !table) {
        free(w);
        free(table);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memset(Resource, 0, sizeof(*Resource));
    KiInitializeListHead(&Resource->SystemResourcesList);
    ExpInitializeWaitObjects(w);
    table[0].TableSize = EXP_INITIAL_TABLE_SIZE;
    Resource->OwnerTable = table;
    Resource->SharedWaiters = &w->SharedWaiters;
    Resource->ExclusiveWaiters = &w->ExclusiveWaiters;
    Resource->Address = __builtin_return_address(0);
    VfpLockDeleted(Resource); /* verifier */
    return STATUS_SUCCESS;
}
KM_EXPORT(ExInitializeResourceLite);

static bool ExpResourceBusy(PERESOURCE r)
{
    return r->ActiveCount || r->NumberOfSharedWaiters || r->NumberOfExclusiveWaiters;
}

/* Documented: STATUS_SUCCESS. Deleting a resource that is owned or waited
   for is a driver bug; kmhost keeps its memory then, so that the waiters do
   not wake into freed storage, and says so. */
NTSTATUS NTAPI ExDeleteResourceLite(PERESOURCE Resource)
{
    ExpLockResource(Resource);
    bool busy = ExpResourceBusy(Resource);
    ExpUnlockResource(Resource);
    if (busy) {
        dprintf(1,
                "kmhost: ExDeleteResourceLite(%p): the resource is still owned or waited for; "
                "release it in every thread before deleting it\n",
                (void *)Resource);
        return STATUS_SUCCESS;
    }
    VfpLockDeleted(Resource); /* verifier */
    free(Resource->OwnerTable);
    free(CONTAINING_RECORD(Resource->SharedWaiters, EXP_RESOURCE_WAIT, SharedWaiters));
    Resource->OwnerTable = NULL;
    Resource->SharedWaiters = NULL;
    Resource->ExclusiveWaiters = NULL;
    return STATUS_SUCCESS;
}
KM_EXPORT(ExDeleteResourceLite);

/* Documented: returns the resource to its initial state; no thread may own or
   wait for it. */
NTSTATUS NTAPI ExReinitializeResourceLite(PERESOURCE Resource)
{
    if (ExpResourceBusy(Resource))
        dprintf(1,
                "kmhost: ExReinitializeResourceLite(%p): the resource is still owned or "
                "waited for\n",
                (void *)Resource);
    EXP_RESOURCE_WAIT *w =
        CONTAINING_RECORD(Resource->SharedWaiters, EXP_RESOURCE_WAIT, SharedWaiters);
    POWNER_ENTRY table = Resource->OwnerTable;
    ULONG size = table[0].TableSize;
    memset(table, 0, size * sizeof(OWNER_ENTRY));
    table[0].TableSize = size;
    ExpInitializeWaitObjects(w);
    Resource->ActiveCount = 0;
    Resource->ActiveEntries = 0;
    Resource->Flag = 0;
    Resource->OwnerEntry.OwnerThread = 0;
    Resource->OwnerEntry.TableSize = 0;
    Resource->ContentionCount = 0;
    Resource->NumberOfSharedWaiters = 0;
    Resource->NumberOfExclusiveWaiters = 0;
    __atomic_store_n(&Resource->SpinLock, 0, __ATOMIC_RELEASE);
    return STATUS_SUCCESS;
}
KM_EXPORT(ExReinitializeResourceLite);

static BOOLEAN ExpAcquireShared(PERESOURCE r, BOOLEAN Wait, EXP_SHARED_KIND Kind)
{
    ERESOURCE_THREAD me = ExpCurrentOwner();
    ExpLockResource(r);
    if (r->ActiveCount == 0) {
        ExpAddShared(r, me, 1);
        r->ActiveCount = 1;
        ExpUnlockResource(r);
        return TRUE;
    }
    if (r->Flag & ResourceOwnedExclusive) {
        /* Documented: the exclusive owner gets the resource again, as
           exclusive recursion. */
        if (r->OwnerEntry.OwnerThread == me) {
            r->OwnerEntry.OwnerCount++;
            ExpUnlockResource(r);
            return TRUE;
        }
    } else {
        POWNER_ENTRY e = ExpFindShared(r, me);
        /* Documented: a shared owner gets it again at once, except through
           ExAcquireSharedWaitForExclusive while exclusive waiters wait; a new
           shared owner joins unless an exclusive waiter waits, which
           ExAcquireSharedStarveExclusive ignores. */
        if (e && (Kind != ExpSharedWaitForExclusive || !r->NumberOfExclusiveWaiters)) {
            e->OwnerCount++;
            ExpUnlockResource(r);
            return TRUE;
        }
        if (!e && (Kind == ExpSharedStarveExclusive || !r->NumberOfExclusiveWaiters)) {
            ExpAddShared(r, me, 1);
            r->ActiveCount++;
            ExpUnlockResource(r);
            return TRUE;
        }
    }
    if (!Wait) {
        ExpUnlockResource(r);
        return FALSE;
    }
    r->NumberOfSharedWaiters++;
    r->ContentionCount++;
    ExpUnlockResource(r);
    KeWaitForSingleObject(r->SharedWaiters, WrExecutive, KernelMode, FALSE, NULL);
    /* Granted by the releaser, which counted this thread in ActiveCount. */
    ExpLockResource(r);
    POWNER_ENTRY e = ExpFindShared(r, me);
    if (e) {
        e->OwnerCount++;
        r->ActiveCount--;
    } else {
        ExpAddShared(r, me, 1);
    }
    ExpUnlockResource(r);
    return TRUE;
}

/* Documented: TRUE when acquired; FALSE only when Wait is FALSE and the
   resource cannot be had at once. */
BOOLEAN NTAPI ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait)
{
    VfpResourceAcquiring(Resource, Wait, __builtin_return_address(0)); /* verifier */
    return ExpAcquireShared(Resource, Wait, ExpShared);
}
KM_EXPORT(ExAcquireResourceSharedLite);

BOOLEAN NTAPI ExAcquireSharedStarveExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
    VfpResourceAcquiring(Resource, Wait, __builtin_return_address(0)); /* verifier */
    return ExpAcquireShared(Resource, Wait, ExpSharedStarveExclusive);
}
KM_EXPORT(ExAcquireSharedStarveExclusive);

BOOLEAN NTAPI ExAcquireSharedWaitForExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
    VfpResourceAcquiring(Resource, Wait, __builtin_return_address(0)); /* verifier */
    return ExpAcquireShared(Resource, Wait, ExpSharedWaitForExclusive);
}
KM_EXPORT(ExAcquireSharedWaitForExclusive);

BOOLEAN NTAPI ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait)
{
    PERESOURCE r = Resource;
    ERESOURCE_THREAD me = ExpCurrentOwner();
    VfpResourceAcquiring(Resource, Wait, __builtin_return_address(0)); /* verifier */
    ExpLockResource(r);
    if (r->ActiveCount == 0) {
        r->Flag |= ResourceOwnedExclusive;
        r->ActiveCount = 1;
        r->OwnerEntry.OwnerThread = me;
        r->OwnerEntry.OwnerCount = 1;
        ExpUnlockResource(r);
        return TRUE;
    }
    if ((r->Flag & ResourceOwnedExclusive) && r->OwnerEntry.OwnerThread == me) {
        r->OwnerEntry.OwnerCount++;
        ExpUnlockResource(r);
        return TRUE;
    }
    if (!Wait) {
        ExpUnlockResource(r);
        return FALSE;
    }
    if (!(r->Flag & ResourceOwnedExclusive) && ExpFindShared(r, me)) {
        ExpUnlockResource(r);
        dprintf(1,
                "kmhost: ExAcquireResourceExclusiveLite(%p, TRUE): the calling thread owns "
                "the resource shared and would wait for itself forever; release the shared "
                "access first (a resource cannot be converted from shared to exclusive)\n",
                (void *)r);
        /* Driver Verifier's deadlock detection: 0xC4, P1 0x1001, P2 the resource. */
        KeBugCheckEx(0xC4 /* DRIVER_VERIFIER_DETECTED_VIOLATION */, 0x1001, (ULONG_PTR)r, me, 0);
    }
    r->NumberOfExclusiveWaiters++;
    r->ContentionCount++;
    ExpUnlockResource(r);
    KeWaitForSingleObject(r->ExclusiveWaiters, WrExecutive, KernelMode, FALSE, NULL);
    /* Handed over: owned exclusive with OwnerThread 0, waiting for its owner's name. */
    ExpLockResource(r);
    r->OwnerEntry.OwnerThread = me;
    ExpUnlockResource(r);
    return TRUE;
}
KM_EXPORT(ExAcquireResourceExclusiveLite);

static KM_NORETURN void ExpNotOwned(PERESOURCE r, ERESOURCE_THREAD Owner)
{
    ExpUnlockResource(r);
    dprintf(1, "kmhost: release of resource %p by %p, which does not own it\n", (void *)r,
            (void *)Owner);
    KeBugCheckEx(RESOURCE_NOT_OWNED, (ULONG_PTR)r, Owner, (ULONG_PTR)r->OwnerTable, 0);
}

/* Documented: releases one acquisition by ResourceThreadId (a thread, or the
   value given to ExSetResourceOwnerPointer); IRQL <= DISPATCH_LEVEL. */
VOID NTAPI ExReleaseResourceForThreadLite(PERESOURCE Resource, ERESOURCE_THREAD ResourceThreadId)
{
    PERESOURCE r = Resource;
    EXP_WAKE wake = {0, FALSE};
    BOOLEAN exclusive;
    VfpResourceReleasing(Resource, ResourceThreadId, __builtin_return_address(0)); /* verifier */
    ExpLockResource(r);
    if (r->Flag & ResourceOwnedExclusive) {
        if (r->OwnerEntry.OwnerThread != ResourceThreadId)
            ExpNotOwned(r, ResourceThreadId);
        exclusive = TRUE;
        if (--r->OwnerEntry.OwnerCount == 0) {
            r->OwnerEntry.OwnerThread = 0;
            r->Flag &= (USHORT)~ResourceOwnedExclusive;
            r->ActiveCount = 0;
        }
    } else {
        POWNER_ENTRY e = ResourceThreadId ? ExpFindShared(r, ResourceThreadId) : NULL;
        if (!e)
            ExpNotOwned(r, ResourceThreadId);
        exclusive = FALSE;
        if (--e->OwnerCount == 0) {
            e->OwnerThread = 0;
            r->ActiveEntries--;
            r->ActiveCount--;
        }
    }
    if (r->ActiveCount == 0)
        ExpGrantWaiters(r, exclusive, &wake);
    ExpUnlockResource(r);
    ExpWake(r, &wake);
}
KM_EXPORT(ExReleaseResourceForThreadLite);

VOID NTAPI ExReleaseResourceLite(PERESOURCE Resource)
{
    ExReleaseResourceForThreadLite(Resource, ExpCurrentOwner());
}
KM_EXPORT(ExReleaseResourceLite);

/* Documented: the exclusive owner keeps the resource, now shared (with the
   same recursion count), and the shared waiters get it with it. */
VOID NTAPI ExConvertExclusiveToSharedLite(PERESOURCE Resource)
{
    PERESOURCE r = Resource;
    ERESOURCE_THREAD me = ExpCurrentOwner();
    EXP_WAKE wake = {0, FALSE};
    ExpLockResource(r);
    if (!(r->Flag & ResourceOwnedExclusive) || r->OwnerEntry.OwnerThread != me)
        ExpNotOwned(r, me);
    ULONG count = r->OwnerEntry.OwnerCount;
    r->OwnerEntry.OwnerThread = 0;
    r->OwnerEntry.OwnerCount = 0;
    r->Flag &= (USHORT)~ResourceOwnedExclusive;
    ExpAddShared(r, me, count);
    r->ActiveCount = 1;
    if (r->NumberOfSharedWaiters)
        ExpHandToSharedWaiters(r, &wake);
    ExpUnlockResource(r);
    ExpWake(r, &wake);
}
KM_EXPORT(ExConvertExclusiveToSharedLite);

BOOLEAN NTAPI ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource)
{
    ExpLockResource(Resource);
    BOOLEAN owned = (Resource->Flag & ResourceOwnedExclusive) &&
                    Resource->OwnerEntry.OwnerThread == ExpCurrentOwner();
    ExpUnlockResource(Resource);
    return owned;
}
KM_EXPORT(ExIsResourceAcquiredExclusiveLite);

/* Documented: the number of times the caller has acquired the resource
   (exclusive access counts: it implies shared), 0 if it has not. */
ULONG NTAPI ExIsResourceAcquiredSharedLite(PERESOURCE Resource)
{
    ERESOURCE_THREAD me = ExpCurrentOwner();
    ULONG count = 0;
    ExpLockResource(Resource);
    if (Resource->Flag & ResourceOwnedExclusive) {
        if (Resource->OwnerEntry.OwnerThread == me)
            count = Resource->OwnerEntry.OwnerCount;
    } else {
        POWNER_ENTRY e = ExpFindShared(Resource, me);
        if (e)
            count = e->OwnerCount;
    }
    ExpUnlockResource(Resource);
    return count;
}
KM_EXPORT(ExIsResourceAcquiredSharedLite);

ULONG NTAPI ExGetSharedWaiterCount(PERESOURCE Resource)
{
    ExpLockResource(Resource);
    ULONG n = Resource->NumberOfSharedWaiters;
    ExpUnlockResource(Resource);
    return n;
}
KM_EXPORT(ExGetSharedWaiterCount);

ULONG NTAPI ExGetExclusiveWaiterCount(PERESOURCE Resource)
{
    ExpLockResource(Resource);
    ULONG n = Resource->NumberOfExclusiveWaiters;
    ExpUnlockResource(Resource);
    return n;
}
KM_EXPORT(ExGetExclusiveWaiterCount);

/* Documented: the caller's acquisition now belongs to OwnerPointer (its two
   low bits set, so it is never a thread address), for another thread to
   release with ExReleaseResourceForThreadLite. */
VOID NTAPI ExSetResourceOwnerPointer(PERESOURCE Resource, PVOID OwnerPointer)
{
    ERESOURCE_THREAD me = ExpCurrentOwner();
    VfpLockReleased(VF_LOCK_RESOURCE, Resource, __builtin_return_address(0)); /* verifier */
    ExpLockResource(Resource);
    if (Resource->Flag & ResourceOwnedExclusive) {
        if (Resource->OwnerEntry.OwnerThread != me)
            ExpNotOwned(Resource, me);
        Resource->OwnerEntry.OwnerThread = (ERESOURCE_THREAD)OwnerPointer;
    } else {
        POWNER_ENTRY e = ExpFindShared(Resource, me);
        if (!e)
            ExpNotOwned(Resource, me);
        e->OwnerThread = (ERESOURCE_THREAD)OwnerPointer;
    }
    ExpUnlockResource(Resource);
}
KM_EXPORT(ExSetResourceOwnerPointer);

/* Documented: return the current thread's Win32Thread field, which is NULL
   for every thread kmhost runs (no thread has a Win32 part). */
PVOID NTAPI ExEnterCriticalRegionAndAcquireResourceExclusive(PERESOURCE Resource)
{
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(Resource, TRUE);
    return NULL;
}
KM_EXPORT(ExEnterCriticalRegionAndAcquireResourceExclusive);

PVOID NTAPI ExEnterCriticalRegionAndAcquireResourceShared(PERESOURCE Resource)
{
    KeEnterCriticalRegion();
    ExAcquireResourceSharedLite(Resource, TRUE);
    return NULL;
}
KM_EXPORT(ExEnterCriticalRegionAndAcquireResourceShared);

PVOID NTAPI ExEnterCriticalRegionAndAcquireSharedWaitForExclusive(PERESOURCE Resource)
{
    KeEnterCriticalRegion();
    ExAcquireSharedWaitForExclusive(Resource, TRUE);
    return NULL;
}
KM_EXPORT(ExEnterCriticalRegionAndAcquireSharedWaitForExclusive);

VOID NTAPI ExReleaseResourceAndLeaveCriticalRegion(PERESOURCE Resource)
{
    ExReleaseResourceLite(Resource);
    KeLeaveCriticalRegion();
}
KM_EXPORT(ExReleaseResourceAndLeaveCriticalRegion);
