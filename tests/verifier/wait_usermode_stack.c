// A UserMode wait on an event that lives on the kernel stack: the stack of a
// thread in a UserMode wait can be paged out. Driver Verifier: 0xC4 subcode
// 0x123, P2 the object.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x0000000000000123,0x[0-9A-F]{16},0x0000000000000000,0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: UserMode wait on object 0x[0-9a-f]+, which is on the kernel stack
#include <ntddk.h>

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KEVENT event;
    LARGE_INTEGER zero;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    zero.QuadPart = 0;
    KeInitializeEvent(&event, NotificationEvent, TRUE);
    KeWaitForSingleObject(&event, Executive, UserMode, FALSE, &zero);
    return STATUS_SUCCESS;
}
