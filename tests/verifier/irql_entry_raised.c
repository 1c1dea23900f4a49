// DriverEntry raises the IRQL and returns without lowering it. The I/O
// manager called it at PASSIVE_LEVEL; the verifier reports the IRQL it was
// left at on a VERIFIER: line; exit status 4.
// EXPECT-EXIT: 4
// EXPECT-OUTPUT: ^VERIFIER: DriverEntry of bug_irql_entry_raised\.sys returned at IRQL 2, not at PASSIVE_LEVEL
#include <ntddk.h>

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KIRQL old;
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = Unload;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    /* Bug: no KeLowerIrql(old). */
    return STATUS_SUCCESS;
}
