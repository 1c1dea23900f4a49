// The driver sets a timer with a DPC and unloads without cancelling it: the
// DPC routine would run in unloaded code. Windows: bug check 0xC7
// TIMER_OR_DPC_INVALID, P1 0 (a timer), P2 the timer, P3/P4 the image's
// range; kmhost names the timer and its DPC routine first.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000C7
// \(0x0000000000000000,0x[0-9A-F]{16},0x[0-9A-F]{16},0x[0-9A-F]{16}\) TIMER_OR_DPC_INVALID$
// EXPECT-OUTPUT: bug_timer_at_unload\.sys unloaded with timer 0x[0-9a-f]+
// \(bug_timer_at_unload\.sys\+0x[0-9a-f]+.*\) still set, its DPC routine
// bug_timer_at_unload\.sys\+0x[0-9a-f]+ \(TimerRoutine\)
#include <ntddk.h>

static KTIMER Timer;
static KDPC Dpc;

VOID NTAPI TimerRoutine(PKDPC D, PVOID Context, PVOID A1, PVOID A2)
{
    UNREFERENCED_PARAMETER(D);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(A1);
    UNREFERENCED_PARAMETER(A2);
}

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    /* Bug: no KeCancelTimer(&Timer). */
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LARGE_INTEGER due;

    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeTimer(&Timer);
    KeInitializeDpc(&Dpc, TimerRoutine, NULL);
    due.QuadPart = -36000000000LL; /* an hour from now */
    KeSetTimer(&Timer, due, &Dpc);
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
