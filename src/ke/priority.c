/*
 * Thread priorities: recorded, never enforced.
 *
 * KTHREAD.Priority and BasePriority hold what a driver set, with the
 * documented ranges and return values, so a driver reads back what it wrote.
 * kmhost does not map them onto Linux scheduling: raising a host thread's
 * priority needs privileges a developer's shell does not have, and a driver's
 * correctness must never depend on priorities anyway.
 *
 * Every thread kmhost runs belongs to the System process, whose base priority
 * is 8 in the variable class (1..15); real-time priorities are 16..31.
 */
#include "ke/ke.h"

#include <stdio.h>

#define KI_LOW_PRIORITY 0
#define KI_LOW_REALTIME_PRIORITY 16
#define KI_HIGH_PRIORITY 31
#define KI_SYSTEM_PROCESS_BASE_PRIORITY 8

/* Documented: returns the current priority of the thread. */
KPRIORITY NTAPI KeQueryPriorityThread(PKTHREAD Thread)
{
    return __atomic_load_n(&Thread->Priority, __ATOMIC_RELAXED);
}
KM_EXPORT(KeQueryPriorityThread);

/* Documented: sets the run-time priority (LOW_PRIORITY..HIGH_PRIORITY) and
   returns the old one. NT keeps the base priority where it was. */
KPRIORITY NTAPI KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
    if (Priority < KI_LOW_PRIORITY || Priority > KI_HIGH_PRIORITY) {
        dprintf(1,
                "kmhost: KeSetPriorityThread(%p, %d): the priority must be in 0..31 "
                "(LOW_PRIORITY..HIGH_PRIORITY); the thread keeps its priority\n",
                (void *)Thread, (int)Priority);
        return KeQueryPriorityThread(Thread);
    }
    return __atomic_exchange_n(&Thread->Priority, Priority, __ATOMIC_RELAXED);
}
KM_EXPORT(KeSetPriorityThread);

/*
 * Documented: the new base priority is the process's base priority plus
 * Increment, kept inside the process's priority class (the System process is
 * in the variable class: 1..LOW_REALTIME_PRIORITY-1); the return value is the
 * previous base priority minus the process's base priority. The thread's
 * current priority follows its new base, as NT does for variable-class
 * threads.
 */
LONG NTAPI KeSetBasePriorityThread(PKTHREAD Thread, LONG Increment)
{
    LONG base = KI_SYSTEM_PROCESS_BASE_PRIORITY + Increment;
    if (base < 1)
        base = 1;
    if (base > KI_LOW_REALTIME_PRIORITY - 1)
        base = KI_LOW_REALTIME_PRIORITY - 1;
    LONG old = __atomic_exchange_n(&Thread->BasePriority, base, __ATOMIC_RELAXED);
    if (KeQueryPriorityThread(Thread) < KI_LOW_REALTIME_PRIORITY)
        __atomic_store_n(&Thread->Priority, base, __ATOMIC_RELAXED);
    return old - KI_SYSTEM_PROCESS_BASE_PRIORITY;
}
KM_EXPORT(KeSetBasePriorityThread);
