// Conformance: IRQL: PASSIVE_LEVEL in DriverEntry, DriverUnload and system
// threads; KeRaiseIrql/KeLowerIrql round trips; IRQL is per thread.
// EXPECT-EXIT: 0
#include "harness.h"

static KEVENT g_raised, g_checked;
static volatile LONG g_irql_in_thread = -1, g_irql_after_wait = -1;

static void test_round_trip(void)
{
    KIRQL old = HIGH_LEVEL, old2 = HIGH_LEVEL;

    KeRaiseIrql(DISPATCH_LEVEL, &old);
    is_int(old, PASSIVE_LEVEL, "KeRaiseIrql returns the previous IRQL (PASSIVE_LEVEL)");
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL, "KeRaiseIrql(DISPATCH_LEVEL) raises to it");
    KeLowerIrql(old);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "KeLowerIrql restores the saved IRQL");

    KeRaiseIrql(APC_LEVEL, &old);
    is_int(KeGetCurrentIrql(), APC_LEVEL, "KeRaiseIrql(APC_LEVEL)");
    KeRaiseIrql(DISPATCH_LEVEL, &old2);
    is_int(old2, APC_LEVEL, "a nested KeRaiseIrql returns the intermediate IRQL");
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL, "nested raise to DISPATCH_LEVEL");
    KeLowerIrql(old2);
    is_int(KeGetCurrentIrql(), APC_LEVEL, "KeLowerIrql back to APC_LEVEL");
    KeLowerIrql(old);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "KeLowerIrql back to PASSIVE_LEVEL");

    old = KeRaiseIrqlToDpcLevel();
    is_int(old, PASSIVE_LEVEL, "KeRaiseIrqlToDpcLevel returns the previous IRQL");
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL, "KeRaiseIrqlToDpcLevel raises to DISPATCH_LEVEL");
    KeLowerIrql(old);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "back at PASSIVE_LEVEL");
}

/*
 * Raises its own IRQL to APC_LEVEL (the highest IRQL at which a thread may
 * wait with a timeout other than zero) and holds it while the creator looks
 * at its own IRQL.
 */
static VOID NTAPI raise_and_hold(PVOID ctx)
{
    KIRQL old;

    g_irql_in_thread = KeGetCurrentIrql();
    KeRaiseIrql(APC_LEVEL, &old);
    KeSetEvent(&g_raised, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&g_checked, Executive, KernelMode, FALSE, NULL);
    g_irql_after_wait = KeGetCurrentIrql();
    KeLowerIrql(old);
}

static void test_per_thread(void)
{
    PKTHREAD t;
    KIRQL old;

    KeInitializeEvent(&g_raised, NotificationEvent, FALSE);
    KeInitializeEvent(&g_checked, NotificationEvent, FALSE);
    t = harness_start_thread(raise_and_hold, NULL);
    if (!t)
        return;
    KeWaitForSingleObject(&g_raised, Executive, KernelMode, FALSE, NULL);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL,
           "another thread at APC_LEVEL does not change this thread's IRQL");
    /* Raise here too: the other thread must keep its own IRQL. */
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeLowerIrql(old);
    KeSetEvent(&g_checked, IO_NO_INCREMENT, FALSE);
    harness_join_thread(t);
    is_int(g_irql_in_thread, PASSIVE_LEVEL, "a new system thread starts at PASSIVE_LEVEL");
    is_int(g_irql_after_wait, APC_LEVEL,
           "a thread waiting at APC_LEVEL is still at APC_LEVEL when its wait returns");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "DriverUnload runs at PASSIVE_LEVEL");
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "DriverEntry runs at PASSIVE_LEVEL");
    test_round_trip();
    test_per_thread();
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "DriverEntry returns at PASSIVE_LEVEL");
    return STATUS_SUCCESS;
}
