/*
 * Mutex (mutant) objects.
 *
 * SignalState counts down from 1: 1 is free, 0 owned once, -1 owned twice
 * (a thread may wait again on a mutex it owns; it must release it once per
 * acquisition). The wait mechanism takes ownership (KiSatisfy in wait.c):
 * it records OwnerThread, links the mutant into the owner's MutantListHead
 * and, for a KeInitializeMutex mutex (ApcDisable 1), disables the owner's
 * normal kernel APCs. Releasing gives all of that back when SignalState
 * returns to 1.
 *
 * Invariants:
 *  - SignalState, OwnerThread and Abandoned change only under the mutant's
 *    lock. A waiter to which a release gave the mutant records it itself,
 *    without the lock, before its wait returns (KiTakeMutant in wait.c):
 *    only the owner touches an owned mutant's list entry.
 *  - A thread's owned mutants are its MutantListHead plus LastMutant, the
 *    one it took last, not linked (KiAddOwnedMutant, ke.h); they and its
 *    KernelApcDisable are changed by the thread itself only.
 *  - ApcDisable is 0 or 1 (KeInitializeMutant, KeInitializeMutex): a
 *    release tells the waiter which by the block state it leaves
 *    (KI_BLOCK_GAVE_MUTANT or KI_BLOCK_GAVE_MUTEX), so the new owner does
 *    not read the mutex.
 *  - OwnerThread != NULL exactly when SignalState <= 0.
 *  - A mutant with KmOwnedReference holds one reference on its object while
 *    OwnerThread != NULL: taken when a free mutant is acquired (KiSatisfy),
 *    passed on when a release hands it to a waiter, dropped after the
 *    unlock when a release or abandonment leaves it free.
 *
 * Releasing a mutex the caller does not own is documented to raise
 * STATUS_MUTANT_NOT_OWNED (STATUS_ABANDONED for an abandoned one); kmhost
 * does not dispatch exceptions yet, so that is bug check 0x1E
 * KMODE_EXCEPTION_NOT_HANDLED with the status as its first parameter.
 */
#include "ke/dispobj.h"

#include "ex/ex.h"
#include "ke/apc.h"

static void KipInitializeMutant(PRKMUTANT Mutant, UCHAR ApcDisable)
{
    Mutant->Header.Lock = 0;
    Mutant->Header.Type = MutantObject;
    Mutant->Header.Size = (UCHAR)(sizeof(KMUTANT) / 4);
    KiSetSignalState(&Mutant->Header, 1);
    KiInitializeListHead(&Mutant->Header.WaitListHead);
    Mutant->OwnerThread = NULL;
    Mutant->Abandoned = FALSE;
    Mutant->ApcDisable = ApcDisable;
    Mutant->KmOwnedReference = FALSE;
}

void KiMarkObjectMutant(PKMUTANT Mutant)
{
    Mutant->KmOwnedReference = TRUE;
}

/* Documented: Level is ignored; the mutex is initialised signalled (free). */
VOID NTAPI KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
    (void)Level;
    KipInitializeMutant(Mutex, 1);
}
KM_EXPORT(KeInitializeMutex);

/* A mutant, as NtCreateMutant makes: owning it leaves kernel APCs enabled;
   InitialOwner makes the current thread its owner. */
VOID NTAPI KeInitializeMutant(PRKMUTANT Mutant, BOOLEAN InitialOwner)
{
    KipInitializeMutant(Mutant, 0);
    if (InitialOwner) {
        PKTHREAD t = KiCurrentThread();
        KiSetSignalState(&Mutant->Header, 0);
        Mutant->OwnerThread = (struct _KTHREAD *)t;
        KiAddOwnedMutant(t, Mutant);
    }
}
KM_EXPORT(KeInitializeMutant);

KM_MSABI NTSTATUS KiReleaseMutant(PRKMUTANT Mutant, BOOLEAN Abandon, LONG *Previous)
{
    PKTHREAD t = KiCurrentThread();
    bool apcs_enabled = false;

    KiLockObject(&Mutant->Header);
    LONG previous = KiGetSignalState(&Mutant->Header);
    /* Only the owner releases or abandons an owned mutant (the owner's list
       and APC count are the owner's alone, mutex.c's invariants). */
    if (Mutant->OwnerThread != (struct _KTHREAD *)t && (!Abandon || Mutant->OwnerThread)) {
        NTSTATUS status = Mutant->Abandoned ? STATUS_ABANDONED : STATUS_MUTANT_NOT_OWNED;
        KiUnlockObject(&Mutant->Header);
        return status;
    }
    if (Abandon) {
        KiSetSignalState(&Mutant->Header, 1);
        Mutant->Abandoned = TRUE;
    } else {
        KiSetSignalState(&Mutant->Header, previous + 1);
    }
    if (KiGetSignalState(&Mutant->Header) == 1) {
        PKTHREAD owner = (PKTHREAD)Mutant->OwnerThread;
        if (owner) {
            KiRemoveOwnedMutant(owner, Mutant); /* owner is t (above) */
            owner->KernelApcDisable += Mutant->ApcDisable;
            apcs_enabled = owner == t && Mutant->ApcDisable && t->KernelApcDisable == 0;
            Mutant->OwnerThread = NULL;
        }
        KiWaitTest(&Mutant->Header);
    }
    /* Left free, not handed to a waiter: its owner's reference goes. */
    bool unreference = Mutant->KmOwnedReference && !Mutant->OwnerThread && previous <= 0;
    KiUnlockObject(&Mutant->Header);
    if (unreference)
        ExpReferenceOwnedMutant(Mutant, false);
    /* The release gave the thread its normal kernel APCs back: deliver the
       pending ones, as leaving a critical region does (apc.c). */
    if (apcs_enabled && !Abandon)
        KiCheckForKernelApcDelivery();
    *Previous = previous;
    return STATUS_SUCCESS;
}

/* Documented: returns the previous state (0: the mutant is now free). */
LONG NTAPI KeReleaseMutant(PRKMUTANT Mutant, KPRIORITY Increment, BOOLEAN Abandon, BOOLEAN Wait)
{
    LONG previous = 0;
    (void)Increment; /* no scheduler of ours to boost */
    (void)Wait;      /* a hint that a wait follows; the result is the same */
    NTSTATUS status = KiReleaseMutant(Mutant, Abandon, &previous);
    if (!NT_SUCCESS(status))
        ExpRaiseStatus(status, __builtin_return_address(0));
    return previous;
}
KM_EXPORT(KeReleaseMutant);

LONG NTAPI KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
    LONG previous = 0;
    (void)Wait;
    NTSTATUS status = KiReleaseMutant(Mutex, FALSE, &previous);
    if (!NT_SUCCESS(status))
        ExpRaiseStatus(status, __builtin_return_address(0));
    return previous;
}
KM_EXPORT(KeReleaseMutex);

/* Documented: 1 means signalled (free); 0 or less, owned. */
LONG NTAPI KeReadStateMutex(PRKMUTEX Mutex)
{
    return KiReadStateSettled(&Mutex->Header);
}
KM_EXPORT(KeReadStateMutex);

LONG NTAPI KeReadStateMutant(PRKMUTANT Mutant)
{
    return KiReadStateSettled(&Mutant->Header);
}
KM_EXPORT(KeReadStateMutant);

void KiAbandonMutants(PKTHREAD Thread)
{
    /* Documented (bug check 0x20): acquiring a mutex decrements the thread's
       APC disable count and releasing it increments it, so the count must be
       zero when the thread exits. P1 is the pending APC (none here), P2 the
       count, P3 the IRQL. */
    if (Thread->KernelApcDisable != 0)
        KeBugCheckEx(KI_BUGCHECK_APC_PENDING_DURING_EXIT, 0,
                     (ULONG_PTR)(LONG_PTR)Thread->KernelApcDisable, KiCurrentIrql(), 0);
    while (!KiIsListEmpty(KiOwnedMutants(Thread))) {
        PKMUTANT m = CONTAINING_RECORD(Thread->MutantListHead.Flink, KMUTANT, MutantListEntry);
        LONG previous = 0;
        KiReleaseMutant(m, TRUE, &previous);
    }
}
