// Stress: waits and signals across the dispatcher object kinds, counted so
// that a lost or doubled wake shows. Event ping-pong between two threads
// (synchronization events: each set releases exactly one wait); a semaphore
// producer and consumer (every released count is taken once); four threads
// that increment an unprotected counter under a KMUTEX (mutual exclusion:
// the total is exact) and wait on a mutex+event pair with WaitAll; a periodic
// timer waited on; threads waited on as objects. Sizes: stress.h.
// EXPECT-EXIT: 0
#include "stress.h"

static KEVENT g_ping, g_pong;
static KSEMAPHORE g_items, g_room;
static KMUTEX g_mutex;
static KEVENT g_always; /* notification, set: part of the WaitAll */
static volatile LONG g_consumed, g_pong_count;
static LONG g_counter; /* only under g_mutex */

static VOID NTAPI pong_thread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (ULONG i = 0; i < STRESS_PINGPONG; i++) {
        KeWaitForSingleObject(&g_ping, Executive, KernelMode, FALSE, NULL);
        g_pong_count++;
        KeSetEvent(&g_pong, IO_NO_INCREMENT, FALSE);
    }
}

static VOID NTAPI consumer_thread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (ULONG i = 0; i < STRESS_SEMAPHORE_ITEMS; i++) {
        KeWaitForSingleObject(&g_items, Executive, KernelMode, FALSE, NULL);
        InterlockedIncrement(&g_consumed);
        KeReleaseSemaphore(&g_room, IO_NO_INCREMENT, 1, FALSE);
    }
}

static VOID NTAPI mutex_thread(PVOID Context)
{
    PVOID both[2] = {&g_mutex, &g_always};
    KWAIT_BLOCK blocks[2];
    for (ULONG i = 0; i < STRESS_MUTEX_ROUNDS; i++) {
        NTSTATUS st;
        if ((i + (ULONG_PTR)Context) & 1)
            st = KeWaitForSingleObject(&g_mutex, Executive, KernelMode, FALSE, NULL);
        else
            st = KeWaitForMultipleObjects(2, both, WaitAll, Executive, KernelMode, FALSE, NULL,
                                          blocks);
        if (st != STATUS_SUCCESS) {
            is_status(st, STATUS_SUCCESS, "acquiring the mutex");
            return;
        }
        g_counter++;
        KeReleaseMutex(&g_mutex, FALSE);
    }
}

static HANDLE start(PKSTART_ROUTINE Routine, PVOID Context)
{
    HANDLE h = NULL;
    NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, Routine, Context);
    is_status(st, STATUS_SUCCESS, "PsCreateSystemThread");
    return NT_SUCCESS(st) ? h : NULL;
}

static void join(HANDLE h)
{
    if (h) {
        is_status(ZwWaitForSingleObject(h, FALSE, NULL), STATUS_SUCCESS, "a thread is waited on");
        ZwClose(h);
    }
}

static void test_pingpong(void)
{
    KeInitializeEvent(&g_ping, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_pong, SynchronizationEvent, FALSE);
    HANDLE t = start(pong_thread, NULL);
    if (!t)
        return;
    ULONG bad = 0;
    for (ULONG i = 0; i < STRESS_PINGPONG; i++) {
        KeSetEvent(&g_ping, IO_NO_INCREMENT, FALSE);
        if (KeWaitForSingleObject(&g_pong, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS)
            bad++;
        if (g_pong_count != (LONG)i + 1)
            bad++;
    }
    join(t);
    ok(bad == 0, "event ping-pong: each set released exactly one wait (%lu errors)", bad);
}

static void test_semaphore(void)
{
    KeInitializeSemaphore(&g_items, 0, MAXLONG);
    KeInitializeSemaphore(&g_room, 64, 64);
    HANDLE t = start(consumer_thread, NULL);
    if (!t)
        return;
    for (ULONG i = 0; i < STRESS_SEMAPHORE_ITEMS; i++) {
        KeWaitForSingleObject(&g_room, Executive, KernelMode, FALSE, NULL);
        KeReleaseSemaphore(&g_items, IO_NO_INCREMENT, 1, FALSE);
    }
    join(t);
    ok(g_consumed == STRESS_SEMAPHORE_ITEMS, "every released count was taken once (%ld of %d)",
       g_consumed, STRESS_SEMAPHORE_ITEMS);
    ok(KeReadStateSemaphore(&g_items) == 0, "no count is left (%ld)",
       KeReadStateSemaphore(&g_items));
    ok(KeReadStateSemaphore(&g_room) == 64, "the room is all back (%ld)",
       KeReadStateSemaphore(&g_room));
}

static void test_mutex(void)
{
    KeInitializeMutex(&g_mutex, 0);
    KeInitializeEvent(&g_always, NotificationEvent, TRUE);
    HANDLE t[4];
    for (ULONG i = 0; i < 4; i++)
        t[i] = start(mutex_thread, (PVOID)(ULONG_PTR)i);
    for (ULONG i = 0; i < 4; i++)
        join(t[i]);
    ok(g_counter == 4 * STRESS_MUTEX_ROUNDS, "the mutex excluded (%ld, expected %d)", g_counter,
       4 * STRESS_MUTEX_ROUNDS);
    ok(KeReadStateMutex(&g_mutex) == 1, "the mutex is free at the end");
}

static void test_timer(void)
{
    KTIMER timer;
    KeInitializeTimerEx(&timer, SynchronizationTimer);
    LARGE_INTEGER due = {.QuadPart = -10000}; /* 1 ms, then every ms */
    KeSetTimerEx(&timer, due, 1, NULL);
    ULONG fired = 0;
    for (ULONG i = 0; i < 200; i++)
        fired +=
            KeWaitForSingleObject(&timer, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS;
    KeCancelTimer(&timer);
    ok(fired == 200, "a periodic timer satisfied every wait (%lu of 200)", fired);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = harness_unload;
    test_pingpong();
    test_semaphore();
    test_mutex();
    test_timer();
    DbgPrint("stress_waits: %d round trips, %d items, %d mutex rounds\n", STRESS_PINGPONG,
             STRESS_SEMAPHORE_ITEMS, 4 * STRESS_MUTEX_ROUNDS);
    return STATUS_SUCCESS;
}
