// Conformance: critical and guarded regions (KeEnterCriticalRegion,
// KeLeaveCriticalRegion, KeEnterGuardedRegion, KeLeaveGuardedRegion) as seen
// through KeAreApcsDisabled and KeAreAllApcsDisabled. The checks run in a new
// system thread, which starts outside any region at PASSIVE_LEVEL.
// EXPECT-EXIT: 0
#include "harness.h"

static VOID NTAPI region_checks(PVOID ctx)
{
    KIRQL old;

    ok(!KeAreApcsDisabled(), "a new system thread is in no critical or guarded region");
    ok(!KeAreAllApcsDisabled(), "a new system thread at PASSIVE_LEVEL has APCs enabled");

    KeEnterCriticalRegion();
    ok(KeAreApcsDisabled(), "KeAreApcsDisabled returns TRUE inside a critical region");
    ok(!KeAreAllApcsDisabled(),
       "a critical region leaves special kernel APCs enabled: KeAreAllApcsDisabled is FALSE");
    KeEnterCriticalRegion();
    KeLeaveCriticalRegion();
    ok(KeAreApcsDisabled(), "critical regions nest: still inside after one of two leaves");
    KeLeaveCriticalRegion();
    ok(!KeAreApcsDisabled(), "KeAreApcsDisabled returns FALSE after the last critical region");

    KeEnterGuardedRegion();
    ok(KeAreApcsDisabled(), "KeAreApcsDisabled returns TRUE inside a guarded region");
    ok(KeAreAllApcsDisabled(), "KeAreAllApcsDisabled returns TRUE inside a guarded region");
    KeEnterCriticalRegion();
    KeLeaveCriticalRegion();
    ok(KeAreAllApcsDisabled(), "a critical region inside a guarded region keeps it guarded");
    KeLeaveGuardedRegion();
    ok(!KeAreApcsDisabled(), "KeAreApcsDisabled returns FALSE after leaving the guarded region");
    ok(!KeAreAllApcsDisabled(), "KeAreAllApcsDisabled returns FALSE after the guarded region");

    KeEnterCriticalRegion();
    KeEnterGuardedRegion();
    KeLeaveGuardedRegion();
    ok(KeAreApcsDisabled(), "leaving a guarded region inside a critical region stays critical");
    ok(!KeAreAllApcsDisabled(), "...with special kernel APCs enabled again");
    KeLeaveCriticalRegion();

    KeRaiseIrql(APC_LEVEL, &old);
    ok(KeAreAllApcsDisabled(), "KeAreAllApcsDisabled returns TRUE at APC_LEVEL");
    ok(!KeAreApcsDisabled(), "raising to APC_LEVEL enters no critical or guarded region");
    KeLowerIrql(old);
    ok(!KeAreAllApcsDisabled(), "KeAreAllApcsDisabled returns FALSE back at PASSIVE_LEVEL");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    harness_join_thread(harness_start_thread(region_checks, NULL));
    return STATUS_SUCCESS;
}
