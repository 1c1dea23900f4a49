// Conformance: semaphores. KeInitializeSemaphore, KeReleaseSemaphore (the
// previous count, waiters released up to the new count), KeReadStateSemaphore;
// and by handle (Zw/NtCreateSemaphore, ZwOpenSemaphore, ZwReleaseSemaphore
// returning STATUS_SEMAPHORE_LIMIT_EXCEEDED), looked up with
// MmGetSystemRoutineAddress since not every ntoskrnl exports them.
// EXPECT-EXIT: 0
#include "harness.h"

#ifndef SEMAPHORE_ALL_ACCESS
#define SEMAPHORE_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3)
#endif

typedef NTSTATUS NTAPI CREATE_SEMAPHORE(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES, LONG, LONG);
typedef NTSTATUS NTAPI OPEN_SEMAPHORE(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES);
typedef NTSTATUS NTAPI RELEASE_SEMAPHORE(HANDLE, LONG, PLONG);

static LARGE_INTEGER g_zero;
static KSEMAPHORE g_sem, g_acquired;
static KEVENT g_go;

static void test_counts(void)
{
    KeInitializeSemaphore(&g_sem, 0, 3);
    is_int(KeReadStateSemaphore(&g_sem), 0, "KeInitializeSemaphore sets the count");
    is_status(KeWaitForSingleObject(&g_sem, Executive, KernelMode, FALSE, &g_zero), STATUS_TIMEOUT,
              "a semaphore with count zero is not signalled");
    is_int(KeReleaseSemaphore(&g_sem, IO_NO_INCREMENT, 2, FALSE), 0,
           "KeReleaseSemaphore returns the previous count (zero: it was not signalled)");
    is_int(KeReadStateSemaphore(&g_sem), 2, "the count rises by Adjustment");
    is_status(KeWaitForSingleObject(&g_sem, Executive, KernelMode, FALSE, &g_zero), STATUS_SUCCESS,
              "a semaphore with a positive count is signalled");
    is_int(KeReadStateSemaphore(&g_sem), 1, "a satisfied wait takes one from the count");
    is_int(KeReleaseSemaphore(&g_sem, IO_NO_INCREMENT, 2, FALSE), 1, "the previous count, nonzero");
    is_int(KeReadStateSemaphore(&g_sem), 3, "the count may reach the limit exactly");
    for (int i = 0; i < 3; i++)
        is_status(KeWaitForSingleObject(&g_sem, Executive, KernelMode, FALSE, &g_zero),
                  STATUS_SUCCESS, "one wait satisfied per unit of count");
    is_status(KeWaitForSingleObject(&g_sem, Executive, KernelMode, FALSE, &g_zero), STATUS_TIMEOUT,
              "count exhausted");

    KeInitializeSemaphore(&g_sem, 2, 2);
    is_int(KeReadStateSemaphore(&g_sem), 2, "Count may equal Limit");
}

static VOID NTAPI take_one(PVOID ctx)
{
    is_status(KeWaitForSingleObject(&g_sem, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "a blocked waiter is released by KeReleaseSemaphore");
    KeReleaseSemaphore(&g_acquired, IO_NO_INCREMENT, 1, FALSE);
    KeWaitForSingleObject(&g_go, Executive, KernelMode, FALSE, NULL);
}

static void test_waiters(void)
{
    PKTHREAD t[3];

    KeInitializeSemaphore(&g_sem, 0, 10);
    KeInitializeSemaphore(&g_acquired, 0, 10);
    KeInitializeEvent(&g_go, NotificationEvent, FALSE);
    for (int i = 0; i < 3; i++)
        t[i] = harness_start_thread(take_one, NULL);
    KeReleaseSemaphore(&g_sem, IO_NO_INCREMENT, 2, FALSE);
    for (int i = 0; i < 2; i++)
        is_status(KeWaitForSingleObject(&g_acquired, Executive, KernelMode, FALSE, NULL),
                  STATUS_SUCCESS, "an Adjustment of 2 lets two waiters through");
    is_status(KeWaitForSingleObject(&g_acquired, Executive, KernelMode, FALSE, &g_zero),
              STATUS_TIMEOUT, "an Adjustment of 2 lets no more than two waiters through");
    KeReleaseSemaphore(&g_sem, IO_NO_INCREMENT, 1, FALSE);
    is_status(KeWaitForSingleObject(&g_acquired, Executive, KernelMode, FALSE, NULL),
              STATUS_SUCCESS, "the third waiter goes through on the next release");
    is_int(KeReadStateSemaphore(&g_sem), 0, "every unit released was taken by a waiter");
    KeSetEvent(&g_go, IO_NO_INCREMENT, FALSE);
    for (int i = 0; i < 3; i++)
        harness_join_thread(t[i]);
}

static PVOID lookup(const WCHAR *name)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, name);
    return MmGetSystemRoutineAddress(&s);
}

static void test_handles(void)
{
    CREATE_SEMAPHORE *create = (CREATE_SEMAPHORE *)lookup(L"ZwCreateSemaphore");
    OPEN_SEMAPHORE *open = (OPEN_SEMAPHORE *)lookup(L"ZwOpenSemaphore");
    RELEASE_SEMAPHORE *release = (RELEASE_SEMAPHORE *)lookup(L"ZwReleaseSemaphore");
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    HANDLE h = NULL, h2 = NULL;
    PKSEMAPHORE s = NULL;
    LONG prev = -1;
    NTSTATUS st;

    if (!create || !open || !release) {
        DbgPrint("semaphore: Zw*Semaphore not exported by this kernel; handle tests skipped\n");
        return;
    }
    RtlInitUnicodeString(&name, L"\\BaseNamedObjects\\KmConfSemaphore");
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    is_status(create(&h, SEMAPHORE_ALL_ACCESS, &oa, 2, 1), STATUS_INVALID_PARAMETER,
              "InitialCount above MaximumCount: STATUS_INVALID_PARAMETER");
    is_status(create(&h, SEMAPHORE_ALL_ACCESS, &oa, 0, 0), STATUS_INVALID_PARAMETER,
              "MaximumCount zero: STATUS_INVALID_PARAMETER");
    is_status(create(&h, SEMAPHORE_ALL_ACCESS, &oa, -1, 1), STATUS_INVALID_PARAMETER,
              "a negative InitialCount: STATUS_INVALID_PARAMETER");
    st = create(&h, SEMAPHORE_ALL_ACCESS, &oa, 1, 2);
    if (!is_status(st, STATUS_SUCCESS, "ZwCreateSemaphore creates a named semaphore"))
        return;
    st = ObReferenceObjectByHandle(h, SYNCHRONIZE, KM_ExSemaphoreObjectType, KernelMode,
                                   (PVOID *)&s, NULL);
    is_status(st, STATUS_SUCCESS, "*ExSemaphoreObjectType is the type of a semaphore handle");
    if (s)
        is_int(KeReadStateSemaphore(s), 1, "the object body is the KSEMAPHORE: InitialCount");

    is_status(open(&h2, SEMAPHORE_ALL_ACCESS, &oa), STATUS_SUCCESS,
              "ZwOpenSemaphore opens the named semaphore");
    is_status(release(h2, 1, &prev), STATUS_SUCCESS, "ZwReleaseSemaphore within the limit");
    is_int(prev, 1, "PreviousCount receives the count before the release");
    prev = -1;
    is_status(release(h, 1, &prev), STATUS_SEMAPHORE_LIMIT_EXCEEDED,
              "ZwReleaseSemaphore past MaximumCount returns STATUS_SEMAPHORE_LIMIT_EXCEEDED");
    if (s)
        is_int(KeReadStateSemaphore(s), 2, "a release past the limit leaves the count unchanged");
    is_status(release(h, 0, NULL), STATUS_INVALID_PARAMETER,
              "a ReleaseCount of zero: STATUS_INVALID_PARAMETER");
    is_status(ZwWaitForSingleObject(h, FALSE, &g_zero), STATUS_SUCCESS,
              "ZwWaitForSingleObject on a signalled semaphore handle");
    if (s) {
        is_int(KeReadStateSemaphore(s), 1, "the wait by handle took one");
        ObDereferenceObject(s);
    }
    ZwClose(h2);
    ZwClose(h);
    h = NULL;
    is_status(open(&h, SEMAPHORE_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND,
              "the name goes with the last handle");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    DriverObject->DriverUnload = DriverUnload;
    test_counts();
    test_waiters();
    test_handles();
    return STATUS_SUCCESS;
}
