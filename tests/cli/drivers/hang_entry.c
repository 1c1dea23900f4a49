// A driver whose DriverEntry never returns: it waits on an event nobody sets.
// tests/cli/test_interrupt.sh checks what SIGINT/SIGTERM do to kmhost then.
#include <ntddk.h>

static KEVENT g_never;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&g_never, NotificationEvent, FALSE);
    DbgPrint("hang_entry: waiting for an event nobody sets\n");
    KeWaitForSingleObject(&g_never, Executive, KernelMode, FALSE, NULL);
    return STATUS_SUCCESS;
}
