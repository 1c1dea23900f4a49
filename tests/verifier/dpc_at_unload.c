// The driver unloads while one of its DPCs is still queued: DPC Busy runs on
// processor 0 until the end of the process, and DPC Late is queued behind
// it. Windows: bug check 0xC7 TIMER_OR_DPC_INVALID, P1 1 (a DPC object),
// P2 the DPC, P3/P4 the image's range; kmhost names the DPC's routine.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C7
// \(0x0000000000000001,0x[0-9A-F]{16},0x[0-9A-F]{16},0x[0-9A-F]{16}\) TIMER_OR_DPC_INVALID$
// EXPECT-OUTPUT: bug_dpc_at_unload\.sys unloaded with DPC 0x[0-9a-f]+
// \(bug_dpc_at_unload\.sys\+0x[0-9a-f]+.*\) still queued, routine
// bug_dpc_at_unload\.sys\+0x[0-9a-f]+ \(LateRoutine\)
#include <ntddk.h>

static KDPC Busy, Late;
static KEVENT BusyStarted;

VOID NTAPI BusyRoutine(PKDPC D, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(D);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
    KeSetEvent(&BusyStarted, 0, FALSE);
    for (;;) /* keeps processor 0's DPC queue from draining */
        KeStallExecutionProcessor(1000);
}

VOID NTAPI LateRoutine(PKDPC D, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(D);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    KeInsertQueueDpc(&Busy, NULL, NULL);
    KeWaitForSingleObject(&BusyStarted, Executive, KernelMode, FALSE, NULL);
    KeInsertQueueDpc(&Late, NULL, NULL);
    /* Bug: returns with Late still queued (no KeRemoveQueueDpc/KeFlushQueuedDpcs). */
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&BusyStarted, NotificationEvent, FALSE);
    KeInitializeDpc(&Busy, BusyRoutine, NULL);
    KeInitializeDpc(&Late, LateRoutine, NULL);
    KeSetTargetProcessorDpc(&Busy, 0);
    KeSetTargetProcessorDpc(&Late, 0);
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
