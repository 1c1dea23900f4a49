// The driver acquires an ERESOURCE at PASSIVE_LEVEL without
// KeEnterCriticalRegion: suspended by an APC while it owns the resource,
// the thread would block every other thread that needs it. Driver Verifier:
// 0xC4 subcode 0x37, P2 the IRQL (0), P3 the thread's APC disable count (0),
// P4 the resource.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x0000000000000037,0x0000000000000000,0x0000000000000000,0x[0-9A-F]{16}\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$ EXPECT-OUTPUT: ERESOURCE 0x[0-9a-f]+ acquired with normal
// kernel APCs enabled: .*called from bug_resource_no_critical_region\.sys\+0x[0-9a-f]+
#include <ntddk.h>

static ERESOURCE Resource;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    status = ExInitializeResourceLite(&Resource);
    if (!NT_SUCCESS(status))
        return status;
    ExAcquireResourceSharedLite(&Resource, TRUE); /* Bug: no KeEnterCriticalRegion. */
    ExReleaseResourceLite(&Resource);
    ExDeleteResourceLite(&Resource);
    return STATUS_SUCCESS;
}
