/*
 * Spin locks, as drivers import them on x64.
 *
 * An ordinary KSPIN_LOCK is held while bit 0 of the word is set, the bit
 * Windows x64 uses and the one the ExInterlocked* routines (src/rtl/list.c)
 * take, so a driver may mix them on one lock. Acquiring raises the IRQL
 * first (KeAcquireSpinLock is a macro for KeAcquireSpinLockRaiseToDpc on
 * x64), releasing lowers it after the lock is free, as KfLowerIrql does, so
 * DPCs queued meanwhile run then (dpc.c).
 *
 * In-stack queued spin locks are fair MCS locks: the KSPIN_LOCK word holds
 * the address of the last KSPIN_LOCK_QUEUE in line (0 when free), each
 * waiter spins on its own entry, and the lock passes in arrival order.
 * KLOCK_QUEUE_HANDLE has mingw-w64's wdm.h layout: LockQueue.Next,
 * LockQueue.Lock (the spin lock's address, with KI_QUEUE_WAIT in bit 0 while
 * the entry waits for the lock), OldIrql. As documented, a lock used with
 * the queued routines must not be taken with the ordinary ones.
 *
 * The holder of a lock may be a preempted host thread, so waiters spin with
 * pause a while, then yield the CPU.
 */
#include "ke/dpc.h"

#include "hal/hal.h"
#include "vf/vf.h"

#include <sched.h>

#define DRIVER_VERIFIER_DETECTED_VIOLATION 0xC4
#define KI_QUEUE_WAIT ((ULONG_PTR)1)
#define KI_SPINS_BEFORE_YIELD 128

typedef struct _KSPIN_LOCK_QUEUE {
    struct _KSPIN_LOCK_QUEUE *volatile Next;
    PKSPIN_LOCK volatile Lock;
} KSPIN_LOCK_QUEUE, *PKSPIN_LOCK_QUEUE;

typedef struct _KLOCK_QUEUE_HANDLE {
    KSPIN_LOCK_QUEUE LockQueue;
    KIRQL OldIrql;
} KLOCK_QUEUE_HANDLE, *PKLOCK_QUEUE_HANDLE;
_Static_assert(sizeof(KLOCK_QUEUE_HANDLE) == 24, "KLOCK_QUEUE_HANDLE");
_Static_assert(offsetof(KLOCK_QUEUE_HANDLE, OldIrql) == 16, "KLOCK_QUEUE_HANDLE.OldIrql");

/* An ms_abi wrapper: a contended acquisition that calls no sysv routine
   needs no save of xmm6-15, whose restore would lengthen every hand-off. */
static KM_SLOWPATH void KipYield(void)
{
    sched_yield();
}

static inline void KipBackoff(unsigned *Spins)
{
    if (++*Spins < KI_SPINS_BEFORE_YIELD)
        __builtin_ia32_pause();
    else
        KipYield();
}

static KM_SLOWPATH void KipAcquireContended(PKSPIN_LOCK Lock)
{
    unsigned spins = 0;
    do {
        while (__atomic_load_n(Lock, __ATOMIC_RELAXED) & 1)
            KipBackoff(&spins);
    } while (__atomic_fetch_or(Lock, 1, __ATOMIC_ACQUIRE) & 1);
}

static inline void KipAcquire(PKSPIN_LOCK Lock)
{
    if (__builtin_expect(__atomic_fetch_or(Lock, 1, __ATOMIC_ACQUIRE) & 1, 0))
        KipAcquireContended(Lock);
}

/* The holder owns the word: a release store suffices, no locked operation. */
static void KipRelease(PKSPIN_LOCK Lock)
{
    __atomic_store_n(Lock, 0, __ATOMIC_RELEASE);
}

/* Driver Verifier's checks of the IRQL at the AtDpcLevel routines (0xC4,
   P1 0x40 acquire / 0x41 release below DISPATCH_LEVEL, P2 the IRQL, P3 the
   lock) and at KeReleaseSpinLock (0x32, IRQL not DISPATCH_LEVEL, which a
   double release also shows). */
static inline void KipCheckAtDpc(ULONG Subcode, PKSPIN_LOCK Lock)
{
    KIRQL irql = KiCurrentIrql();
    if (irql < DISPATCH_LEVEL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Subcode, irql, (ULONG_PTR)Lock, 0);
}

static KM_SLOWPATH __attribute__((noinline)) KIRQL KipAcquireContendedFrom(PKSPIN_LOCK SpinLock,
                                                                           KIRQL Old)
{
    KipAcquireContended(SpinLock);
    return Old;
}

/* The acquire with every check, for what the fast paths below leave to it:
   a raise from above the level (a misuse), the verifier's lock checks. */
static KM_SLOWPATH __attribute__((noinline)) KIRQL KipAcquireRaising(PKSPIN_LOCK SpinLock,
                                                                     KIRQL Level, const void *Site)
{
    KIRQL old = KiRaiseIrql(Level, Site);
    VfpLockAcquired(VF_LOCK_SPIN, SpinLock, Site); /* verifier */
    KipAcquire(SpinLock);
    return old;
}

/* The fast path is the uncontended acquisition without the verifier's lock
   checks: an IRQL load and store and one locked instruction, with nothing
   saved (whatever else happens is in a call it does not reach). The KPCR's
   address is read once (it is the thread's for good), and the call site
   only where a slow path needs it, so the fast path sets up no frame.
   Returns 1 when it took the lock, 0 when the checked path must run, -1
   when the lock is held (the IRQL is raised then, Old the previous one). */
static inline int KipTryAcquireFast(PKSPIN_LOCK SpinLock, KIRQL Level, KIRQL *Old)
{
    KPCR *pcr = HalPcr();
    KIRQL old = pcr->Irql;
    *Old = old;
    if (__builtin_expect(old > Level || VfpEnabled(VF_LOCKS | VF_DEADLOCK), 0))
        return 0;
    KiWriteIrqlOf(pcr, Level);
    return __builtin_expect(__atomic_fetch_or(SpinLock, 1, __ATOMIC_ACQUIRE) & 1, 0) ? -1 : 1;
}

#define KIP_ACQUIRE_RAISING(SpinLock, Level)                                                       \
    do {                                                                                           \
        KIRQL old_;                                                                                \
        int took_ = KipTryAcquireFast((SpinLock), (Level), &old_);                                 \
        if (__builtin_expect(took_ > 0, 1))                                                        \
            return old_;                                                                           \
        if (took_ < 0)                                                                             \
            return KipAcquireContendedFrom((SpinLock), old_); /* a tail call */                    \
        return KipAcquireRaising((SpinLock), (Level), __builtin_return_address(0));                \
    } while (0)

KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    KIP_ACQUIRE_RAISING(SpinLock, DISPATCH_LEVEL);
}
KM_EXPORT(KeAcquireSpinLockRaiseToDpc);

KIRQL NTAPI KeAcquireSpinLockRaiseToSynch(PKSPIN_LOCK SpinLock)
{
    KIP_ACQUIRE_RAISING(SpinLock, SYNCH_LEVEL);
}
KM_EXPORT(KeAcquireSpinLockRaiseToSynch);

static KM_SLOWPATH __attribute__((noinline)) void
KipReleaseLowering(PKSPIN_LOCK SpinLock, KIRQL NewIrql, const void *Site)
{
    VfpCheckSpinLockRelease(SpinLock, Site);       /* verifier */
    VfpLockReleased(VF_LOCK_SPIN, SpinLock, Site); /* verifier */
    KIRQL irql = KiCurrentIrql();
    if (irql != DISPATCH_LEVEL && irql != SYNCH_LEVEL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x32, irql, (ULONG_PTR)SpinLock, 0);
    KipRelease(SpinLock);
    KiLowerIrqlFrom(irql, NewIrql, Site);
}

/* Fast: no verifier check on, no lock of the verifier's held set, the IRQL
   one a spin lock is held at and NewIrql not above it; the KPCR's address
   read once, as in KipTryAcquireFast. */
VOID NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    KPCR *pcr = HalPcr();
    KIRQL irql = pcr->Irql;
    if (__builtin_expect(VfpEnabled(VF_LOCKS) || VfpHeldCount != 0 ||
                             (irql != DISPATCH_LEVEL && irql != SYNCH_LEVEL) || NewIrql > irql,
                         0)) {
        KipReleaseLowering(SpinLock, NewIrql, __builtin_return_address(0));
        return;
    }
    KipRelease(SpinLock);
    KiLowerIrqlOf(pcr, irql, NewIrql, __builtin_return_address(0));
}
KM_EXPORT(KeReleaseSpinLock);

VOID NTAPI KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    KipCheckAtDpc(0x40, SpinLock);
    VfpLockAcquired(VF_LOCK_SPIN, SpinLock, __builtin_return_address(0)); /* verifier */
    KipAcquire(SpinLock);
}
KM_EXPORT(KeAcquireSpinLockAtDpcLevel);

VOID NTAPI KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    KipCheckAtDpc(0x41, SpinLock);
    VfpCheckSpinLockRelease(SpinLock, __builtin_return_address(0));       /* verifier */
    VfpLockReleased(VF_LOCK_SPIN, SpinLock, __builtin_return_address(0)); /* verifier */
    KipRelease(SpinLock);
}
KM_EXPORT(KeReleaseSpinLockFromDpcLevel);

/* Documented: at DISPATCH_LEVEL, TRUE if the lock was acquired. */
BOOLEAN NTAPI KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    if (__atomic_load_n(SpinLock, __ATOMIC_RELAXED) & 1)
        return FALSE;
    return (__atomic_fetch_or(SpinLock, 1, __ATOMIC_ACQUIRE) & 1) == 0;
}
KM_EXPORT(KeTryToAcquireSpinLockAtDpcLevel);

/* Documented: FALSE if the lock is busy, TRUE if it is free. A queued lock
   is busy while its word holds a queue entry. */
BOOLEAN NTAPI KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
    __builtin_ia32_pause();
    return __atomic_load_n(SpinLock, __ATOMIC_RELAXED) == 0;
}
KM_EXPORT(KeTestSpinLock);

/* Documented: at DISPATCH_LEVEL the lock is taken as is (and DISPATCH_LEVEL
   returned); below it the IRQL is raised first, as KeAcquireSpinLock does. */
KIRQL NTAPI KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock)
{
    if (KiCurrentIrql() == DISPATCH_LEVEL) {
        VfpLockAcquired(VF_LOCK_SPIN, SpinLock, __builtin_return_address(0)); /* verifier */
        KipAcquire(SpinLock);
        return DISPATCH_LEVEL;
    }
    return KeAcquireSpinLockRaiseToDpc(SpinLock);
}
KM_EXPORT(KeAcquireSpinLockForDpc);

VOID NTAPI KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql)
{
    if (OldIrql == DISPATCH_LEVEL)
        KeReleaseSpinLockFromDpcLevel(SpinLock);
    else
        KeReleaseSpinLock(SpinLock, OldIrql);
}
KM_EXPORT(KeReleaseSpinLockForDpc);

/* ---- In-stack queued spin locks (MCS) ---- */

static void KipAcquireQueued(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE Handle)
{
    PKSPIN_LOCK_QUEUE me = &Handle->LockQueue;
    me->Next = NULL;
    __atomic_store_n(&me->Lock, (PKSPIN_LOCK)((ULONG_PTR)SpinLock | KI_QUEUE_WAIT),
                     __ATOMIC_RELAXED);
    PKSPIN_LOCK_QUEUE prev =
        (PKSPIN_LOCK_QUEUE)__atomic_exchange_n(SpinLock, (KSPIN_LOCK)me, __ATOMIC_ACQ_REL);
    if (prev) {
        __atomic_store_n(&prev->Next, me, __ATOMIC_RELEASE);
        unsigned spins = 0;
        while ((ULONG_PTR)__atomic_load_n(&me->Lock, __ATOMIC_ACQUIRE) & KI_QUEUE_WAIT)
            KipBackoff(&spins);
    } else {
        __atomic_store_n(&me->Lock, SpinLock, __ATOMIC_RELAXED);
    }
}

static void KipReleaseQueued(PKLOCK_QUEUE_HANDLE Handle)
{
    PKSPIN_LOCK_QUEUE me = &Handle->LockQueue;
    PKSPIN_LOCK lock = (PKSPIN_LOCK)((ULONG_PTR)me->Lock & ~KI_QUEUE_WAIT);
    PKSPIN_LOCK_QUEUE next = __atomic_load_n(&me->Next, __ATOMIC_ACQUIRE);
    if (!next) {
        KSPIN_LOCK expected = (KSPIN_LOCK)me;
        if (__atomic_compare_exchange_n(lock, &expected, 0, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return;
        /* A waiter swapped itself in but has not linked yet. */
        unsigned spins = 0;
        while (!(next = __atomic_load_n(&me->Next, __ATOMIC_ACQUIRE)))
            KipBackoff(&spins);
    }
    __atomic_store_n(&next->Lock, lock, __ATOMIC_RELEASE);
}

VOID NTAPI KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->OldIrql = KiRaiseIrql(DISPATCH_LEVEL, __builtin_return_address(0));
    VfpLockAcquired(VF_LOCK_SPIN, SpinLock, __builtin_return_address(0)); /* verifier */
    KipAcquireQueued(SpinLock, LockHandle);
}
KM_EXPORT(KeAcquireInStackQueuedSpinLock);

VOID NTAPI KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KIRQL old = LockHandle->OldIrql;
    VfpQueuedSpinLockReleased(LockHandle, __builtin_return_address(0)); /* verifier */
    KipReleaseQueued(LockHandle);
    KiLowerIrql(old, __builtin_return_address(0));
}
KM_EXPORT(KeReleaseInStackQueuedSpinLock);

VOID NTAPI KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock,
                                                    PKLOCK_QUEUE_HANDLE LockHandle)
{
    KipCheckAtDpc(0x40, SpinLock);
    LockHandle->OldIrql = DISPATCH_LEVEL;
    VfpLockAcquired(VF_LOCK_SPIN, SpinLock, __builtin_return_address(0)); /* verifier */
    KipAcquireQueued(SpinLock, LockHandle);
}
KM_EXPORT(KeAcquireInStackQueuedSpinLockAtDpcLevel);

VOID NTAPI KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KipCheckAtDpc(0x41, (PKSPIN_LOCK)((ULONG_PTR)LockHandle->LockQueue.Lock & ~KI_QUEUE_WAIT));
    VfpQueuedSpinLockReleased(LockHandle, __builtin_return_address(0)); /* verifier */
    KipReleaseQueued(LockHandle);
}
KM_EXPORT(KeReleaseInStackQueuedSpinLockFromDpcLevel);

VOID NTAPI KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock,
                                                PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->OldIrql = KiCurrentIrql() == DISPATCH_LEVEL
                              ? DISPATCH_LEVEL
                              : KiRaiseIrql(DISPATCH_LEVEL, __builtin_return_address(0));
    VfpLockAcquired(VF_LOCK_SPIN, SpinLock, __builtin_return_address(0)); /* verifier */
    KipAcquireQueued(SpinLock, LockHandle);
}
KM_EXPORT(KeAcquireInStackQueuedSpinLockForDpc);

VOID NTAPI KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KIRQL old = LockHandle->OldIrql;
    VfpQueuedSpinLockReleased(LockHandle, __builtin_return_address(0)); /* verifier */
    KipReleaseQueued(LockHandle);
    if (old != DISPATCH_LEVEL)
        KiLowerIrql(old, __builtin_return_address(0));
}
KM_EXPORT(KeReleaseInStackQueuedSpinLockForDpc);
