// A driver whose DriverEntry takes two seconds before it returns: for the
// shell test that stops kmhost while drivers are still loading
// (tests/cli/test_interrupt.sh).
#include <ntddk.h>

static VOID NTAPI SlowUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    DbgPrint("slow_entry: unloaded\n");
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LARGE_INTEGER two_seconds = {.QuadPart = -20000000LL};

    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = SlowUnload;
    DbgPrint("slow_entry: loading\n");
    KeDelayExecutionThread(KernelMode, FALSE, &two_seconds);
    return STATUS_SUCCESS;
}
