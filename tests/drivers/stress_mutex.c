// Stress: 8 system threads x 20000 iterations on one kernel mutex, each
// acquiring it twice (recursively). Mutual exclusion is checked with an
// interlocked "inside" count that must be exactly 1 inside the mutex, and a
// plain counter that must not lose an increment.
// EXPECT-EXIT: 0
#include "harness.h"

#define THREADS 8
#define ITERATIONS 20000

static KMUTEX g_mutex;
static volatile LONG g_inside;
static volatile LONG g_counter; /* only ever changed inside the mutex */

static VOID NTAPI hammer(PVOID ctx)
{
    LONG bad_inside = 0, bad_status = 0, bad_release = 0;

    for (int i = 0; i < ITERATIONS; i++) {
        if (KeWaitForSingleObject(&g_mutex, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS)
            bad_status++;
        if (KeWaitForMutexObject(&g_mutex, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS)
            bad_status++;
        if (InterlockedIncrement(&g_inside) != 1)
            bad_inside++;
        g_counter = g_counter + 1;
        InterlockedDecrement(&g_inside);
        if (KeReleaseMutex(&g_mutex, FALSE) == 0)
            bad_release++; /* the first of two releases leaves it owned */
        if (KeReleaseMutex(&g_mutex, FALSE) != 0)
            bad_release++;
    }
    is_int(bad_status, 0, "every acquisition of the mutex returns STATUS_SUCCESS");
    is_int(bad_inside, 0, "never more than one thread inside the mutex");
    is_int(bad_release, 0, "recursive releases: only the last one makes the mutex signalled");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PKTHREAD t[THREADS];

    DriverObject->DriverUnload = DriverUnload;
    KeInitializeMutex(&g_mutex, 0);
    for (int i = 0; i < THREADS; i++)
        t[i] = harness_start_thread(hammer, NULL);
    for (int i = 0; i < THREADS; i++)
        harness_join_thread(t[i]);
    is_int(g_counter, THREADS * ITERATIONS, "no increment made inside the mutex was lost");
    is_int(KeReadStateMutex(&g_mutex), 1, "the mutex is free at the end");
    return STATUS_SUCCESS;
}
