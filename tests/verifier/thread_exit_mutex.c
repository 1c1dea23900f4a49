// A system thread acquires a mutex (KeInitializeMutex) and returns without
// releasing it. Driver Verifier: 0xC4 subcode 0x100A "the terminated thread
// owns the lock", P2 the thread, P3 the mutex.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x000000000000100A,0x[0-9A-F]{16},0x[0-9A-F]{16},0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: thread 0x[0-9a-f]+ .*start bug_thread_exit_mutex\.sys\+0x[0-9a-f]+.*\) ends while it holds mutex 0x
#include <ntifs.h>

static KMUTEX Mutex;

static VOID NTAPI Worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KeWaitForSingleObject(&Mutex, Executive, KernelMode, FALSE, NULL);
    /* Bug: no KeReleaseMutex(&Mutex, FALSE). */
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    HANDLE thread;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeMutex(&Mutex, 0);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Worker, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ZwWaitForSingleObject(thread, FALSE, NULL);
    ZwClose(thread);
    return STATUS_SUCCESS;
}
