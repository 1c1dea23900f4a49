// Conformance: kernel timer objects (KeInitializeTimer[Ex], KeSetTimer[Ex],
// KeCancelTimer, KeReadStateTimer), their waits and their CustomTimerDpc routines.
// EXPECT-EXIT: 0
#include "harness.h"

/*
 * Timer Accuracy (WDK): expiration is detected on system clock ticks, so a
 * timer may expire up to one clock period (KeQueryTimeIncrement, 100 ns)
 * before its due time; every lower bound below allows that one tick. There
 * are no upper bounds: a timer may always expire later. Waits that should
 * end are bounded by a generous 10 s timeout only so that a broken timer
 * fails the check instead of hanging the run.
 */
#define MS(n) ((LONGLONG)(n)*10 * 1000)

static LARGE_INTEGER rel(LONGLONG ms)
{
    LARGE_INTEGER t;
    t.QuadPart = -MS(ms);
    return t;
}

static NTSTATUS wait_for(PVOID object, LONGLONG ms)
{
    LARGE_INTEGER t = rel(ms);
    return KeWaitForSingleObject(object, Executive, KernelMode, FALSE, &t);
}

static void sleep_ms(LONGLONG ms)
{
    LARGE_INTEGER t = rel(ms);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

static LONGLONG now_interrupt_time(void)
{
    LARGE_INTEGER freq, c = KeQueryPerformanceCounter(&freq);
    return (LONGLONG)((c.QuadPart / freq.QuadPart) * 10000000LL +
                      (c.QuadPart % freq.QuadPart) * 10000000LL / freq.QuadPart);
}

static void test_initial_state(void)
{
    KTIMER timer;

    KeInitializeTimer(&timer);
    ok(!KeReadStateTimer(&timer), "KeInitializeTimer: the timer is not signalled");
    ok(!KeCancelTimer(&timer), "KeCancelTimer on a timer never set returns FALSE");
    KeInitializeTimerEx(&timer, SynchronizationTimer);
    ok(!KeReadStateTimer(&timer), "KeInitializeTimerEx: the timer is not signalled");
}

static void test_cancel_returns(void)
{
    KTIMER timer;

    KeInitializeTimer(&timer);
    ok(!KeSetTimer(&timer, rel(60000), NULL),
       "KeSetTimer returns FALSE when the timer was not in the timer queue");
    ok(KeSetTimer(&timer, rel(60000), NULL),
       "KeSetTimer returns TRUE when the timer was already in the queue (it is reset)");
    ok(KeCancelTimer(&timer), "KeCancelTimer returns TRUE for a timer in the queue");
    ok(!KeCancelTimer(&timer), "KeCancelTimer returns FALSE once the timer left the queue");
    ok(!KeReadStateTimer(&timer), "a cancelled timer that never expired is not signalled");
}

static void test_relative(void)
{
    KTIMER timer;
    LONGLONG tick = KeQueryTimeIncrement(), t0, t1;
    NTSTATUS st;

    KeInitializeTimer(&timer);
    t0 = now_interrupt_time();
    KeSetTimer(&timer, rel(50), NULL);
    st = wait_for(&timer, 10000);
    t1 = now_interrupt_time();
    is_status(st, STATUS_SUCCESS, "a wait on a relative timer ends when the timer expires");
    ok(t1 - t0 >= MS(50) - tick,
       "a relative 50 ms timer expires no earlier than one clock tick before its due time: "
       "elapsed %I64d, tick %I64d (100 ns)",
       t1 - t0, tick);
    ok(KeReadStateTimer(&timer), "an expired notification timer is signalled");
    is_status(wait_for(&timer, 0), STATUS_SUCCESS,
              "a notification timer stays signalled after a satisfied wait");
    ok(!KeCancelTimer(&timer), "KeCancelTimer returns FALSE for a timer that already expired");
    ok(KeReadStateTimer(&timer), "KeCancelTimer does not change the signal state");

    KeSetTimer(&timer, rel(60000), NULL);
    ok(!KeReadStateTimer(&timer), "KeSetTimer sets the timer to the not-signalled state");
    KeCancelTimer(&timer);
}

static void test_absolute(void)
{
    KTIMER timer;
    LARGE_INTEGER due, after;
    LONGLONG tick = KeQueryTimeIncrement();
    NTSTATUS st;

    KeInitializeTimer(&timer);
    KeQuerySystemTimePrecise(&due);
    due.QuadPart += MS(50);
    ok(!KeSetTimer(&timer, due, NULL), "KeSetTimer with an absolute due time returns FALSE");
    st = wait_for(&timer, 10000);
    KeQuerySystemTimePrecise(&after);
    is_status(st, STATUS_SUCCESS, "a wait on an absolute timer ends when it expires");
    ok(after.QuadPart >= due.QuadPart - tick,
       "an absolute timer expires no earlier than one clock tick before its due system time: "
       "%I64d before it",
       due.QuadPart - after.QuadPart);
}

static void test_synchronization(void)
{
    KTIMER timer;

    KeInitializeTimerEx(&timer, SynchronizationTimer);
    KeSetTimer(&timer, rel(20), NULL);
    is_status(wait_for(&timer, 10000), STATUS_SUCCESS,
              "a wait on a synchronization timer ends when it expires");
    ok(!KeReadStateTimer(&timer),
       "a synchronization timer is reset to not signalled when a wait is satisfied");
    is_status(wait_for(&timer, 0), STATUS_TIMEOUT,
              "a second zero-timeout wait on an auto-reset timer times out");
}

typedef struct TIMER_DPC_RECORD {
    KEVENT Done;
    volatile LONG Count;
    volatile LONG Irql;
    PKDPC Dpc;
    PVOID Context;
} TIMER_DPC_RECORD;

static VOID NTAPI record_timer_dpc(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
    TIMER_DPC_RECORD *r = context;
    r->Irql = KeGetCurrentIrql();
    r->Dpc = dpc;
    r->Context = context;
    InterlockedIncrement(&r->Count);
    KeSetEvent(&r->Done, IO_NO_INCREMENT, FALSE);
}

static void test_timer_dpc(void)
{
    static TIMER_DPC_RECORD r;
    KTIMER timer;
    KDPC dpc;

    KeInitializeEvent(&r.Done, NotificationEvent, FALSE);
    r.Count = 0;
    r.Irql = -1;
    KeInitializeTimer(&timer);
    KeInitializeDpc(&dpc, record_timer_dpc, &r);
    KeSetTimer(&timer, rel(20), &dpc);
    is_status(KeWaitForSingleObject(&r.Done, Executive, KernelMode, FALSE,
                                    &(LARGE_INTEGER){.QuadPart = -MS(10000)}),
              STATUS_SUCCESS, "a timer's CustomTimerDpc runs when the timer expires");
    is_int(r.Irql, DISPATCH_LEVEL, "a CustomTimerDpc routine runs at DISPATCH_LEVEL");
    is_ptr(r.Dpc, &dpc, "a CustomTimerDpc routine receives its KDPC");
    is_ptr(r.Context, &r, "a CustomTimerDpc routine receives the DeferredContext");
    ok(KeReadStateTimer(&timer), "a timer with a DPC is signalled when it expires");
    KeFlushQueuedDpcs();
    is_int(r.Count, 1, "a one-shot timer queues its DPC once");
}

static void test_cancel_stops_dpc(void)
{
    static TIMER_DPC_RECORD r;
    KTIMER timer;
    KDPC dpc;

    KeInitializeEvent(&r.Done, NotificationEvent, FALSE);
    r.Count = 0;
    KeInitializeTimer(&timer);
    KeInitializeDpc(&dpc, record_timer_dpc, &r);
    KeSetTimer(&timer, rel(100), &dpc);
    if (!KeCancelTimer(&timer)) {
        /* The timer expired before it could be cancelled: nothing to test. */
        KeFlushQueuedDpcs();
        return;
    }
    sleep_ms(300);
    KeFlushQueuedDpcs();
    is_int(r.Count, 0, "a timer cancelled before its due time never queues its DPC");
    ok(!KeReadStateTimer(&timer), "a timer cancelled before its due time is never signalled");
}

typedef struct PERIODIC_RECORD {
    KEVENT Third;
    volatile LONG Count;
} PERIODIC_RECORD;

static VOID NTAPI count_periodic(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
    PERIODIC_RECORD *r = context;
    if (InterlockedIncrement(&r->Count) == 3)
        KeSetEvent(&r->Third, IO_NO_INCREMENT, FALSE);
}

static void test_periodic(void)
{
    static PERIODIC_RECORD r;
    KTIMER timer;
    KDPC dpc;
    LONG count;

    KeInitializeEvent(&r.Third, NotificationEvent, FALSE);
    r.Count = 0;
    KeInitializeTimer(&timer);
    KeInitializeDpc(&dpc, count_periodic, &r);
    ok(!KeSetTimerEx(&timer, rel(10), 10, &dpc), "KeSetTimerEx on an idle timer returns FALSE");
    is_status(KeWaitForSingleObject(&r.Third, Executive, KernelMode, FALSE,
                                    &(LARGE_INTEGER){.QuadPart = -MS(10000)}),
              STATUS_SUCCESS, "a periodic timer expires again and again: its DPC ran 3 times");
    ok(KeCancelTimer(&timer), "a periodic timer stays in the timer queue until cancelled");
    KeFlushQueuedDpcs();
    count = r.Count;
    sleep_ms(40);
    KeFlushQueuedDpcs();
    is_int(r.Count, count, "KeCancelTimer stops a periodic timer: its DPC runs no more");
    ok(!KeCancelTimer(&timer), "a cancelled periodic timer is no longer in the queue");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_initial_state();
    test_cancel_returns();
    test_relative();
    test_absolute();
    test_synchronization();
    test_timer_dpc();
    test_cancel_stops_dpc();
    test_periodic();
    return STATUS_SUCCESS;
}
