/*
 * Waits on handles: Zw/Nt WaitForSingleObject and WaitForMultipleObjects.
 * The handle must grant SYNCHRONIZE for a UserMode caller; the wait itself
 * is KeWaitForXxx on the referenced objects, in the caller's previous mode.
 */
#include "ke/ke.h"
#include "ob/ob.h"

#include <pthread.h>

/*
 * Only dispatcher objects (a DISPATCHER_HEADER first in the body) can be
 * waited on directly. For any other type (a key, a device, a driver) Windows
 * waits on the type's default object instead, a notification event that is
 * always signaled, so the wait is satisfied at once. Passing such a body to
 * KeWaitFor* would link wait blocks into bytes that are not a header
 * (memory corruption, found by tests/drivers/hostile.c). The list is of the
 * types known to start with a DISPATCHER_HEADER; a new waitable type must be
 * added here.
 */
static KEVENT ObpDefaultObject;
static pthread_once_t ObpDefaultObjectOnce = PTHREAD_ONCE_INIT;

static void ObpInitDefaultObject(void)
{
    KeInitializeEvent(&ObpDefaultObject, NotificationEvent, TRUE);
}

static PVOID ObpWaitableObject(PVOID Body)
{
    POBJECT_TYPE type = ObpHeader(Body)->Type;
    if (type == PsThreadType || type == PsProcessType || type == ExEventObjectType ||
        type == ExSemaphoreObjectType || type == ExMutantObjectType)
        return Body;
    pthread_once(&ObpDefaultObjectOnce, ObpInitDefaultObject);
    return &ObpDefaultObject;
}

NTSTATUS NTAPI ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    PVOID object;
    KPROCESSOR_MODE mode = KiCurrentThread()->PreviousMode;
    NTSTATUS status = ObReferenceObjectByHandle(Handle, SYNCHRONIZE, NULL, mode, &object, NULL);
    if (!NT_SUCCESS(status))
        return status;
    status =
        KeWaitForSingleObject(ObpWaitableObject(object), UserRequest, mode, Alertable, Timeout);
    ObfDereferenceObject(object);
    return status;
}
KM_EXPORT(ZwWaitForSingleObject);

NTSTATUS NTAPI NtWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    return ZwWaitForSingleObject(Handle, Alertable, Timeout);
}
KM_EXPORT(NtWaitForSingleObject);

/* WaitType is WaitAllObject (0) or WaitAnyObject (1), the same values as
   WaitAll and WaitAny; more than MAXIMUM_WAIT_OBJECTS handles is
   STATUS_INVALID_PARAMETER_1, another wait type STATUS_INVALID_PARAMETER_3,
   a handle listed twice in a WaitAll STATUS_INVALID_PARAMETER_MIX. */
NTSTATUS NTAPI ZwWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    PVOID objects[MAXIMUM_WAIT_OBJECTS];
    KWAIT_BLOCK blocks[MAXIMUM_WAIT_OBJECTS];
    KPROCESSOR_MODE mode = KiCurrentThread()->PreviousMode;
    NTSTATUS status = STATUS_SUCCESS;
    ULONG n;

    if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS)
        return STATUS_INVALID_PARAMETER_1;
    if (WaitType != WaitAll && WaitType != WaitAny)
        return STATUS_INVALID_PARAMETER_3;
    /* One object twice in a WaitAll could never be satisfied atomically. */
    if (WaitType == WaitAll) {
        for (ULONG i = 0; i < Count; i++)
            for (ULONG j = 0; j < i; j++)
                if (Handles[i] == Handles[j])
                    return STATUS_INVALID_PARAMETER_MIX;
    }
    for (n = 0; n < Count; n++) {
        status = ObReferenceObjectByHandle(Handles[n], SYNCHRONIZE, NULL, mode, &objects[n], NULL);
        if (!NT_SUCCESS(status))
            break;
    }
    if (NT_SUCCESS(status)) {
        PVOID waitable[MAXIMUM_WAIT_OBJECTS];
        for (ULONG i = 0; i < Count && NT_SUCCESS(status); i++) {
            waitable[i] = ObpWaitableObject(objects[i]);
            /* Two handles to one object (or two non-waitable objects, which
               share the default object) in a WaitAll. */
            for (ULONG j = 0; j < i && WaitType == WaitAll; j++)
                if (waitable[j] == waitable[i])
                    status = STATUS_INVALID_PARAMETER_MIX;
        }
        if (NT_SUCCESS(status))
            status = KeWaitForMultipleObjects(Count, waitable, WaitType, UserRequest, mode,
                                              Alertable, Timeout, blocks);
    }
    while (n-- > 0)
        ObfDereferenceObject(objects[n]);
    return status;
}
KM_EXPORT(ZwWaitForMultipleObjects);

NTSTATUS NTAPI NtWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    return ZwWaitForMultipleObjects(Count, Handles, WaitType, Alertable, Timeout);
}
KM_EXPORT(NtWaitForMultipleObjects);
