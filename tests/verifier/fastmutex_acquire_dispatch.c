// The driver acquires a fast mutex at DISPATCH_LEVEL, where a thread must
// not wait. Driver Verifier: 0xC4 subcode 0x33, P2 the IRQL (2), P3 the
// fast mutex.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x0000000000000033,0x0000000000000002,0x[0-9A-F]{16},0x0000000000000000\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$ EXPECT-OUTPUT: ExAcquireFastMutex\(0x[0-9a-f]+\) at IRQL 2:
// .*called from bug_fastmutex_acquire_dispatch\.sys\+0x[0-9a-f]+
#include <ntddk.h>

static FAST_MUTEX Mutex;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KIRQL irql;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    ExInitializeFastMutex(&Mutex);
    KeRaiseIrql(DISPATCH_LEVEL, &irql);
    ExAcquireFastMutex(&Mutex); /* Bug: above APC_LEVEL. */
    ExReleaseFastMutex(&Mutex);
    KeLowerIrql(irql);
    return STATUS_SUCCESS;
}
