/*
 * The one wait/unwait mechanism that every dispatcher object shares.
 *
 * State lives in the objects, as in NT: an object's SignalState and its
 * WaitListHead, which anchors the KWAIT_BLOCKs of the threads waiting on it.
 * Each object has its own lock (bit 7 of DISPATCHER_HEADER.Lock); there is no
 * global dispatcher lock.
 *
 * Invariants:
 *  - An object's SignalState and wait list change only under its lock, or
 *    (SignalState) in one compare-exchange of the lock word and SignalState
 *    together that requires the lock free, which is the same as locking,
 *    changing and unlocking (KiTakeUnlocked). SignalState is read and
 *    written with relaxed atomics: a waiter about to queue spins reading it
 *    without the lock (KiSpinOnObjects).
 *  - A waiter links its blocks while holding the locks of all its objects
 *    (tried in the caller's order, else taken in address order, so two
 *    multi-object waiters cannot deadlock; signallers only ever hold one
 *    object lock), after setting its
 *    WaitStatus to KI_WAIT_PENDING. So a signaller either sees the block or
 *    the waiter saw the signal: no lost wake-up.
 *  - The outcome of a wait is decided once, by whoever moves WaitStatus off
 *    KI_WAIT_PENDING: a signaller (CAS to KI_WAIT_CLAIMED, then satisfies the
 *    object, unlinks that one block and publishes STATUS_WAIT_0 + key), the
 *    waiter itself on timeout (CAS to STATUS_TIMEOUT), or an alert.
 *  - WaitAll waits are not satisfied by signallers: a signaller only moves
 *    the waiter to KI_WAIT_RETRY, and the waiter re-tests all its objects
 *    under all their locks, so it takes all of them or none, atomically.
 *  - A signaller that decides a wait (KI_WAIT_CLAIMED, under the object's
 *    lock) publishes the outcome only once it holds no object lock any more
 *    (KiFlushDeferredWakes), and after that touches neither the waiter's
 *    thread nor its block: the futex wake that follows uses only the
 *    address. So a waiter that sees the outcome may return at once; one that
 *    sees KI_WAIT_CLAIMED spins (it never sleeps then). A signaller nested
 *    in a signal handler inside another dispatcher update publishes at once
 *    and holds a WakeRef on the thread until it is done with it, as does a
 *    WaitAll nudge (KI_WAIT_RETRY; that waiter takes every object lock again
 *    anyway); the waiter returns only once WakeRef is back to zero. Before a wait
 *    returns, the waiter also takes the lock of every object whose block is
 *    still linked, and unlinks it: any other signaller that could still
 *    touch the waiter's thread or blocks holds one of those locks. So after
 *    that nothing refers to them and they may be reused or freed. A
 *    single-object wait satisfied by a signaller has no block left linked
 *    and takes no lock at all on its way out: the woken thread does not
 *    contend with its signaller for the object's lock.
 *  - A signaller wakes the waiter with a futex wake only if the waiter has
 *    announced (Parked) that it sleeps: a satisfied spinning waiter costs no
 *    system call.
 *  - APCs (apc.c) decide a wait through the same CAS: a user APC ends an
 *    alertable UserMode wait with STATUS_USER_APC; a kernel APC moves it to
 *    KI_WAIT_KERNEL_APC, and the waiter unlinks all its blocks (as for any
 *    outcome), delivers its kernel APCs with no object lock held, and starts
 *    the wait again with the same deadline: kernel APCs never end a wait.
 *    An APC may interrupt only the kinds the waiter published in WaitApcMask
 *    before KI_WAIT_PENDING; after publishing KI_WAIT_PENDING the waiter
 *    re-reads ApcPending (KiRecheckApc), so an APC queued in between is
 *    not lost.
 */
#include "hal/hal.h"
#include "ke/apc.h"
#include "ke/dispobj.h"
#include "ke/ke.h"
#include "vf/vf.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>

/* kmhost may run on one CPU only: waits never spin (KiParkThread). Set
   with the first thread, after the HAL counted the processors. */
static _Atomic bool KiSingleCpu;

/* ke.h: set with every thread, as KiSingleCpu. */
_Atomic bool KiPrefetchw;

/* Per signaller thread: see KiFlushDeferredWakes. */
static __thread PLIST_ENTRY KiDeferredHead;
static __thread unsigned KiLocksHeld;
static __thread volatile int KiDeferredBusy;

/*
 * Park buckets: a waiter of a notification event or timer, the objects that
 * wake all their waiters at once, sleeps on a futex word shared with the
 * other waiters of objects that hash alike (an eventcount: it reads the
 * bucket's generation, re-checks its WaitStatus, then sleeps while the
 * generation is unchanged). A signaller that satisfied several such waiters
 * bumps each bucket once and wakes its sleepers with one FUTEX_WAKE, where
 * one per thread cost a system call each (1000 waiters: 1000 calls). A
 * sleeper woken for another object of its bucket re-checks and sleeps again.
 * The buckets are static, so a wake never touches memory a waiter may free.
 */
#define KI_PARK_BUCKETS 64
typedef struct KI_PARK_BUCKET {
    _Atomic LONG Generation;
} __attribute__((aligned(64))) KI_PARK_BUCKET;
static KI_PARK_BUCKET KiParkBuckets[KI_PARK_BUCKETS];

static KM_MSABI void KiWakeBucket(LONG Bucket)
{
    KI_PARK_BUCKET *b = &KiParkBuckets[Bucket];
    atomic_fetch_add(&b->Generation, 1);
    KiFutexWake(&b->Generation, INT_MAX);
}

/* Wakes a thread that was parked as Parked says (read before its WakeRef
   dropped; only the address is used after). */
static inline void KiWakeParked(_Atomic LONG *Word, LONG Parked)
{
    if (Parked == KI_PARKED_SELF)
        KiFutexWake(Word, 1);
    else if (Parked >= KI_PARKED_BUCKET)
        KiWakeBucket(Parked - KI_PARKED_BUCKET);
}

void KiWakeThread(PKTHREAD Thread)
{
    KiWakeParked(&Thread->WaitStatus, atomic_load(&Thread->Parked));
}

/* The end of a signaller's part in deciding a wait: read whether the thread
   sleeps, let it return (WakeRef), then wake it. The wake comes last so that
   a woken thread never waits for its waker (on one CPU it would run first);
   by then the thread may have returned and even ended: a futex wake of an
   address nobody waits on does nothing, and every futex waiter re-checks
   its condition, so a stray wake is harmless. */
static inline void KiReleaseParked(PKTHREAD t, LONG Parked)
{
    _Atomic LONG *word = &t->WaitStatus;
    atomic_fetch_sub_explicit(&t->WakeRef, 1, memory_order_release);
    KiWakeParked(word, Parked);
}

static inline void KiWakeAndRelease(PKTHREAD t)
{
    KiReleaseParked(t, atomic_load(&t->Parked));
}

/* Calls into the C library from the dispatcher's hot paths go through
   ms_abi wrappers, so that the exports need not save xmm6-15 (km.h). */
static KM_SLOWPATH void KiYield(void)
{
    sched_yield();
}

static KM_SLOWPATH void KiSortLocks(DISPATCHER_HEADER **Locks, ULONG Count);

/* Waiting for another thread's few instructions (an unlock, a publish):
   pause a while, then yield, as that thread may have been preempted. */
static inline void KiBackoff(unsigned Spins)
{
    if (Spins < 256)
        __builtin_ia32_pause();
    else
        KiYield();
}

static KM_SLOWPATH void KiLockObjectContended(_Atomic LONG *Lock)
{
    unsigned spins = 0;
    do {
        while (atomic_load_explicit(Lock, memory_order_relaxed) & KI_LOCK_BIT)
            KiBackoff(++spins);
    } while (atomic_fetch_or_explicit(Lock, KI_LOCK_BIT, memory_order_acquire) & KI_LOCK_BIT);
}

KM_MSABI void KiLockObject(DISPATCHER_HEADER *Header)
{
    _Atomic LONG *lock = (_Atomic LONG *)&Header->Lock;
    if (atomic_fetch_or_explicit(lock, KI_LOCK_BIT, memory_order_acquire) & KI_LOCK_BIT)
        KiLockObjectContended(lock);
    KiLocksHeld++;
}

/*
 * Satisfied waits a signaller still owes its waiters, settled once it holds
 * no object lock: a waiter may return (and free or reuse the object, as
 * drivers do with an event on the stack) only after its signaller is done
 * with the object, and a thread woken while its waker still held the lock
 * would find the lock taken (on one CPU it runs first and can only yield
 * back). The satisfied wait blocks themselves form the list, through
 * WaitListEntry.Flink (they left the object's list), each with its outcome
 * in SpareLong: no allocation, no limit; a block stays valid until its
 * outcome is published (its waiter spins on KI_WAIT_CLAIMED). Busy guards
 * the list against a signal handler on the same thread (a trapped `mov cr8`
 * may deliver an APC that sets an event): a signaller nested inside an
 * update settles its waiter at once, under its own lock.
 */

static KM_SLOWPATH void KiFlushDeferredWakes(void)
{
    KiDeferredBusy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    PLIST_ENTRY e = KiDeferredHead;
    KiDeferredHead = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    KiDeferredBusy = 0;
    LONG buckets[4]; /* to wake once each, after every outcome was published */
    unsigned nbuckets = 0;
    while (e) {
        PLIST_ENTRY next = e->Flink;
        PKWAIT_BLOCK b = CONTAINING_RECORD(e, KWAIT_BLOCK, WaitListEntry);
        PKTHREAD t = b->Thread;
        _Atomic LONG *word = &t->WaitStatus;
        LONG status = b->SpareLong;
        LONG parked = atomic_load(&t->Parked);
        /* The waiter may return from here on: its thread and block are not
           touched again, only the futex address. */
        atomic_store_explicit(word, status, memory_order_release);
        if (parked < KI_PARKED_BUCKET) {
            KiWakeParked(word, parked);
        } else {
            LONG bucket = parked - KI_PARKED_BUCKET;
            unsigned i = 0;
            while (i < nbuckets && buckets[i] != bucket)
                i++;
            if (i == nbuckets) {
                if (nbuckets < sizeof(buckets) / sizeof(buckets[0]))
                    buckets[nbuckets++] = bucket;
                else
                    KiWakeBucket(bucket);
            }
        }
        e = next;
    }
    for (unsigned i = 0; i < nbuckets; i++)
        KiWakeBucket(buckets[i]);
}

/*
 * The unlock is a store, not a locked instruction, for every object but
 * timers: only the holder changes the word while the lock bit is set (its
 * other bytes are the object's type and size, written when it is
 * initialised, and the version below), and another CPU's failed attempt
 * writes back the same value. A timer's Inserted byte changes under the
 * timer-queue lock only (timer.c), so a timer is unlocked with a locked AND
 * that leaves it alone.
 *
 * The version: every object but a timer counts its unlocks (and the
 * lock-free takes of KiTakeUnlocked) in the two bytes of the lock word that
 * no kmhost object uses otherwise, Signalling/Abandoned (byte 1) and
 * DebugActive (byte 3) of DISPATCHER_HEADER, 16 bits in all. A reader that
 * sees the same lock word, unlocked, and the same SignalState twice knows
 * that the state did not change in between (KiSnapshotLowest), provided
 * fewer than 65536 unlocks could have happened, which a bound on the time
 * between the two reads ensures.
 */
KM_MSABI void KiUnlockObject(DISPATCHER_HEADER *Header)
{
    _Atomic LONG *lock = (_Atomic LONG *)&Header->Lock;
    LONG word = atomic_load_explicit(lock, memory_order_relaxed);
    if (KiIsTimerType((UCHAR)(word & 0x7f)))
        atomic_fetch_and_explicit(lock, ~KI_LOCK_BIT, memory_order_release);
    else
        atomic_store_explicit(lock, KiNextLockWord(word), memory_order_release);
    if (--KiLocksHeld == 0 && KiDeferredHead && !KiDeferredBusy)
        KiFlushDeferredWakes();
}

KM_MSABI LONG KiReadStateSettled(const DISPATCHER_HEADER *Header)
{
    if ((uintptr_t)Header & 7) /* packed unaligned by a driver: no 8-byte atomic read */
        return __atomic_load_n(&Header->SignalState, __ATOMIC_ACQUIRE);
    for (unsigned spins = 0;; spins++) {
        int64_t both = atomic_load_explicit((_Atomic int64_t *)&Header->Lock, memory_order_acquire);
        if (!((LONG)both & KI_LOCK_BIT))
            return (LONG)(both >> 32);
        KiBackoff(spins);
    }
}

static inline UCHAR KiObjectType(const DISPATCHER_HEADER *h)
{
    return (UCHAR)(atomic_load_explicit((_Atomic LONG *)&h->Lock, memory_order_relaxed) & 0x7f);
}

static KM_MSABI bool KiIsSignaledFor(DISPATCHER_HEADER *h, PKTHREAD Thread)
{
    if (KiObjectType(h) == MutantObject)
        return KiGetSignalState(h) > 0 || ((PKMUTANT)h)->OwnerThread == (struct _KTHREAD *)Thread;
    return KiGetSignalState(h) > 0;
}

/* What a satisfied wait leaves in the SignalState of an object that is not
   a mutant: a synchronization event or timer is reset, a semaphore's count
   drops by one, a notification event or timer, a thread or a process stays
   signalled. FALSE for a type without such a rule (a mutant: KiSatisfy). */
static inline bool KiStateAfterSatisfy(UCHAR Type, LONG State, LONG *After)
{
    switch (Type) {
    case EventSynchronizationObject:
    case TimerSynchronizationObject:
        *After = 0;
        return true;
    case SemaphoreObject:
        *After = State - 1;
        return true;
    case EventNotificationObject:
    case TimerNotificationObject:
    case ThreadObject:
    case ProcessObject:
        *After = State;
        return true;
    default:
        return false;
    }
}

/* Consume what a satisfied wait takes from the object; returns
   STATUS_ABANDONED_WAIT_0 - STATUS_WAIT_0 for an abandoned mutant, else 0.
   A mutant acquired by Thread: it becomes the owner; it is linked into the
   thread's owned-mutant list and the thread's APC disable is taken here,
   unless a signaller satisfies another thread's wait (BySignaller): then
   the waiter does that itself on its way out (KiTakeMutant), so that the
   signaller never writes to the waiter's thread beyond the wait's outcome. */
static KM_MSABI LONG KiSatisfy(DISPATCHER_HEADER *h, PKTHREAD Thread, bool BySignaller)
{
    UCHAR type = KiObjectType(h);
    LONG state = KiGetSignalState(h), after;
    if (type != MutantObject) {
        if (KiStateAfterSatisfy(type, state, &after) && after != state)
            KiSetSignalState(h, after);
        return 0;
    }
    PKMUTANT m = (PKMUTANT)h;
    LONG abandoned = 0;
    KiSetSignalState(h, state - 1);
    if (state - 1 == 0) {
        m->OwnerThread = (struct _KTHREAD *)Thread;
        if (!BySignaller) { /* it was free (a release hands on its reference) */
            KiAddOwnedMutant(Thread, m);
            Thread->KernelApcDisable -= m->ApcDisable;
            if (m->KmOwnedReference)
                ExpReferenceOwnedMutant(m, true);
        }
        if (m->Abandoned) {
            m->Abandoned = FALSE;
            abandoned = STATUS_ABANDONED_WAIT_0 - STATUS_WAIT_0;
        }
    }
    return abandoned;
}

/* The waiter's side: no signaller still touches this thread. */
static inline void KiWaitForWakers(PKTHREAD t)
{
    for (unsigned spins = 0; atomic_load_explicit(&t->WakeRef, memory_order_acquire); spins++)
        KiBackoff(spins);
}

KM_MSABI void KiWaitTest(DISPATCHER_HEADER *Header)
{
    PLIST_ENTRY head = &Header->WaitListHead;
    for (PLIST_ENTRY e = head->Flink; e != head && KiGetSignalState(Header) > 0;) {
        PLIST_ENTRY next = e->Flink;
        PKWAIT_BLOCK b = CONTAINING_RECORD(e, KWAIT_BLOCK, WaitListEntry);
        PKTHREAD t = b->Thread;
        LONG expected = KI_WAIT_PENDING;
        if (b->WaitType == WaitAny) {
            if (KiIsSignaledFor(Header, t) &&
                atomic_compare_exchange_strong(&t->WaitStatus, &expected, KI_WAIT_CLAIMED)) {
                LONG status = STATUS_WAIT_0 + b->WaitKey + KiSatisfy(Header, t, true);
                KiRemoveEntryList(e);
                b->BlockState = KiObjectType(Header) != MutantObject ? KI_BLOCK_REMOVED
                                : ((PKMUTANT)Header)->ApcDisable     ? KI_BLOCK_GAVE_MUTEX
                                                                     : KI_BLOCK_GAVE_MUTANT;
                if (KiDeferredBusy) {
                    atomic_fetch_add(&t->WakeRef, 1);
                    atomic_store(&t->WaitStatus, status);
                    KiWakeAndRelease(t);
                } else {
                    b->SpareLong = status; /* published by KiFlushDeferredWakes */
                    KiDeferredBusy = 1;
                    atomic_signal_fence(memory_order_seq_cst);
                    e->Flink = KiDeferredHead; /* settled when this thread unlocks */
                    KiDeferredHead = e;
                    atomic_signal_fence(memory_order_seq_cst);
                    KiDeferredBusy = 0;
                }
            }
        } else {
            atomic_fetch_add(&t->WakeRef, 1);
            if (atomic_compare_exchange_strong(&t->WaitStatus, &expected, KI_WAIT_RETRY))
                KiWakeAndRelease(t);
            else
                atomic_fetch_sub_explicit(&t->WakeRef, 1, memory_order_release);
        }
        e = next;
    }
}

void KiInitializeThread(PKTHREAD Thread, struct _KPROCESS *Process, KPCR *Pcr)
{
    Thread->Header.Type = ThreadObject;
    Thread->Header.Size = (UCHAR)(sizeof(DISPATCHER_HEADER) / 4);
    KiSetSignalState(&Thread->Header, 0);
    KiInitializeListHead(&Thread->Header.WaitListHead);
    KiInitializeListHead(&Thread->MutantListHead);
    Thread->LastMutant = NULL;
    KiInitializeListHead(&Thread->ApcListHead[KernelMode]);
    KiInitializeListHead(&Thread->ApcListHead[UserMode]);
    Thread->ApcQueueable = TRUE;
    atomic_store(&Thread->WaitStatus, STATUS_SUCCESS);
    atomic_store(&Thread->Parked, 0);
    atomic_store(&Thread->WakeRef, 0);
    Thread->SpinBudget = 64;
    atomic_store_explicit(&KiSingleCpu, HalpProcessorCount() == 1, /* fixed once the HAL is up */
                          memory_order_relaxed);
    atomic_store_explicit(&KiPrefetchw, HalpHasPrefetchw(), memory_order_relaxed);
    Thread->Process = Process;
    Thread->Pcr = Pcr;
    Thread->Priority = 8;
    Thread->BasePriority = 8;
    Thread->PreviousMode = KernelMode;
}

void KiSignalThreadTerminated(PKTHREAD Thread)
{
    KiLockObject(&Thread->Header);
    KiSetSignalState(&Thread->Header, 1);
    KiWaitTest(&Thread->Header);
    KiUnlockObject(&Thread->Header);
}

static int KiCompareHeaders(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static KM_SLOWPATH void KiSortLocks(DISPATCHER_HEADER **Locks, ULONG Count)
{
    qsort(Locks, Count, sizeof(Locks[0]), KiCompareHeaders);
}

typedef struct KI_WAIT {
    ULONG Count;
    PVOID *Objects;
    PKWAIT_BLOCK Blocks;
    WAIT_TYPE Type;
    ULONG LockCount;
    bool Sorted; /* Locks in address order, without duplicates */
    DISPATCHER_HEADER *Locks[MAXIMUM_WAIT_OBJECTS];
} KI_WAIT;

static void KiInitWait(KI_WAIT *w, ULONG Count, PVOID *Objects, PKWAIT_BLOCK Blocks, WAIT_TYPE Type)
{
    w->Count = Count;
    w->Objects = Objects;
    w->Blocks = Blocks;
    w->Type = Type;
    for (ULONG i = 0; i < Count; i++)
        w->Locks[i] = Objects[i];
    w->LockCount = Count;
    w->Sorted = Count == 1;
}

static KM_MSABI bool KiTryLockObject(DISPATCHER_HEADER *Header)
{
    if (atomic_fetch_or_explicit((_Atomic LONG *)&Header->Lock, KI_LOCK_BIT, memory_order_acquire) &
        KI_LOCK_BIT)
        return false;
    KiLocksHeld++;
    return true;
}

/*
 * All the wait's object locks. Uncontended, they are taken in the caller's
 * order without sorting (a try-lock cannot deadlock); if one is busy or
 * listed twice, those taken are dropped and all are taken in address order,
 * the order every multi-object waiter uses, so waiters cannot deadlock.
 */
static KM_MSABI void KiLockAll(KI_WAIT *w)
{
    if (!w->Sorted) {
        ULONG i = 0;
        while (i < w->LockCount && KiTryLockObject(w->Locks[i]))
            i++;
        if (i == w->LockCount)
            return;
        while (i-- > 0)
            KiUnlockObject(w->Locks[i]);
        KiSortLocks(w->Locks, w->LockCount);
        ULONG n = 0;
        for (ULONG j = 0; j < w->LockCount; j++) {
            if (n == 0 || w->Locks[n - 1] != w->Locks[j])
                w->Locks[n++] = w->Locks[j];
        }
        w->LockCount = n;
        w->Sorted = true;
    }
    for (ULONG i = 0; i < w->LockCount; i++)
        KiLockObject(w->Locks[i]);
}

static KM_MSABI void KiUnlockAll(KI_WAIT *w)
{
    for (ULONG i = w->LockCount; i-- > 0;)
        KiUnlockObject(w->Locks[i]);
}

/* With all locks held: satisfy the wait now if it can be; KI_WAIT_PENDING if not. */
/* WaitAny, with the locks of Objects[0..Count) held: satisfied by the
   lowest index signalled for t, as documented. */
static KM_MSABI LONG KiSatisfyLowest(PVOID *Objects, ULONG Count, PKTHREAD t)
{
    for (ULONG i = 0; i < Count; i++) {
        DISPATCHER_HEADER *h = Objects[i];
        if (KiIsSignaledFor(h, t))
            return (LONG)(STATUS_WAIT_0 + i) + KiSatisfy(h, t, false);
    }
    return KI_WAIT_PENDING;
}

static KM_MSABI LONG KiTrySatisfy(KI_WAIT *w, PKTHREAD t)
{
    if (w->Type == WaitAny)
        return KiSatisfyLowest(w->Objects, w->Count, t);
    for (ULONG i = 0; i < w->Count; i++) {
        if (!KiIsSignaledFor(w->Objects[i], t))
            return KI_WAIT_PENDING;
    }
    LONG status = STATUS_WAIT_0;
    for (ULONG i = 0; i < w->Count; i++) {
        if (KiSatisfy(w->Objects[i], t, false) && status == STATUS_WAIT_0)
            status = (LONG)(STATUS_ABANDONED_WAIT_0 + i);
    }
    return status;
}

/* The waiter's part of a mutant acquisition a signaller decided (see
   KiSatisfy), which marked the block it satisfied KI_BLOCK_GAVE_MUTANT or
   KI_BLOCK_GAVE_MUTEX.
   Only the owner touches an owned mutant's list entry, so no lock is
   needed; no kernel APC can come in between, since the wait is decided. */
static KM_MSABI void KiTakeMutant(PKTHREAD t, PKWAIT_BLOCK Block)
{
    KiAddOwnedMutant(t, Block->Object);
    t->KernelApcDisable -= Block->BlockState == KI_BLOCK_GAVE_MUTEX;
}

static KM_MSABI void KiUnlinkBlocks(KI_WAIT *w, PKTHREAD t)
{
    for (ULONG i = 0; i < w->Count; i++) {
        PKWAIT_BLOCK b = &w->Blocks[i];
        if (b->BlockState >= KI_BLOCK_GAVE_MUTANT) {
            KiTakeMutant(t, b);
            b->BlockState = KI_BLOCK_REMOVED;
        } else if (b->BlockState == KI_BLOCK_ACTIVE) {
            KiRemoveEntryList(&b->WaitListEntry);
            b->BlockState = KI_BLOCK_REMOVED;
        }
    }
}

/* An alert that arrived after the wait tested Alerted but before it became
   pending found no wait to end: end it now, once, from the waiter's side. */
static KM_MSABI void KiRecheckAlert(PKTHREAD t, BOOLEAN Alertable, KPROCESSOR_MODE WaitMode)
{
    _Atomic BOOLEAN *alerted = &t->Alerted[WaitMode ? UserMode : KernelMode];
    LONG expected = KI_WAIT_PENDING;
    if (Alertable && atomic_load(alerted) &&
        atomic_compare_exchange_strong(&t->WaitStatus, &expected, STATUS_ALERTED))
        atomic_store(alerted, FALSE);
}

/* An APC queued after the wait tested ApcPending but before it became
   pending may have found no wait to interrupt: interrupt it now. */
static KM_MSABI void KiRecheckApc(PKTHREAD t, UCHAR Mask)
{
    UCHAR kinds = atomic_load(&t->ApcPending) & Mask;
    LONG expected = KI_WAIT_PENDING;
    if (kinds)
        atomic_compare_exchange_strong(&t->WaitStatus, &expected,
                                       kinds & (KI_APC_SPECIAL | KI_APC_NORMAL) ? KI_WAIT_KERNEL_APC
                                                                                : STATUS_USER_APC);
}

/* Publishes what may end the wait the thread is about to start. */
static KM_MSABI void KiPrepareWait(PKTHREAD t, KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                   UCHAR Mask)
{
    __atomic_store_n(&t->WaitMode, WaitMode, __ATOMIC_RELAXED);
    __atomic_store_n(&t->Alertable, Alertable, __ATOMIC_RELAXED);
    atomic_store(&t->WaitApcMask, Mask);
}

/* Documented: an alertable UserMode wait started while a user APC is queued
   returns STATUS_USER_APC at once. */
static KM_MSABI bool KiUserApcQueued(PKTHREAD t, UCHAR Mask)
{
    return (Mask & KI_APC_USER) && (atomic_load(&t->ApcPending) & KI_APC_USER);
}

/*
 * Sleep until the wait's outcome is decided; returns it (or KI_WAIT_RETRY).
 * Spinning first pays when the signaller runs on another CPU and answers
 * within the spin; it only wastes the CPU when both threads share one. So
 * the budget adapts per thread: it grows when a spin ended the wait and
 * shrinks when the thread had to sleep anyway, with an occasional short
 * probe once it reached zero. A sleep that a wake ended sooner than the
 * longest spin would have lasted grows it instead, to cover that sleep: two
 * threads answering each other fast otherwise stay asleep for good once
 * both went to sleep (each finds the other asleep, and waking a sleeping
 * CPU can take tens of microseconds on a virtual machine), where one spin
 * long enough brings both back to spinning.
 */
#define KI_SPIN_MAX 2048 /* pauses: about 50 us */
#define KI_SPIN_MUTANT (-2)
#define KI_NS_PER_PAUSE 25
static KM_MSABI LONG KiParkBucketFor(PVOID Object)
{
    UCHAR type = KiObjectType(Object);
    if (type != EventNotificationObject && type != TimerNotificationObject)
        return -1;
    return (LONG)(((uintptr_t)Object * 0x9E3779B97F4A7C15ull) >> 58); /* 64 buckets */
}

static KM_MSABI bool KiSleep(PKTHREAD t, const KI_DEADLINE *deadline, LONG Bucket)
{
    if (Bucket < 0) {
        atomic_store(&t->Parked, KI_PARKED_SELF);
        return KiFutexWait(&t->WaitStatus, KI_WAIT_PENDING, deadline);
    }
    KI_PARK_BUCKET *b = &KiParkBuckets[Bucket];
    atomic_store(&t->Parked, KI_PARKED_BUCKET + Bucket);
    LONG generation = atomic_load(&b->Generation);
    if (atomic_load(&t->WaitStatus) != KI_WAIT_PENDING)
        return true;
    return KiFutexWait(&b->Generation, generation, deadline);
}

/* The budget after a wait that spun Budget pauses, then slept Slept ns in
   all and was decided by a wake: enough to cover such a sleep, unless the
   spin already was (then spinning did not help: the answer needed this
   CPU, or came late) or the sleep was longer than any spin. */
static KM_MSABI unsigned KiBudgetAfterSleep(unsigned Budget, int64_t Slept)
{
    if (Slept >= (int64_t)KI_SPIN_MAX * KI_NS_PER_PAUSE)
        return Budget / 2;
    unsigned cover = (unsigned)(Slept / KI_NS_PER_PAUSE) * 3 / 2 + 8;
    if (Budget >= cover)
        return Budget / 2;
    return cover < KI_SPIN_MAX ? cover : KI_SPIN_MAX;
}

/* This wait's spin budget, in pauses. */
static KM_MSABI unsigned KiSpinBudget(PKTHREAD t)
{
    unsigned budget = t->SpinBudget;
    if (budget == 0 && (++t->SpinProbe & 31) == 0)
        budget = 16;
    if (atomic_load_explicit(&KiSingleCpu, memory_order_relaxed)) /* nobody else could answer */
        budget = 0;
    return budget;
}

static KM_MSABI void KiSpinSucceeded(PKTHREAD t, unsigned Budget)
{
    t->SpinBudget = (USHORT)(Budget * 2 + 8 < KI_SPIN_MAX ? Budget * 2 + 8 : KI_SPIN_MAX);
}

/* The first read of KiSnapshotLowest, done by the spin: the lock words and
   states (8 bytes each) of the objects before the one found signalled, read
   in the pass that found it, which began at Start (TSC); Clean when each was
   unlocked, unsignalled and not a timer, as the snapshot needs. */
typedef struct KI_SNAPSHOT {
    uint64_t Start;
    bool Clean;
    int64_t Words[MAXIMUM_WAIT_OBJECTS];
} KI_SNAPSHOT;

/* Whether an object whose lock word and state a snapshot read can count as
   unsignalled in it: unlocked, not signalled, with a version (not a timer;
   a duplicate of the object taken shows its lock). */
static inline bool KiSnapshotable(int64_t Word)
{
    LONG lock = (LONG)Word;
    return !(lock & KI_LOCK_BIT) && (LONG)(Word >> 32) <= 0 && !KiIsTimerType((UCHAR)(lock & 0x7f));
}

static inline int64_t KiReadLockAndState(const DISPATCHER_HEADER *h)
{
    return atomic_load_explicit((_Atomic int64_t *)&h->Lock, memory_order_acquire);
}

/*
 * Before queueing a WaitAny (or a wait on one object) on objects none of
 * which is a mutant: spin a while on their states, without their locks. A
 * signaller that finds nobody queued only sets the state, and never touches
 * this thread; KiTakeUnlocked or the locked path then takes the object.
 * Returns the index of the first object that looked signalled, scanned in
 * the caller's order, or -1, or KI_SPIN_MUTANT when one of the objects is a
 * mutant (found in the first pass, before any spin); the caller then takes
 * the lowest one signalled (KiTakeLowest), with Snap, the pass's reads of
 * the objects before it. A mutant is left to
 * the queue: a thread releasing it and waiting again at once would take it
 * straight back from a spinner, where a queued waiter is handed it.
 */
static KM_MSABI LONG KiSpinOnObjects(PKTHREAD t, PVOID *Objects, ULONG Count, unsigned Budget,
                                     KI_SNAPSHOT *Snap)
{
    for (unsigned spins = 0; spins < Budget; spins++) {
        if (spins)
            __builtin_ia32_pause();
        /* Only a WaitAny on several objects needs the snapshot's clock. */
        uint64_t start = Count > 1 ? __builtin_ia32_rdtsc() : 0;
        bool clean = true;
        for (ULONG i = 0; i < Count; i++) {
            const DISPATCHER_HEADER *h = Objects[i];
            int64_t word;
            if ((uintptr_t)h & 7) { /* packed unaligned by a driver: no 8-byte read */
                word = (int64_t)(((uint64_t)(uint32_t)KiGetSignalState(h) << 32) |
                                 (uint32_t)(KiObjectType(h) | KI_LOCK_BIT));
            } else {
                word = KiReadLockAndState(h);
            }
            if (spins == 0 && ((UCHAR)word & 0x7f) == MutantObject)
                return KI_SPIN_MUTANT; /* the first pass also looks for one */
            if ((LONG)(word >> 32) > 0) {
                KiSpinSucceeded(t, Budget);
                Snap->Start = start;
                Snap->Clean = clean;
                return (LONG)i;
            }
            clean = clean && KiSnapshotable(word);
            Snap->Words[i] = word;
        }
    }
    return -1;
}

/*
 * A wait that saw one of its objects (not a mutant) signalled takes it
 * without queueing: one compare-exchange of the header's first eight bytes,
 * the lock word and SignalState together, which succeeds only while the
 * lock is free. So it is the same as taking the lock, satisfying the wait
 * and unlocking (KiSatisfy's rule: a synchronization event or timer is
 * reset, a semaphore's count drops by one, anything else stays signalled),
 * in one locked instruction, and the lock's holders never see SignalState
 * change under them. FALSE when the lock was held or the object is not
 * signalled any more: the locked path then decides.
 */
static KM_MSABI bool KiTakeUnlocked(DISPATCHER_HEADER *h)
{
    _Static_assert(offsetof(DISPATCHER_HEADER, SignalState) == 4, "Lock and SignalState");
    if ((uintptr_t)h & 7) /* a header a driver packed unaligned: no split locked access */
        return false;
    _Atomic int64_t *both = (_Atomic int64_t *)&h->Lock;
    int64_t old = atomic_load_explicit(both, memory_order_acquire);
    for (;;) {
        LONG lock = (LONG)(uint32_t)old, state = (LONG)(old >> 32);
        if ((lock & KI_LOCK_BIT) || state <= 0)
            return false;
        LONG after;
        if (!KiStateAfterSatisfy((UCHAR)(lock & 0x7f), state, &after))
            return false;
        if (after == state) /* stays signalled: seeing it (acquire) is enough */
            return true;
        state = after;
        int64_t next =
            (int64_t)(((uint64_t)(uint32_t)state << 32) | (uint32_t)KiNextLockWord(lock));
        if (atomic_compare_exchange_weak_explicit(both, &old, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            return true;
    }
}

/*
 * A WaitAny whose spin saw object Index signalled first. Documented, it
 * returns the lowest index among the objects signalled, so the objects
 * before it count too, and the test and the take must be one step for every
 * other thread (KeSetEvent, KeReadStateEvent): reading the objects before
 * Index without care is not enough, as one may be set, its setter return and
 * then see Index still signalled, all before the take is stored
 * (conf.waitany_order). The objects after Index cannot matter. Two ways:
 *
 *  - Locks (the locked path, KiSatisfyLowest): with the locks of objects
 *    0..Index held nothing changes their states (KiTakeUnlocked needs the
 *    lock free too) and they are tested in order: Index + 1 locked
 *    instructions, 20 ns each on a busy line.
 *  - A snapshot (KiSnapshotLowest), the spin's way: the lock words and
 *    states of objects 0..Index-1 as the spin's pass that found Index
 *    signalled read them (KI_SNAPSHOT), then Index locked alone, then a
 *    second read of them; Index is taken only if both reads found every one
 *    unlocked, not signalled and with the same version (KiNextLockWord),
 *    within a bound on the time. Then each of them stayed unsignalled from
 *    its first read to its second, so all were at once at the lock of
 *    Index, which lies between the two and where Index was signalled as it
 *    still is; the take is placed there. It becomes visible at the unlock
 *    of Index, and until then no thread can see Index's state: KeReadState*
 *    waits for the unlock (KiReadStateSettled), a setter or another waiter
 *    needs the lock. So no thread can see an object before Index signalled
 *    and Index still signalled after the point of the take. Using the
 *    spin's pass as the first read saves one: 104 instead of 128 ns for a
 *    set and a wait on 64 objects.
 * KI_WAIT_PENDING when neither decided (the locked path then does; also
 * when the spin's pass met one of the objects locked, or a timer).
 */
/* TSC ticks. 65536 unlocks of one object take far longer than this at any
   TSC rate of 1 GHz or more: each is a locked instruction on the object's
   line plus a store, about 10 ns at the least. */
#define KI_SNAPSHOT_TICKS 100000ull

static KM_MSABI LONG KiSnapshotLowest(PKTHREAD t, PVOID *Objects, ULONG Index,
                                      const KI_SNAPSHOT *First)
{
    DISPATCHER_HEADER *k = Objects[Index];
    if (!First->Clean || ((uintptr_t)k & 7) || !KiTryLockObject(k))
        return KI_WAIT_PENDING;
    LONG status = KI_WAIT_PENDING;
    if (KiGetSignalState(k) > 0) {
        ULONG j = 0; /* the second read, after the lock */
        while (j < Index && KiReadLockAndState(Objects[j]) == First->Words[j])
            j++;
        if (j == Index && __builtin_ia32_rdtsc() - First->Start < KI_SNAPSHOT_TICKS)
            status = (LONG)(STATUS_WAIT_0 + Index) + KiSatisfy(k, t, false);
    }
    KiUnlockObject(k);
    return status;
}

static KM_MSABI LONG KiTakeLowest(PKTHREAD t, PVOID *Objects, ULONG Index, const KI_SNAPSHOT *First)
{
    if (Index == 0) /* nothing before it */
        return KiTakeUnlocked(Objects[0]) ? STATUS_WAIT_0 : KI_WAIT_PENDING;
    return KiSnapshotLowest(t, Objects, Index, First);
}

/* Spun: the spin of this wait was already spent on the object. */
static KM_MSABI LONG KiParkThread(PKTHREAD t, const KI_DEADLINE *deadline, LONG Bucket, bool Spun)
{
    unsigned budget = KiSpinBudget(t), claimed = 0;
    int64_t slept = -1;
    for (unsigned spins = Spun ? budget : 0;; spins++) {
        LONG s = atomic_load_explicit(&t->WaitStatus, memory_order_acquire);
        if (s == KI_WAIT_CLAIMED) { /* decided; the signaller publishes it once it unlocked */
            KiBackoff(++claimed);
            continue;
        }
        if (s != KI_WAIT_PENDING) {
            if (slept >= 0) /* a wake ended it */
                t->SpinBudget = (USHORT)KiBudgetAfterSleep(budget, slept);
            else if (spins <= budget && !Spun) /* the spin ended the wait */
                KiSpinSucceeded(t, budget);
            return s;
        }
        if (spins < budget) {
            __builtin_ia32_pause();
            continue;
        }
        if (spins == budget) /* sleeping after all: spin less next time */
            t->SpinBudget = (USHORT)(budget / 2);
        /* How long it slept sets the next spin; with one CPU there is none,
           so the clock is not read (two reads a sleep). */
        bool timed = !atomic_load_explicit(&KiSingleCpu, memory_order_relaxed);
        int64_t asleep = timed ? KiMonotonicNs() : 0;
        bool woken = KiSleep(t, deadline, Bucket);
        atomic_store(&t->Parked, 0);
        slept = (slept < 0 ? 0 : slept) + (timed ? KiMonotonicNs() - asleep : 0);
        if (!woken) {
            LONG expected = KI_WAIT_PENDING;
            if (atomic_compare_exchange_strong(&t->WaitStatus, &expected, STATUS_TIMEOUT))
                return STATUS_TIMEOUT;
        }
    }
}

NTSTATUS NTAPI KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                        KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                        PKWAIT_BLOCK WaitBlockArray)
{
    PKTHREAD t = KiCurrentThread();
    KI_WAIT w;
    KI_DEADLINE deadline;
    LONG status;

    VF_CHECK_WAIT(KiCurrentIrql(), Count, Object, WaitMode, Timeout,
                  __builtin_return_address(0)); /* verifier */
    /* Documented: more than MAXIMUM_WAIT_OBJECTS, or more than
       THREAD_WAIT_OBJECTS without a WaitBlockArray, is bug check 0xC. */
    if (Count > MAXIMUM_WAIT_OBJECTS || (!WaitBlockArray && Count > THREAD_WAIT_OBJECTS))
        KeBugCheckEx(0xC /* MAXIMUM_WAIT_OBJECTS_EXCEEDED */, Count, (ULONG_PTR)WaitBlockArray, 0,
                     0);
    if (Count == 0 || (WaitType != WaitAny && WaitType != WaitAll))
        return STATUS_INVALID_PARAMETER;

    KiComputeDeadline(Timeout, &deadline);
    t->WaitReason = (UCHAR)WaitReason;
    bool spun = false;
    status = KI_WAIT_PENDING;
    if ((Count == 1 || WaitType == WaitAny) && !deadline.Immediate) {
        unsigned budget = KiSpinBudget(t);
        KI_SNAPSHOT snap;
        LONG seen = budget ? KiSpinOnObjects(t, Object, Count, budget, &snap) : -1;
        spun = budget && seen == -1;
        if (seen >= 0) { /* it looked signalled: take it */
            KiDeliverKernelApcs();
            status = KiTakeLowest(t, Object, (ULONG)seen, &snap);
        }
    }
    if (status == KI_WAIT_PENDING)
        KiInitWait(&w, Count, Object, WaitBlockArray ? WaitBlockArray : t->WaitBlock, WaitType);

    while (status == KI_WAIT_PENDING || status == KI_WAIT_KERNEL_APC) {
        KiDeliverKernelApcs();
        UCHAR mask = KiApcWaitMask(Alertable, WaitMode);
        KiPrepareWait(t, WaitMode, Alertable, mask);

        KiLockAll(&w);
        status = KiTrySatisfy(&w, t);
        if (status == KI_WAIT_PENDING && Alertable &&
            atomic_exchange(&t->Alerted[WaitMode ? UserMode : KernelMode], FALSE))
            status = STATUS_ALERTED;
        if (status == KI_WAIT_PENDING && KiUserApcQueued(t, mask))
            status = STATUS_USER_APC;
        if (status == KI_WAIT_PENDING && (deadline.Immediate || KiDeadlinePassed(&deadline)))
            status = STATUS_TIMEOUT;
        if (status != KI_WAIT_PENDING) {
            KiUnlockAll(&w);
            break;
        }
        atomic_store(&t->WaitStatus, KI_WAIT_PENDING);
        for (ULONG i = 0; i < Count; i++) {
            PKWAIT_BLOCK b = &w.Blocks[i];
            b->Thread = (struct _KTHREAD *)t;
            b->Object = Object[i];
            b->NextWaitBlock = i + 1 < Count ? &w.Blocks[i + 1] : &w.Blocks[0];
            b->WaitKey = (USHORT)i;
            b->WaitType = (UCHAR)WaitType;
            b->BlockState = KI_BLOCK_ACTIVE;
            KiInsertTailList(&((DISPATCHER_HEADER *)Object[i])->WaitListHead, &b->WaitListEntry);
        }
        KiRecheckAlert(t, Alertable, WaitMode);
        KiRecheckApc(t, mask);
        KiUnlockAll(&w);

        for (;;) {
            status = KiParkThread(t, &deadline, Count == 1 ? KiParkBucketFor(Object[0]) : -1, spun);
            spun = false;
            KiWaitForWakers(t);
            UCHAR only = w.Blocks[0].BlockState;
            if (Count == 1 && only != KI_BLOCK_ACTIVE) {
                /* Satisfied by a signaller, which unlinked the only block. */
                atomic_store(&t->WaitStatus, STATUS_SUCCESS);
                if (only >= KI_BLOCK_GAVE_MUTANT) {
                    KiTakeMutant(t, &w.Blocks[0]);
                    w.Blocks[0].BlockState = KI_BLOCK_REMOVED;
                }
                break;
            }
            KiLockAll(&w);
            if (status == KI_WAIT_RETRY) {
                status = KiTrySatisfy(&w, t);
                if (status == KI_WAIT_PENDING && KiDeadlinePassed(&deadline))
                    status = STATUS_TIMEOUT;
                if (status == KI_WAIT_PENDING) {
                    atomic_store(&t->WaitStatus, KI_WAIT_PENDING);
                    KiRecheckAlert(t, Alertable, WaitMode);
                    KiRecheckApc(t, mask);
                    KiUnlockAll(&w);
                    continue;
                }
            }
            KiUnlinkBlocks(&w, t);
            KiUnlockAll(&w);
            atomic_store(&t->WaitStatus, STATUS_SUCCESS);
            break;
        }
        if (status != KI_WAIT_KERNEL_APC)
            break;
    }
    VfpWaitDone(Count, Object, WaitType, status, __builtin_return_address(0)); /* verifier */
    KiDeliverKernelApcs();
    return status;
}
KM_EXPORT(KeWaitForMultipleObjects);

NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                     KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                     PLARGE_INTEGER Timeout)
{
    return KeWaitForMultipleObjects(1, &Object, WaitAny, WaitReason, WaitMode, Alertable, Timeout,
                                    NULL);
}
KM_EXPORT(KeWaitForSingleObject);

NTSTATUS NTAPI KeWaitForMutexObject(PVOID Mutex, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                    BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    return KeWaitForSingleObject(Mutex, WaitReason, WaitMode, Alertable, Timeout);
}
KM_EXPORT(KeWaitForMutexObject);

/* Documented: returns STATUS_SUCCESS when the interval elapsed, STATUS_ALERTED
   or STATUS_USER_APC when an alertable delay is cut short. */
NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                      PLARGE_INTEGER Interval)
{
    PKTHREAD t = KiCurrentThread();
    KI_DEADLINE deadline;

    KiComputeDeadline(Interval, &deadline);
    for (;;) {
        KiDeliverKernelApcs();
        UCHAR mask = KiApcWaitMask(Alertable, WaitMode);
        KiPrepareWait(t, WaitMode, Alertable, mask);
        if (Alertable && atomic_exchange(&t->Alerted[WaitMode ? UserMode : KernelMode], FALSE))
            return STATUS_ALERTED;
        if (KiUserApcQueued(t, mask))
            return STATUS_USER_APC;
        if (deadline.Immediate) {
            KiYield();
            return STATUS_SUCCESS;
        }
        atomic_store(&t->WaitStatus, KI_WAIT_PENDING);
        KiRecheckAlert(t, Alertable, WaitMode);
        KiRecheckApc(t, mask);
        LONG status = KiParkThread(t, &deadline, -1, false);
        atomic_store(&t->WaitStatus, STATUS_SUCCESS);
        if (status != KI_WAIT_KERNEL_APC) {
            KiDeliverKernelApcs();
            return status == STATUS_TIMEOUT ? STATUS_SUCCESS : status;
        }
    }
}
KM_EXPORT(KeDelayExecutionThread);
