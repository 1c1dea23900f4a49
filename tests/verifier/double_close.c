// ZwClose of a kernel handle that is already closed. Windows: bug check 0x93
// INVALID_KERNEL_HANDLE, P1 the handle, P2 1 ("an invalid or protected
// handle was closed"), from kernel mode with or without Driver Verifier.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x00000093 \(0xFFFFFFFF8[0-9A-F]{7},0x0000000000000001,0x0000000000000000,0x0000000000000000\) INVALID_KERNEL_HANDLE$
#include <ntifs.h>

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    OBJECT_ATTRIBUTES attributes;
    HANDLE event;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    status = ZwCreateEvent(&event, EVENT_ALL_ACCESS, &attributes, NotificationEvent, FALSE);
    if (!NT_SUCCESS(status))
        return status;
    ZwClose(event);
    ZwClose(event); /* bug: closed twice */
    return STATUS_SUCCESS;
}
