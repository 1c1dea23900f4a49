// The lecture's central bug: DriverUnload returns while a system thread of the
// driver still runs. Windows bug checks 0xCE
// DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS when that thread next
// executes unloaded code; kmhost stops at the unload and names the thread.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000CE \(0x[0-9A-F]{16},0x0000000000000008,0x[0-9A-F]{16},0x0000000000000000\) DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS$
// EXPECT-OUTPUT: DriverUnload returned while thread .*start bug_unload_running_thread.sys\+0x
#include <ntddk.h>

static KEVENT Never;

static VOID NTAPI Spinner(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    /* Waits for an event nobody sets: the thread outlives the driver. */
    KeWaitForSingleObject(&Never, Executive, KernelMode, FALSE, NULL);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    /* Bug: no stop signal, no wait for the thread. */
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&Never, NotificationEvent, FALSE);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Spinner, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ZwClose(thread);
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
