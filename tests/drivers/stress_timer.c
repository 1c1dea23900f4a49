// Stress: a timer set and cancelled 100000 times while two system threads
// keep testing it with zero-timeout waits. Documented: KeCancelTimer returns
// TRUE when the timer was in the system timer queue, so right after a
// KeSetTimerEx due in an hour it is TRUE, and a second KeCancelTimer is
// FALSE. Waits on the timer must not disturb that (under kmhost they lock
// the timer's dispatcher header, whose Lock word also holds its Inserted
// byte).
// EXPECT-EXIT: 0
#include "harness.h"

#define ROUNDS 100000

static KTIMER g_timer;
static volatile LONG g_stop;
static volatile LONG g_waits;

static VOID NTAPI waiter(PVOID context)
{
    LARGE_INTEGER zero;
    UNREFERENCED_PARAMETER(context);
    zero.QuadPart = 0;
    while (!g_stop) {
        NTSTATUS status = KeWaitForSingleObject(&g_timer, Executive, KernelMode, FALSE, &zero);
        if (status == STATUS_TIMEOUT)
            InterlockedIncrement(&g_waits);
    }
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    UNREFERENCED_PARAMETER(driver);
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    PKTHREAD t[2];
    LARGE_INTEGER due;
    LONG first_wrong = 0, second_wrong = 0;

    UNREFERENCED_PARAMETER(registry_path);
    driver->DriverUnload = DriverUnload;
    KeInitializeTimerEx(&g_timer, NotificationTimer);
    t[0] = harness_start_thread(waiter, NULL);
    t[1] = harness_start_thread(waiter, NULL);
    due.QuadPart = -36000000000LL; /* an hour */
    for (int i = 0; i < ROUNDS; i++) {
        KeSetTimerEx(&g_timer, due, 0, NULL);
        if (!KeCancelTimer(&g_timer))
            first_wrong++;
        if (KeCancelTimer(&g_timer))
            second_wrong++;
    }
    g_stop = 1;
    harness_join_thread(t[0]);
    harness_join_thread(t[1]);
    is_int(first_wrong, 0, "KeCancelTimer right after KeSetTimerEx returns TRUE (it was queued)");
    is_int(second_wrong, 0, "a second KeCancelTimer returns FALSE (no longer queued)");
    ok(g_waits > 0, "the waiters tested the timer meanwhile (%ld zero-timeout waits)", g_waits);
    return STATUS_SUCCESS;
}
