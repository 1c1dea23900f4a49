// The driver drops one reference too many: the event object's count goes
// through zero (the object is deleted) and the next ObDereferenceObject
// finds it at zero. Driver Verifier: 0xC4 subcode 0x3F, P2 the object, P3
// the new count (-1: the dereference case).
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x000000000000003F,0x[0-9A-F]{16},0xFFFFFFFFFFFFFFFF,0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: dereference of Event object 0x[0-9a-f]+ whose reference count is already zero.*called from bug_deref_zero\.sys\+0x
#include <ntifs.h>

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE h;
    PVOID object;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    status = ZwCreateEvent(&h, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE);
    if (!NT_SUCCESS(status))
        return status;
    status = ObReferenceObjectByHandle(h, SYNCHRONIZE, NULL, KernelMode, &object, NULL);
    ZwClose(h);
    if (!NT_SUCCESS(status))
        return status;
    ObDereferenceObject(object); /* the last reference: the event is deleted */
    ObDereferenceObject(object); /* bug */
    return STATUS_SUCCESS;
}
