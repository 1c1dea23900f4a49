// Conformance: event objects by handle and named objects. ZwCreateEvent,
// ZwOpenEvent, ZwSetEvent/ZwResetEvent/ZwClearEvent/ZwPulseEvent with
// PreviousState, NtCreateEvent/NtSetEvent, *ExEventObjectType (the body is a
// KEVENT), IoCreateNotificationEvent/IoCreateSynchronizationEvent, names
// under \BaseNamedObjects (collision, OBJ_OPENIF, OBJ_CASE_INSENSITIVE,
// OBJ_PERMANENT, lifetime with the last handle, bad names).
// EXPECT-EXIT: 0
#include "harness.h"

/* Exported by ntoskrnl.exe; mingw-w64's headers declare only the Zw forms. */
NTSYSAPI NTSTATUS NTAPI NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                                      BOOLEAN InitialState);
NTSYSAPI NTSTATUS NTAPI NtSetEvent(HANDLE EventHandle, PLONG PreviousState);

static LARGE_INTEGER g_zero;

static PKEVENT ref_event(HANDLE h, const char *what)
{
    PVOID obj = NULL;
    NTSTATUS st = ObReferenceObjectByHandle(h, EVENT_MODIFY_STATE, KM_ExEventObjectType, KernelMode,
                                            &obj, NULL);
    is_status(st, STATUS_SUCCESS, what);
    return NT_SUCCESS(st) ? obj : NULL;
}

static void test_state_by_handle(void)
{
    HANDLE h;
    PKEVENT e;
    LONG prev;
    NTSTATUS st;

    st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    if (!is_status(st, STATUS_SUCCESS, "ZwCreateEvent without ObjectAttributes"))
        return;
    e = ref_event(h, "*ExEventObjectType is the type of an event handle");
    if (!e) {
        ZwClose(h);
        return;
    }
    is_int(KeReadStateEvent(e), 0, "InitialState FALSE: not signalled");
    prev = -1;
    is_status(ZwSetEvent(h, &prev), STATUS_SUCCESS, "ZwSetEvent");
    is_int(prev, 0, "ZwSetEvent: PreviousState is the state before");
    is_int(KeReadStateEvent(e), 1, "ZwSetEvent signals the event (the body is the KEVENT)");
    prev = -1;
    is_status(ZwSetEvent(h, &prev), STATUS_SUCCESS, "ZwSetEvent on a signalled event");
    is_int(prev, 1, "PreviousState 1 when it was already signalled");
    is_status(ZwWaitForSingleObject(h, FALSE, &g_zero), STATUS_SUCCESS,
              "a signalled notification event satisfies a wait by handle");
    is_int(KeReadStateEvent(e), 1, "a notification event stays signalled after a wait");
    prev = -1;
    is_status(ZwResetEvent(h, &prev), STATUS_SUCCESS, "ZwResetEvent");
    is_int(prev, 1, "ZwResetEvent: PreviousState");
    is_int(KeReadStateEvent(e), 0, "ZwResetEvent leaves the event not signalled");
    is_status(ZwWaitForSingleObject(h, FALSE, &g_zero), STATUS_TIMEOUT,
              "a reset event does not satisfy a wait");
    KeSetEvent(e, IO_NO_INCREMENT, FALSE);
    is_status(ZwClearEvent(h), STATUS_SUCCESS, "ZwClearEvent");
    is_int(KeReadStateEvent(e), 0, "ZwClearEvent leaves the event not signalled");
    prev = -1;
    is_status(ZwPulseEvent(h, &prev), STATUS_SUCCESS, "ZwPulseEvent");
    is_int(prev, 0, "ZwPulseEvent: PreviousState");
    is_int(KeReadStateEvent(e), 0, "after a pulse the event is not signalled");
    is_status(NtSetEvent(h, NULL), STATUS_SUCCESS, "NtSetEvent with no PreviousState");
    is_int(KeReadStateEvent(e), 1, "NtSetEvent signals the event");
    ObDereferenceObject(e);
    is_status(ZwClose(h), STATUS_SUCCESS, "ZwClose on an event handle");

    st = NtCreateEvent(&h, EVENT_ALL_ACCESS, NULL, SynchronizationEvent, TRUE);
    if (!is_status(st, STATUS_SUCCESS, "NtCreateEvent, a signalled synchronization event"))
        return;
    is_status(ZwWaitForSingleObject(h, FALSE, &g_zero), STATUS_SUCCESS,
              "InitialState TRUE: signalled");
    is_status(ZwWaitForSingleObject(h, FALSE, &g_zero), STATUS_TIMEOUT,
              "a synchronization event resets when a wait is satisfied");
    ZwClose(h);
}

#define NAME L"\\BaseNamedObjects\\KmConfZwEvent"

static void test_names(void)
{
    UNICODE_STRING name, upper;
    OBJECT_ATTRIBUTES oa;
    HANDLE h = NULL, h2 = NULL, h3 = NULL;
    PKEVENT e, e2;
    NTSTATUS st;

    RtlInitUnicodeString(&name, NAME);
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    is_status(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND,
              "ZwOpenEvent of a name nobody created: STATUS_OBJECT_NAME_NOT_FOUND");
    st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    if (!is_status(st, STATUS_SUCCESS, "ZwCreateEvent with a name under \\BaseNamedObjects"))
        return;
    ok(((ULONG_PTR)h & 0xFFFFFFFF80000000ULL) == 0xFFFFFFFF80000000ULL,
       "OBJ_KERNEL_HANDLE gives a kernel handle: %p", h);
    e = ref_event(h, "reference the named event");

    is_status(ZwCreateEvent(&h2, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE),
              STATUS_OBJECT_NAME_COLLISION,
              "creating a name that exists without OBJ_OPENIF: STATUS_OBJECT_NAME_COLLISION");
    oa.Attributes = OBJ_KERNEL_HANDLE | OBJ_OPENIF;
    st = ZwCreateEvent(&h2, EVENT_ALL_ACCESS, &oa, NotificationEvent, TRUE);
    is_status(st, STATUS_OBJECT_NAME_EXISTS,
              "OBJ_OPENIF on a name that exists: STATUS_OBJECT_NAME_EXISTS");
    if (NT_SUCCESS(st)) {
        e2 = ref_event(h2, "the OBJ_OPENIF handle");
        is_ptr(e2, e, "OBJ_OPENIF opens the existing event");
        if (e)
            is_int(KeReadStateEvent(e), 0, "opening does not apply the new InitialState");
        if (e2)
            ObDereferenceObject(e2);
        ZwClose(h2);
    }

    oa.Attributes = OBJ_KERNEL_HANDLE;
    st = ZwOpenEvent(&h2, EVENT_ALL_ACCESS, &oa);
    is_status(st, STATUS_SUCCESS, "ZwOpenEvent opens the named event");
    if (NT_SUCCESS(st)) {
        is_status(ZwSetEvent(h2, NULL), STATUS_SUCCESS, "ZwSetEvent through the second handle");
        if (e)
            is_int(KeReadStateEvent(e), 1, "both handles refer to the same event");
    }

    RtlInitUnicodeString(&upper, L"\\BASENAMEDOBJECTS\\KMCONFZWEVENT");
    oa.ObjectName = &upper;
    oa.Attributes = OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE;
    st = ZwOpenEvent(&h3, EVENT_ALL_ACCESS, &oa);
    is_status(st, STATUS_SUCCESS, "OBJ_CASE_INSENSITIVE: the name matches in another case");
    if (NT_SUCCESS(st)) {
        e2 = ref_event(h3, "the case-insensitive handle");
        is_ptr(e2, e, "OBJ_CASE_INSENSITIVE finds the same event");
        if (e2)
            ObDereferenceObject(e2);
        ZwClose(h3);
    }
    oa.ObjectName = &name;
    oa.Attributes = OBJ_KERNEL_HANDLE;

    if (h2)
        ZwClose(h2);
    ZwClose(h);
    if (e) {
        is_int(KeReadStateEvent(e), 1, "our reference keeps the event after its handles closed");
        ObDereferenceObject(e);
    }
    h = NULL;
    is_status(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND,
              "a named object leaves the namespace when its last handle is closed");

    /* OBJ_PERMANENT keeps the name without handles until ZwMakeTemporaryObject. */
    oa.Attributes = OBJ_KERNEL_HANDLE | OBJ_PERMANENT;
    st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    if (is_status(st, STATUS_SUCCESS, "ZwCreateEvent with OBJ_PERMANENT")) {
        ZwClose(h);
        oa.Attributes = OBJ_KERNEL_HANDLE;
        st = ZwOpenEvent(&h, EVENT_ALL_ACCESS | DELETE, &oa);
        is_status(st, STATUS_SUCCESS, "a permanent object keeps its name with no handle open");
        if (NT_SUCCESS(st)) {
            is_status(ZwMakeTemporaryObject(h), STATUS_SUCCESS, "ZwMakeTemporaryObject");
            ZwClose(h);
        }
        h = NULL;
        is_status(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND,
                  "once temporary, the name goes with the last handle");
    }
}

static void check_bad_name(const WCHAR *s, USHORT odd_length, NTSTATUS expected, const char *what)
{
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    HANDLE h = NULL;
    NTSTATUS st;

    RtlInitUnicodeString(&name, s);
    if (odd_length)
        name.Length = odd_length;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    is_status(st, expected, what);
    if (NT_SUCCESS(st))
        ZwClose(h);
}

static void test_bad_names(void)
{
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    HANDLE h = NULL;

    check_bad_name(L"KmConfNoBackslash", 0, STATUS_OBJECT_PATH_SYNTAX_BAD,
                   "a name without a leading '\\' and no RootDirectory");
    check_bad_name(L"\\KmConfNoSuchDirectory\\Event", 0, STATUS_OBJECT_PATH_NOT_FOUND,
                   "a directory on the path does not exist");
    check_bad_name(L"\\BaseNamedObjects\\", 0, STATUS_OBJECT_NAME_INVALID,
                   "a trailing '\\': STATUS_OBJECT_NAME_INVALID");
    check_bad_name(L"\\BaseNamedObjects\\\\KmConfEvent", 0, STATUS_OBJECT_NAME_INVALID,
                   "an empty path component: STATUS_OBJECT_NAME_INVALID");
    check_bad_name(L"\\BaseNamedObjects\\KmConfOdd", 21, STATUS_OBJECT_NAME_INVALID,
                   "an odd name length in bytes: STATUS_OBJECT_NAME_INVALID");

    RtlInitUnicodeString(&name, L"\\BaseNamedObjects");
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    is_status(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_TYPE_MISMATCH,
              "ZwOpenEvent of an object directory: STATUS_OBJECT_TYPE_MISMATCH");
    is_status(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE),
              STATUS_OBJECT_NAME_COLLISION,
              "creating an event under the name of a directory: STATUS_OBJECT_NAME_COLLISION");
}

static void test_io_create(void)
{
    UNICODE_STRING name;
    HANDLE h = NULL, h2 = NULL;
    PKEVENT e, e2;

    RtlInitUnicodeString(&name, L"\\BaseNamedObjects\\KmConfIoNotification");
    e = IoCreateNotificationEvent(&name, &h);
    if (!ok(e != NULL, "IoCreateNotificationEvent creates the event"))
        return;
    ok(((ULONG_PTR)h & 0xFFFFFFFF80000000ULL) == 0xFFFFFFFF80000000ULL,
       "IoCreateNotificationEvent returns a kernel handle: %p", h);
    is_int(KeReadStateEvent(e), 1, "a new notification event is created signalled");
    is_status(KeWaitForSingleObject(e, Executive, KernelMode, FALSE, &g_zero), STATUS_SUCCESS,
              "KeWaitForSingleObject on the returned PKEVENT");
    is_int(KeReadStateEvent(e), 1, "a notification event stays signalled");
    KeClearEvent(e);
    e2 = IoCreateNotificationEvent(&name, &h2);
    is_ptr(e2, e, "IoCreateNotificationEvent on an existing name opens the same event");
    is_int(KeReadStateEvent(e), 0, "opening an existing event leaves its state alone");
    if (e2)
        ZwClose(h2);
    ZwClose(h);

    RtlInitUnicodeString(&name, L"\\BaseNamedObjects\\KmConfIoSynchronization");
    e = IoCreateSynchronizationEvent(&name, &h);
    if (!ok(e != NULL, "IoCreateSynchronizationEvent creates the event"))
        return;
    is_int(KeReadStateEvent(e), 1, "a new synchronization event is created signalled");
    is_status(KeWaitForSingleObject(e, Executive, KernelMode, FALSE, &g_zero), STATUS_SUCCESS,
              "the first wait is satisfied");
    is_int(KeReadStateEvent(e), 0, "a synchronization event resets itself");
    KeSetEvent(e, IO_NO_INCREMENT, FALSE);
    is_status(ZwWaitForSingleObject(h, FALSE, &g_zero), STATUS_SUCCESS,
              "KeSetEvent on the PKEVENT is seen through the handle");
    ZwClose(h);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    DriverObject->DriverUnload = DriverUnload;
    test_state_by_handle();
    test_names();
    test_bad_names();
    test_io_create();
    return STATUS_SUCCESS;
}
