// Conformance: KeWaitForMultipleObjects. WaitAny returns STATUS_WAIT_0 + the
// lowest signalled index; WaitAll takes every object or none; abandoned
// mutants give STATUS_ABANDONED_WAIT_0 + n; timeouts; more than
// THREAD_WAIT_OBJECTS objects with a WaitBlockArray, up to
// MAXIMUM_WAIT_OBJECTS; mutexes and semaphores in multi-object waits;
// KeWaitForMutexObject; ZwWaitForSingleObject/ZwWaitForMultipleObjects on
// handles.
// EXPECT-EXIT: 0
#include "harness.h"

static LARGE_INTEGER g_zero;
static KEVENT g_ev[3];
static KEVENT g_started;
static KMUTANT g_mutant;
static KMUTEX g_mutex;
static KSEMAPHORE g_sem;

static NTSTATUS wait_n(ULONG n, PVOID *objs, WAIT_TYPE type, PLARGE_INTEGER timeout)
{
    return KeWaitForMultipleObjects(n, objs, type, Executive, KernelMode, FALSE, timeout, NULL);
}

static void test_wait_any(void)
{
    PVOID objs[3] = {&g_ev[0], &g_ev[1], &g_ev[2]};

    for (int i = 0; i < 3; i++)
        KeInitializeEvent(&g_ev[i], SynchronizationEvent, FALSE);
    is_status(wait_n(3, objs, WaitAny, &g_zero), STATUS_TIMEOUT,
              "WaitAny, nothing signalled, zero timeout: STATUS_TIMEOUT");
    KeSetEvent(&g_ev[2], IO_NO_INCREMENT, FALSE);
    is_status(wait_n(3, objs, WaitAny, &g_zero), STATUS_WAIT_0 + 2,
              "WaitAny returns STATUS_WAIT_0 + the index of the signalled object");
    is_int(KeReadStateEvent(&g_ev[2]), 0, "the satisfying synchronization event was reset");
    KeSetEvent(&g_ev[1], IO_NO_INCREMENT, FALSE);
    KeSetEvent(&g_ev[2], IO_NO_INCREMENT, FALSE);
    is_status(wait_n(3, objs, WaitAny, &g_zero), STATUS_WAIT_0 + 1,
              "WaitAny with several signalled: the lowest index satisfies the wait");
    is_int(KeReadStateEvent(&g_ev[1]), 0, "only the object that satisfied the wait is consumed");
    is_int(KeReadStateEvent(&g_ev[2]), 1, "the other signalled object is left signalled");
    KeClearEvent(&g_ev[2]);
}

static VOID NTAPI set_both(PVOID ctx)
{
    KeWaitForSingleObject(&g_started, Executive, KernelMode, FALSE, NULL);
    KeSetEvent(&g_ev[0], IO_NO_INCREMENT, FALSE);
    KeSetEvent(&g_ev[1], IO_NO_INCREMENT, FALSE);
}

static void test_wait_all(void)
{
    PVOID objs[2] = {&g_ev[0], &g_ev[1]};
    LARGE_INTEGER ten_ms = {.QuadPart = -10 * 10000};
    PKTHREAD t;

    KeInitializeEvent(&g_ev[0], SynchronizationEvent, TRUE);
    KeInitializeEvent(&g_ev[1], SynchronizationEvent, FALSE);
    is_status(wait_n(2, objs, WaitAll, &g_zero), STATUS_TIMEOUT,
              "WaitAll with one of two signalled, zero timeout: STATUS_TIMEOUT");
    is_int(KeReadStateEvent(&g_ev[0]), 1,
           "WaitAll takes all or nothing: the signalled event is still signalled");
    is_status(wait_n(2, objs, WaitAll, &ten_ms), STATUS_TIMEOUT,
              "WaitAll, relative timeout, one object never signalled: STATUS_TIMEOUT");
    is_int(KeReadStateEvent(&g_ev[0]), 1, "still signalled after a timed-out WaitAll");
    KeSetEvent(&g_ev[1], IO_NO_INCREMENT, FALSE);
    is_status(wait_n(2, objs, WaitAll, &g_zero), STATUS_SUCCESS,
              "WaitAll with every object signalled: STATUS_SUCCESS");
    is_int(KeReadStateEvent(&g_ev[0]) + KeReadStateEvent(&g_ev[1]), 0,
           "a satisfied WaitAll consumes every synchronization event");

    KeInitializeEvent(&g_started, NotificationEvent, FALSE);
    t = harness_start_thread(set_both, NULL);
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    is_status(wait_n(2, objs, WaitAll, NULL), STATUS_SUCCESS,
              "a blocked WaitAll is satisfied once every object is signalled");
    is_int(KeReadStateEvent(&g_ev[0]) + KeReadStateEvent(&g_ev[1]), 0,
           "the blocked WaitAll consumed both events");
    harness_join_thread(t);
}

static VOID NTAPI own_and_exit(PVOID ctx)
{
    KeWaitForSingleObject(&g_mutant, Executive, KernelMode, FALSE, NULL);
}

static void test_abandoned(void)
{
    PVOID objs[2] = {&g_ev[0], &g_mutant};
    PKTHREAD t;

    KeInitializeEvent(&g_ev[0], NotificationEvent, FALSE);
    KeInitializeMutant(&g_mutant, FALSE);
    t = harness_start_thread(own_and_exit, NULL);
    harness_join_thread(t);
    is_status(wait_n(2, objs, WaitAny, &g_zero), STATUS_ABANDONED_WAIT_0 + 1,
              "WaitAny satisfied by an abandoned mutant: STATUS_ABANDONED_WAIT_0 + its index");
    is_int(KeReleaseMutant(&g_mutant, IO_NO_INCREMENT, FALSE, FALSE), 0,
           "the waiter owns the abandoned mutant and releases it");
}

static void test_mutex_and_semaphore(void)
{
    PVOID objs[3] = {&g_ev[0], &g_mutex, &g_sem};

    KeInitializeEvent(&g_ev[0], NotificationEvent, FALSE);
    KeInitializeMutex(&g_mutex, 0);
    KeInitializeSemaphore(&g_sem, 2, 2);
    is_status(KeWaitForMutexObject(&g_mutex, Executive, KernelMode, FALSE, &g_zero), STATUS_SUCCESS,
              "KeWaitForMutexObject acquires a free mutex");
    is_status(wait_n(3, objs, WaitAny, &g_zero), STATUS_WAIT_0 + 1,
              "a mutex the caller owns satisfies its WaitAny");
    KeSetEvent(&g_ev[0], IO_NO_INCREMENT, FALSE);
    is_status(wait_n(3, objs, WaitAll, &g_zero), STATUS_SUCCESS,
              "WaitAll over an event, an owned mutex and a semaphore");
    is_int(KeReadStateSemaphore(&g_sem), 1, "the WaitAll took one unit of the semaphore");
    /* Owned three times now: once by KeWaitForMutexObject, twice by the waits. */
    ok(KeReleaseMutex(&g_mutex, FALSE) != 0, "release 1 of 3");
    ok(KeReleaseMutex(&g_mutex, FALSE) != 0, "release 2 of 3");
    is_int(KeReleaseMutex(&g_mutex, FALSE), 0, "release 3 of 3 frees the mutex");
}

static void test_many(void)
{
    PKEVENT ev =
        ExAllocatePoolWithTag(NonPagedPool, MAXIMUM_WAIT_OBJECTS * sizeof(KEVENT), HARNESS_TAG);
    PKWAIT_BLOCK blocks = ExAllocatePoolWithTag(
        NonPagedPool, MAXIMUM_WAIT_OBJECTS * sizeof(KWAIT_BLOCK), HARNESS_TAG);
    PVOID objs[MAXIMUM_WAIT_OBJECTS];

    if (!ok(ev && blocks, "pool for 64 events and wait blocks")) {
        if (ev)
            ExFreePoolWithTag(ev, HARNESS_TAG);
        if (blocks)
            ExFreePoolWithTag(blocks, HARNESS_TAG);
        return;
    }
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++) {
        KeInitializeEvent(&ev[i], NotificationEvent, FALSE);
        objs[i] = &ev[i];
    }
    KeSetEvent(&ev[3], IO_NO_INCREMENT, FALSE);
    is_status(
        KeWaitForMultipleObjects(4, objs, WaitAny, Executive, KernelMode, FALSE, &g_zero, blocks),
        STATUS_WAIT_0 + 3, "4 objects (more than THREAD_WAIT_OBJECTS) with a WaitBlockArray");
    KeClearEvent(&ev[3]);
    is_status(KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, objs, WaitAny, Executive, KernelMode,
                                       FALSE, &g_zero, blocks),
              STATUS_TIMEOUT, "64 objects, none signalled: STATUS_TIMEOUT");
    KeSetEvent(&ev[63], IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, objs, WaitAny, Executive, KernelMode,
                                       FALSE, NULL, blocks),
              STATUS_WAIT_0 + 63, "64 objects, WaitAny: STATUS_WAIT_63");
    is_status(KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, objs, WaitAll, Executive, KernelMode,
                                       FALSE, &g_zero, blocks),
              STATUS_TIMEOUT, "64 objects, WaitAll, one signalled: STATUS_TIMEOUT");
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        KeSetEvent(&ev[i], IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, objs, WaitAll, Executive, KernelMode,
                                       FALSE, NULL, blocks),
              STATUS_SUCCESS, "64 objects, WaitAll, all signalled: STATUS_SUCCESS");
    ExFreePoolWithTag(blocks, HARNESS_TAG);
    ExFreePoolWithTag(ev, HARNESS_TAG);
}

/* OBJECT_WAIT_TYPE of ZwWaitForMultipleObjects: WaitAllObject 0, WaitAnyObject 1. */
#define KM_WAIT_ALL_OBJECT ((WAIT_TYPE)0)
#define KM_WAIT_ANY_OBJECT ((WAIT_TYPE)1)

static void test_handles(void)
{
    HANDLE h[2] = {NULL, NULL};
    NTSTATUS st;

    st = ZwCreateEvent(&h[0], EVENT_ALL_ACCESS, NULL, SynchronizationEvent, FALSE);
    is_status(st, STATUS_SUCCESS, "ZwCreateEvent 0");
    st = ZwCreateEvent(&h[1], EVENT_ALL_ACCESS, NULL, SynchronizationEvent, TRUE);
    is_status(st, STATUS_SUCCESS, "ZwCreateEvent 1");
    if (!h[0] || !h[1])
        goto out;
    is_status(ZwWaitForSingleObject(h[0], FALSE, &g_zero), STATUS_TIMEOUT,
              "ZwWaitForSingleObject on a not-signalled event: STATUS_TIMEOUT");
    is_status(ZwWaitForMultipleObjects(2, h, KM_WAIT_ALL_OBJECT, FALSE, &g_zero), STATUS_TIMEOUT,
              "ZwWaitForMultipleObjects WaitAllObject, one of two signalled: STATUS_TIMEOUT");
    is_status(ZwWaitForMultipleObjects(2, h, KM_WAIT_ANY_OBJECT, FALSE, &g_zero), STATUS_WAIT_0 + 1,
              "ZwWaitForMultipleObjects WaitAnyObject: STATUS_WAIT_0 + 1");
    is_status(ZwWaitForMultipleObjects(2, h, KM_WAIT_ANY_OBJECT, FALSE, &g_zero), STATUS_TIMEOUT,
              "the satisfied synchronization event was consumed");
    ZwSetEvent(h[0], NULL);
    ZwSetEvent(h[1], NULL);
    is_status(ZwWaitForMultipleObjects(2, h, KM_WAIT_ALL_OBJECT, FALSE, NULL), STATUS_SUCCESS,
              "ZwWaitForMultipleObjects WaitAllObject, both signalled");
    is_status(ZwWaitForSingleObject(h[1], FALSE, &g_zero), STATUS_TIMEOUT,
              "WaitAllObject consumed the events");
out:
    for (int i = 0; i < 2; i++)
        if (h[i])
            ZwClose(h[i]);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    DriverObject->DriverUnload = DriverUnload;
    test_wait_any();
    test_wait_all();
    test_abandoned();
    test_mutex_and_semaphore();
    test_many();
    test_handles();
    return STATUS_SUCCESS;
}
