// A driver passes an unmapped pointer to an export (KeSetEvent on an event
// that is not there). Windows: the kernel faults inside KeSetEvent; in a
// system thread the access violation is not handled: bug check 0x7E
// SYSTEM_THREAD_EXCEPTION_NOT_HANDLED, P1 STATUS_ACCESS_VIOLATION. kmhost
// must end the same way, never crash itself, and name the export the driver
// called (from kmhost's symbols) and the driver's call on the stack.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x0000007E \(0x[0-9A-F]*C0000005,0x[0-9A-F]{16},0x[0-9A-F]{16},0x[0-9A-F]{16}\) SYSTEM_THREAD_EXCEPTION_NOT_HANDLED$
// EXPECT-OUTPUT: kmhost!KeSetEvent\+0x[0-9a-f]+$
// EXPECT-OUTPUT: bug_wild_pointer_export\.sys\+0x[0-9a-fA-F]+ \(DriverEntry\+0x[0-9a-fA-F]+\)
#include <ntddk.h>

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeSetEvent((PKEVENT)(ULONG_PTR)0xDEAD0000, IO_NO_INCREMENT, FALSE);
    return STATUS_SUCCESS;
}
