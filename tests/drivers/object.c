// Conformance: object manager handles and references: ObReferenceObjectByHandle
// (type, access mode, granted access, handle information, pseudo-handles),
// ZwClose/NtClose/ObCloseHandle, ObReferenceObjectByPointer, reference counts.
// EXPECT-EXIT: 0
#include "harness.h"

/* Documented in wdm.h (Windows Vista and later); mingw-w64 does not declare it. */
NTKERNELAPI NTSTATUS NTAPI ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode);

static KEVENT g_release;

static VOID NTAPI wait_release(PVOID ctx)
{
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
}

static PVOID ref_by_handle(HANDLE h, ACCESS_MASK access, POBJECT_TYPE type, KPROCESSOR_MODE mode,
                           NTSTATUS expected, const char *what)
{
    PVOID obj = NULL;
    NTSTATUS st = ObReferenceObjectByHandle(h, access, type, mode, &obj, NULL);

    is_status(st, expected, what);
    if (NT_SUCCESS(st))
        return obj;
    return NULL;
}

/* Reference by handle, check the object, drop the reference. */
static void check_ref(HANDLE h, ACCESS_MASK access, POBJECT_TYPE type, KPROCESSOR_MODE mode,
                      NTSTATUS expected, PVOID expected_obj, const char *what)
{
    PVOID obj = ref_by_handle(h, access, type, mode, expected, what);

    if (obj) {
        is_ptr(obj, expected_obj, "ObReferenceObjectByHandle returns the handle's object");
        ObDereferenceObject(obj);
    }
}

static void test_by_handle(PKTHREAD t, HANDLE kh)
{
    OBJECT_HANDLE_INFORMATION info;
    HANDLE uh = NULL, ih = NULL;
    PVOID obj = NULL;
    NTSTATUS st;

    check_ref(kh, SYNCHRONIZE, KM_PsThreadType, KernelMode, STATUS_SUCCESS, t,
              "*PsThreadType on a thread handle, KernelMode, kernel handle");
    check_ref(kh, SYNCHRONIZE, NULL, KernelMode, STATUS_SUCCESS, t,
              "ObjectType NULL skips the type check");
    check_ref(kh, SYNCHRONIZE, KM_ExEventObjectType, KernelMode, STATUS_OBJECT_TYPE_MISMATCH, NULL,
              "*ExEventObjectType on a thread handle: STATUS_OBJECT_TYPE_MISMATCH");
    check_ref(kh, SYNCHRONIZE, KM_PsProcessType, KernelMode, STATUS_OBJECT_TYPE_MISMATCH, NULL,
              "*PsProcessType on a thread handle: STATUS_OBJECT_TYPE_MISMATCH");
    check_ref(kh, SYNCHRONIZE, KM_PsThreadType, UserMode, STATUS_INVALID_HANDLE, NULL,
              "UserMode cannot use a kernel handle (OBJ_KERNEL_HANDLE: kernel mode only)");
    check_ref(NULL, 0, KM_PsThreadType, KernelMode, STATUS_INVALID_HANDLE, NULL,
              "a NULL handle is not a valid object handle: STATUS_INVALID_HANDLE");

    /* A process handle (no OBJ_KERNEL_HANDLE) in the System process granting SYNCHRONIZE. */
    st = ObOpenObjectByPointer(t, 0, NULL, SYNCHRONIZE, KM_PsThreadType, KernelMode, &uh);
    if (!is_status(st, STATUS_SUCCESS, "ObOpenObjectByPointer without OBJ_KERNEL_HANDLE"))
        return;
    ok(((ULONG_PTR)uh & 0xFFFFFFFF80000000ULL) == 0,
       "a handle opened without OBJ_KERNEL_HANDLE is not a kernel handle: %p", uh);
    check_ref(uh, SYNCHRONIZE, KM_PsThreadType, UserMode, STATUS_SUCCESS, t,
              "UserMode with the granted access succeeds");
    check_ref(uh, THREAD_TERMINATE, KM_PsThreadType, UserMode, STATUS_ACCESS_DENIED, NULL,
              "UserMode: access not granted to the handle gives STATUS_ACCESS_DENIED");
    check_ref(uh, SYNCHRONIZE | THREAD_SET_INFORMATION, KM_PsThreadType, UserMode,
              STATUS_ACCESS_DENIED, NULL, "UserMode: every desired right must be granted");
    check_ref(uh, THREAD_TERMINATE, KM_PsThreadType, KernelMode, STATUS_SUCCESS, t,
              "KernelMode: the requested access is not compared to the granted access");

    RtlFillMemory(&info, sizeof(info), 0xCC);
    st = ObReferenceObjectByHandle(uh, 0, KM_PsThreadType, KernelMode, &obj, &info);
    if (is_status(st, STATUS_SUCCESS, "ObReferenceObjectByHandle with HandleInformation")) {
        is_int(info.GrantedAccess, SYNCHRONIZE,
               "HandleInformation->GrantedAccess is the access granted to the handle");
        is_int(info.HandleAttributes & OBJ_INHERIT, 0,
               "HandleAttributes: no OBJ_INHERIT on a handle opened without it");
        ObDereferenceObject(obj);
    }

    st = ObOpenObjectByPointer(t, OBJ_INHERIT, NULL, SYNCHRONIZE, KM_PsThreadType, KernelMode, &ih);
    if (is_status(st, STATUS_SUCCESS, "ObOpenObjectByPointer with OBJ_INHERIT")) {
        st = ObReferenceObjectByHandle(ih, 0, KM_PsThreadType, KernelMode, &obj, &info);
        if (is_status(st, STATUS_SUCCESS, "reference through an inheritable handle")) {
            is_int(info.HandleAttributes & OBJ_INHERIT, OBJ_INHERIT,
                   "HandleAttributes reports OBJ_INHERIT for an inheritable handle");
            ObDereferenceObject(obj);
        }
        is_status(ObCloseHandle(ih, KernelMode), STATUS_SUCCESS,
                  "ObCloseHandle(KernelMode) closes a handle");
    }
    /* NtClose closes with the previous mode, which is KernelMode in a system thread. */
    is_int(ExGetPreviousMode(), KernelMode, "the previous mode in DriverEntry is KernelMode");
    is_status(NtClose(uh), STATUS_SUCCESS, "NtClose closes a handle (previous mode KernelMode)");
}

static void test_pseudo_handles(void)
{
    check_ref(NtCurrentThread(), 0, KM_PsThreadType, KernelMode, STATUS_SUCCESS,
              KeGetCurrentThread(), "NtCurrentThread() resolves to the current thread");
    check_ref(NtCurrentProcess(), 0, KM_PsProcessType, KernelMode, STATUS_SUCCESS,
              PsGetCurrentProcess(), "NtCurrentProcess() resolves to the current process");
    check_ref(NtCurrentProcess(), 0, KM_PsThreadType, KernelMode, STATUS_OBJECT_TYPE_MISMATCH, NULL,
              "NtCurrentProcess() is a process handle, not a thread handle");
}

static void test_event_handle(void)
{
    OBJECT_ATTRIBUTES oa;
    HANDLE h;
    PKEVENT e;
    NTSTATUS st;

    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    if (!is_status(st, STATUS_SUCCESS, "ZwCreateEvent creates an unnamed event"))
        return;
    e = ref_by_handle(h, EVENT_MODIFY_STATE, KM_ExEventObjectType, KernelMode, STATUS_SUCCESS,
                      "*ExEventObjectType on an event handle");
    check_ref(h, 0, KM_PsThreadType, KernelMode, STATUS_OBJECT_TYPE_MISMATCH, NULL,
              "*PsThreadType on an event handle: STATUS_OBJECT_TYPE_MISMATCH");
    if (e) {
        is_int(KeReadStateEvent(e), 0, "ZwCreateEvent(InitialState FALSE) is not signalled");
        KeSetEvent(e, IO_NO_INCREMENT, FALSE);
        ok(KeReadStateEvent(e) != 0, "the referenced PKEVENT is the handle's event object");
    }
    is_status(ZwClose(h), STATUS_SUCCESS, "ZwClose closes the event handle");
    if (e) {
        /* The reference keeps the event alive after its last handle is closed. */
        ok(KeReadStateEvent(e) != 0, "a referenced event outlives its closed handle");
        ObDereferenceObject(e);
    }
}

static void test_references(void)
{
    OBJECT_ATTRIBUTES oa;
    LARGE_INTEGER zero = {.QuadPart = 0};
    HANDLE h;
    PVOID t = NULL;
    NTSTATUS st;

    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, wait_release, NULL);
    if (!is_status(st, STATUS_SUCCESS, "PsCreateSystemThread"))
        return;
    ok(((ULONG_PTR)h & 0xFFFFFFFF80000000ULL) == 0xFFFFFFFF80000000ULL,
       "OBJ_KERNEL_HANDLE gives a kernel handle (high bits set on x64): %p", h);
    t = ref_by_handle(h, SYNCHRONIZE, KM_PsThreadType, KernelMode, STATUS_SUCCESS,
                      "reference the new thread by handle");
    if (!t) {
        KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
        ZwClose(h);
        return;
    }
    test_by_handle(t, h);

    is_status(ObReferenceObjectByPointer(t, SYNCHRONIZE, KM_PsThreadType, KernelMode),
              STATUS_SUCCESS, "ObReferenceObjectByPointer with the object's type");
    ObDereferenceObject(t);
    is_status(ObReferenceObjectByPointer(t, SYNCHRONIZE, KM_ExEventObjectType, KernelMode),
              STATUS_OBJECT_TYPE_MISMATCH,
              "ObReferenceObjectByPointer with another type: STATUS_OBJECT_TYPE_MISMATCH");
    ObfReferenceObject(t);
    ObReferenceObject(t);
    ObfDereferenceObject(t);
    ObDereferenceObject(t);

    is_status(ZwClose(h), STATUS_SUCCESS, "ZwClose on an open kernel handle");
    /* Valid unless bad-handle detection is on (bug check 0x93, parameter 4 = 1). */
    check_ref(h, SYNCHRONIZE, KM_PsThreadType, KernelMode, STATUS_INVALID_HANDLE, NULL,
              "a closed handle is no longer valid: STATUS_INVALID_HANDLE");
    is_status(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT,
              "the referenced thread object outlives its closed handle, still running");
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "the object of a thread whose handle is closed is signalled when it ends");
    is_status(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS,
              "a reference keeps an ended thread's object valid and signalled");
    ObDereferenceObject(t);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_pseudo_handles();
    test_event_handle();
    test_references();
    return STATUS_SUCCESS;
}
