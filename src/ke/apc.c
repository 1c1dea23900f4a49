/*
 * Asynchronous procedure calls: routines that run in the context of one
 * thread (KeInitializeApc, KeInsertQueueApc, KeRemoveQueueApc).
 *
 * NT's rules (learn.microsoft.com "Types of APCs", "Waits and APCs",
 * "Disabling APCs"; Windows Internals, "APC delivery"):
 *  - A special kernel APC (NormalRoutine NULL) runs its KernelRoutine at
 *    APC_LEVEL in the target thread as soon as the thread is at
 *    PASSIVE_LEVEL outside a guarded region (SpecialApcDisable == 0).
 *  - A normal kernel APC also needs KernelApcDisable == 0 (no critical
 *    region, no KeInitializeMutex mutex held) and no other normal APC in
 *    progress. KernelRoutine runs at APC_LEVEL and may change or clear the
 *    NormalRoutine and its arguments; then NormalRoutine runs at
 *    PASSIVE_LEVEL.
 *  - Special kernel APCs are queued ahead of normal ones; each kind is FIFO.
 *  - Kernel APCs never end a wait: the waiter is interrupted (WaitStatus
 *    KI_WAIT_KERNEL_APC, through the same CAS as signals and alerts), unlinks
 *    its blocks, delivers, and waits again until the same deadline (wait.c).
 *    A signal that comes and goes meanwhile (KePulseEvent) is missed, as
 *    documented.
 *  - A user APC (ApcMode UserMode) ends an alertable UserMode wait with
 *    STATUS_USER_APC, and such a wait started while one is queued returns
 *    STATUS_USER_APC at once. Its routines run when the thread returns to
 *    user mode, which a system thread never does: as on Windows for a system
 *    thread (the only threads kmhost has), they do not run; the APC stays
 *    queued until KeRemoveQueueApc or thread exit, where RundownRoutine is
 *    called (ExFreePool(Apc) when there is none). KeTestAlertThread
 *    (alert.c) therefore only tests the alert.
 *
 * Delivery points. On Windows an APC interrupt (an IPI for another
 * processor) delivers a kernel APC as soon as the target can take it; kmhost
 * threads are host threads, so the target delivers its own APCs at: the
 * insertion when it queues to itself; the start, interruption and end of
 * every wait; every lowering of its IRQL to PASSIVE_LEVEL (KfLowerIrql, the
 * patched `mov cr8`: the inserter sets the target's KPCR InterruptRequest so
 * that the patched code calls KiIrqlLowered); leaving a critical or guarded
 * region; KeReleaseMutex re-enabling kernel APCs; thread exit. A lowering
 * emulated by the trap handler (code left unpatched) delivers from inside
 * the handler, on the thread's alternate signal stack, as the HAL allows
 * (SA_NODEFER); except under ThreadSanitizer, whose runtime does not support
 * driver code that traps again inside a handler (see dpc.c): there the APC
 * waits for the thread's next delivery point. A thread that runs driver code
 * at PASSIVE_LEVEL and reaches none of these points gets its APC later than
 * on Windows.
 *
 * Invariants:
 *  - The target's ApcLock guards its two APC lists, ApcQueueable, ApcPending
 *    and the Inserted flag of every KAPC queued to it. It is never held
 *    while driver code runs, and nothing that traps runs while it is held.
 *  - An APC is unlinked and its Inserted flag cleared before any of its
 *    routines is called, so a routine may free or queue it again.
 *  - Only the thread itself delivers its APCs and changes its IRQL, its
 *    APC-disable counts and KernelApcInProgress.
 *  - No lost interruption: an inserter publishes ApcPending (seq_cst, under
 *    the lock) before it reads the target's WaitStatus and WaitApcMask; a
 *    waiter publishes WaitApcMask and then KI_WAIT_PENDING (seq_cst) before
 *    it reads ApcPending (wait.c): one of them sees the other. Likewise the
 *    inserter sets InterruptRequest after ApcPending, and a lowering to
 *    PASSIVE_LEVEL clears it, fences, then reads ApcPending.
 *  - ApcQueueable turns FALSE (under the lock) before an exiting thread runs
 *    its APCs down and before its KPCR is freed: no APC is queued after, and
 *    an inserter touches the target's KPCR only while it is TRUE.
 */
#include "ke/apc.h"

#include "ex/ex.h"
#include "ke/dpc.h"

#include <signal.h>

#define KERNEL_APC_PENDING_DURING_EXIT 0x20
#define IRQL_UNEXPECTED_VALUE 0xC8
/* IRQL_UNEXPECTED_VALUE's form whose parameters are a callout routine and
   its parameter (as dpc.c uses it for DPC routines). */
#define KI_UNIQUE_CALLOUT 2

#define KI_APC_KERNEL (KI_APC_SPECIAL | KI_APC_NORMAL)

#if defined(__SANITIZE_THREAD__)
#define KI_APC_FROM_TRAP_HANDLER 0
#else
#define KI_APC_FROM_TRAP_HANDLER 1
#endif

static inline PKAPC KipApcOf(PLIST_ENTRY e)
{
    return CONTAINING_RECORD(e, KAPC, ApcListEntry);
}

/* Patched `mov cr8` lowerings call KiIrqlLowered only while this is set. */
static inline void KipRequestLowering(void)
{
    KiSetInterruptRequest(1);
}

static inline void KipClearLoweringRequest(void)
{
    KiSetInterruptRequest(0);
}

/* True when driver code may not run here: inside the trap handler that
   emulates `mov cr8, reg` (on the thread's alternate stack), under TSan. */
static bool KipInTrapHandlerUnderTsan(void)
{
    stack_t ss;
    return !KI_APC_FROM_TRAP_HANDLER && sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
}

/* With t->ApcLock held: special kernel APCs precede normal ones. */
static void KipRecomputePending(PKTHREAD t)
{
    PLIST_ENTRY k = &t->ApcListHead[KernelMode];
    UCHAR kinds = 0;
    if (!KiIsListEmpty(k)) {
        if (!KipApcOf(k->Flink)->NormalRoutine)
            kinds |= KI_APC_SPECIAL;
        if (KipApcOf(k->Blink)->NormalRoutine)
            kinds |= KI_APC_NORMAL;
    }
    if (!KiIsListEmpty(&t->ApcListHead[UserMode]))
        kinds |= KI_APC_USER;
    atomic_store(&t->ApcPending, kinds);
}

/* With t->ApcLock held. */
static void KipLinkApc(PKTHREAD t, PKAPC Apc)
{
    PLIST_ENTRY head = &t->ApcListHead[Apc->ApcMode == KernelMode ? KernelMode : UserMode];
    PLIST_ENTRY before = head;
    if (Apc->ApcMode == KernelMode && !Apc->NormalRoutine) {
        before = head->Flink;
        while (before != head && !KipApcOf(before)->NormalRoutine)
            before = before->Flink;
    }
    KiInsertTailList(before, &Apc->ApcListEntry);
    Apc->Inserted = TRUE;
    KipRecomputePending(t);
}

/* With t->ApcLock held; the APC is queued to t. */
static void KipUnlinkApc(PKTHREAD t, PKAPC Apc)
{
    KiRemoveEntryList(&Apc->ApcListEntry);
    Apc->Inserted = FALSE;
    KipRecomputePending(t);
}

static void KipCheckIrql(KIRQL Expected, PVOID Routine, PKAPC Apc)
{
    KIRQL now = KiCurrentIrql();
    if (now != Expected)
        KeBugCheckEx(IRQL_UNEXPECTED_VALUE,
                     ((ULONG_PTR)now << 16) | ((ULONG_PTR)Expected << 8) | KI_UNIQUE_CALLOUT,
                     (ULONG_PTR)Routine, (ULONG_PTR)Apc, 0);
}

/* Takes the first deliverable kernel APC off the current thread's queue and
   runs it; false when there is none. At PASSIVE_LEVEL, and back there. */
static bool KipDeliverOne(PKTHREAD t)
{
    PLIST_ENTRY head = &t->ApcListHead[KernelMode];

    KiAcquireLockWord(&t->ApcLock);
    PKAPC apc = KiIsListEmpty(head) ? NULL : KipApcOf(head->Flink);
    if (!apc || t->SpecialApcDisable != 0 ||
        (apc->NormalRoutine && (t->KernelApcDisable != 0 || t->KernelApcInProgress))) {
        KiReleaseLockWord(&t->ApcLock);
        return false;
    }
    PKKERNEL_ROUTINE kernel = apc->KernelRoutine;
    PKNORMAL_ROUTINE normal = apc->NormalRoutine;
    PVOID context = apc->NormalContext, a1 = apc->SystemArgument1, a2 = apc->SystemArgument2;
    bool special = normal == NULL;
    KipUnlinkApc(t, apc);
    KiReleaseLockWord(&t->ApcLock);

    KiSetIrqlNoHook(APC_LEVEL);
    kernel(apc, &normal, &context, &a1, &a2);
    KipCheckIrql(APC_LEVEL, (PVOID)kernel, apc);
    if (!special && normal) {
        t->KernelApcInProgress = TRUE;
        KiSetIrqlNoHook(PASSIVE_LEVEL);
        normal(context, a1, a2);
        KipCheckIrql(PASSIVE_LEVEL, (PVOID)normal, apc);
        t->KernelApcInProgress = FALSE;
    }
    KiSetIrqlNoHook(PASSIVE_LEVEL);
    return true;
}

static KM_SLOWPATH void KipDeliverPending(PKTHREAD t)
{
    if (KiCurrentIrql() != PASSIVE_LEVEL || KipInTrapHandlerUnderTsan()) {
        KipRequestLowering();
        return;
    }
    while (KipDeliverOne(t))
        ;
}

KM_MSABI void KiDeliverKernelApcs(void)
{
    PKTHREAD t = KiCurrentThread();
    if (t && (atomic_load(&t->ApcPending) & KI_APC_KERNEL))
        KipDeliverPending(t);
}

KM_MSABI void KiCheckForKernelApcDelivery(void)
{
    KiDeliverKernelApcs();
}

void KiApcIrqlLowered(KIRQL Old, KIRQL New)
{
    (void)Old;
    PKTHREAD t = KiCurrentThread();
    if (!t) /* a KPCR without a thread: the HAL's own unit tests */
        return;
    if (New != PASSIVE_LEVEL) {
        /* Still too high: the lowering to PASSIVE_LEVEL must call us. The
           caller cleared InterruptRequest; an inserter sets ApcPending, then
           InterruptRequest: the fence orders the clear before this read, so
           either the inserter's store comes after the clear or this read
           sees its ApcPending. */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load(&t->ApcPending) & KI_APC_KERNEL)
            KipRequestLowering();
        return;
    }
    KipClearLoweringRequest();
    atomic_thread_fence(memory_order_seq_cst);
    KiDeliverKernelApcs();
}

KM_MSABI UCHAR KiApcWaitMask(BOOLEAN Alertable, KPROCESSOR_MODE WaitMode)
{
    PKTHREAD t = KiCurrentThread();
    UCHAR mask = 0;
    if (KiCurrentIrql() == PASSIVE_LEVEL && t->SpecialApcDisable == 0) {
        mask |= KI_APC_SPECIAL;
        if (t->KernelApcDisable == 0 && !t->KernelApcInProgress)
            mask |= KI_APC_NORMAL;
    }
    if (Alertable && WaitMode != KernelMode)
        mask |= KI_APC_USER;
    return mask;
}

/* Undocumented but exported, with this well-known prototype. A NULL
   NormalRoutine makes a special kernel APC: ApcMode and NormalContext are
   then ignored (KernelMode, NULL). */
VOID NTAPI KeInitializeApc(PRKAPC Apc, PRKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                           PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                           PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                           PVOID NormalContext)
{
    (void)Environment; /* no process attach: every environment is the original one */
    Apc->Type = KI_APC_OBJECT;
    Apc->SpareByte0 = 0;
    Apc->Size = (UCHAR)sizeof(KAPC);
    Apc->SpareByte1 = 0;
    Apc->SpareLong0 = 0;
    Apc->Thread = (struct _KTHREAD *)Thread;
    Apc->ApcListEntry.Flink = Apc->ApcListEntry.Blink = NULL;
    Apc->KernelRoutine = KernelRoutine;
    Apc->RundownRoutine = RundownRoutine;
    Apc->NormalRoutine = NormalRoutine;
    Apc->NormalContext = NormalRoutine ? NormalContext : NULL;
    Apc->ApcMode = NormalRoutine ? ApcMode : KernelMode;
    Apc->SystemArgument1 = Apc->SystemArgument2 = NULL;
    Apc->ApcStateIndex = OriginalApcEnvironment;
    Apc->Inserted = FALSE;
}
KM_EXPORT(KeInitializeApc);

/* The target is blocked in a wait that this kind of APC may interrupt: end
   it (a kernel APC: only to deliver and wait again). */
static void KipInterruptWait(PKTHREAD t, UCHAR Kind)
{
    if (atomic_load(&t->WaitStatus) != KI_WAIT_PENDING || !(atomic_load(&t->WaitApcMask) & Kind))
        return;
    LONG expected = KI_WAIT_PENDING;
    LONG status = Kind == KI_APC_USER ? STATUS_USER_APC : KI_WAIT_KERNEL_APC;
    if (atomic_compare_exchange_strong(&t->WaitStatus, &expected, status))
        KiWakeThread(t);
}

/* Undocumented but exported: FALSE when the APC is already queued or the
   thread no longer takes APCs (it is exiting); else queues it with the two
   arguments. Increment, a priority boost, has no scheduler to act on. */
BOOLEAN NTAPI KeInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                               KPRIORITY Increment)
{
    PKTHREAD t = (PKTHREAD)Apc->Thread;
    (void)Increment;

    KiAcquireLockWord(&t->ApcLock);
    if (Apc->Inserted || !t->ApcQueueable) {
        KiReleaseLockWord(&t->ApcLock);
        return FALSE;
    }
    Apc->SystemArgument1 = SystemArgument1;
    Apc->SystemArgument2 = SystemArgument2;
    UCHAR kind = Apc->ApcMode != KernelMode ? KI_APC_USER
                 : Apc->NormalRoutine       ? KI_APC_NORMAL
                                            : KI_APC_SPECIAL;
    KipLinkApc(t, Apc);
    if (kind != KI_APC_USER)
        __atomic_store_n(&t->Pcr->InterruptRequest, 1, __ATOMIC_SEQ_CST);
    KiReleaseLockWord(&t->ApcLock);

    if (t == KiCurrentThread()) {
        if (kind != KI_APC_USER)
            KiDeliverKernelApcs();
    } else {
        KipInterruptWait(t, kind);
    }
    return TRUE;
}
KM_EXPORT(KeInsertQueueApc);

/* Undocumented but exported: takes a queued APC off its thread's queue
   without running it; FALSE if it was not queued. */
BOOLEAN NTAPI KeRemoveQueueApc(PKAPC Apc)
{
    PKTHREAD t = (PKTHREAD)Apc->Thread;
    BOOLEAN removed = FALSE;

    KiAcquireLockWord(&t->ApcLock);
    if (Apc->Inserted) {
        KipUnlinkApc(t, Apc);
        removed = TRUE;
    }
    KiReleaseLockWord(&t->ApcLock);
    return removed;
}
KM_EXPORT(KeRemoveQueueApc);

/* Takes the first APC of t's Mode list off it; NULL when empty. */
static PKAPC KipTakeFirst(PKTHREAD t, KPROCESSOR_MODE Mode)
{
    PKAPC apc = NULL;
    KiAcquireLockWord(&t->ApcLock);
    if (!KiIsListEmpty(&t->ApcListHead[Mode])) {
        apc = KipApcOf(t->ApcListHead[Mode].Flink);
        KipUnlinkApc(t, apc);
    }
    KiReleaseLockWord(&t->ApcLock);
    return apc;
}

void KiRundownApcQueues(void)
{
    PKTHREAD t = KiCurrentThread();
    PKAPC apc;

    KiAcquireLockWord(&t->ApcLock);
    t->ApcQueueable = FALSE;
    KiReleaseLockWord(&t->ApcLock);

    KiDeliverKernelApcs();
    /* Documented (bug check 0x20): a kernel APC still pending when the
       thread exits; P1 the APC, P2 the APC disable count, P3 the IRQL. */
    apc = KipTakeFirst(t, KernelMode);
    if (apc)
        KeBugCheckEx(KERNEL_APC_PENDING_DURING_EXIT, (ULONG_PTR)apc,
                     (ULONG_PTR)(LONG_PTR)t->KernelApcDisable, KiCurrentIrql(), 0);
    while ((apc = KipTakeFirst(t, UserMode)) != NULL) {
        if (apc->RundownRoutine)
            apc->RundownRoutine(apc);
        else
            ExFreePool(apc);
    }
}
