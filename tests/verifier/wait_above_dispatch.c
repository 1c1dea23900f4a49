// The driver waits on an event at HIGH_LEVEL above DISPATCH_LEVEL, even with a zero timeout. Driver Verifier:
// 0xC4 subcode 0x120 (P2 the IRQL, P3 the object, P4 the timeout's address).
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x0000000000000120,0x000000000000000F,0x[0-9A-F]{16},0x[0-9A-F]{16}\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: ^kmhost: verifier: .* \(called from bug_wait_above_dispatch\.sys\+0x[0-9a-f]+
#include <ntddk.h>

static KEVENT Event;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LARGE_INTEGER timeout, zero;
    KIRQL old;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    timeout.QuadPart = -100000; /* 10 ms, relative */
    zero.QuadPart = 0;
    (void)timeout;
    (void)zero;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    KeRaiseIrql(HIGH_LEVEL, &old);
    KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, &zero);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
}
