// KfLowerIrql called through its export (MmGetSystemRoutineAddress; the WDK's
// inline forms write CR8 directly) to lower to a level above the current one.
// Driver Verifier: 0xC4 subcode 0x31, P2 the current IRQL, P3 the requested one.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x0000000000000031,0x0000000000000002,0x000000000000000F,0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: KeLowerIrql from IRQL 2 to 15
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
    RtlInitUnicodeString(&name, L"KfLowerIrql");
    routine = MmGetSystemRoutineAddress(&name);
    if (!routine)
        return STATUS_PROCEDURE_NOT_FOUND;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ((LOWER)routine)(HIGH_LEVEL);
    KeLowerIrql(old);
    return STATUS_SUCCESS;
}
