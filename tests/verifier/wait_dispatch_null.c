// The driver waits on an event at DISPATCH_LEVEL with a NULL timeout (wait forever). Driver Verifier:
// 0xC4 subcode 0x121 (P2 the IRQL, P3 the object, P4 the timeout's address).
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x0000000000000121,0x0000000000000002,0x[0-9A-F]{16},0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: ^kmhost: verifier: .* \(called from bug_wait_dispatch_null\.sys\+0x[0-9a-f]+
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
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
}
