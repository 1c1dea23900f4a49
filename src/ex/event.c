/*
 * Event objects by handle: ZwCreateEvent and ZwOpenEvent, the Zw/Nt state
 * changes, and IoCreateNotificationEvent / IoCreateSynchronizationEvent.
 *
 * The body of an event object is a KEVENT, so a driver that references the
 * object (ObReferenceObjectByHandle with *ExEventObjectType) may pass it to
 * KeWaitForSingleObject, KeSetEvent and the other Ke routines. Names live in
 * the object namespace (ob/directory.c).
 *
 * Zw routines run as KernelMode callers (no access check); the Nt forms use
 * the thread's previous mode, which for a system thread is KernelMode too.
 */
#include "ke/ke.h"
#include "ob/directory.h"

static OBJECT_TYPE ExpEventType = {
    .Name = "Event",
    .GenericMapping = {STANDARD_RIGHTS_READ | EVENT_QUERY_STATE,
                       STANDARD_RIGHTS_WRITE | EVENT_MODIFY_STATE,
                       STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, EVENT_ALL_ACCESS},
    .ValidAccessMask = EVENT_ALL_ACCESS,
};
POBJECT_TYPE ExEventObjectType = &ExpEventType;
KM_EXPORT(ExEventObjectType);

LONG NTAPI KeResetEvent(PRKEVENT Event);
VOID NTAPI KeClearEvent(PRKEVENT Event);
LONG NTAPI KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);

static NTSTATUS ExpCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                               POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                               BOOLEAN InitialState, void *Creator)
{
    if (!EventHandle)
        return STATUS_INVALID_PARAMETER;
    if (EventType != NotificationEvent && EventType != SynchronizationEvent)
        return STATUS_INVALID_PARAMETER;
    PKEVENT event = ObpCreateObject(ExEventObjectType, sizeof(KEVENT), Creator);
    if (!event)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeEvent(event, EventType, InitialState);
    return ObpInsertObject(event, ObjectAttributes, DesiredAccess, EventHandle);
}

/* Documented: creates the event with the given type and state and opens a
   handle; a name that exists is STATUS_OBJECT_NAME_COLLISION, or with
   OBJ_OPENIF a handle to the existing event and STATUS_OBJECT_NAME_EXISTS. */
NTSTATUS NTAPI ZwCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                             POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                             BOOLEAN InitialState)
{
    return ExpCreateEvent(EventHandle, DesiredAccess, ObjectAttributes, EventType, InitialState,
                          __builtin_return_address(0));
}
KM_EXPORT(ZwCreateEvent);

NTSTATUS NTAPI NtCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                             POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                             BOOLEAN InitialState)
{
    return ExpCreateEvent(EventHandle, DesiredAccess, ObjectAttributes, EventType, InitialState,
                          __builtin_return_address(0));
}
KM_EXPORT(NtCreateEvent);

/* Documented: STATUS_OBJECT_NAME_NOT_FOUND when no object has the name,
   STATUS_OBJECT_TYPE_MISMATCH when the object is not an event. */
NTSTATUS NTAPI ZwOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes)
{
    if (!EventHandle)
        return STATUS_INVALID_PARAMETER;
    return ObpOpenObjectByName(ObjectAttributes, ExEventObjectType, DesiredAccess, EventHandle);
}
KM_EXPORT(ZwOpenEvent);

NTSTATUS NTAPI NtOpenEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ZwOpenEvent(EventHandle, DesiredAccess, ObjectAttributes);
}
KM_EXPORT(NtOpenEvent);

enum { ExpSet, ExpReset, ExpClear, ExpPulse };

/* The state changes need EVENT_MODIFY_STATE; PreviousState, when given,
   receives the state before the change. */
static NTSTATUS ExpChangeEvent(HANDLE Handle, int Op, PLONG PreviousState, KPROCESSOR_MODE Mode)
{
    PKEVENT event;
    LONG previous = 0;
    NTSTATUS status = ObReferenceObjectByHandle(Handle, EVENT_MODIFY_STATE, ExEventObjectType, Mode,
                                                (PVOID *)&event, NULL);
    if (!NT_SUCCESS(status))
        return status;
    switch (Op) {
    case ExpSet:
        previous = KeSetEvent(event, 0, FALSE);
        break;
    case ExpReset:
        previous = KeResetEvent(event);
        break;
    case ExpClear:
        KeClearEvent(event);
        break;
    default:
        previous = KePulseEvent(event, 0, FALSE);
        break;
    }
    ObfDereferenceObject(event);
    if (PreviousState)
        *PreviousState = previous;
    return STATUS_SUCCESS;
}

static KPROCESSOR_MODE ExpPreviousMode(void)
{
    return KiCurrentThread()->PreviousMode;
}

NTSTATUS NTAPI ZwSetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpSet, PreviousState, KernelMode);
}
KM_EXPORT(ZwSetEvent);

NTSTATUS NTAPI NtSetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpSet, PreviousState, ExpPreviousMode());
}
KM_EXPORT(NtSetEvent);

NTSTATUS NTAPI ZwResetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpReset, PreviousState, KernelMode);
}
KM_EXPORT(ZwResetEvent);

NTSTATUS NTAPI NtResetEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpReset, PreviousState, ExpPreviousMode());
}
KM_EXPORT(NtResetEvent);

NTSTATUS NTAPI ZwClearEvent(HANDLE EventHandle)
{
    return ExpChangeEvent(EventHandle, ExpClear, NULL, KernelMode);
}
KM_EXPORT(ZwClearEvent);

NTSTATUS NTAPI NtClearEvent(HANDLE EventHandle)
{
    return ExpChangeEvent(EventHandle, ExpClear, NULL, ExpPreviousMode());
}
KM_EXPORT(NtClearEvent);

NTSTATUS NTAPI ZwPulseEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpPulse, PreviousState, KernelMode);
}
KM_EXPORT(ZwPulseEvent);

NTSTATUS NTAPI NtPulseEvent(HANDLE EventHandle, PLONG PreviousState)
{
    return ExpChangeEvent(EventHandle, ExpPulse, PreviousState, ExpPreviousMode());
}
KM_EXPORT(NtPulseEvent);

/*
 * Documented: creates the named event, signalled, if it does not exist, or
 * opens it; returns the event and a kernel handle, or NULL. The name is a
 * full object name (drivers use \BaseNamedObjects\...).
 */
static PKEVENT ExpCreateNamedEvent(PUNICODE_STRING EventName, PHANDLE EventHandle, EVENT_TYPE Type,
                                   void *Creator)
{
    OBJECT_ATTRIBUTES oa = {sizeof(oa), NULL, EventName, OBJ_OPENIF | OBJ_KERNEL_HANDLE,
                            NULL,       NULL};
    HANDLE h;
    PVOID event;

    if (!EventName || !EventHandle)
        return NULL;
    NTSTATUS status = ExpCreateEvent(&h, EVENT_ALL_ACCESS, &oa, Type, TRUE, Creator);
    if (!NT_SUCCESS(status))
        return NULL;
    status = ObReferenceObjectByHandle(h, 0, ExEventObjectType, KernelMode, &event, NULL);
    if (!NT_SUCCESS(status)) {
        ZwClose(h);
        return NULL;
    }
    ObfDereferenceObject(event); /* the handle keeps it */
    *EventHandle = h;
    return event;
}

PKEVENT NTAPI IoCreateNotificationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)
{
    return ExpCreateNamedEvent(EventName, EventHandle, NotificationEvent,
                               __builtin_return_address(0));
}
KM_EXPORT(IoCreateNotificationEvent);

PKEVENT NTAPI IoCreateSynchronizationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)
{
    return ExpCreateNamedEvent(EventName, EventHandle, SynchronizationEvent,
                               __builtin_return_address(0));
}
KM_EXPORT(IoCreateSynchronizationEvent);
