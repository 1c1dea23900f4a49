/*
 * Semaphore objects. SignalState is the count, 0..Limit; the object is
 * signalled while the count is above zero, and each satisfied wait takes one
 * (KiSatisfy in wait.c). The whole state is the 32-byte KSEMAPHORE.
 *
 * Documented: a release that would take the count past Limit leaves it
 * unchanged and raises STATUS_SEMAPHORE_LIMIT_EXCEEDED. kmhost does not
 * dispatch exceptions yet, so that is bug check 0x1E
 * KMODE_EXCEPTION_NOT_HANDLED with the status as its first parameter.
 */
#include "ke/dispobj.h"

#include "ex/ex.h"

VOID NTAPI KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
    Semaphore->Header.Lock = 0;
    Semaphore->Header.Type = SemaphoreObject;
    Semaphore->Header.Size = (UCHAR)(sizeof(KSEMAPHORE) / 4);
    KiSetSignalState(&Semaphore->Header, Count);
    KiInitializeListHead(&Semaphore->Header.WaitListHead);
    Semaphore->Limit = Limit;
}
KM_EXPORT(KeInitializeSemaphore);

NTSTATUS KiReleaseSemaphore(PRKSEMAPHORE Semaphore, LONG Adjustment, LONG *Previous)
{
    KiLockObject(&Semaphore->Header);
    LONG previous = KiGetSignalState(&Semaphore->Header);
    LONG count;
    if (__builtin_add_overflow(previous, Adjustment, &count) || count > Semaphore->Limit ||
        count < previous) {
        KiUnlockObject(&Semaphore->Header);
        return STATUS_SEMAPHORE_LIMIT_EXCEEDED;
    }
    KiSetSignalState(&Semaphore->Header, count);
    if (count > previous)
        KiWaitTest(&Semaphore->Header);
    KiUnlockObject(&Semaphore->Header);
    *Previous = previous;
    return STATUS_SUCCESS;
}

/* Documented: returns the previous count (zero: the semaphore was not
   signalled); satisfies as many waits as the new count allows. */
LONG NTAPI KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                              BOOLEAN Wait)
{
    LONG previous = 0;
    (void)Increment; /* no scheduler of ours to boost */
    (void)Wait;      /* a hint that a wait follows; the result is the same */
    NTSTATUS status = KiReleaseSemaphore(Semaphore, Adjustment, &previous);
    if (!NT_SUCCESS(status))
        ExpRaiseStatus(status, __builtin_return_address(0));
    return previous;
}
KM_EXPORT(KeReleaseSemaphore);

/* Documented: the current count; zero means not signalled. */
LONG NTAPI KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
    return KiReadStateSettled(&Semaphore->Header);
}
KM_EXPORT(KeReadStateSemaphore);
