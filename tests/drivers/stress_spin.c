// Stress: 8 system threads each add 1 to one counter 100000 times under one
// KSPIN_LOCK taken with KeAcquireSpinLock; the total must be exact.
// EXPECT-EXIT: 0
#include "harness.h"

#define THREADS 8
#define ROUNDS 100000

static KSPIN_LOCK g_lock;
static volatile LONG g_counter;
static volatile LONG g_bad_irql;

static VOID NTAPI worker(PVOID ctx)
{
    KIRQL old;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        KeAcquireSpinLock(&g_lock, &old);
        /* A plain read-modify-write: only mutual exclusion keeps it exact. */
        g_counter = g_counter + 1;
        KeReleaseSpinLock(&g_lock, old);
        if (old != PASSIVE_LEVEL)
            InterlockedIncrement(&g_bad_irql);
    }
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    PKTHREAD t[THREADS];
    int i;

    driver->DriverUnload = DriverUnload;
    KeInitializeSpinLock(&g_lock);
    for (i = 0; i < THREADS; i++)
        t[i] = harness_start_thread(worker, NULL);
    for (i = 0; i < THREADS; i++)
        harness_join_thread(t[i]);
    is_int(g_counter, THREADS * ROUNDS,
           "a spin lock excludes: 8 x 100000 increments under it are all counted");
    is_int(g_bad_irql, 0, "KeAcquireSpinLock in a system thread returns PASSIVE_LEVEL");
    ok(KeTestSpinLock(&g_lock), "the spin lock is free after the last release");
    return STATUS_SUCCESS;
}
