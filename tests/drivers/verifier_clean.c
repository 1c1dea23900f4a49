// The correct counterparts of the buggy drivers in tests/verifier: run with
// every verifier check on (deadlock detection, handle checks and special
// pool included), none may fire. Each test is what Windows documents as
// allowed, so it passes on Windows with Driver Verifier too.
// KMHOST-ARGS: --verifier=all
// EXPECT-EXIT: 0
#include "harness.h"

static KEVENT g_event;
static KMUTEX g_a, g_b;

static const LARGE_INTEGER zero_timeout = {.QuadPart = 0};

static VOID NTAPI worker(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
}

/* Handles closed, references dropped: nothing is left at unload. */
static void test_thread_lifetime(void)
{
    HANDLE h;
    PVOID object;
    NTSTATUS st;

    st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, worker, NULL);
    if (!is_status(st, STATUS_SUCCESS, "PsCreateSystemThread at PASSIVE_LEVEL"))
        return;
    st = ObReferenceObjectByHandle(h, SYNCHRONIZE, KM_PsThreadType, KernelMode, &object, NULL);
    is_status(st, STATUS_SUCCESS, "ObReferenceObjectByHandle at PASSIVE_LEVEL");
    is_status(ZwClose(h), STATUS_SUCCESS, "ZwClose at PASSIVE_LEVEL");
    if (!NT_SUCCESS(st))
        return;
    is_status(KeWaitForSingleObject(object, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "wait for the thread object");
    ObReferenceObject(object);
    ObDereferenceObject(object);
    ObDereferenceObject(object);
}

static void test_event_object(void)
{
    HANDLE h;
    PVOID object;
    NTSTATUS st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    if (!is_status(st, STATUS_SUCCESS, "ZwCreateEvent"))
        return;
    st = ObReferenceObjectByHandle(h, SYNCHRONIZE, NULL, KernelMode, &object, NULL);
    is_status(st, STATUS_SUCCESS, "reference the event by handle");
    is_status(ZwClose(h), STATUS_SUCCESS, "close the event handle");
    if (NT_SUCCESS(st))
        ObDereferenceObject(object); /* the last reference: deleted, no more use */
}

static void test_pool(void)
{
    PVOID p = ExAllocatePoolWithTag(NonPagedPool, 100, HARNESS_TAG);
    ok(p != NULL, "allocate 100 bytes");
    if (p) {
        RtlFillMemory(p, 100, 0x5a);
        ExFreePoolWithTag(p, HARNESS_TAG);
    }
    p = ExAllocatePoolWithTag(NonPagedPool, 3 * PAGE_SIZE, HARNESS_TAG);
    ok(p != NULL && ((ULONG_PTR)p & (PAGE_SIZE - 1)) == 0,
       "a request of PAGE_SIZE or more is page-aligned");
    if (p) {
        RtlFillMemory(p, 3 * PAGE_SIZE, 0xa5);
        ExFreePoolWithTag(p, HARNESS_TAG);
    }
}

/* Documented: at DISPATCH_LEVEL a wait is allowed with a zero timeout, and
   KeSetEvent is allowed up to DISPATCH_LEVEL. */
static void test_dispatch_level(void)
{
    LARGE_INTEGER t = zero_timeout;
    KIRQL old;

    KeInitializeEvent(&g_event, NotificationEvent, FALSE);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    is_status(KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT,
              "a zero-timeout wait at DISPATCH_LEVEL tests the event");
    KeSetEvent(&g_event, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(&g_event, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS,
              "KeSetEvent at DISPATCH_LEVEL signals it");
    KeLowerIrql(old);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "back at PASSIVE_LEVEL");
}

/* KfRaiseIrql/KfLowerIrql through their exports, in the right direction. */
static void test_raise_lower_exports(void)
{
    UNICODE_STRING name;
    KIRQL(NTAPI * raise)(KIRQL);
    VOID(NTAPI * lower)(KIRQL);
    KIRQL old;

    RtlInitUnicodeString(&name, L"KfRaiseIrql");
    raise = (KIRQL(NTAPI *)(KIRQL))MmGetSystemRoutineAddress(&name);
    RtlInitUnicodeString(&name, L"KfLowerIrql");
    lower = (VOID(NTAPI *)(KIRQL))MmGetSystemRoutineAddress(&name);
    if (!ok(raise && lower, "KfRaiseIrql and KfLowerIrql are exported"))
        return;
    old = raise(APC_LEVEL);
    is_int(raise(DISPATCH_LEVEL), APC_LEVEL, "raise APC_LEVEL -> DISPATCH_LEVEL");
    raise(DISPATCH_LEVEL); /* raising to the current level is allowed */
    lower(APC_LEVEL);
    lower(old);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "lowered back to PASSIVE_LEVEL");
}

/* A UserMode wait is fine on an object in nonpaged pool. */
static void test_usermode_wait_on_pool(void)
{
    LARGE_INTEGER t = zero_timeout;
    PKEVENT e = ExAllocatePoolWithTag(NonPagedPool, sizeof(KEVENT), HARNESS_TAG);
    if (!ok(e != NULL, "allocate a KEVENT"))
        return;
    KeInitializeEvent(e, NotificationEvent, TRUE);
    is_status(KeWaitForSingleObject(e, Executive, UserMode, FALSE, &t), STATUS_SUCCESS,
              "UserMode wait on an event in pool");
    /* Re-initialising an event nobody waits on is allowed. */
    KeInitializeEvent(e, SynchronizationEvent, FALSE);
    ExFreePoolWithTag(e, HARNESS_TAG);
}

static void lock_both(PKMUTEX first, PKMUTEX second)
{
    KeWaitForSingleObject(first, Executive, KernelMode, FALSE, NULL);
    KeWaitForSingleObject(second, Executive, KernelMode, FALSE, NULL);
    KeReleaseMutex(second, FALSE);
    KeReleaseMutex(first, FALSE);
}

static VOID NTAPI ordered_locker(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    for (int i = 0; i < 100; i++)
        lock_both(&g_a, &g_b);
}

/* Two threads take the same two mutexes, always in the same order; a
   recursive acquisition adds no order. */
static void test_lock_order(void)
{
    PKTHREAD t;

    KeInitializeMutex(&g_a, 0);
    KeInitializeMutex(&g_b, 0);
    t = harness_start_thread(ordered_locker, NULL);
    for (int i = 0; i < 100; i++)
        lock_both(&g_a, &g_b);
    harness_join_thread(t);
    KeWaitForSingleObject(&g_a, Executive, KernelMode, FALSE, NULL);
    KeWaitForSingleObject(&g_a, Executive, KernelMode, FALSE, NULL);
    is_int(KeReleaseMutex(&g_a, FALSE), -1, "recursive mutex: first release");
    is_int(KeReleaseMutex(&g_a, FALSE), 0, "recursive mutex: second release frees it");
}

static VOID NTAPI mutex_user(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    KeWaitForSingleObject(&g_a, Executive, KernelMode, FALSE, NULL);
    KeReleaseMutex(&g_a, FALSE);
}

/* A thread that releases its mutex before it returns. */
static void test_thread_releases_mutex(void)
{
    harness_join_thread(harness_start_thread(mutex_user, NULL));
    ok(KeReadStateMutex(&g_a) == 1, "the mutex is free after the thread ended");
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    test_thread_lifetime();
    test_event_object();
    test_pool();
    test_dispatch_level();
    test_raise_lower_exports();
    test_usermode_wait_on_pool();
    test_lock_order();
    test_thread_releases_mutex();
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
