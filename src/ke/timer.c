/*
 * Timer objects and the timer thread.
 *
 * A KTIMER's whole state is in its 64 bytes: DueTime, Period, Dpc,
 * Processor, TimerListEntry (its link in the timer queue) and
 * Header.Inserted (set while it is queued), so a driver may free a timer
 * once KeCancelTimer has taken it out of the queue.
 *
 * Invariants:
 *  - KipTimerLock protects both timer lists, every queued timer's
 *    TimerListEntry, DueTime, Period, Dpc and Processor, and Inserted.
 *    Lock order: KipTimerLock, then a timer's object lock (KiLockObject),
 *    then a DPC queue's lock. Waiters only ever take object locks.
 *  - KipRelativeTimers is sorted by DueTime in interrupt time (100 ns of
 *    CLOCK_MONOTONIC: relative due times and every periodic re-arm), and
 *    KipAbsoluteTimers by DueTime in system time (100 ns since 1601 on
 *    CLOCK_REALTIME), so absolute timers follow changes of the clock.
 *  - Expiry happens on the timer thread with KipTimerLock held: the timer
 *    is unlinked (or re-armed by its Period), signalled (SignalState 1 and
 *    KiWaitTest under its object lock) and its DPC queued, all before any
 *    KeCancelTimer can return, so a cancelled timer is never touched again.
 *  - The timer thread sleeps on the futex KipTimerSignal until the earliest
 *    due time; whoever queues a timer at the head of a list increments it
 *    (under the lock) and wakes the thread if it announced it sleeps.
 *  - Header.Inserted shares the 32-bit Lock word with the object lock bit,
 *    so it changes only by atomic read-modify-write of that word.
 */
#include "ke/dpc.h"

#include "hal/hal.h"
#include "vf/vf.h"

#define KI_INSERTED_BIT ((LONG)0x01000000) /* Header.Inserted, byte 3 of Lock */
#define KI_MS_TO_100NS 10000ULL
/* Absolute timers: re-read the system clock at least this often. */
#define KI_CLOCK_RECHECK_100NS 10000000ULL

static volatile ULONG_PTR KipTimerLock;
static LIST_ENTRY KipRelativeTimers = {&KipRelativeTimers, &KipRelativeTimers};
static LIST_ENTRY KipAbsoluteTimers = {&KipAbsoluteTimers, &KipAbsoluteTimers};
static _Atomic LONG KipTimerSignal;
static _Atomic LONG KipTimerParked;

static inline _Atomic LONG *KipTimerWord(PKTIMER Timer)
{
    return (_Atomic LONG *)&Timer->Header.Lock;
}

static inline bool KipIsInserted(PKTIMER Timer)
{
    return (atomic_load(KipTimerWord(Timer)) & KI_INSERTED_BIT) != 0;
}

/* With KipTimerLock held. */
static void KipUnlinkTimer(PKTIMER Timer)
{
    KiRemoveEntryList(&Timer->TimerListEntry);
    atomic_fetch_and(KipTimerWord(Timer), ~(LONG)0xff000000);
}

/* With KipTimerLock held: inserts by DueTime; true if it became the head. */
static bool KipLinkTimer(PLIST_ENTRY List, PKTIMER Timer)
{
    PLIST_ENTRY after = List->Blink;
    while (after != List &&
           CONTAINING_RECORD(after, KTIMER, TimerListEntry)->DueTime > Timer->DueTime)
        after = after->Blink;
    PLIST_ENTRY e = &Timer->TimerListEntry;
    e->Flink = after->Flink;
    e->Blink = after;
    after->Flink->Blink = e;
    after->Flink = e;
    atomic_fetch_or(KipTimerWord(Timer), KI_INSERTED_BIT);
    return after == List;
}

VOID NTAPI KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    Timer->Header.Lock = 0;
    Timer->Header.Type =
        Type == SynchronizationTimer ? TimerSynchronizationObject : TimerNotificationObject;
    Timer->Header.Size = (UCHAR)(sizeof(KTIMER) / 4);
    KiSetSignalState(&Timer->Header, 0);
    KiInitializeListHead(&Timer->Header.WaitListHead);
    Timer->DueTime = 0;
    KiInitializeListHead(&Timer->TimerListEntry);
    Timer->Dpc = NULL;
    Timer->Processor = 0;
    Timer->Period = 0;
}
KM_EXPORT(KeInitializeTimerEx);

VOID NTAPI KeInitializeTimer(PKTIMER Timer)
{
    KeInitializeTimerEx(Timer, NotificationTimer);
}
KM_EXPORT(KeInitializeTimer);

/*
 * Documented: cancels the timer if it was queued (and then returns TRUE),
 * sets it not signalled, and queues it to expire at DueTime (negative:
 * relative, positive: absolute system time), then every Period ms.
 */
BOOLEAN NTAPI KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    bool head;

    KiEnsureDpcSystem();
    KiAcquireLockWord(&KipTimerLock);
    BOOLEAN was = KipIsInserted(Timer);
    if (was)
        KipUnlinkTimer(Timer);
    KiLockObject(&Timer->Header);
    __atomic_store_n(&Timer->Header.SignalState, 0, __ATOMIC_RELAXED);
    KiUnlockObject(&Timer->Header);
    Timer->Dpc = Dpc;
    Timer->Period = Period > 0 ? Period : 0;
    Timer->Processor = KiCurrentProcessorNumber();
    if (DueTime.QuadPart < 0) {
        ULONGLONG delta =
            DueTime.QuadPart == INT64_MIN ? (ULONGLONG)INT64_MAX : (ULONGLONG)-DueTime.QuadPart;
        Timer->DueTime = HalpInterruptTime() + delta;
        head = KipLinkTimer(&KipRelativeTimers, Timer);
    } else {
        Timer->DueTime = (ULONGLONG)DueTime.QuadPart;
        head = KipLinkTimer(&KipAbsoluteTimers, Timer);
    }
    if (head)
        atomic_fetch_add(&KipTimerSignal, 1);
    KiReleaseLockWord(&KipTimerLock);
    if (head && atomic_load(&KipTimerParked))
        KiFutexWake(&KipTimerSignal, 1);
    return was;
}
KM_EXPORT(KeSetTimerEx);

BOOLEAN NTAPI KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
    return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}
KM_EXPORT(KeSetTimer);

/* TolerableDelay only allows a later expiry; expiring on time honours it. */
BOOLEAN NTAPI KeSetCoalescableTimer(PKTIMER Timer, LARGE_INTEGER DueTime, ULONG Period,
                                    ULONG TolerableDelay, PKDPC Dpc)
{
    (void)TolerableDelay;
    return KeSetTimerEx(Timer, DueTime, (LONG)Period, Dpc);
}
KM_EXPORT(KeSetCoalescableTimer);

/* Documented: TRUE if the timer was in the queue; the signal state stays.
   The object lock is taken too, so an expiry that is still signalling the
   timer is done with it when KeCancelTimer returns: then it may be freed. */
BOOLEAN NTAPI KeCancelTimer(PKTIMER Timer)
{
    KiAcquireLockWord(&KipTimerLock);
    BOOLEAN was = KipIsInserted(Timer);
    if (was)
        KipUnlinkTimer(Timer);
    KiReleaseLockWord(&KipTimerLock);
    KiLockObject(&Timer->Header);
    KiUnlockObject(&Timer->Header);
    return was;
}
KM_EXPORT(KeCancelTimer);

BOOLEAN NTAPI KeReadStateTimer(PKTIMER Timer)
{
    return KiReadStateSettled(&Timer->Header) != 0;
}
KM_EXPORT(KeReadStateTimer);

/*
 * With KipTimerLock held: the timer is due now. As on Windows, the timer is
 * signalled before its DPC is queued, and nothing touches the timer after
 * its object lock is dropped: a waiter it releases may free it then.
 */
static void KipExpireTimer(PKTIMER Timer, bool Relative, ULONGLONG Now, ULONGLONG SystemTime)
{
    KipUnlinkTimer(Timer);
    if (Timer->Period > 0) {
        /* Periodic timers re-arm on interrupt time, Period after the last
           due time, or after now when the thread fell behind. */
        ULONGLONG period = (ULONGLONG)Timer->Period * KI_MS_TO_100NS;
        ULONGLONG next = Relative ? Timer->DueTime + period : Now + period;
        Timer->DueTime = next > Now ? next : Now + period;
        KipLinkTimer(&KipRelativeTimers, Timer);
    }
    PKDPC dpc = Timer->Dpc;
    ULONG processor = Timer->Processor;
    KiLockObject(&Timer->Header);
    __atomic_store_n(&Timer->Header.SignalState, 1, __ATOMIC_RELAXED);
    KiWaitTest(&Timer->Header);
    KiUnlockObject(&Timer->Header);
    if (dpc) {
        USHORT number = dpc->Number;
        if (number >= KI_DPC_TARGETED)
            processor = (ULONG)(number - KI_DPC_TARGETED);
        if (processor >= HalpProcessorCount())
            processor = 0;
        /* The DPC's arguments are documented as unused for timer DPCs;
           Windows passes the expiry's system time, low then high part. */
        KiInsertQueueDpc(dpc, processor, (PVOID)(ULONG_PTR)(ULONG)SystemTime,
                         (PVOID)(ULONG_PTR)(ULONG)(SystemTime >> 32));
    }
}

static PKTIMER KipFirst(PLIST_ENTRY List)
{
    return List->Flink == List ? NULL : CONTAINING_RECORD(List->Flink, KTIMER, TimerListEntry);
}

/* With KipTimerLock held: expires what is due; returns the interrupt time
   to sleep until (0: no timer queued). */
static ULONGLONG KipExpireDue(void)
{
    for (;;) {
        ULONGLONG now = HalpInterruptTime(), sys = HalpSystemTime();
        PKTIMER rel = KipFirst(&KipRelativeTimers), abs = KipFirst(&KipAbsoluteTimers);
        if (rel && rel->DueTime <= now) {
            KipExpireTimer(rel, true, now, sys);
            continue;
        }
        if (abs && abs->DueTime <= sys) {
            KipExpireTimer(abs, false, now, sys);
            continue;
        }
        ULONGLONG until = rel ? rel->DueTime : 0;
        if (abs) {
            ULONGLONG delta = abs->DueTime - sys;
            if (delta > KI_CLOCK_RECHECK_100NS)
                delta = KI_CLOCK_RECHECK_100NS;
            if (!until || now + delta < until)
                until = now + delta;
        }
        return until;
    }
}

#define TIMER_OR_DPC_INVALID 0xC7
#define KI_IN_RANGE(p, s, e)                                                                       \
    ((const char *)(p) >= (const char *)(s) && (const char *)(p) < (const char *)(e))

static void KipCheckList(PLIST_ENTRY List, const void *Start, const void *End)
{
    for (PLIST_ENTRY e = List->Flink; e != List; e = e->Flink) {
        PKTIMER t = CONTAINING_RECORD(e, KTIMER, TimerListEntry);
        VfpPendingTimer(t, Start, End); /* verifier: names the routine first */
        if (KI_IN_RANGE(t, Start, End))
            KeBugCheckEx(TIMER_OR_DPC_INVALID, 0, (ULONG_PTR)t, (ULONG_PTR)Start, (ULONG_PTR)End);
        if (t->Dpc && KI_IN_RANGE(t->Dpc, Start, End))
            KeBugCheckEx(TIMER_OR_DPC_INVALID, 1, (ULONG_PTR)t->Dpc, (ULONG_PTR)Start,
                         (ULONG_PTR)End);
        if (t->Dpc && KI_IN_RANGE(t->Dpc->DeferredRoutine, Start, End))
            KeBugCheckEx(TIMER_OR_DPC_INVALID, 2, (ULONG_PTR)t->Dpc->DeferredRoutine,
                         (ULONG_PTR)Start, (ULONG_PTR)End);
    }
}

void KiCheckTimerQueue(const void *Start, const void *End)
{
    KiAcquireLockWord(&KipTimerLock);
    KipCheckList(&KipRelativeTimers, Start, End);
    KipCheckList(&KipAbsoluteTimers, Start, End);
    KiReleaseLockWord(&KipTimerLock);
}

VOID NTAPI KiTimerThread(PVOID Context)
{
    (void)Context;
    for (;;) {
        KI_DEADLINE deadline = {.Infinite = true};
        KiAcquireLockWord(&KipTimerLock);
        LONG seen = atomic_load(&KipTimerSignal);
        ULONGLONG until = KipExpireDue();
        KiReleaseLockWord(&KipTimerLock);
        if (until) {
            /* Interrupt time is CLOCK_MONOTONIC in 100 ns units. */
            deadline.Infinite = false;
            deadline.Sec = (int64_t)(until / 10000000ULL);
            deadline.Nsec = (int64_t)(until % 10000000ULL) * 100;
        }
        atomic_store(&KipTimerParked, 1);
        KiFutexWait(&KipTimerSignal, seen, &deadline);
        atomic_store(&KipTimerParked, 0);
    }
}
