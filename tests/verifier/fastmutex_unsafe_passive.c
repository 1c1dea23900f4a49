// ExAcquireFastMutexUnsafe at PASSIVE_LEVEL outside a critical region: the
// Unsafe routines need APC_LEVEL or KeEnterCriticalRegion. Driver Verifier:
// 0xC4 subcode 0x39, P2 the IRQL (0), P3 the thread's APC disable count (0),
// P4 the mutex.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x0000000000000039,0x0000000000000000,0x0000000000000000,0x[0-9A-F]{16}\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$ EXPECT-OUTPUT: ExAcquireFastMutexUnsafe\(0x[0-9a-f]+\) at
// IRQL 0 outside a critical region.*called from bug_fastmutex_unsafe_passive\.sys\+0x[0-9a-f]+
#include <ntddk.h>

static FAST_MUTEX Mutex;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    ExInitializeFastMutex(&Mutex);
    ExAcquireFastMutexUnsafe(&Mutex); /* Bug: no KeEnterCriticalRegion first. */
    ExReleaseFastMutexUnsafe(&Mutex);
    return STATUS_SUCCESS;
}
