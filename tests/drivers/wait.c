// Conformance: KeWaitForSingleObject timeouts (NULL, zero, relative, absolute),
// wait modes and alertability, KeWaitForMultipleObjects, KeDelayExecutionThread,
// and waits on thread objects.
// EXPECT-EXIT: 0
#include "harness.h"

/*
 * Timer Accuracy (WDK): expiration is detected on system clock ticks; a
 * relative timeout may expire up to one clock period earlier than requested,
 * an absolute one is detected on the first tick after the time. So every
 * lower bound below allows one clock tick, KeQueryTimeIncrement() in 100 ns
 * units. There are no upper bounds: a wait may always end later.
 */
#define MS(n) ((LONGLONG)(n)*10 * 1000)

static KEVENT g_event, g_started, g_release;

static LONGLONG now_qpc_100ns(void)
{
    LARGE_INTEGER freq, c = KeQueryPerformanceCounter(&freq);
    if (freq.QuadPart <= 0)
        return 0;
    return (LONGLONG)((c.QuadPart / freq.QuadPart) * 10000000LL +
                      (c.QuadPart % freq.QuadPart) * 10000000LL / freq.QuadPart);
}

static LONGLONG now_system_precise(void)
{
    LARGE_INTEGER t;
    KeQuerySystemTimePrecise(&t);
    return t.QuadPart;
}

static VOID NTAPI set_later(PVOID ctx)
{
    LARGE_INTEGER d = {.QuadPart = -MS(20)};
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    KeSetEvent(ctx, IO_NO_INCREMENT, FALSE);
}

static void test_null_and_zero(void)
{
    LARGE_INTEGER zero = {.QuadPart = 0};
    PKTHREAD t;

    KeInitializeEvent(&g_event, NotificationEvent, FALSE);
    is_status(KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT,
              "*Timeout = 0 on a not-signalled object returns STATUS_TIMEOUT");
    KeSetEvent(&g_event, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS,
              "*Timeout = 0 on a signalled object returns STATUS_SUCCESS");

    KeInitializeEvent(&g_event, SynchronizationEvent, FALSE);
    t = harness_start_thread(set_later, &g_event);
    is_status(KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "Timeout = NULL waits until another thread signals the object");
    harness_join_thread(t);
}

static void test_relative(KPROCESSOR_MODE mode, BOOLEAN alertable, const char *what)
{
    /* Static: a UserMode wait may swap the kernel stack out (KeWaitForSingleObject). */
    static LARGE_INTEGER rel;
    LONGLONG tick = KeQueryTimeIncrement(), t0, t1;
    NTSTATUS st;

    rel.QuadPart = -MS(50);

    KeInitializeEvent(&g_event, NotificationEvent, FALSE);
    t0 = now_qpc_100ns();
    st = KeWaitForSingleObject(&g_event, Executive, mode, alertable, &rel);
    t1 = now_qpc_100ns();
    is_status(st, STATUS_TIMEOUT, what);
    ok(t1 - t0 >= MS(50) - tick,
       "a relative 50 ms timeout expires no earlier than one clock tick before 50 ms "
       "(Timer Accuracy): elapsed %I64d, tick %I64d (100 ns)",
       t1 - t0, tick);
    is_int(rel.QuadPart, -MS(50),
           "Timeout is an [in] parameter: KeWaitForSingleObject leaves *Timeout unchanged");
}

static void test_absolute(void)
{
    LONGLONG tick = KeQueryTimeIncrement(), deadline, after;
    LARGE_INTEGER abs;

    KeInitializeEvent(&g_event, NotificationEvent, FALSE);
    deadline = now_system_precise() + MS(30);
    abs.QuadPart = deadline;
    is_status(KeWaitForSingleObject(&g_event, UserRequest, KernelMode, FALSE, &abs), STATUS_TIMEOUT,
              "a positive (absolute) Timeout in the future times out");
    after = now_system_precise();
    ok(after >= deadline - tick,
       "an absolute timeout does not expire before that system time (Timer Accuracy): "
       "%I64d before the deadline",
       deadline - after);

    abs.QuadPart = now_system_precise() - MS(1000);
    is_status(KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, &abs), STATUS_TIMEOUT,
              "an absolute Timeout in the past returns STATUS_TIMEOUT");
    abs.QuadPart = 1;
    is_status(KeWaitForSingleObject(&g_event, Executive, KernelMode, TRUE, &abs), STATUS_TIMEOUT,
              "an absolute Timeout of 1 (1601-01-01) returns STATUS_TIMEOUT");
    KeSetEvent(&g_event, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, &abs), STATUS_SUCCESS,
              "a signalled object satisfies a wait whose timeout has passed");
}

static void test_delay(void)
{
    LONGLONG tick = KeQueryTimeIncrement(), t0, t1, deadline;
    LARGE_INTEGER d = {.QuadPart = -MS(20)};

    t0 = now_qpc_100ns();
    is_status(KeDelayExecutionThread(KernelMode, FALSE, &d), STATUS_SUCCESS,
              "KeDelayExecutionThread (relative) returns STATUS_SUCCESS when the delay ends");
    t1 = now_qpc_100ns();
    ok(t1 - t0 >= MS(20) - tick,
       "KeDelayExecutionThread waits at least the relative interval: elapsed %I64d", t1 - t0);

    d.QuadPart = -MS(10);
    is_status(KeDelayExecutionThread(KernelMode, TRUE, &d), STATUS_SUCCESS,
              "an alertable kernel-mode delay with no alert returns STATUS_SUCCESS");

    deadline = now_system_precise() + MS(20);
    d.QuadPart = deadline;
    is_status(KeDelayExecutionThread(KernelMode, FALSE, &d), STATUS_SUCCESS,
              "KeDelayExecutionThread (absolute) returns STATUS_SUCCESS");
    ok(now_system_precise() >= deadline - tick,
       "KeDelayExecutionThread with an absolute time does not return before it");
}

static void test_multiple(void)
{
    KEVENT a, b;
    PVOID objs[2] = {&a, &b};
    LARGE_INTEGER zero = {.QuadPart = 0};

    KeInitializeEvent(&a, NotificationEvent, FALSE);
    KeInitializeEvent(&b, SynchronizationEvent, TRUE);
    is_status(KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, &zero, NULL),
              STATUS_WAIT_0 + 1,
              "WaitAny returns STATUS_WAIT_0 + the index of the signalled object");
    is_int(KeReadStateEvent(&b), 0, "a WaitAny satisfied by a synchronization event resets it");
    KeSetEvent(&b, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForMultipleObjects(2, objs, WaitAll, Executive, KernelMode, FALSE, &zero, NULL),
              STATUS_TIMEOUT, "WaitAll is not satisfied while one object is not signalled");
    ok(KeReadStateEvent(&b) != 0,
       "an unsatisfied WaitAll has no side effect on the signalled objects");
    KeSetEvent(&a, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForMultipleObjects(2, objs, WaitAll, Executive, KernelMode, FALSE, &zero, NULL),
              STATUS_SUCCESS, "WaitAll returns STATUS_SUCCESS when all objects are signalled");
    is_int(KeReadStateEvent(&b), 0, "a satisfied WaitAll resets the synchronization event");
    ok(KeReadStateEvent(&a) != 0, "a satisfied WaitAll leaves the notification event signalled");
}

static VOID NTAPI blocked(PVOID ctx)
{
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
}

static void test_thread_object(void)
{
    LARGE_INTEGER zero = {.QuadPart = 0};
    PKTHREAD t;

    KeInitializeEvent(&g_started, NotificationEvent, FALSE);
    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    t = harness_start_thread(blocked, NULL);
    if (!t)
        return;
    KeWaitForSingleObject(&g_started, Executive, KernelMode, FALSE, NULL);
    is_status(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT,
              "a thread object is not signalled while the thread runs");
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "a wait on a thread object is satisfied when the thread terminates");
    is_status(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS,
              "a terminated thread object stays signalled");
    ObDereferenceObject(t);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    ok(KeQueryTimeIncrement() != 0, "KeQueryTimeIncrement is the nonzero clock tick");
    test_null_and_zero();
    test_relative(KernelMode, FALSE, "a relative timeout (-50 ms) returns STATUS_TIMEOUT");
    test_relative(KernelMode, TRUE,
                  "an alertable kernel-mode wait with no alert returns STATUS_TIMEOUT");
    test_relative(UserMode, FALSE,
                  "a non-alertable UserMode wait on a nonpaged object returns STATUS_TIMEOUT");
    test_absolute();
    test_delay();
    test_multiple();
    test_thread_object();
    return STATUS_SUCCESS;
}
