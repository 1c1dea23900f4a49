// The driver creates a system thread and never closes the thread handle.
// After a clean unload the verifier lists the handle with the driver's call
// site, and kmhost exits with status 4.
// EXPECT-EXIT: 4
// EXPECT-OUTPUT: ^VERIFIER: leaked handle 0x[0-9a-f]+ to Thread object 0x[0-9a-f]+, created at bug_leak_handle\.sys\+0x[0-9a-f]+
#include <ntifs.h>

static HANDLE Thread;

static VOID NTAPI Worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    /* The thread has ended (it is waited for), but the bug: no ZwClose(Thread). */
    ZwWaitForSingleObject(Thread, FALSE, NULL);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = Unload;
    return PsCreateSystemThread(&Thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
}
