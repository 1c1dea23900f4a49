// A system thread dereferences NULL. Windows: bug check 0x7E
// SYSTEM_THREAD_EXCEPTION_NOT_HANDLED, P1 the exception code
// (STATUS_ACCESS_VIOLATION), P2 the faulting address; the report names the
// module and offset of the faulting instruction.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x0000007E \(0x[0-9A-F]*C0000005,0x[0-9A-F]{16},0x[0-9A-F]{16},0x[0-9A-F]{16}\) SYSTEM_THREAD_EXCEPTION_NOT_HANDLED$
// EXPECT-OUTPUT: bug_thread_fault\.sys\+0x[0-9a-fA-F]+
#include <ntddk.h>

static volatile LONG *volatile Nowhere;

static VOID NTAPI Crasher(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    *Nowhere = 1;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    PVOID object;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Crasher, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ObReferenceObjectByHandle(thread, SYNCHRONIZE, NULL, KernelMode, &object, NULL);
    ZwClose(thread);
    KeWaitForSingleObject(object, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(object);
    return STATUS_SUCCESS;
}
