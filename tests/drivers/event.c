// Conformance: kernel event objects (KeInitializeEvent, KeSetEvent, KeResetEvent,
// KeClearEvent, KeReadStateEvent, KePulseEvent) and their wait semantics.
// EXPECT-EXIT: 0
#include "harness.h"

static KEVENT g_start, g_go;
static volatile LONG g_waiter_status;

static const LARGE_INTEGER zero_timeout = {.QuadPart = 0};

static NTSTATUS try_wait(PKEVENT e)
{
    LARGE_INTEGER t = zero_timeout;
    return KeWaitForSingleObject(e, Executive, KernelMode, FALSE, &t);
}

static void test_initial_state(void)
{
    KEVENT e;

    KeInitializeEvent(&e, NotificationEvent, FALSE);
    is_int(KeReadStateEvent(&e), 0, "KeInitializeEvent(State=FALSE): KeReadStateEvent is zero");
    KeInitializeEvent(&e, NotificationEvent, TRUE);
    ok(KeReadStateEvent(&e) != 0, "KeInitializeEvent(State=TRUE): KeReadStateEvent is nonzero");
    KeInitializeEvent(&e, SynchronizationEvent, FALSE);
    is_int(KeReadStateEvent(&e), 0, "synchronization event initialized not signalled");
    KeInitializeEvent(&e, SynchronizationEvent, TRUE);
    ok(KeReadStateEvent(&e) != 0, "synchronization event initialized signalled");
    /* A KEVENT may be reinitialized at any time while nobody waits on it. */
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    is_int(KeReadStateEvent(&e), 0, "reinitializing a signalled event resets its state");
}

static void test_set_reset(void)
{
    KEVENT e;

    KeInitializeEvent(&e, NotificationEvent, FALSE);
    is_int(KeSetEvent(&e, IO_NO_INCREMENT, FALSE), 0,
           "KeSetEvent returns zero when the previous state was not signalled");
    ok(KeReadStateEvent(&e) != 0, "KeSetEvent sets the event to the signalled state");
    ok(KeSetEvent(&e, IO_NO_INCREMENT, FALSE) != 0,
       "KeSetEvent returns nonzero when the previous state was signalled");
    ok(KeResetEvent(&e) != 0, "KeResetEvent returns the previous state: nonzero if signalled");
    is_int(KeReadStateEvent(&e), 0, "KeResetEvent sets the event to not signalled");
    is_int(KeResetEvent(&e), 0, "KeResetEvent returns zero if the event was not signalled");

    KeSetEvent(&e, IO_NO_INCREMENT, FALSE);
    KeClearEvent(&e);
    is_int(KeReadStateEvent(&e), 0, "KeClearEvent sets the event to not signalled");
    KeClearEvent(&e);
    is_int(KeReadStateEvent(&e), 0, "KeClearEvent on a not-signalled event leaves it so");

    KeInitializeEvent(&e, SynchronizationEvent, FALSE);
    is_int(KeSetEvent(&e, IO_NO_INCREMENT, FALSE), 0,
           "KeSetEvent on a synchronization event returns the previous state (zero)");
    ok(KeReadStateEvent(&e) != 0,
       "a synchronization event with no waiter stays signalled until a wait is satisfied");
}

static void test_pulse_no_waiter(void)
{
    KEVENT e;

    KeInitializeEvent(&e, NotificationEvent, TRUE);
    ok(KePulseEvent(&e, IO_NO_INCREMENT, FALSE) != 0,
       "KePulseEvent returns the previous state: nonzero if it was signalled");
    is_int(KeReadStateEvent(&e), 0, "KePulseEvent leaves the event not signalled");
    is_int(KePulseEvent(&e, IO_NO_INCREMENT, FALSE), 0,
           "KePulseEvent returns zero if the previous state was not signalled");
    is_int(KeReadStateEvent(&e), 0, "KePulseEvent leaves the event not signalled (no waiter)");
    KeInitializeEvent(&e, SynchronizationEvent, FALSE);
    KePulseEvent(&e, IO_NO_INCREMENT, FALSE);
    is_int(KeReadStateEvent(&e), 0, "KePulseEvent leaves a synchronization event not signalled");
}

static void test_auto_reset(void)
{
    KEVENT e;

    KeInitializeEvent(&e, SynchronizationEvent, TRUE);
    is_status(try_wait(&e), STATUS_SUCCESS, "a signalled synchronization event satisfies a wait");
    is_int(KeReadStateEvent(&e), 0,
           "a synchronization event is reset to not signalled when a wait is satisfied");
    is_status(try_wait(&e), STATUS_TIMEOUT,
              "a second zero-timeout wait on an auto-reset event times out");

    KeInitializeEvent(&e, NotificationEvent, TRUE);
    is_status(try_wait(&e), STATUS_SUCCESS, "a signalled notification event satisfies a wait");
    is_status(try_wait(&e), STATUS_SUCCESS,
              "a notification event stays signalled after a wait is satisfied");
    ok(KeReadStateEvent(&e) != 0, "a notification event stays signalled until reset");

    KeInitializeEvent(&e, NotificationEvent, FALSE);
    is_status(try_wait(&e), STATUS_TIMEOUT,
              "a zero-timeout wait on a not-signalled event returns STATUS_TIMEOUT");
}

/* Waits with no timeout on the event passed as context, then records the status. */
static VOID NTAPI waiter(PVOID ctx)
{
    KeSetEvent(&g_start, IO_NO_INCREMENT, FALSE);
    InterlockedExchange(&g_waiter_status,
                        KeWaitForSingleObject(ctx, Executive, KernelMode, FALSE, NULL));
}

static void test_set_releases_waiter(EVENT_TYPE type)
{
    PKTHREAD t;

    KeInitializeEvent(&g_start, NotificationEvent, FALSE);
    KeInitializeEvent(&g_go, type, FALSE);
    g_waiter_status = STATUS_PENDING;
    t = harness_start_thread(waiter, &g_go);
    KeWaitForSingleObject(&g_start, Executive, KernelMode, FALSE, NULL);
    KeSetEvent(&g_go, IO_NO_INCREMENT, FALSE);
    harness_join_thread(t);
    is_status(g_waiter_status, STATUS_SUCCESS,
              "KeSetEvent releases a thread waiting on the event in another system thread");
    if (type == SynchronizationEvent)
        is_int(KeReadStateEvent(&g_go), 0,
               "the released waiter's satisfied wait resets the synchronization event");
    else
        ok(KeReadStateEvent(&g_go) != 0, "a notification event stays signalled after release");
}

/*
 * KePulseEvent releases the current waiters of a notification event and leaves
 * it not signalled. Whether the waiter has entered its wait yet cannot be
 * observed, so pulse until the thread ends: only a pulse can release it, since
 * the event is never left signalled.
 */
static void test_pulse_releases_waiter(void)
{
    PKTHREAD t;
    LARGE_INTEGER ms10;
    NTSTATUS st = STATUS_TIMEOUT;
    int i, left_signalled = 0;

    KeInitializeEvent(&g_start, NotificationEvent, FALSE);
    KeInitializeEvent(&g_go, NotificationEvent, FALSE);
    g_waiter_status = STATUS_PENDING;
    t = harness_start_thread(waiter, &g_go);
    if (!t)
        return;
    KeWaitForSingleObject(&g_start, Executive, KernelMode, FALSE, NULL);
    for (i = 0; i < 1000 && st == STATUS_TIMEOUT; i++) {
        KePulseEvent(&g_go, IO_NO_INCREMENT, FALSE);
        if (KeReadStateEvent(&g_go) != 0)
            left_signalled = 1;
        ms10.QuadPart = -10 * 1000 * 10;
        st = KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &ms10);
    }
    is_status(st, STATUS_SUCCESS, "KePulseEvent releases a waiter of a notification event");
    ok(!left_signalled, "KePulseEvent always leaves the event not signalled");
    is_status(g_waiter_status, STATUS_SUCCESS, "the pulsed waiter's wait returns STATUS_SUCCESS");
    if (st != STATUS_SUCCESS) {
        /* Release the waiter for good so that the thread can be joined. */
        KeSetEvent(&g_go, IO_NO_INCREMENT, FALSE);
    }
    harness_join_thread(t);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_initial_state();
    test_set_reset();
    test_pulse_no_waiter();
    test_auto_reset();
    test_set_releases_waiter(NotificationEvent);
    test_set_releases_waiter(SynchronizationEvent);
    test_pulse_releases_waiter();
    return STATUS_SUCCESS;
}
