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

/* Returns the previous state; waiters are released while the lock is held. */
LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    (void)Increment; /* priority boosts: there is no scheduler of ours to boost */
    (void)Wait;      /* a hint that a wait follows; the result is the same */
    VfpCheckIrql(VF_DDI_KE_SET_EVENT, KiCurrentIrql(), Event,
                 __builtin_return_address(0)); /* verifier */
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
