// Conformance: KeAlertThread and KeTestAlertThread; alertable waits end with
// STATUS_ALERTED, non-alertable waits are not affected.
// EXPECT-EXIT: 0
#include "harness.h"

/* Exported by ntoskrnl.exe, not declared by the WDK headers. */
NTKERNELAPI BOOLEAN NTAPI KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode);
NTKERNELAPI BOOLEAN NTAPI KeTestAlertThread(KPROCESSOR_MODE AlertMode);

static KEVENT g_started, g_never, g_release;
static volatile NTSTATUS g_status;
static volatile BOOLEAN g_test1, g_test2;

static VOID NTAPI alertable_waiter(PVOID ctx)
{
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    g_status = KeWaitForSingleObject(&g_never, Executive, KernelMode, TRUE, NULL);
}

static VOID NTAPI plain_waiter(PVOID ctx)
{
    KPROCESSOR_MODE alert_mode = (KPROCESSOR_MODE)(ULONG_PTR)ctx;
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    /* Non-alertable for a KernelMode alert; alertable (KernelMode) for a
       UserMode alert, which only UserMode waits take. */
    g_status =
        KeWaitForSingleObject(&g_release, Executive, KernelMode, alert_mode == UserMode, NULL);
    g_test1 = KeTestAlertThread(alert_mode);
    g_test2 = KeTestAlertThread(alert_mode);
}

static VOID NTAPI delayer(PVOID ctx)
{
    LARGE_INTEGER forever = {.QuadPart = -10LL * 1000 * 1000 * 3600};
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    g_status = KeDelayExecutionThread(KernelMode, TRUE, &forever);
}

static void settle(void)
{
    LARGE_INTEGER ms = {.QuadPart = -10 * 1000 * 20};
    KeDelayExecutionThread(KernelMode, FALSE, &ms);
}

static void test_alertable_wait(void)
{
    PKTHREAD t;
    KeInitializeEvent(&g_started, NotificationEvent, FALSE);
    KeInitializeEvent(&g_never, NotificationEvent, FALSE);
    g_status = STATUS_PENDING;
    t = harness_start_thread(alertable_waiter, NULL);
    KeWaitForSingleObject(&g_started, Executive, KernelMode, FALSE, NULL);
    settle(); /* most likely in its wait now; an earlier alert gives the same result */
    ok(!KeAlertThread(t, KernelMode), "KeAlertThread returns FALSE: the thread was not alerted");
    harness_join_thread(t);
    is_status(g_status, STATUS_ALERTED,
              "an alertable KernelMode wait ends with STATUS_ALERTED on KeAlertThread");
}

static void test_not_alertable(KPROCESSOR_MODE mode, const char *what)
{
    PKTHREAD t;
    KeInitializeEvent(&g_started, NotificationEvent, FALSE);
    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    g_status = STATUS_PENDING;
    t = harness_start_thread(plain_waiter, (PVOID)(ULONG_PTR)mode);
    KeWaitForSingleObject(&g_started, Executive, KernelMode, FALSE, NULL);
    settle();
    KeAlertThread(t, mode);
    settle();
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    harness_join_thread(t);
    is_status(g_status, STATUS_SUCCESS, what);
    ok(g_test1, "the alert stays pending: KeTestAlertThread returns TRUE");
    ok(!g_test2, "KeTestAlertThread clears it: a second call returns FALSE");
}

static void test_self(void)
{
    PKTHREAD self = KeGetCurrentThread();
    LARGE_INTEGER zero = {.QuadPart = 0};
    KEVENT e;

    KeInitializeEvent(&e, NotificationEvent, FALSE);
    ok(!KeTestAlertThread(KernelMode), "no alert is pending at first");
    ok(!KeAlertThread(self, KernelMode), "KeAlertThread on a thread not alerted returns FALSE");
    ok(KeAlertThread(self, KernelMode), "KeAlertThread on an alerted thread returns TRUE");
    is_status(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT,
              "a non-alertable wait ignores a pending alert");
    is_status(KeWaitForSingleObject(&e, Executive, KernelMode, TRUE, &zero), STATUS_ALERTED,
              "an alertable wait with an alert pending returns STATUS_ALERTED at once");
    ok(!KeTestAlertThread(KernelMode), "the alertable wait consumed the alert");
    KeSetEvent(&e, IO_NO_INCREMENT, FALSE);
    KeAlertThread(self, KernelMode);
    is_status(KeWaitForSingleObject(&e, Executive, KernelMode, TRUE, &zero), STATUS_SUCCESS,
              "a signalled object satisfies an alertable wait even with an alert pending");
    ok(KeTestAlertThread(KernelMode), "... and the alert stays pending");
}

static void test_delay(void)
{
    PKTHREAD t;
    KeInitializeEvent(&g_started, NotificationEvent, FALSE);
    g_status = STATUS_PENDING;
    t = harness_start_thread(delayer, NULL);
    KeWaitForSingleObject(&g_started, Executive, KernelMode, FALSE, NULL);
    settle();
    KeAlertThread(t, KernelMode);
    harness_join_thread(t);
    is_status(g_status, STATUS_ALERTED,
              "an alertable KeDelayExecutionThread ends with STATUS_ALERTED");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_self();
    test_alertable_wait();
    test_not_alertable(KernelMode, "a non-alertable wait is not ended by KeAlertThread");
    test_not_alertable(UserMode, "a UserMode alert does not end an alertable KernelMode wait");
    test_delay();
    return STATUS_SUCCESS;
}
