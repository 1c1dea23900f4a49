// Conformance: ERESOURCE (ExAcquireResourceSharedLite/ExclusiveLite, the
// starve/wait-for-exclusive variants, conversion, recursion counts, waiter
// counts, release for a thread).
// EXPECT-EXIT: 0
#include "harness.h"

#define SHARERS 4

static ERESOURCE g_res;
static KEVENT g_ready, g_go, g_acquired;
static volatile LONG g_ready_count;
static volatile LONG g_result;

/* Waits (bounded, no timing assertion) until a waiter count reaches n. */
static int wait_for_waiters(ULONG (*count)(PERESOURCE), ULONG n)
{
    LARGE_INTEGER ms = {.QuadPart = -10 * 1000};
    int i;
    for (i = 0; i < 10000; i++) {
        if (count(&g_res) == n)
            return 1;
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
    }
    return 0;
}

static ULONG NTAPI shared_waiters(PERESOURCE r)
{
    return ExGetSharedWaiterCount(r);
}

static ULONG NTAPI exclusive_waiters(PERESOURCE r)
{
    return ExGetExclusiveWaiterCount(r);
}

static void test_recursion(void)
{
    is_status(ExInitializeResourceLite(&g_res), STATUS_SUCCESS,
              "ExInitializeResourceLite returns STATUS_SUCCESS");
    KeEnterCriticalRegion();
    is_int(ExIsResourceAcquiredSharedLite(&g_res), 0, "a new resource is not acquired");
    ok(!ExIsResourceAcquiredExclusiveLite(&g_res), "a new resource is not owned exclusively");

    ok(ExAcquireResourceSharedLite(&g_res, TRUE), "shared acquire of a free resource");
    ok(ExAcquireResourceSharedLite(&g_res, FALSE),
       "a shared owner gets shared access again at once (recursion)");
    is_int(ExIsResourceAcquiredSharedLite(&g_res), 2,
           "ExIsResourceAcquiredSharedLite returns how many times the caller acquired it");
    ok(!ExIsResourceAcquiredExclusiveLite(&g_res), "shared access is not exclusive");
    ExReleaseResourceLite(&g_res);
    is_int(ExIsResourceAcquiredSharedLite(&g_res), 1, "each release undoes one acquire");
    ExReleaseResourceForThreadLite(&g_res, ExGetCurrentResourceThread());
    is_int(ExIsResourceAcquiredSharedLite(&g_res), 0,
           "ExReleaseResourceForThreadLite with the current thread releases it");

    ok(ExAcquireResourceExclusiveLite(&g_res, FALSE), "exclusive acquire of a free resource");
    ok(ExAcquireResourceExclusiveLite(&g_res, FALSE), "exclusive acquisition is recursive");
    ok(ExAcquireResourceSharedLite(&g_res, FALSE),
       "the exclusive owner is granted a shared request at once");
    ok(ExIsResourceAcquiredExclusiveLite(&g_res),
       "ExIsResourceAcquiredExclusiveLite is TRUE for the exclusive owner");
    ok(ExIsResourceAcquiredSharedLite(&g_res) != 0,
       "exclusive access implies shared access: ExIsResourceAcquiredSharedLite is nonzero");
    ExReleaseResourceLite(&g_res);
    ExReleaseResourceLite(&g_res);
    ok(ExIsResourceAcquiredExclusiveLite(&g_res),
       "the resource stays exclusive until the last recursive release");
    ExReleaseResourceLite(&g_res);
    ok(!ExIsResourceAcquiredExclusiveLite(&g_res), "the last release frees the resource");
    is_int(ExIsResourceAcquiredSharedLite(&g_res), 0, "nothing is held after the releases");
    KeLeaveCriticalRegion();
}

static VOID NTAPI sharer(PVOID ctx)
{
    KeEnterCriticalRegion();
    if (ExAcquireResourceSharedLite(&g_res, TRUE)) {
        if (InterlockedIncrement(&g_ready_count) == SHARERS)
            KeSetEvent(&g_ready, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(&g_go, Executive, KernelMode, FALSE, NULL);
        ExReleaseResourceLite(&g_res);
    }
    KeLeaveCriticalRegion();
}

static void test_many_sharers(void)
{
    PKTHREAD t[SHARERS];
    int i;

    KeInitializeEvent(&g_ready, NotificationEvent, FALSE);
    KeInitializeEvent(&g_go, NotificationEvent, FALSE);
    g_ready_count = 0;
    for (i = 0; i < SHARERS; i++)
        t[i] = harness_start_thread(sharer, NULL);
    is_status(KeWaitForSingleObject(&g_ready, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "all sharers signal that they hold the resource");
    is_int(g_ready_count, SHARERS, "many threads own a resource shared at the same time");
    KeEnterCriticalRegion();
    ok(!ExAcquireResourceExclusiveLite(&g_res, FALSE),
       "exclusive acquire with Wait FALSE fails while others own it shared");
    ok(ExAcquireResourceSharedLite(&g_res, FALSE),
       "one more thread joins the shared owners at once");
    ExReleaseResourceLite(&g_res);
    KeLeaveCriticalRegion();
    KeSetEvent(&g_go, IO_NO_INCREMENT, FALSE);
    for (i = 0; i < SHARERS; i++)
        harness_join_thread(t[i]);
}

/* ctx: 0 exclusive, 1 shared, 2 starve-exclusive, 3 wait-for-exclusive. Holds
   the resource until g_go, signalling g_acquired once it has it. */
static VOID NTAPI holder(PVOID ctx)
{
    BOOLEAN got;
    KeEnterCriticalRegion();
    switch ((ULONG_PTR)ctx) {
    case 0:
        got = ExAcquireResourceExclusiveLite(&g_res, TRUE);
        break;
    case 1:
        got = ExAcquireResourceSharedLite(&g_res, TRUE);
        break;
    case 2:
        got = ExAcquireSharedStarveExclusive(&g_res, TRUE);
        break;
    default:
        got = ExAcquireSharedWaitForExclusive(&g_res, TRUE);
        break;
    }
    ok(got, "an acquire with Wait TRUE returns TRUE");
    KeSetEvent(&g_acquired, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&g_go, Executive, KernelMode, FALSE, NULL);
    if (got)
        ExReleaseResourceLite(&g_res);
    KeLeaveCriticalRegion();
}

/* Try-acquires from a thread that does not own the resource: g_result gets
   one bit per acquire that succeeded (then released at once). */
static VOID NTAPI prober(PVOID ctx)
{
    LONG bits = 0;
    KeEnterCriticalRegion();
    if (ExAcquireResourceSharedLite(&g_res, FALSE)) {
        bits |= 1;
        ExReleaseResourceLite(&g_res);
    }
    if (ExAcquireSharedStarveExclusive(&g_res, FALSE)) {
        bits |= 2;
        ExReleaseResourceLite(&g_res);
    }
    if (ExAcquireSharedWaitForExclusive(&g_res, FALSE)) {
        bits |= 4;
        ExReleaseResourceLite(&g_res);
    }
    if (ExAcquireResourceExclusiveLite(&g_res, FALSE)) {
        bits |= 8;
        ExReleaseResourceLite(&g_res);
    }
    KeLeaveCriticalRegion();
    g_result = bits;
}

static LONG probe(void)
{
    g_result = -1;
    harness_join_thread(harness_start_thread(prober, NULL));
    return g_result;
}

static void test_exclusive_excludes(void)
{
    PKTHREAD t;

    KeInitializeEvent(&g_go, NotificationEvent, FALSE);
    KeInitializeEvent(&g_acquired, NotificationEvent, FALSE);
    t = harness_start_thread(holder, (PVOID)0);
    KeWaitForSingleObject(&g_acquired, Executive, KernelMode, FALSE, NULL);
    is_int(probe(), 0,
           "while a thread owns the resource exclusively, no other thread gets "
           "shared (any variant) or exclusive access with Wait FALSE");
    KeSetEvent(&g_go, IO_NO_INCREMENT, FALSE);
    harness_join_thread(t);
    is_int(probe(), 15, "once released, every kind of acquire succeeds at once");
}

static void test_starve_exclusive(void)
{
    PKTHREAD writer;

    /* This thread owns the resource shared, a writer waits for it. */
    KeEnterCriticalRegion();
    ok(ExAcquireResourceSharedLite(&g_res, TRUE), "shared acquire");
    KeInitializeEvent(&g_go, NotificationEvent, FALSE);
    KeInitializeEvent(&g_acquired, NotificationEvent, FALSE);
    writer = harness_start_thread(holder, (PVOID)0);
    ok(wait_for_waiters(exclusive_waiters, 1),
       "ExGetExclusiveWaiterCount counts the thread waiting for exclusive access");
    is_int(KeReadStateEvent(&g_acquired), 0, "the writer waits while the resource is shared");

    is_int(probe(), 2,
           "with an exclusive waiter, a new thread gets shared access only "
           "through ExAcquireSharedStarveExclusive");
    ok(ExAcquireResourceSharedLite(&g_res, FALSE),
       "a thread that already owns it shared gets it again despite the exclusive waiter");
    is_int(ExIsResourceAcquiredSharedLite(&g_res), 2, "recursive shared count");
    ExReleaseResourceLite(&g_res);
    ExReleaseResourceLite(&g_res);
    KeLeaveCriticalRegion();

    is_status(KeWaitForSingleObject(&g_acquired, Executive, KernelMode, FALSE, NULL),
              STATUS_SUCCESS, "the last shared release lets the exclusive waiter in");
    is_int(ExGetExclusiveWaiterCount(&g_res), 0, "no exclusive waiter is left");
    KeSetEvent(&g_go, IO_NO_INCREMENT, FALSE);
    harness_join_thread(writer);
}

static void test_convert(void)
{
    PKTHREAD reader;

    KeEnterCriticalRegion();
    ok(ExAcquireResourceExclusiveLite(&g_res, TRUE), "exclusive acquire");
    KeInitializeEvent(&g_go, NotificationEvent, FALSE);
    KeInitializeEvent(&g_acquired, NotificationEvent, FALSE);
    reader = harness_start_thread(holder, (PVOID)1);
    ok(wait_for_waiters(shared_waiters, 1),
       "ExGetSharedWaiterCount counts the thread waiting for shared access");
    ExConvertExclusiveToSharedLite(&g_res);
    ok(!ExIsResourceAcquiredExclusiveLite(&g_res),
       "after ExConvertExclusiveToSharedLite the caller no longer owns it exclusively");
    is_int(ExIsResourceAcquiredSharedLite(&g_res), 1, "... but owns it shared");
    is_status(KeWaitForSingleObject(&g_acquired, Executive, KernelMode, FALSE, NULL),
              STATUS_SUCCESS, "the conversion lets the waiting reader share the resource");
    is_int(ExGetSharedWaiterCount(&g_res), 0, "no shared waiter is left");
    ExReleaseResourceLite(&g_res);
    KeLeaveCriticalRegion();
    KeSetEvent(&g_go, IO_NO_INCREMENT, FALSE);
    harness_join_thread(reader);
}

static void test_enter_region_forms(void)
{
    ExEnterCriticalRegionAndAcquireResourceExclusive(&g_res);
    ok(KeAreApcsDisabled(), "ExEnterCriticalRegionAndAcquireResourceExclusive enters a "
                            "critical region");
    ok(ExIsResourceAcquiredExclusiveLite(&g_res), "... and owns the resource exclusively");
    ExReleaseResourceAndLeaveCriticalRegion(&g_res);
    ok(!KeAreApcsDisabled(), "ExReleaseResourceAndLeaveCriticalRegion leaves it");
    ExEnterCriticalRegionAndAcquireResourceShared(&g_res);
    is_int(ExIsResourceAcquiredSharedLite(&g_res), 1, "the shared form owns it shared");
    ExReleaseResourceAndLeaveCriticalRegion(&g_res);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_recursion();
    test_many_sharers();
    test_exclusive_excludes();
    test_starve_exclusive();
    test_convert();
    test_enter_region_forms();
    is_status(ExReinitializeResourceLite(&g_res), STATUS_SUCCESS,
              "ExReinitializeResourceLite returns STATUS_SUCCESS");
    is_status(ExDeleteResourceLite(&g_res), STATUS_SUCCESS,
              "ExDeleteResourceLite returns STATUS_SUCCESS");
    return STATUS_SUCCESS;
}
