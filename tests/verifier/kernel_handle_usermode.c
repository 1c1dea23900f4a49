// ObReferenceObjectByHandle with its kernel handle with UserMode (a kernel handle is never a user-mode caller's). Driver Verifier: 0xC4 subcode
// 0xF7. The handle checks are opt-in in kmhost: without them the documented
// STATUS_INVALID_HANDLE comes back, which conformance drivers test for.
// KMHOST-ARGS: --verifier=default,handles
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x00000000000000F7,0x[0-9A-F]{16},0x[0-9A-F]{16},0x0000000000000001\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: ObReferenceObjectByHandle\(0x[0-9a-f]+, UserMode\) of a kernel handle
#include <ntifs.h>
#include <kmfix.h>

static VOID NTAPI Worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    PVOID object;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ZwWaitForSingleObject(thread, FALSE, NULL);
    status = ObReferenceObjectByHandle(thread, SYNCHRONIZE, *__imp_PsThreadType, UserMode, &object, NULL);
    ZwClose(thread);
    if (NT_SUCCESS(status))
        ObDereferenceObject(object);
    return STATUS_SUCCESS;
}
