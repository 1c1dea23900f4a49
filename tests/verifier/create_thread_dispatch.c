// PsCreateSystemThread at DISPATCH_LEVEL; it must be called at
// PASSIVE_LEVEL. Driver Verifier: 0xC4 subcode 0xE5 (a kernel API called at
// the wrong IRQL), P2 the IRQL.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x00000000000000E5,0x0000000000000002,0x0000000000000000,0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: PsCreateSystemThread called at IRQL 2 \(DISPATCH_LEVEL\)
#include <ntddk.h>

static VOID NTAPI Worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    KIRQL old;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
}
