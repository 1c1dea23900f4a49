/*
 * Semaphore objects by handle: ZwCreateSemaphore, ZwOpenSemaphore,
 * ZwReleaseSemaphore and their Nt forms. The body is a KSEMAPHORE, so a
 * referenced semaphore object works with the Ke routines. Unlike
 * KeReleaseSemaphore, ZwReleaseSemaphore returns
 * STATUS_SEMAPHORE_LIMIT_EXCEEDED instead of raising it.
 */
#include "ke/dispobj.h"
#include "ob/directory.h"

#ifndef SEMAPHORE_QUERY_STATE
#define SEMAPHORE_QUERY_STATE 0x0001
#define SEMAPHORE_MODIFY_STATE 0x0002
#define SEMAPHORE_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x3)
#endif

static OBJECT_TYPE ExpSemaphoreType = {
    .Name = "Semaphore",
    .GenericMapping = {STANDARD_RIGHTS_READ | SEMAPHORE_QUERY_STATE,
                       STANDARD_RIGHTS_WRITE | SEMAPHORE_MODIFY_STATE,
                       STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, SEMAPHORE_ALL_ACCESS},
    .ValidAccessMask = SEMAPHORE_ALL_ACCESS,
};
POBJECT_TYPE ExSemaphoreObjectType = &ExpSemaphoreType;
KM_EXPORT(ExSemaphoreObjectType);

/* Documented (NtCreateSemaphore): MaximumCount must be positive and
   InitialCount within 0..MaximumCount, else STATUS_INVALID_PARAMETER. */
static NTSTATUS ExpCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                   POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount,
                                   LONG MaximumCount, void *Creator)
{
    if (!SemaphoreHandle || MaximumCount <= 0 || InitialCount < 0 || InitialCount > MaximumCount)
        return STATUS_INVALID_PARAMETER;
    PKSEMAPHORE s = ObpCreateObject(ExSemaphoreObjectType, sizeof(KSEMAPHORE), Creator);
    if (!s)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeSemaphore(s, InitialCount, MaximumCount);
    return ObpInsertObject(s, ObjectAttributes, DesiredAccess, SemaphoreHandle);
}

NTSTATUS NTAPI ZwCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount,
                                 LONG MaximumCount)
{
    return ExpCreateSemaphore(SemaphoreHandle, DesiredAccess, ObjectAttributes, InitialCount,
                              MaximumCount, __builtin_return_address(0));
}
KM_EXPORT(ZwCreateSemaphore);

NTSTATUS NTAPI NtCreateSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                                 POBJECT_ATTRIBUTES ObjectAttributes, LONG InitialCount,
                                 LONG MaximumCount)
{
    return ExpCreateSemaphore(SemaphoreHandle, DesiredAccess, ObjectAttributes, InitialCount,
                              MaximumCount, __builtin_return_address(0));
}
KM_EXPORT(NtCreateSemaphore);

NTSTATUS NTAPI ZwOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                               POBJECT_ATTRIBUTES ObjectAttributes)
{
    if (!SemaphoreHandle)
        return STATUS_INVALID_PARAMETER;
    return ObpOpenObjectByName(ObjectAttributes, ExSemaphoreObjectType, DesiredAccess,
                               SemaphoreHandle);
}
KM_EXPORT(ZwOpenSemaphore);

NTSTATUS NTAPI NtOpenSemaphore(PHANDLE SemaphoreHandle, ACCESS_MASK DesiredAccess,
                               POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ZwOpenSemaphore(SemaphoreHandle, DesiredAccess, ObjectAttributes);
}
KM_EXPORT(NtOpenSemaphore);

/* ReleaseCount must be positive (STATUS_INVALID_PARAMETER); the handle needs
   SEMAPHORE_MODIFY_STATE; PreviousCount gets the count before the release. */
static NTSTATUS ExpReleaseSemaphore(HANDLE Handle, LONG ReleaseCount, PLONG PreviousCount,
                                    KPROCESSOR_MODE Mode)
{
    PKSEMAPHORE s;
    LONG previous = 0;
    if (ReleaseCount <= 0)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS status = ObReferenceObjectByHandle(Handle, SEMAPHORE_MODIFY_STATE,
                                                ExSemaphoreObjectType, Mode, (PVOID *)&s, NULL);
    if (!NT_SUCCESS(status))
        return status;
    status = KiReleaseSemaphore(s, ReleaseCount, &previous);
    ObfDereferenceObject(s);
    if (NT_SUCCESS(status) && PreviousCount)
        *PreviousCount = previous;
    return status;
}

NTSTATUS NTAPI ZwReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount)
{
    return ExpReleaseSemaphore(SemaphoreHandle, ReleaseCount, PreviousCount, KernelMode);
}
KM_EXPORT(ZwReleaseSemaphore);

NTSTATUS NTAPI NtReleaseSemaphore(HANDLE SemaphoreHandle, LONG ReleaseCount, PLONG PreviousCount)
{
    return ExpReleaseSemaphore(SemaphoreHandle, ReleaseCount, PreviousCount,
                               KiCurrentThread()->PreviousMode);
}
KM_EXPORT(NtReleaseSemaphore);
