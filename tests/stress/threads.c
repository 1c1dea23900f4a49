// Stress: system threads created and ended in batches, a batch all alive at
// once (STRESS_THREADS_ALIVE), STRESS_THREADS_TOTAL in all. Each thread
// proves it ran, waits at a gate until its whole batch is alive, and ends by
// returning or by PsTerminateSystemThread (every other one). A batch is
// waited for through its handles, which are then closed: at unload the
// verifier finds no thread and no handle left.
// KMHOST-ARGS: --verifier=default,handles
// EXPECT-EXIT: 0
#include "stress.h"

static KEVENT g_gate;
static volatile LONG g_alive, g_ran, g_max_alive;
static HANDLE g_handles[STRESS_THREADS_ALIVE];

static VOID NTAPI worker(PVOID Context)
{
    LONG now = InterlockedIncrement(&g_alive);
    LONG seen;
    while ((seen = g_max_alive) < now &&
           InterlockedCompareExchange(&g_max_alive, now, seen) != seen)
        ;
    InterlockedIncrement(&g_ran);
    KeWaitForSingleObject(&g_gate, Executive, KernelMode, FALSE, NULL);
    InterlockedDecrement(&g_alive);
    if ((ULONG_PTR)Context & 1)
        PsTerminateSystemThread(STATUS_SUCCESS);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = harness_unload;
    KeInitializeEvent(&g_gate, NotificationEvent, FALSE);
    ULONG created = 0, failed = 0;
    for (ULONG batch = 0; batch < STRESS_THREADS_TOTAL / STRESS_THREADS_ALIVE; batch++) {
        ULONG n = 0;
        KeClearEvent(&g_gate);
        for (; n < STRESS_THREADS_ALIVE; n++) {
            NTSTATUS st = PsCreateSystemThread(&g_handles[n], THREAD_ALL_ACCESS, NULL, NULL, NULL,
                                               worker, (PVOID)(ULONG_PTR)(created + n));
            if (!NT_SUCCESS(st)) {
                failed++;
                break;
            }
        }
        created += n;
        /* The whole batch is alive at the gate before it opens. */
        LARGE_INTEGER poll = {.QuadPart = -10000}; /* 1 ms */
        while (g_alive < (LONG)n)
            KeDelayExecutionThread(KernelMode, FALSE, &poll);
        KeSetEvent(&g_gate, IO_NO_INCREMENT, FALSE);
        for (ULONG i = 0; i < n; i++) {
            NTSTATUS st = ZwWaitForSingleObject(g_handles[i], FALSE, NULL);
            if (st != STATUS_SUCCESS)
                is_status(st, STATUS_SUCCESS, "waiting for a thread to end");
            ZwClose(g_handles[i]);
        }
    }
    is_status(failed ? STATUS_INSUFFICIENT_RESOURCES : STATUS_SUCCESS, STATUS_SUCCESS,
              "every PsCreateSystemThread succeeded");
    ok(created == STRESS_THREADS_TOTAL, "%lu threads created, expected %d", created,
       STRESS_THREADS_TOTAL);
    ok(g_ran == (LONG)created, "every thread ran (%ld of %lu)", g_ran, created);
    ok(g_alive == 0, "no thread is left alive (%ld)", g_alive);
    ok(g_max_alive == STRESS_THREADS_ALIVE, "a whole batch was alive at once (%ld, expected %d)",
       g_max_alive, STRESS_THREADS_ALIVE);
    DbgPrint("stress_threads: %lu threads, %ld alive at once\n", created, g_max_alive);
    return STATUS_SUCCESS;
}
