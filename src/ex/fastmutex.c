/*
 * Fast mutexes and guarded mutexes.
 *
 * Both are the same lock: a count and a synchronization event, all inside the
 * driver's 0x38 bytes. mingw-w64's inline ExInitializeFastMutex writes
 * Count = FM_LOCK_BIT (1), Owner NULL, Contention 0 and initialises the event;
 * KeInitializeGuardedMutex does the same for its gate.
 *
 * Invariants:
 *  - 1 - Count is the number of threads that own the mutex or are committed
 *    to waiting for it. An acquire decrements Count: from 1 it owns the
 *    mutex with no system call; otherwise it waits on the event. A release
 *    increments Count: back at 1 nobody waits; otherwise it sets the event
 *    once, which hands the mutex to exactly one waiter. Sets and the waits
 *    that consume them alternate (only an owner releases), so the binary
 *    event never loses a hand-over, even when the waiter has not yet
 *    started to wait.
 *  - Owner is written by the owning thread only, right after it gets the
 *    mutex and right before it lets it go; others read it for diagnostics.
 *  - ExAcquireFastMutex raises to APC_LEVEL before it takes the mutex and
 *    stores the previous IRQL in OldIrql once it owns it; the release reads
 *    OldIrql before it lets the mutex go.
 *
 * Documented rules: ExAcquireFastMutex and ExTryToAcquireFastMutex at
 * IRQL <= APC_LEVEL; the Unsafe variants at APC_LEVEL or inside a critical
 * region (the verifier checks this); fast mutexes are not recursive, so a
 * second acquire by the owner would hang: kmhost stops with bug check 0xBF
 * (MUTEX_ALREADY_OWNED) instead.
 */
#include "ex/exlock.h"

#include "hal/hal.h"
#include "vf/vf.h"

#include <stdio.h>

#define MUTEX_ALREADY_OWNED 0xBF

static void ExpCheckNotOwner(PVOID Mutex, PKTHREAD *Owner, const char *Routine)
{
    PKTHREAD self = KiCurrentThread();
    if (__atomic_load_n(Owner, __ATOMIC_RELAXED) == self) {
        dprintf(1,
                "kmhost: %s(%p): the calling thread already owns this mutex; fast and "
                "guarded mutexes cannot be acquired recursively (use a KMUTEX or an "
                "ERESOURCE)\n",
                Routine, Mutex);
        KeBugCheckEx(MUTEX_ALREADY_OWNED, (ULONG_PTR)Mutex, (ULONG_PTR)self, 0, 0);
    }
}

static void ExpAcquire(volatile LONG *Count, PKTHREAD *Owner, ULONG *Contention, PKEVENT Event)
{
    if (__atomic_sub_fetch(Count, 1, __ATOMIC_ACQUIRE) != 0) {
        __atomic_add_fetch(Contention, 1, __ATOMIC_RELAXED);
        KeWaitForSingleObject(Event, WrExecutive, KernelMode, FALSE, NULL);
    }
    __atomic_store_n(Owner, KiCurrentThread(), __ATOMIC_RELAXED);
}

static BOOLEAN ExpTryAcquire(volatile LONG *Count, PKTHREAD *Owner)
{
    LONG expected = 1;
    if (!__atomic_compare_exchange_n(Count, &expected, 0, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return FALSE;
    __atomic_store_n(Owner, KiCurrentThread(), __ATOMIC_RELAXED);
    return TRUE;
}

static void ExpRelease(volatile LONG *Count, PKTHREAD *Owner, PKEVENT Event)
{
    __atomic_store_n(Owner, NULL, __ATOMIC_RELAXED);
    if (__atomic_add_fetch(Count, 1, __ATOMIC_RELEASE) != 1)
        KeSetEvent(Event, 0, FALSE);
}

VOID NTAPI ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    ExpCheckNotOwner(FastMutex, &FastMutex->Owner, "ExAcquireFastMutex");
    VfpLockAcquired(VF_LOCK_FAST_MUTEX, FastMutex, __builtin_return_address(0)); /* verifier */
    VfpCheckFastMutex(VF_FM_ACQUIRE, FastMutex, __builtin_return_address(0));    /* verifier */
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    ExpAcquire(&FastMutex->Count, &FastMutex->Owner, &FastMutex->Contention, &FastMutex->Event);
    FastMutex->OldIrql = old;
}
KM_EXPORT(ExAcquireFastMutex);

VOID NTAPI ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    VfpCheckFastMutex(VF_FM_RELEASE, FastMutex, __builtin_return_address(0));    /* verifier */
    VfpLockReleased(VF_LOCK_FAST_MUTEX, FastMutex, __builtin_return_address(0)); /* verifier */
    KIRQL old = (KIRQL)FastMutex->OldIrql;
    ExpRelease(&FastMutex->Count, &FastMutex->Owner, &FastMutex->Event);
    KfLowerIrql(old);
}
KM_EXPORT(ExReleaseFastMutex);

/* Documented: TRUE and the mutex held at APC_LEVEL, or FALSE with the IRQL
   unchanged; never waits. */
BOOLEAN NTAPI ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    VfpCheckFastMutex(VF_FM_ACQUIRE, FastMutex, __builtin_return_address(0)); /* verifier */
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    if (!ExpTryAcquire(&FastMutex->Count, &FastMutex->Owner)) {
        KfLowerIrql(old);
        return FALSE;
    }
    FastMutex->OldIrql = old;
    VfpLockAcquired(VF_LOCK_FAST_MUTEX, FastMutex, __builtin_return_address(0)); /* verifier */
    return TRUE;
}
KM_EXPORT(ExTryToAcquireFastMutex);

VOID NTAPI ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    ExpCheckNotOwner(FastMutex, &FastMutex->Owner, "ExAcquireFastMutexUnsafe");
    VfpCheckFastMutex(VF_FM_ACQUIRE_UNSAFE, FastMutex, __builtin_return_address(0)); /* verifier */
    VfpLockAcquired(VF_LOCK_FAST_MUTEX, FastMutex, __builtin_return_address(0));     /* verifier */
    ExpAcquire(&FastMutex->Count, &FastMutex->Owner, &FastMutex->Contention, &FastMutex->Event);
}
KM_EXPORT(ExAcquireFastMutexUnsafe);

VOID NTAPI ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    VfpCheckFastMutex(VF_FM_RELEASE_UNSAFE, FastMutex, __builtin_return_address(0)); /* verifier */
    VfpLockReleased(VF_LOCK_FAST_MUTEX, FastMutex, __builtin_return_address(0));     /* verifier */
    ExpRelease(&FastMutex->Count, &FastMutex->Owner, &FastMutex->Event);
}
KM_EXPORT(ExReleaseFastMutexUnsafe);

VOID NTAPI ExEnterCriticalRegionAndAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(FastMutex);
}
KM_EXPORT(ExEnterCriticalRegionAndAcquireFastMutexUnsafe);

VOID NTAPI ExReleaseFastMutexUnsafeAndLeaveCriticalRegion(PFAST_MUTEX FastMutex)
{
    ExReleaseFastMutexUnsafe(FastMutex);
    KeLeaveCriticalRegion();
}
KM_EXPORT(ExReleaseFastMutexUnsafeAndLeaveCriticalRegion);

VOID NTAPI KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    Mutex->Count = 1;
    Mutex->Owner = NULL;
    Mutex->Contention = 0;
    KeInitializeEvent(&Mutex->Gate, SynchronizationEvent, FALSE);
    Mutex->CombinedApcDisable = 0;
    VfpLockDeleted(Mutex); /* verifier */
}
KM_EXPORT(KeInitializeGuardedMutex);

/* Documented: enters a guarded region, then acquires; IRQL <= APC_LEVEL. */
VOID NTAPI KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    ExpCheckNotOwner(Mutex, &Mutex->Owner, "KeAcquireGuardedMutex");
    KeEnterGuardedRegion();
    VfpLockAcquired(VF_LOCK_GUARDED_MUTEX, Mutex, __builtin_return_address(0)); /* verifier */
    ExpAcquire(&Mutex->Count, &Mutex->Owner, &Mutex->Contention, &Mutex->Gate);
}
KM_EXPORT(KeAcquireGuardedMutex);

VOID NTAPI KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    VfpLockReleased(VF_LOCK_GUARDED_MUTEX, Mutex, __builtin_return_address(0)); /* verifier */
    ExpRelease(&Mutex->Count, &Mutex->Owner, &Mutex->Gate);
    KeLeaveGuardedRegion();
}
KM_EXPORT(KeReleaseGuardedMutex);

/* Documented: the caller is already in a guarded region or at APC_LEVEL. */
VOID NTAPI KeAcquireGuardedMutexUnsafe(PKGUARDED_MUTEX Mutex)
{
    ExpCheckNotOwner(Mutex, &Mutex->Owner, "KeAcquireGuardedMutexUnsafe");
    VfpLockAcquired(VF_LOCK_GUARDED_MUTEX, Mutex, __builtin_return_address(0)); /* verifier */
    ExpAcquire(&Mutex->Count, &Mutex->Owner, &Mutex->Contention, &Mutex->Gate);
}
KM_EXPORT(KeAcquireGuardedMutexUnsafe);

VOID NTAPI KeReleaseGuardedMutexUnsafe(PKGUARDED_MUTEX Mutex)
{
    VfpLockReleased(VF_LOCK_GUARDED_MUTEX, Mutex, __builtin_return_address(0)); /* verifier */
    ExpRelease(&Mutex->Count, &Mutex->Owner, &Mutex->Gate);
}
KM_EXPORT(KeReleaseGuardedMutexUnsafe);

/* Documented: TRUE and the mutex held inside a guarded region, or FALSE. */
BOOLEAN NTAPI KeTryToAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    KeEnterGuardedRegion();
    if (ExpTryAcquire(&Mutex->Count, &Mutex->Owner))
        return TRUE;
    KeLeaveGuardedRegion();
    return FALSE;
}
KM_EXPORT(KeTryToAcquireGuardedMutex);
