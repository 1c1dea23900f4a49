// Deadlock detection: one code path takes mutex A then B, another B then A.
// This run never deadlocks (one thread runs both paths), but two threads
// running them at the same time can. Driver Verifier: 0xC4 subcode 0x1001,
// P2 the lock whose acquisition closed the cycle; both sites are named.
// KMHOST-ARGS: --verifier=default,deadlock
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4 \(0x0000000000001001,0x[0-9A-F]{16},0x0000000000000000,0x0000000000000000\) DRIVER_VERIFIER_DETECTED_VIOLATION$
// EXPECT-OUTPUT: lock order inversion .*acquired at bug_deadlock_order\.sys\+0x[0-9a-f]+.* acquires mutex 0x[0-9a-f]+ at bug_deadlock_order\.sys\+0x[0-9a-f]+.* another path held
#include <ntddk.h>

static KMUTEX A, B;

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

static void Lock(PKMUTEX M)
{
    KeWaitForSingleObject(M, Executive, KernelMode, FALSE, NULL);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = Unload; /* a clean run unloads (tests/cli/test_verifier.sh) */
    KeInitializeMutex(&A, 0);
    KeInitializeMutex(&B, 0);
    Lock(&A); /* path 1: A, then B */
    Lock(&B);
    KeReleaseMutex(&B, FALSE);
    KeReleaseMutex(&A, FALSE);
    Lock(&B); /* path 2: B, then A: the inversion */
    Lock(&A);
    KeReleaseMutex(&A, FALSE);
    KeReleaseMutex(&B, FALSE);
    return STATUS_SUCCESS;
}
