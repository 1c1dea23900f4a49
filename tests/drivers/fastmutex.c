// Conformance: fast mutexes (ExAcquireFastMutex raises to APC_LEVEL, the
// Unsafe forms keep the IRQL, ExTryToAcquireFastMutex, mutual exclusion) and
// guarded mutexes.
// EXPECT-EXIT: 0
#include "harness.h"

#define THREADS 4
#define ROUNDS 2000

static FAST_MUTEX g_fm;
static KGUARDED_MUTEX g_gm;
static KEVENT g_held, g_release;
static volatile LONG g_inside, g_overlap, g_counter;
static LONG g_plain_counter;
static volatile BOOLEAN g_try_result;

static void test_irql(void)
{
    KIRQL irql;

    ExInitializeFastMutex(&g_fm);
    ok(KeGetCurrentIrql() == PASSIVE_LEVEL, "DriverEntry runs at PASSIVE_LEVEL");
    ExAcquireFastMutex(&g_fm);
    is_int(KeGetCurrentIrql(), APC_LEVEL, "ExAcquireFastMutex raises the IRQL to APC_LEVEL");
    ExReleaseFastMutex(&g_fm);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL,
           "ExReleaseFastMutex restores the IRQL from before the acquire");

    ok(ExTryToAcquireFastMutex(&g_fm), "ExTryToAcquireFastMutex on a free mutex returns TRUE");
    is_int(KeGetCurrentIrql(), APC_LEVEL, "a successful try-acquire raises to APC_LEVEL");
    ExReleaseFastMutex(&g_fm);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "the release after a try-acquire restores IRQL");

    KeRaiseIrql(APC_LEVEL, &irql);
    ExAcquireFastMutexUnsafe(&g_fm);
    is_int(KeGetCurrentIrql(), APC_LEVEL, "ExAcquireFastMutexUnsafe leaves the IRQL unchanged");
    ExReleaseFastMutexUnsafe(&g_fm);
    is_int(KeGetCurrentIrql(), APC_LEVEL, "ExReleaseFastMutexUnsafe leaves the IRQL unchanged");
    KeLowerIrql(irql);

    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&g_fm);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL,
           "inside a critical region the Unsafe acquire stays at PASSIVE_LEVEL");
    ExReleaseFastMutexUnsafe(&g_fm);
    KeLeaveCriticalRegion();
}

static VOID NTAPI holder(PVOID ctx)
{
    ExAcquireFastMutex(&g_fm);
    KeSetEvent(&g_held, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
    ExReleaseFastMutex(&g_fm);
}

static VOID NTAPI try_from_other_thread(PVOID ctx)
{
    g_try_result = ExTryToAcquireFastMutex(&g_fm);
    if (g_try_result)
        ExReleaseFastMutex(&g_fm);
}

static void test_try_while_held(void)
{
    PKTHREAD t, t2;

    KeInitializeEvent(&g_held, NotificationEvent, FALSE);
    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    t = harness_start_thread(holder, NULL);
    KeWaitForSingleObject(&g_held, Executive, KernelMode, FALSE, NULL);
    ok(!ExTryToAcquireFastMutex(&g_fm),
       "ExTryToAcquireFastMutex returns FALSE while another thread holds the mutex");
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "a failed try-acquire leaves the IRQL unchanged");
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    harness_join_thread(t);

    g_try_result = FALSE;
    t2 = harness_start_thread(try_from_other_thread, NULL);
    harness_join_thread(t2);
    ok(g_try_result, "ExTryToAcquireFastMutex succeeds once the holder released the mutex");
}

static void critical_section(void)
{
    if (InterlockedIncrement(&g_inside) != 1)
        InterlockedIncrement(&g_overlap);
    g_plain_counter++; /* not interlocked: only correct under mutual exclusion */
    InterlockedDecrement(&g_inside);
}

static VOID NTAPI fm_worker(PVOID ctx)
{
    int i;
    for (i = 0; i < ROUNDS; i++) {
        ExAcquireFastMutex(&g_fm);
        if (KeGetCurrentIrql() != APC_LEVEL)
            InterlockedIncrement(&g_overlap);
        critical_section();
        ExReleaseFastMutex(&g_fm);
    }
}

static VOID NTAPI gm_worker(PVOID ctx)
{
    int i;
    for (i = 0; i < ROUNDS; i++) {
        if ((i & 7) == 0) {
            while (!KeTryToAcquireGuardedMutex(&g_gm))
                ;
        } else {
            KeAcquireGuardedMutex(&g_gm);
        }
        critical_section();
        KeReleaseGuardedMutex(&g_gm);
    }
}

static void run_threads(PKSTART_ROUTINE routine)
{
    PKTHREAD t[THREADS];
    int i;
    g_overlap = 0;
    g_plain_counter = 0;
    for (i = 0; i < THREADS; i++)
        t[i] = harness_start_thread(routine, NULL);
    for (i = 0; i < THREADS; i++)
        harness_join_thread(t[i]);
}

static void test_exclusion(void)
{
    ExInitializeFastMutex(&g_fm);
    run_threads(fm_worker);
    is_int(g_overlap, 0, "a fast mutex admits one thread at a time, at APC_LEVEL");
    is_int(g_plain_counter, THREADS * ROUNDS, "no increment under the fast mutex was lost");

    KeInitializeGuardedMutex(&g_gm);
    run_threads(gm_worker);
    is_int(g_overlap, 0, "a guarded mutex admits one thread at a time");
    is_int(g_plain_counter, THREADS * ROUNDS, "no increment under the guarded mutex was lost");
}

static void test_guarded(void)
{
    BOOLEAN got;

    KeInitializeGuardedMutex(&g_gm);
    ok(!KeAreApcsDisabled(), "no APCs are disabled before the guarded mutex is taken");
    KeAcquireGuardedMutex(&g_gm);
    ok(KeAreApcsDisabled(), "KeAcquireGuardedMutex enters a guarded region");
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "a guarded mutex does not raise the IRQL");
    got = KeTryToAcquireGuardedMutex(&g_gm);
    ok(!got, "KeTryToAcquireGuardedMutex on a held guarded mutex returns FALSE");
    if (got)
        KeReleaseGuardedMutex(&g_gm);
    KeReleaseGuardedMutex(&g_gm);
    ok(!KeAreApcsDisabled(), "KeReleaseGuardedMutex leaves the guarded region");

    KeEnterGuardedRegion();
    KeAcquireGuardedMutexUnsafe(&g_gm);
    KeReleaseGuardedMutexUnsafe(&g_gm);
    ok(KeAreApcsDisabled(), "the Unsafe forms do not leave the caller's guarded region");
    KeLeaveGuardedRegion();
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_irql();
    test_try_while_held();
    test_exclusion();
    test_guarded();
    return STATUS_SUCCESS;
}
