// KeSetSystemAffinityThreadEx above DISPATCH_LEVEL (here HIGH_LEVEL): the
// routine allows at most DISPATCH_LEVEL. Bug check 0x121 DRIVER_VIOLATION,
// P1 2 (a routine called above the highest IRQL it allows), P2 the IRQL,
// P3 that highest IRQL.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x00000121 \(0x0000000000000002,0x000000000000000F,0x0000000000000002,0x0000000000000000\) DRIVER_VIOLATION$
// EXPECT-OUTPUT: KeSetSystemAffinityThreadEx called at IRQL 15.*called from bug_affinity_high_irql\.sys\+0x
#include <ntddk.h>

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    KIRQL old;
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeRaiseIrql(HIGH_LEVEL, &old);
    KAFFINITY previous = KeSetSystemAffinityThreadEx(1);
    KeLowerIrql(old);
    KeRevertToUserAffinityThreadEx(previous);
    return STATUS_SUCCESS;
}
