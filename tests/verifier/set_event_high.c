// KeSetEvent above DISPATCH_LEVEL (here HIGH_LEVEL). Driver Verifier: 0xC4
// subcode 0x80, P2 the IRQL, P3 the event.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x0000000000000080,0x000000000000000F,0x[0-9A-F]{16},0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: KeSetEvent\(0x[0-9a-f]+\) called at IRQL 15 \(HIGH_LEVEL\).*called from bug_set_event_high\.sys\+0x
#include <ntddk.h>

static KEVENT Event;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KIRQL old;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    KeRaiseIrql(HIGH_LEVEL, &old);
    KeSetEvent(&Event, IO_NO_INCREMENT, FALSE);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
}
