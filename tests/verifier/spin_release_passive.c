// The driver lowers the IRQL to PASSIVE_LEVEL while it holds a spin lock,
// then releases the lock: KeReleaseSpinLock is called at an IRQL other than
// DISPATCH_LEVEL. Bug check 0xC4 subcode 0x32, P2 the IRQL (0), P3 the lock.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x0000000000000032,0x0000000000000000,0x[0-9A-F]{16},0x0000000000000000\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$
#include <ntddk.h>

static KSPIN_LOCK Lock;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KIRQL irql;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeSpinLock(&Lock);
    KeAcquireSpinLock(&Lock, &irql);
    KeLowerIrql(PASSIVE_LEVEL); /* Bug: the lock is still held. */
    KeReleaseSpinLock(&Lock, irql);
    return STATUS_SUCCESS;
}
