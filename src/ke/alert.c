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
 * APCs (apc.c) end waits through the same CAS: a user APC ends an alertable
 * UserMode wait with STATUS_USER_APC. On Windows KeTestAlertThread(UserMode)
 * also marks queued user APCs for delivery on the return to user mode; a
 * system thread never makes that return, so here it only tests the alert.
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
            KiWakeThread(Thread);
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
