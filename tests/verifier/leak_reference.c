// The driver references its thread object by handle, waits for the thread,
// and never drops the reference. The verifier lists the leaked reference by
// object type with the call site that took it; exit status 4.
// EXPECT-EXIT: 4
// EXPECT-OUTPUT: ^VERIFIER: leaked reference: 1 reference to Thread object 0x[0-9a-f]+, last taken at bug_leak_reference\.sys\+0x[0-9a-f]+
#include <ntddk.h>

static VOID NTAPI Worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    PVOID object;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    if (!NT_SUCCESS(status))
        return status;
    status = ObReferenceObjectByHandle(thread, SYNCHRONIZE, NULL, KernelMode, &object, NULL);
    ZwClose(thread);
    if (!NT_SUCCESS(status))
        return status;
    KeWaitForSingleObject(object, Executive, KernelMode, FALSE, NULL);
    /* Bug: no ObDereferenceObject(object). */
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
