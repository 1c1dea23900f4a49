// A driver that loads and unloads cleanly, saying when: for the shell tests
// that stop a running kmhost (tests/cli/test_interrupt.sh).
#include <ntddk.h>

static VOID NTAPI StayUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    DbgPrint("stay: unloaded\n");
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = StayUnload;
    DbgPrint("stay: loaded\n");
    return STATUS_SUCCESS;
}
