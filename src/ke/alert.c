/*
 * Alerts, critical and guarded regions.
 *
 * An alert is a per-mode flag in the thread (KTHREAD.Alerted[mode]). NT's
 * rule, which KeAlertThread implements: if the thread is in an alertable
 * wait whose WaitMode is at least AlertMode (a KernelMode alert ends an
 * alertable wait of either mode, a UserMode alert only a UserMode one), the
 * wait ends with STATUS_ALERTED; otherwise the flag is set, and the thread's
 * next alertable wait in that mode returns STATUS_ALERTED at once (wait.c
 * consumes the flag when a wait starts). KeAlertThread returns the previous
 * state of the flag.
 *
 * Ending a wait goes through the wait's one decision point: a CAS of the
 * waiter's WaitStatus from KI_WAIT_PENDING to STATUS_ALERTED (see wait.c), so
 * an alert and a signal can never both decide the same wait.
 *
 * Critical regions (KernelApcDisable) and guarded regions (SpecialApcDisable)
 * are counters in the thread, only ever changed by the thread itself; other
 * threads may read them. kmhost delivers no APCs, so the counters are what
 * KeAreApcsDisabled reports and what the verifier checks (ERESOURCE and
 * fast-mutex-unsafe callers must be in one, work items must return with both
 * at zero).
 */
#include "ke/ke.h"

#include <stdio.h>

/* Undocumented but exported, with the behaviour described above. */
BOOLEAN NTAPI KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode)
{
    int mode = AlertMode ? UserMode : KernelMode;

    if (atomic_exchange(&Thread->Alerted[mode], TRUE))
        return TRUE;
    /* The flag is published first, so a wait that starts now consumes it;
       a wait that is already pending is ended here, and then the flag is
       taken back: one alert ends one wait. */
    if (atomic_load(&Thread->WaitStatus) == KI_WAIT_PENDING &&
        __atomic_load_n(&Thread->Alertable, __ATOMIC_RELAXED) &&
        AlertMode <= __atomic_load_n(&Thread->WaitMode, __ATOMIC_RELAXED)) {
        LONG expected = KI_WAIT_PENDING;
        if (atomic_compare_exchange_strong(&Thread->WaitStatus, &expected, STATUS_ALERTED)) {
            atomic_store(&Thread->Alerted[mode], FALSE);
            if (atomic_load(&Thread->Parked))
                KiFutexWake(&Thread->WaitStatus, 1);
        }
    }
    return FALSE;
}
KM_EXPORT(KeAlertThread);

/* Undocumented but exported: returns and clears the current thread's alerted
   state for AlertMode. */
BOOLEAN NTAPI KeTestAlertThread(KPROCESSOR_MODE AlertMode)
{
    PKTHREAD t = KiCurrentThread();
    return atomic_exchange(&t->Alerted[AlertMode ? UserMode : KernelMode], FALSE);
}
KM_EXPORT(KeTestAlertThread);

/* Documented: disables normal kernel APCs; calls nest, and each must be
   matched by KeLeaveCriticalRegion. */
VOID NTAPI KeEnterCriticalRegion(VOID)
{
    __atomic_sub_fetch(&KiCurrentThread()->KernelApcDisable, 1, __ATOMIC_RELAXED);
}
KM_EXPORT(KeEnterCriticalRegion);

VOID NTAPI KeLeaveCriticalRegion(VOID)
{
    PKTHREAD t = KiCurrentThread();
    if (__atomic_add_fetch(&t->KernelApcDisable, 1, __ATOMIC_RELAXED) > 0) {
        /* More leaves than enters: APC_INDEX_MISMATCH, which Windows reports
           when the imbalance reaches a system-call return; kmhost reports it
           where it happens. P1 the leaving code, P2 0, P3 the APC disable
           count, P4 0 (the call is not a system call). */
        KeBugCheckEx(0x1 /* APC_INDEX_MISMATCH */, (ULONG_PTR)__builtin_return_address(0), 0,
                     (ULONG_PTR)(LONG_PTR)t->KernelApcDisable, 0);
    }
}
KM_EXPORT(KeLeaveCriticalRegion);

/* Documented: disables all kernel APCs, special ones included. */
VOID NTAPI KeEnterGuardedRegion(VOID)
{
    __atomic_sub_fetch(&KiCurrentThread()->SpecialApcDisable, 1, __ATOMIC_RELAXED);
}
KM_EXPORT(KeEnterGuardedRegion);

VOID NTAPI KeLeaveGuardedRegion(VOID)
{
    PKTHREAD t = KiCurrentThread();
    if (__atomic_add_fetch(&t->SpecialApcDisable, 1, __ATOMIC_RELAXED) > 0)
        KeBugCheckEx(0x1 /* APC_INDEX_MISMATCH */, (ULONG_PTR)__builtin_return_address(0), 0,
                     (ULONG_PTR)(LONG_PTR)t->SpecialApcDisable, 0);
}
KM_EXPORT(KeLeaveGuardedRegion);

/* Documented: TRUE inside a critical or guarded region (normal kernel APCs
   disabled). IRQL is not taken into account. */
BOOLEAN NTAPI KeAreApcsDisabled(VOID)
{
    PKTHREAD t = KiCurrentThread();
    return t->KernelApcDisable != 0 || t->SpecialApcDisable != 0;
}
KM_EXPORT(KeAreApcsDisabled);

/* Documented: TRUE inside a guarded region or at IRQL >= APC_LEVEL. */
BOOLEAN NTAPI KeAreAllApcsDisabled(VOID)
{
    return KiCurrentThread()->SpecialApcDisable != 0 || KiCurrentIrql() >= APC_LEVEL;
}
KM_EXPORT(KeAreAllApcsDisabled);
