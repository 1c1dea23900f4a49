/*
 * Kernel (Ke) internals shared by the dispatcher files and by Ps.
 *
 * A KTHREAD is the dispatcher's view of a thread: a dispatcher object itself
 * (signalled when the thread ends), the wait state the wait/unwait mechanism
 * in wait.c works on, and the KPCR that its host thread uses as GS base.
 */
#ifndef KM_KE_KE_H
#define KM_KE_KE_H

#include "km.h"

#include <stdatomic.h>

/* KTHREAD.WaitStatus while a wait is not yet decided; see wait.c. */
#define KI_WAIT_PENDING 0x7fffffff
#define KI_WAIT_CLAIMED 0x7ffffffe    /* a signaller is satisfying this wait */
#define KI_WAIT_RETRY 0x7ffffffd      /* WaitAll: an object changed, re-test */
#define KI_WAIT_KERNEL_APC 0x7ffffffc /* a kernel APC came: deliver it, wait again */

/* KTHREAD.ApcPending (what the APC lists hold) and KTHREAD.WaitApcMask
   (what may interrupt the current wait); see apc.c. */
#define KI_APC_SPECIAL 0x01 /* a special kernel APC (NormalRoutine NULL) */
#define KI_APC_NORMAL 0x02  /* a normal kernel APC */
#define KI_APC_USER 0x04    /* a user APC */

#define KI_BLOCK_ACTIVE 1
#define KI_BLOCK_REMOVED 0
#define KI_BLOCK_GAVE_MUTANT 2 /* removed by a signaller that made the thread a mutant's owner */
#define KI_BLOCK_GAVE_MUTEX 3  /* the same for a mutant with ApcDisable (a KMUTEX) */

struct _KPROCESS;

typedef struct _KTHREAD {
    DISPATCHER_HEADER Header; /* ThreadObject; SignalState 1 once terminated */
    /* The KTHREAD starts a cache line (object bodies do, ob/object.c). A
       signaller that decides this thread's single-object wait touches the
       second line only: the outcome, whether the thread sleeps, and the
       first wait block (56 bytes), which is also all the waiter reads back;
       a mutex acquisition also changes the owned-mutant list and the
       APC-disable count, in the first line. */
    _Atomic LONG WakeRef; /* signallers still touching this thread (wait.c) */
    SHORT KernelApcDisable;
    SHORT SpecialApcDisable;
    LIST_ENTRY MutantListHead;   /* mutants this thread owns, but LastMutant */
    struct _KMUTANT *LastMutant; /* the one it took last, not linked (mutex.c) */
    USHORT SpinBudget;           /* adaptive spin before parking (wait.c) */
    USHORT SpinProbe;
    _Alignas(64) _Atomic LONG WaitStatus; /* futex word: the outcome of the current wait */
    _Atomic LONG Parked; /* where the thread sleeps in futex_wait: KI_PARKED_* (wait.c) */
    KWAIT_BLOCK WaitBlock[THREAD_WAIT_OBJECTS];
    KPCR *Pcr;
    struct _KPROCESS *Process;
    KPRIORITY Priority;
    KPRIORITY BasePriority;
    UCHAR WaitReason;
    KPROCESSOR_MODE WaitMode;
    KPROCESSOR_MODE PreviousMode;
    BOOLEAN Alertable;
    _Atomic BOOLEAN Alerted[2]; /* per processor mode */
    /* APCs (apc.c). ApcLock guards the two lists, ApcQueueable and the
       Inserted flag of every KAPC queued to the thread. */
    volatile ULONG_PTR ApcLock;
    LIST_ENTRY ApcListHead[2];   /* KernelMode, UserMode */
    _Atomic UCHAR ApcPending;    /* KI_APC_* bits: kinds queued; changed under ApcLock */
    _Atomic UCHAR WaitApcMask;   /* KI_APC_* bits that may interrupt the current wait */
    BOOLEAN ApcQueueable;        /* FALSE once the thread runs down its APCs at exit */
    BOOLEAN KernelApcInProgress; /* a normal kernel APC's NormalRoutine is running */
    /* Affinity (affinity.c); changed by the thread itself only. */
    UCHAR SystemAffinityActive; /* KeSetSystemAffinityThreadEx is in force */
    UCHAR AffinityPending;      /* a move to PendingAffinity waits for the IRQL to drop */
    USHORT UserProcessor;       /* KPCR.Number under the user affinity */
    ULONG_PTR SystemAffinity;   /* the system affinity in force (KAFFINITY) */
    ULONG_PTR PendingAffinity;  /* KAFFINITY; 0: back to the user affinity */
} KTHREAD, *PKTHREAD, *PRKTHREAD;
_Static_assert(offsetof(KTHREAD, WaitBlock) + sizeof(KWAIT_BLOCK) <= 128,
               "the outcome and the first wait block share a cache line");

typedef struct _KPROCESS {
    DISPATCHER_HEADER Header; /* ProcessObject */
} KPROCESS, *PKPROCESS, *PRKPROCESS;

/* An object's SignalState changes under its lock but is read without it
   (KeReadState*, a waiter spinning before it queues, wait.c): its writes
   are relaxed atomic stores. */
static inline void KiSetSignalState(DISPATCHER_HEADER *Header, LONG Value)
{
    __atomic_store_n(&Header->SignalState, Value, __ATOMIC_RELAXED);
}
/* And its reads, under the lock too, are relaxed atomic loads: a waiter
   may also change it without the lock, in one compare-exchange with the
   lock word that requires the lock free (KiTakeUnlocked, wait.c). */
static inline LONG KiGetSignalState(const DISPATCHER_HEADER *Header)
{
    return __atomic_load_n(&Header->SignalState, __ATOMIC_RELAXED);
}

/* SignalState as the exported KeReadState* routines return it: the state
   of an object no thread holds locked. A reader that finds the lock taken
   waits for the unlock, so it never sees a state that the holder may still
   change before it lets go (a WaitAny taking object k under its lock after
   a snapshot of the objects before it, wait.c, is one step for readers). */
KM_MSABI LONG KiReadStateSettled(const DISPATCHER_HEADER *Header); /* wait.c */

static inline PKTHREAD KiCurrentThread(void)
{
    return (PKTHREAD)HalPcr()->CurrentThread;
}

static inline KIRQL KiCurrentIrql(void)
{
    return HalPcr()->Irql;
}

/* Writes the IRQL byte of the KPCR (patched `mov cr8` and the trap handler
   write the same byte); a compiler barrier either side, as the processor's
   `mov cr8` is one. */
static inline void KiWriteIrqlOf(KPCR *Pcr, KIRQL Irql)
{
    atomic_signal_fence(memory_order_seq_cst);
    Pcr->Irql = Irql;
    atomic_signal_fence(memory_order_seq_cst);
}
static inline void KiWriteIrql(KIRQL Irql)
{
    KiWriteIrqlOf(HalPcr(), Irql);
}

/* KPCR.InterruptRequest: see KiLowerIrqlFrom. The Of forms take the
   current thread's KPCR read once (spinlock.c's fast paths). */
static inline UCHAR KiInterruptRequestOf(KPCR *Pcr)
{
    atomic_signal_fence(memory_order_seq_cst);
    return *(volatile UCHAR *)&Pcr->InterruptRequest;
}
static inline UCHAR KiInterruptRequest(void)
{
    return KiInterruptRequestOf(HalPcr());
}
static inline void KiSetInterruptRequest(UCHAR Value)
{
    *(volatile UCHAR *)&HalPcr()->InterruptRequest = Value;
    atomic_signal_fence(memory_order_seq_cst);
}

/* The exported IRQL routines' fast paths (irql.c), inlined where kmhost's
   own exports raise and lower (spin locks). A raise to a lower level or a
   lowering to a higher one goes to KiIrqlMisuse (verifier report, then bug
   check 0x9 / 0xA). A lowering below DISPATCH_LEVEL calls KiIrqlLowered only
   while KPCR.InterruptRequest (gs:[0x186]) is set: the dispatcher sets it
   whenever it must see the next lowering (DPCs queued to this processor, a
   DPC routine running, kernel APCs pending), as for patched `mov cr8`
   (src/ldr/patch.h), so an ordinary lowering is a load and a store. */
KM_SLOWPATH void KiIrqlMisuse(KIRQL Current, KIRQL New, bool Raise, const void *Site);
KM_SLOWPATH void KiIrqlLowered(KIRQL Old, KIRQL New); /* dpc.c */
/* Applies a processor change deferred at DISPATCH_LEVEL (affinity.c);
   KiIrqlLowered calls it. Signal-safe. */
void KiAffinityIrqlLowered(KIRQL Old, KIRQL New);

static inline KIRQL KiRaiseIrql(KIRQL New, const void *Site)
{
    KIRQL old = KiCurrentIrql();
    if (__builtin_expect(New < old || New > HIGH_LEVEL, 0))
        KiIrqlMisuse(old, New, true, Site);
    KiWriteIrql(New);
    return old;
}

/* Old: the current IRQL, as the caller just read it from Pcr, the current
   thread's KPCR (the Of form, for a caller that holds it already). */
static inline void KiLowerIrqlOf(KPCR *Pcr, KIRQL old, KIRQL New, const void *Site)
{
    if (__builtin_expect(New > old, 0))
        KiIrqlMisuse(old, New, false, Site);
    KiWriteIrqlOf(Pcr, New);
    if (New < old) {
        if (__builtin_expect(KiInterruptRequestOf(Pcr) != 0, 0))
            KiIrqlLowered(old, New);
    }
}
static inline void KiLowerIrqlFrom(KIRQL old, KIRQL New, const void *Site)
{
    KiLowerIrqlOf(HalPcr(), old, New, Site);
}

static inline void KiLowerIrql(KIRQL New, const void *Site)
{
    KiLowerIrqlFrom(KiCurrentIrql(), New, Site);
}

/* list.c: the inline list routines of the WDK, for host code. */
static inline void KiInitializeListHead(PLIST_ENTRY h)
{
    h->Flink = h->Blink = h;
}
static inline bool KiIsListEmpty(const LIST_ENTRY *h)
{
    return h->Flink == h;
}
static inline void KiRemoveEntryList(PLIST_ENTRY e)
{
    PLIST_ENTRY f = e->Flink, b = e->Blink;
    b->Flink = f;
    f->Blink = b;
}
static inline void KiInsertTailList(PLIST_ENTRY h, PLIST_ENTRY e)
{
    PLIST_ENTRY b = h->Blink;
    e->Flink = h;
    e->Blink = b;
    b->Flink = e;
    h->Blink = e;
}

/* The mutants a thread owns: MutantListHead, plus LastMutant, the one it
   took last, which is not linked, so that taking a mutex another thread
   released to it does not write the mutex (its line stays with the
   releaser). Changed by the thread itself only (mutex.c). */
static inline void KiAddOwnedMutant(PKTHREAD t, struct _KMUTANT *m)
{
    if (t->LastMutant)
        KiInsertTailList(&t->MutantListHead, &t->LastMutant->MutantListEntry);
    t->LastMutant = m;
}
static inline void KiRemoveOwnedMutant(PKTHREAD t, struct _KMUTANT *m)
{
    if (t->LastMutant == m)
        t->LastMutant = NULL;
    else
        KiRemoveEntryList(&m->MutantListEntry);
}
/* All of the current thread's mutants, as a list (LastMutant linked too). */
static inline PLIST_ENTRY KiOwnedMutants(PKTHREAD t)
{
    KiAddOwnedMutant(t, NULL);
    return &t->MutantListHead;
}

/* The object's own lock: bit 7 of DISPATCHER_HEADER.Lock, its Type byte
   (see include/nt/ke.h). The unlock counts a version in the lock word's
   bytes 1 and 3 (wait.c, before KiUnlockObject): KiNextLockWord is a word
   unlocked with its version counted (a timer's, which has none, only
   unlocked). */
#define KI_LOCK_BIT 0x80
#define KI_VERSION_MASK 0xff00ff00u
static inline bool KiIsTimerType(UCHAR Type)
{
    return Type == TimerNotificationObject || Type == TimerSynchronizationObject;
}
static inline LONG KiNextLockWord(LONG Word)
{
    uint32_t w = (uint32_t)Word & ~(uint32_t)KI_LOCK_BIT;
    if (KiIsTimerType((UCHAR)(w & 0x7f)))
        return (LONG)w;
    uint32_t v = ((w >> 8) & 0xffu) | ((w >> 16) & 0xff00u);
    v++;
    return (LONG)((w & ~KI_VERSION_MASK) | ((v & 0xffu) << 8) | ((v & 0xff00u) << 16));
}
KM_MSABI void KiLockObject(DISPATCHER_HEADER *Header);
KM_MSABI void KiUnlockObject(DISPATCHER_HEADER *Header);

/* With the object's lock held, after its SignalState rose: satisfy the waits
   it can satisfy, in wait-list order (wait.c). */
KM_MSABI void KiWaitTest(DISPATCHER_HEADER *Header);

/* The processor has `prefetchw` (KiSetUnqueued, event.c): the HAL's
   HalpHasPrefetchw, copied with every thread (wait.c). */
extern _Atomic bool KiPrefetchw;

/* Initialise a thread's dispatcher state (wait.c). */
void KiInitializeThread(PKTHREAD Thread, struct _KPROCESS *Process, KPCR *Pcr);

/* Mark the thread terminated and release its waiters (wait.c). */
void KiSignalThreadTerminated(PKTHREAD Thread);

/* A wait's Timeout as a deadline on the clock the documentation implies (timeout.c). */
typedef struct KI_DEADLINE {
    bool Infinite;
    bool Realtime;  /* absolute system time: measured on CLOCK_REALTIME */
    bool Immediate; /* a zero timeout: test the objects, never sleep */
    int64_t Sec;
    int64_t Nsec;
} KI_DEADLINE;
KM_MSABI void KiComputeDeadline(const LARGE_INTEGER *Timeout, KI_DEADLINE *Deadline);
KM_MSABI bool KiDeadlinePassed(const KI_DEADLINE *Deadline);
KM_MSABI int64_t KiMonotonicNs(void); /* CLOCK_MONOTONIC in ns (timeout.c) */

/* Park until *Word != Value or the deadline passes; false on timeout (timeout.c). */
KM_MSABI bool KiFutexWait(_Atomic LONG *Word, LONG Value, const KI_DEADLINE *Deadline);
KM_MSABI void KiFutexWake(_Atomic LONG *Word, int Count);

/* KTHREAD.Parked: 0 awake (or spinning); KI_PARKED_SELF asleep on its own
   WaitStatus; KI_PARKED_BUCKET + n asleep on shared park bucket n, as waiters
   of a notification object are, so that one system call wakes all the
   waiters a KeSetEvent satisfies (wait.c). */
#define KI_PARKED_SELF 1
#define KI_PARKED_BUCKET 2
/* Wakes Thread, whose wait the caller just decided, wherever it sleeps. */
void KiWakeThread(PKTHREAD Thread);

NTSTATUS NTAPI KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                        KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                        PKWAIT_BLOCK WaitBlockArray);
NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                     KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                     PLARGE_INTEGER Timeout);
LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);

#endif
