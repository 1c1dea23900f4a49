// KeInitializeEvent on an event a thread is waiting on: the waiter is lost
// (it is linked to the old wait list and is never released). kmhost stops
// with 0xC4 subcode 0xE1 (an invalid synchronization object), P2 the event.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x00000000000000E1,0x[0-9A-F]{16},0x0000000000000000,0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: object 0x[0-9a-f]+ initialised again while thread .* waits on it
#include <ntifs.h>

static KEVENT Event, Ready;

static VOID NTAPI Waiter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeSetEvent(&Ready, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&Event, Executive, KernelMode, FALSE, NULL);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    NTSTATUS status;
    LARGE_INTEGER ms;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    ms.QuadPart = -10000;
    KeInitializeEvent(&Event, NotificationEvent, FALSE);
    KeInitializeEvent(&Ready, NotificationEvent, FALSE);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Waiter, NULL);
    if (!NT_SUCCESS(status))
        return status;
    KeWaitForSingleObject(&Ready, Executive, KernelMode, FALSE, NULL);
    /* Bug: re-initialise while the waiter waits. Repeated until the waiter
       is surely blocked; an initialisation before it blocks is harmless. */
    for (int i = 0; i < 10000; i++) {
        KeInitializeEvent(&Event, NotificationEvent, FALSE);
        KeDelayExecutionThread(KernelMode, FALSE, &ms);
    }
    KeSetEvent(&Event, IO_NO_INCREMENT, FALSE);
    ZwWaitForSingleObject(thread, FALSE, NULL);
    ZwClose(thread);
    return STATUS_SUCCESS;
}
