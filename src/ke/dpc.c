/*
 * Deferred procedure calls.
 *
 * Each processor number (0 .. KeNumberProcessors-1) has a DPC queue and a
 * DPC system thread whose KPCR carries that number. A DPC runs at
 * DISPATCH_LEVEL (a threaded DPC at PASSIVE_LEVEL on the DPC thread), either
 * on that thread or on a driver thread of the same processor number that
 * lowers its IRQL below DISPATCH_LEVEL (KiIrqlLowered): as on Windows, a
 * processor that leaves DISPATCH_LEVEL first runs the DPCs queued to it.
 *
 * Invariants:
 *  - A KDPC is in at most one queue: its DpcData points to that queue's
 *    KI_DPC_QUEUE while it is linked (through DpcListEntry) and is NULL
 *    otherwise. DpcData, the links and SystemArgument1/2 change only under
 *    the queue's Lock, and DpcData is cleared before the routine is called,
 *    so a routine may queue its own DPC again.
 *  - Queue locks are never held while a DPC routine runs, and nothing that
 *    traps runs while one is held, so the queues may be used from the
 *    SIGSEGV handler that emulates `mov cr8, reg`. That handler does not run
 *    DPCs itself (driver code inside a signal handler that traps again is
 *    more than ThreadSanitizer's runtime supports): it puts a marker DPC at
 *    the tail of its processor's queue, wakes the DPC thread and waits until
 *    the marker ran, so the driver's inline KeLowerIrql still returns after
 *    its DPCs ran, on the DPC thread of the same processor number. A
 *    lowering outside a signal handler (KfLowerIrql, patched code) runs the
 *    DPCs on the lowering thread.
 *  - Started counts the DPCs taken off a queue, Finished those whose routine
 *    returned; a thread that drains its processor's queue on lowering (its
 *    InterruptRequest was set) also waits until Finished reaches the Started
 *    it read, so every DPC it queued to its processor before the lowering
 *    has run when the lowering returns.
 *  - A DPC queued at IRQL >= DISPATCH_LEVEL to the caller's own processor
 *    does not wake the DPC thread: it runs when the caller lowers its IRQL.
 *    Any other queueing wakes the target's DPC thread (a futex on Signal,
 *    woken only when the thread announced it sleeps in Parked). The caller's
 *    KPCR InterruptRequest byte is set then, and cleared when a lowering
 *    drains the queue: lowerings (KfLowerIrql and the spin lock releases,
 *    ke.h; patched IRQL writes, src/ldr/patch.h) call KiIrqlLowered only
 *    while it is set. The APC code (apc.c) also sets it,
 *    on its target's KPCR, to see that thread's next lowering to
 *    PASSIVE_LEVEL, and clears it there.
 */
#include "ke/dpc.h"

#include "hal/hal.h"
#include "ke/apc.h"
#include "ps/ps.h"
#include "vf/vf.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>

#define IRQL_UNEXPECTED_VALUE 0xC8
#define TIMER_OR_DPC_INVALID 0xC7
#define DRIVER_VERIFIER_DETECTED_VIOLATION 0xC4
#define INSTALL_MORE_MEMORY 0x7D
/* IRQL_UNEXPECTED_VALUE's UniqueValue whose parameters are a routine and its
   argument (documented as "the callout routine" and "its parameter"): the
   closest documented form for a DPC routine that returned at the wrong IRQL. */
#define KI_UNIQUE_CALLOUT 2

typedef struct KI_DPC_QUEUE {
    volatile ULONG_PTR Lock;
    PSINGLE_LIST_ENTRY Head, Tail; /* KDPC.DpcListEntry links, FIFO */
    _Atomic ULONG64 Started, Finished;
    _Atomic LONG Queued; /* DPCs linked; read without the lock by KiIrqlLowered */
    _Atomic LONG Signal; /* futex word the DPC thread sleeps on */
    _Atomic LONG Parked;
    ULONG Number;
    PETHREAD Thread;
} KI_DPC_QUEUE;

static KI_DPC_QUEUE *KipQueues;
static ULONG KipQueueCount;
static _Atomic int KipInitState; /* 0 none, 1 starting, 2 running */
static PETHREAD KipTimerThreadObject;

/* Per host thread: the thread is a DPC thread; the depth of DISPATCH_LEVEL
   DPC routines it is running (a lowering below DISPATCH_LEVEL there is a bug). */
static __thread bool KipIsDpcThread;
static __thread int KipDpcDepth;

void KiAcquireLockWord(volatile ULONG_PTR *Lock)
{
    unsigned spins = 0;
    while (__atomic_fetch_or(Lock, 1, __ATOMIC_ACQUIRE) & 1) {
        while (__atomic_load_n(Lock, __ATOMIC_RELAXED) & 1) {
            if (++spins < 128)
                __builtin_ia32_pause();
            else
                sched_yield();
        }
    }
}

void KiReleaseLockWord(volatile ULONG_PTR *Lock)
{
    __atomic_and_fetch(Lock, ~(ULONG_PTR)1, __ATOMIC_RELEASE);
}

static inline PKDPC KipDpcOf(PSINGLE_LIST_ENTRY e)
{
    return CONTAINING_RECORD(e, KDPC, DpcListEntry);
}

/* With q->Lock held. */
static void KipLink(KI_DPC_QUEUE *q, PKDPC Dpc)
{
    PSINGLE_LIST_ENTRY e = &Dpc->DpcListEntry;
    atomic_fetch_add_explicit(&q->Queued, 1, memory_order_relaxed);
    if (Dpc->Importance == KI_HIGH_IMPORTANCE) {
        e->Next = q->Head;
        q->Head = e;
        if (!q->Tail)
            q->Tail = e;
    } else {
        e->Next = NULL;
        if (q->Tail)
            q->Tail->Next = e;
        else
            q->Head = e;
        q->Tail = e;
    }
}

/* With q->Lock held; the DPC is in q. */
static void KipUnlink(KI_DPC_QUEUE *q, PKDPC Dpc)
{
    PSINGLE_LIST_ENTRY e = &Dpc->DpcListEntry, prev = NULL;
    for (PSINGLE_LIST_ENTRY i = q->Head; i; prev = i, i = i->Next) {
        if (i != e)
            continue;
        if (prev)
            prev->Next = e->Next;
        else
            q->Head = e->Next;
        if (q->Tail == e)
            q->Tail = prev;
        e->Next = NULL;
        atomic_fetch_sub_explicit(&q->Queued, 1, memory_order_relaxed);
        return;
    }
}

static void KipWake(KI_DPC_QUEUE *q)
{
    atomic_fetch_add(&q->Signal, 1);
    if (atomic_load(&q->Parked))
        KiFutexWake(&q->Signal, 1);
}

/* Calls one DPC routine at its level and restores Back afterwards. */
static void KipCallDpc(PKDPC Dpc, KI_DEFERRED_ROUTINE *Routine, PVOID Context, PVOID Arg1,
                       PVOID Arg2, bool Threaded, KIRQL Back)
{
    PKTHREAD t = KiCurrentThread();
    KIRQL level = Threaded ? PASSIVE_LEVEL : DISPATCH_LEVEL;
    SHORT apc_before = t->KernelApcDisable;

    KiSetIrqlNoHook(level);
    if (!Threaded) {
        KipDpcDepth++;
        /* A lowering below DISPATCH_LEVEL inside the routine must reach
           KiIrqlLowered, which bug checks it (0xC4/0x31): lowerings call it
           only while InterruptRequest is set. */
        KiSetInterruptRequest(1);
    }
    Routine(Dpc, Context, Arg1, Arg2);
    if (!Threaded)
        KipDpcDepth--;
    KIRQL now = KiCurrentIrql();
    if (now != level)
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE,
                     ((ULONG_PTR)now << 16) | ((ULONG_PTR)level << 8) | KI_UNIQUE_CALLOUT,
                     (ULONG_PTR)Routine, (ULONG_PTR)Dpc, 0);
    /* Documented: a DPC routine that changed the thread's APC disable count
       is TIMER_OR_DPC_INVALID, P1 4, P2 the routine, P3/P4 before/after. */
    if (t->KernelApcDisable != apc_before)
        KeBugCheckEx(TIMER_OR_DPC_INVALID, 4, (ULONG_PTR)Routine, (ULONG_PTR)(LONG)apc_before,
                     (ULONG_PTR)(LONG)t->KernelApcDisable);
    KiSetIrqlNoHook(Back);
}

/* Takes the first DPC off q and runs it; false when q was empty. */
static bool KipRunOne(KI_DPC_QUEUE *q, KIRQL Back)
{
    KiAcquireLockWord(&q->Lock);
    PSINGLE_LIST_ENTRY e = q->Head;
    if (!e) {
        KiReleaseLockWord(&q->Lock);
        return false;
    }
    q->Head = e->Next;
    if (!q->Head)
        q->Tail = NULL;
    e->Next = NULL;
    PKDPC dpc = KipDpcOf(e);
    KI_DEFERRED_ROUTINE *routine = (KI_DEFERRED_ROUTINE *)dpc->DeferredRoutine;
    PVOID context = dpc->DeferredContext, a1 = dpc->SystemArgument1, a2 = dpc->SystemArgument2;
    /* A threaded DPC runs at PASSIVE_LEVEL on the DPC thread; drained by a
       lowering thread it runs at DISPATCH_LEVEL, as documented for systems
       that run threaded DPCs as ordinary ones. */
    bool threaded = dpc->Type == KI_THREADED_DPC_OBJECT && KipIsDpcThread;
    __atomic_store_n(&dpc->DpcData, NULL, __ATOMIC_RELEASE);
    /* Started rises before Queued falls: a lockless reader that sees the
       DPC gone from Queued also sees it started (KiIrqlLowered). */
    atomic_fetch_add(&q->Started, 1);
    atomic_fetch_sub(&q->Queued, 1);
    KiReleaseLockWord(&q->Lock);

    KipCallDpc(dpc, routine, context, a1, a2, threaded, Back);
    atomic_fetch_add(&q->Finished, 1);
    return true;
}

static void KipWaitInFlight(KI_DPC_QUEUE *q)
{
    ULONG64 started = atomic_load(&q->Started);
    for (unsigned spins = 0; atomic_load(&q->Finished) < started; spins++) {
        if (spins < 128)
            __builtin_ia32_pause();
        else
            sched_yield();
    }
}

static VOID NTAPI KipDpcThread(PVOID Context)
{
    KI_DPC_QUEUE *q = Context;
    KPCR *pcr = KiCurrentThread()->Pcr;
    static const KI_DEADLINE forever = {.Infinite = true};

    KipIsDpcThread = true;
    pcr->Number = (USHORT)q->Number;
    pcr->LegacyNumber = (UCHAR)q->Number;
    for (;;) {
        LONG seen = atomic_load(&q->Signal);
        if (KipRunOne(q, PASSIVE_LEVEL))
            continue;
        /* Set for the routines it ran; nothing needs this thread's lowerings. */
        KiSetInterruptRequest(0);
        atomic_store(&q->Parked, 1);
        KiFutexWait(&q->Signal, seen, &forever);
        atomic_store(&q->Parked, 0);
    }
}

void KiEnsureDpcSystem(void)
{
    if (atomic_load_explicit(&KipInitState, memory_order_acquire) == 2)
        return;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&KipInitState, &expected, 1)) {
        while (atomic_load_explicit(&KipInitState, memory_order_acquire) != 2)
            sched_yield();
        return;
    }
    ULONG count = HalpProcessorCount();
    KI_DPC_QUEUE *queues = calloc(count, sizeof(*queues));
    if (!queues)
        KeBugCheckEx(INSTALL_MORE_MEMORY, 0, 0, 0, 0);
    for (ULONG i = 0; i < count; i++)
        queues[i].Number = i;
    KipQueues = queues;
    KipQueueCount = count;
    for (ULONG i = 0; i < count; i++) {
        if (!NT_SUCCESS(PspCreateSystemThread(KipDpcThread, &queues[i], NULL, &queues[i].Thread)))
            KeBugCheckEx(INSTALL_MORE_MEMORY, 1, i, 0, 0);
    }
    if (!NT_SUCCESS(PspCreateSystemThread(KiTimerThread, NULL, NULL, &KipTimerThreadObject)))
        KeBugCheckEx(INSTALL_MORE_MEMORY, 2, 0, 0, 0);
    atomic_store_explicit(&KipInitState, 2, memory_order_release);
}

static VOID NTAPI KipFlushMarker(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2);

/* True inside a signal handler on this thread's alternate stack: the trap
   handler that emulates `mov cr8, reg`. Signal-safe. */
static bool KipOnSignalStack(void)
{
    stack_t ss;
    return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
}

/* From the trap handler: the processor's DPC thread runs what is queued up
   to a marker put at the tail now, while this thread waits. */
static void KipHandOver(KI_DPC_QUEUE *q)
{
    static const KI_DEADLINE forever = {.Infinite = true};
    _Atomic LONG remaining = 1;
    KDPC marker = {0};

    marker.Type = KI_DPC_OBJECT;
    marker.Importance = KI_LOW_IMPORTANCE;
    marker.DeferredRoutine = (PVOID)KipFlushMarker;
    marker.DeferredContext = (PVOID)&remaining;
    KiInsertQueueDpc(&marker, q->Number, NULL, NULL);
    KipWake(q);
    while (atomic_load(&remaining) != 0)
        KiFutexWait(&remaining, 1, &forever);
}

/*
 * The HAL calls this after every lowering of the IRQL (KfLowerIrql and the
 * emulated `mov cr8, reg`, possibly inside its SIGSEGV handler).
 */
static void KipDrainOnLowering(KIRQL Old, KIRQL New)
{
    if (New >= DISPATCH_LEVEL || Old < DISPATCH_LEVEL)
        return;
    /* Documented (Driver Verifier, 0xC4 P1 0x31): lowering below
       DISPATCH_LEVEL inside a DPC routine; P4 1 "invalid inside a DPC". */
    if (KipDpcDepth > 0)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x31, Old, New, 1);
    if (KipIsDpcThread || atomic_load_explicit(&KipInitState, memory_order_acquire) != 2)
        return;
    ULONG n = KiCurrentProcessorNumber();
    if (n >= KipQueueCount)
        return;
    KI_DPC_QUEUE *q = &KipQueues[n];
    KiSetInterruptRequest(0); /* KPCR InterruptRequest */
    /* The common case, nothing queued or running: no lock taken. This
       thread's own deferred DPCs are always seen here; other threads'
       queueing woke the DPC thread. */
    if (atomic_load(&q->Queued) == 0 && atomic_load(&q->Finished) == atomic_load(&q->Started))
        return;
    if (KipOnSignalStack())
        KipHandOver(q);
    else
        while (KipRunOne(q, New))
            ;
    KipWaitInFlight(q);
}

bool KiIsDpcThread(void)
{
    return KipIsDpcThread;
}

KM_SLOWPATH void KiIrqlLowered(KIRQL Old, KIRQL New)
{
    KipDrainOnLowering(Old, New);
    /* Then a processor change deferred at DISPATCH_LEVEL: the DPCs queued to
       the processor the thread leaves ran first, on it. */
    KiAffinityIrqlLowered(Old, New);
    /* Then, as the IRQL passes APC_LEVEL, the thread's kernel APCs (apc.c);
       it may set InterruptRequest again for a lowering still to come. */
    KiApcIrqlLowered(Old, New);
}

BOOLEAN KiInsertQueueDpc(PKDPC Dpc, ULONG Processor, PVOID SystemArgument1, PVOID SystemArgument2)
{
    KI_DPC_QUEUE *q = &KipQueues[Processor];
    PVOID none = NULL;

    KiAcquireLockWord(&q->Lock);
    if (!__atomic_compare_exchange_n(&Dpc->DpcData, &none, (PVOID)q, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        KiReleaseLockWord(&q->Lock);
        return FALSE;
    }
    Dpc->SystemArgument1 = SystemArgument1;
    Dpc->SystemArgument2 = SystemArgument2;
    KipLink(q, Dpc);
    KiReleaseLockWord(&q->Lock);
    if (KiCurrentIrql() < DISPATCH_LEVEL || Processor != KiCurrentProcessorNumber())
        KipWake(q);
    else /* patched code calls KiIrqlLowered when this is set (src/ldr/patch.h) */
        KiSetInterruptRequest(1);
    return TRUE;
}

#define KI_IN_RANGE(p, s, e)                                                                       \
    ((const char *)(p) >= (const char *)(s) && (const char *)(p) < (const char *)(e))

void KiCheckDpcQueues(const void *Start, const void *End)
{
    if (atomic_load_explicit(&KipInitState, memory_order_acquire) != 2)
        return;
    for (ULONG i = 0; i < KipQueueCount; i++) {
        KI_DPC_QUEUE *q = &KipQueues[i];
        KiAcquireLockWord(&q->Lock);
        for (PSINGLE_LIST_ENTRY e = q->Head; e; e = e->Next) {
            PKDPC dpc = KipDpcOf(e);
            VfpQueuedDpc(dpc, Start, End); /* verifier: names the routine first */
            if (KI_IN_RANGE(dpc, Start, End))
                KeBugCheckEx(TIMER_OR_DPC_INVALID, 1, (ULONG_PTR)dpc, (ULONG_PTR)Start,
                             (ULONG_PTR)End);
            if (KI_IN_RANGE(dpc->DeferredRoutine, Start, End))
                KeBugCheckEx(TIMER_OR_DPC_INVALID, 2, (ULONG_PTR)dpc->DeferredRoutine,
                             (ULONG_PTR)Start, (ULONG_PTR)End);
        }
        KiReleaseLockWord(&q->Lock);
    }
}

void KiCheckTimersAndDpcs(const void *Start, const void *End)
{
    KiCheckTimerQueue(Start, End);
    KiCheckDpcQueues(Start, End);
}

VOID NTAPI KeInitializeDpc(PRKDPC Dpc, PVOID DeferredRoutine, PVOID DeferredContext)
{
    KiEnsureDpcSystem();
    Dpc->TargetInfoAsUlong = 0;
    Dpc->Type = KI_DPC_OBJECT;
    Dpc->Importance = KI_MEDIUM_IMPORTANCE;
    Dpc->Number = 0;
    Dpc->DpcListEntry.Next = NULL;
    Dpc->ProcessorHistory = 0;
    Dpc->DeferredRoutine = DeferredRoutine;
    Dpc->DeferredContext = DeferredContext;
    Dpc->SystemArgument1 = NULL;
    Dpc->SystemArgument2 = NULL;
    Dpc->DpcData = NULL;
}
KM_EXPORT(KeInitializeDpc);

VOID NTAPI KeInitializeThreadedDpc(PRKDPC Dpc, PVOID DeferredRoutine, PVOID DeferredContext)
{
    KeInitializeDpc(Dpc, DeferredRoutine, DeferredContext);
    Dpc->Type = KI_THREADED_DPC_OBJECT;
}
KM_EXPORT(KeInitializeThreadedDpc);

/* Documented: FALSE if the DPC is already queued; else queues it with the
   two arguments, on its target processor or the caller's. */
BOOLEAN NTAPI KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)
{
    KiEnsureDpcSystem();
    USHORT number = Dpc->Number;
    ULONG processor =
        number >= KI_DPC_TARGETED ? (ULONG)(number - KI_DPC_TARGETED) : KiCurrentProcessorNumber();
    /* Documented: TIMER_OR_DPC_INVALID P1 3, the DPC, its processor number,
       the number of processors. */
    if (processor >= KipQueueCount)
        KeBugCheckEx(TIMER_OR_DPC_INVALID, 3, (ULONG_PTR)Dpc, processor, KipQueueCount);
    return KiInsertQueueDpc(Dpc, processor, SystemArgument1, SystemArgument2);
}
KM_EXPORT(KeInsertQueueDpc);

/* Documented: TRUE if the DPC was in a queue (and is removed from it). */
BOOLEAN NTAPI KeRemoveQueueDpc(PRKDPC Dpc)
{
    for (;;) {
        KI_DPC_QUEUE *q = __atomic_load_n(&Dpc->DpcData, __ATOMIC_ACQUIRE);
        if (!q)
            return FALSE;
        KiAcquireLockWord(&q->Lock);
        if (__atomic_load_n(&Dpc->DpcData, __ATOMIC_RELAXED) == q) {
            KipUnlink(q, Dpc);
            __atomic_store_n(&Dpc->DpcData, NULL, __ATOMIC_RELEASE);
            KiReleaseLockWord(&q->Lock);
            return TRUE;
        }
        KiReleaseLockWord(&q->Lock);
    }
}
KM_EXPORT(KeRemoveQueueDpc);

VOID NTAPI KeSetImportanceDpc(PRKDPC Dpc, ULONG Importance)
{
    Dpc->Importance = (UCHAR)Importance;
}
KM_EXPORT(KeSetImportanceDpc);

VOID NTAPI KeSetTargetProcessorDpc(PRKDPC Dpc, CCHAR Number)
{
    Dpc->Number = (USHORT)(KI_DPC_TARGETED + (UCHAR)Number);
}
KM_EXPORT(KeSetTargetProcessorDpc);

/* Documented: STATUS_INVALID_PARAMETER for a processor that does not exist. */
NTSTATUS NTAPI KeSetTargetProcessorDpcEx(PRKDPC Dpc, PPROCESSOR_NUMBER ProcNumber)
{
    if (!ProcNumber || ProcNumber->Group != 0 || ProcNumber->Number >= HalpProcessorCount())
        return STATUS_INVALID_PARAMETER;
    Dpc->Number = (USHORT)(KI_DPC_TARGETED + ProcNumber->Number);
    return STATUS_SUCCESS;
}
KM_EXPORT(KeSetTargetProcessorDpcEx);

static VOID NTAPI KipFlushMarker(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)A1;
    (void)A2;
    _Atomic LONG *remaining = Context;
    if (atomic_fetch_sub(remaining, 1) == 1)
        KiFutexWake(remaining, 1);
}

/*
 * Documented: returns after every DPC queued on any processor when it was
 * called has run. A low-importance marker DPC goes to the tail of each
 * queue; once a queue's marker ran, so did everything queued before it,
 * except DPCs still running elsewhere, which KipWaitInFlight covers.
 * Callers run at PASSIVE_LEVEL (documented), so the markers wake the DPC
 * threads.
 */
VOID NTAPI KeFlushQueuedDpcs(VOID)
{
    static const KI_DEADLINE forever = {.Infinite = true};
    KDPC markers[64];
    _Atomic LONG remaining;

    KiEnsureDpcSystem();
    atomic_store(&remaining, (LONG)KipQueueCount);
    for (ULONG i = 0; i < KipQueueCount; i++) {
        KeInitializeDpc(&markers[i], (PVOID)KipFlushMarker, (PVOID)&remaining);
        markers[i].Importance = KI_LOW_IMPORTANCE;
        KiInsertQueueDpc(&markers[i], i, NULL, NULL);
    }
    for (;;) {
        LONG left = atomic_load(&remaining);
        if (left == 0)
            break;
        KiFutexWait(&remaining, left, &forever);
    }
    for (ULONG i = 0; i < KipQueueCount; i++)
        KipWaitInFlight(&KipQueues[i]);
}
KM_EXPORT(KeFlushQueuedDpcs);
