/*
 * Event objects. A notification event stays signalled and releases every
 * waiter; a synchronization event releases one waiter and resets itself
 * (the reset happens in the wait mechanism, KiSatisfy in wait.c).
 * The whole state is the 24-byte KEVENT the driver owns.
 */
#include "ke/ke.h"
#include "vf/vf.h"

VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    VfpCheckInitialize(&Event->Header, __builtin_return_address(0)); /* verifier */
    Event->Header.Lock = 0;
    Event->Header.Type =
        Type == SynchronizationEvent ? EventSynchronizationObject : EventNotificationObject;
    Event->Header.Size = (UCHAR)(sizeof(KEVENT) / 4);
    KiSetSignalState(&Event->Header, State ? 1 : 0);
    KiInitializeListHead(&Event->Header.WaitListHead);
}
KM_EXPORT(KeInitializeEvent);

/*
 * As a waiter takes a signalled object without its lock (KiTakeUnlocked,
 * wait.c), an event that is not signalled and has nobody queued is set by
 * one compare-exchange of its lock word and SignalState. The locked path
 * writes the line three times (lock, state, unlock), and a waiter spinning
 * on the object (KiSpinOnObjects) reads it in between, so that each write
 * may have to fetch it back. The wait list is read between the read of the
 * lock word and the exchange; the exchange succeeds only if the word is
 * still the same (unlocked, same version), so no thread held the lock
 * meanwhile and the list read was of a settled, empty list. The version is
 * counted, as for KiTakeUnlocked, so that a snapshot (KiSnapshotLowest)
 * sees the change. Before the read, `prefetchw` asks for the line for
 * writing: a read alone would fetch it shared from the spinning waiter and
 * the exchange then fetch it again, one transfer more than the lock's
 * single one (measured: WaitAny over 64 a fifth slower without it when a
 * transfer is slow, docs/performance.md). 64-bit Windows 8.1 and later
 * require the instruction of the processor; on one that does not report it
 * (CPUID 0x80000001, ECX bit 8: Intel before Broadwell) events are set
 * under the lock.
 */
/* The list is read without the lock; its writers hold it. The read is only
   believed if the exchange after it finds the lock word unchanged, so the
   race is by design and ThreadSanitizer is told not to report it. */
__attribute__((no_sanitize("thread"))) static inline bool KiNobodyQueued(const DISPATCHER_HEADER *h)
{
    return __atomic_load_n(&h->WaitListHead.Flink, __ATOMIC_RELAXED) == &h->WaitListHead;
}

static inline bool KiSetUnqueued(DISPATCHER_HEADER *h)
{
    if (!atomic_load_explicit(&KiPrefetchw, memory_order_relaxed))
        return false;
    if ((uintptr_t)h & 7) /* a header a driver packed unaligned: no split locked access */
        return false;
    _Atomic int64_t *both = (_Atomic int64_t *)&h->Lock;
    __asm__ volatile("prefetchw %0" : : "m"(*(const volatile char *)both));
    int64_t old = atomic_load_explicit(both, memory_order_acquire);
    LONG lock = (LONG)(uint32_t)old;
    if ((lock & KI_LOCK_BIT) || (LONG)(old >> 32) != 0 || !KiNobodyQueued(h))
        return false;
    int64_t next = (int64_t)(((uint64_t)1 << 32) | (uint32_t)KiNextLockWord(lock));
    return atomic_compare_exchange_strong_explicit(both, &old, next, memory_order_acq_rel,
                                                   memory_order_relaxed);
}

/* Returns the previous state; waiters are released while the lock is held.
   An event that was not signalled and that nobody waits on is set without
   the lock (KiSetUnqueued). */
LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    (void)Increment; /* priority boosts: there is no scheduler of ours to boost */
    (void)Wait;      /* a hint that a wait follows; the result is the same */
    VfpCheckIrql(VF_DDI_KE_SET_EVENT, KiCurrentIrql(), Event,
                 __builtin_return_address(0)); /* verifier */
    if (KiSetUnqueued(&Event->Header))
        return 0;
    KiLockObject(&Event->Header);
    LONG previous = KiGetSignalState(&Event->Header);
    if (previous == 0) {
        KiSetSignalState(&Event->Header, 1);
        KiWaitTest(&Event->Header);
    }
    KiUnlockObject(&Event->Header);
    return previous;
}
KM_EXPORT(KeSetEvent);

LONG NTAPI KeResetEvent(PRKEVENT Event)
{
    KiLockObject(&Event->Header);
    LONG previous = KiGetSignalState(&Event->Header);
    KiSetSignalState(&Event->Header, 0);
    KiUnlockObject(&Event->Header);
    return previous;
}
KM_EXPORT(KeResetEvent);

VOID NTAPI KeClearEvent(PRKEVENT Event)
{
    KiLockObject(&Event->Header);
    KiSetSignalState(&Event->Header, 0);
    KiUnlockObject(&Event->Header);
}
KM_EXPORT(KeClearEvent);

LONG NTAPI KeReadStateEvent(PRKEVENT Event)
{
    return KiReadStateSettled(&Event->Header);
}
KM_EXPORT(KeReadStateEvent);

/* Documented: signals the event, releasing the waiters it can, then resets
   it; returns the previous state. */
LONG NTAPI KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    (void)Increment;
    (void)Wait;
    KiLockObject(&Event->Header);
    LONG previous = KiGetSignalState(&Event->Header);
    if (previous == 0) {
        KiSetSignalState(&Event->Header, 1);
        KiWaitTest(&Event->Header);
    }
    KiSetSignalState(&Event->Header, 0);
    KiUnlockObject(&Event->Header);
    return previous;
}
KM_EXPORT(KePulseEvent);
