// Deadlock detection across lock kinds: one thread takes fast mutex F, then
// spin lock S; later another thread takes S, then F. The run never deadlocks
// (the first thread has finished), but the two paths at the same time can.
// Driver Verifier: 0xC4 subcode 0x1001, P2 the lock whose acquisition
// closed the cycle (F); both acquisition sites are named.
// KMHOST-ARGS: --verifier=default,deadlock
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x0000000000001001,0x[0-9A-F]{16},0x0000000000000000,0x0000000000000000\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$ EXPECT-OUTPUT: lock order inversion .*acquired at
// bug_deadlock_spin_fastmutex\.sys\+0x[0-9a-f]+.* acquires fast mutex 0x[0-9a-f]+ at
// bug_deadlock_spin_fastmutex\.sys\+0x[0-9a-f]+.* another path held
#include <ntifs.h>

static FAST_MUTEX F;
static KSPIN_LOCK S;

static VOID NTAPI PathFS(PVOID Context)
{
    KIRQL irql;
    UNREFERENCED_PARAMETER(Context);
    ExAcquireFastMutex(&F);
    KeAcquireSpinLock(&S, &irql);
    KeReleaseSpinLock(&S, irql);
    ExReleaseFastMutex(&F);
}

static VOID NTAPI PathSF(PVOID Context)
{
    KIRQL irql;
    UNREFERENCED_PARAMETER(Context);
    KeAcquireSpinLock(&S, &irql);
    ExAcquireFastMutex(&F); /* the inversion (and at DISPATCH_LEVEL, too) */
    ExReleaseFastMutex(&F);
    KeReleaseSpinLock(&S, irql);
}

static NTSTATUS RunThread(PKSTART_ROUTINE Routine)
{
    HANDLE thread;
    NTSTATUS status =
        PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Routine, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ZwWaitForSingleObject(thread, FALSE, NULL);
    ZwClose(thread);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    ExInitializeFastMutex(&F);
    KeInitializeSpinLock(&S);
    status = RunThread(PathFS);
    if (!NT_SUCCESS(status))
        return status;
    return RunThread(PathSF);
}
