// The driver releases a spin lock twice. The second KeReleaseSpinLock finds
// the lock free (and the IRQL already lowered). Driver Verifier: 0xC4
// subcode 0x32 (P2 the IRQL, P3 the spin lock), "This may be due to a
// double-release of a spin lock".
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x0000000000000032,0x0000000000000000,0x[0-9A-F]{16},0x0000000000000000\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$ EXPECT-OUTPUT: release of spin lock 0x[0-9a-f]+, which is not
// held .*called from bug_spin_double_release\.sys\+0x[0-9a-f]+
#include <ntddk.h>

static KSPIN_LOCK Lock;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KIRQL irql;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeSpinLock(&Lock);
    KeAcquireSpinLock(&Lock, &irql);
    KeReleaseSpinLock(&Lock, irql);
    KeReleaseSpinLock(&Lock, irql); /* Bug: released twice. */
    return STATUS_SUCCESS;
}
