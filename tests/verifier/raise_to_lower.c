// KfRaiseIrql called through its export (MmGetSystemRoutineAddress; the WDK's
// inline forms write CR8 directly) to raise to a level below the current one.
// Driver Verifier: 0xC4 subcode 0x30, P2 the current IRQL, P3 the requested one.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x0000000000000030,0x0000000000000002,0x0000000000000000,0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: KeRaiseIrql from IRQL 2 to 0
#include <ntddk.h>

typedef KIRQL(NTAPI *RAISE)(KIRQL);
typedef VOID(NTAPI *LOWER)(KIRQL);

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name;
    KIRQL old;
    PVOID routine;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    RtlInitUnicodeString(&name, L"KfRaiseIrql");
    routine = MmGetSystemRoutineAddress(&name);
    if (!routine)
        return STATUS_PROCEDURE_NOT_FOUND;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ((RAISE)routine)(PASSIVE_LEVEL);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
}
