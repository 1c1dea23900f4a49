// The driver lowers the IRQL to PASSIVE_LEVEL while it holds a fast mutex
// (ExAcquireFastMutex left it at APC_LEVEL), then releases the mutex.
// Driver Verifier: 0xC4 subcode 0x34, P2 the IRQL (0), P3 the fast mutex.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x0000000000000034,0x0000000000000000,0x[0-9A-F]{16},0x0000000000000000\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$ EXPECT-OUTPUT: ExReleaseFastMutex\(0x[0-9a-f]+\) at IRQL 0:
// .*called from bug_fastmutex_release_passive\.sys\+0x[0-9a-f]+
#include <ntddk.h>

static FAST_MUTEX Mutex;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    ExInitializeFastMutex(&Mutex);
    ExAcquireFastMutex(&Mutex);
    KeLowerIrql(PASSIVE_LEVEL); /* Bug: the mutex is still held. */
    ExReleaseFastMutex(&Mutex);
    return STATUS_SUCCESS;
}
