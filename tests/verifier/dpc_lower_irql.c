// A DPC routine lowers the IRQL below DISPATCH_LEVEL (here by releasing a
// spin lock to PASSIVE_LEVEL, then raising again before it returns, so that
// only the lowering itself can be caught). Driver Verifier: bug check 0xC4,
// P1 0x31 (IRQL lowered to an invalid level), P2 the current IRQL, P3 the
// new IRQL, P4 1 ("invalid inside a DPC routine").
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C4
// \(0x0000000000000031,0x0000000000000002,0x0000000000000000,0x0000000000000001\)
// DRIVER_VERIFIER_DETECTED_VIOLATION$
#include <ntddk.h>

static KDPC Dpc;
static KSPIN_LOCK Lock;
static KEVENT Ran;

VOID NTAPI LowerRoutine(PKDPC D, PVOID Context, PVOID A1, PVOID A2)
{
    KIRQL ignored;
    UNREFERENCED_PARAMETER(D);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    KeAcquireSpinLockAtDpcLevel(&Lock);
    KeReleaseSpinLock(&Lock, PASSIVE_LEVEL); /* the bug */
    KeRaiseIrql(DISPATCH_LEVEL, &ignored);
    KeSetEvent(&Ran, IO_NO_INCREMENT, FALSE);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LARGE_INTEGER timeout = {.QuadPart = -50000000LL}; /* 5 s */
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = Unload;
    KeInitializeSpinLock(&Lock);
    KeInitializeEvent(&Ran, NotificationEvent, FALSE);
    KeInitializeDpc(&Dpc, LowerRoutine, NULL);
    KeInsertQueueDpc(&Dpc, NULL, NULL);
    KeWaitForSingleObject(&Ran, Executive, KernelMode, FALSE, &timeout);
    return STATUS_SUCCESS;
}
