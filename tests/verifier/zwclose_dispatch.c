// ZwClose at DISPATCH_LEVEL: Zw routines run at PASSIVE_LEVEL. Driver
// Verifier: 0xC4 subcode 0xE6, P2 the driver's call site, P3 the IRQL, P4
// the special-kernel-APC disable count.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x00000000000000E6,0x[0-9A-F]{16},0x0000000000000002,0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: ZwClose called at IRQL 2 .*called from bug_zwclose_dispatch\.sys\+0x
#include <ntddk.h>

static VOID NTAPI Worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    KIRQL old;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    if (!NT_SUCCESS(status))
        return status;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ZwClose(thread);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
}
