// A system thread acquires an ERESOURCE (inside a critical region, as
// documented) and returns without releasing it. Driver Verifier: 0xC4
// subcode 0x100A "the terminated thread owns the lock", P2 the thread.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x000000000000100A,0x[0-9A-F]{16},0x[0-9A-F]{16},0x0000000000000000\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$ EXPECT-OUTPUT: ends while it holds resource 0x[0-9a-f]+,
// acquired at bug_thread_exit_resource\.sys\+0x[0-9a-f]+
#include <ntifs.h>

static ERESOURCE Resource;

static VOID NTAPI Worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&Resource, TRUE);
    DbgPrint("worker: lock taken\n"); /* (not a tail call: the site is the driver's) */
    /* Bug: no ExReleaseResourceLite(&Resource); KeLeaveCriticalRegion(). */
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    status = ExInitializeResourceLite(&Resource);
    if (!NT_SUCCESS(status))
        return status;
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ZwWaitForSingleObject(thread, FALSE, NULL);
    ZwClose(thread);
    return STATUS_SUCCESS;
}
