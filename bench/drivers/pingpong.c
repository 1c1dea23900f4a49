/*
 * pingpong: the dispatcher's two hot paths, measured from inside a driver.
 *
 *   pingpong   two system threads hand the turn back and forth through two
 *              synchronization events (KeSetEvent + KeWaitForSingleObject);
 *              figure: ns per round trip.
 *   lifecycle  PsCreateSystemThread + ObReferenceObjectByHandle + ZwClose +
 *              KeWaitForSingleObject(thread) + ObDereferenceObject, with an
 *              empty thread; figure: ns per thread.
 *
 * Each figure is the median of KPB_RUNS timed runs after one untimed warm-up
 * run, printed as "BENCH <name>_ns=<value>" for bench/kmbench.c to parse. All
 * work happens in DriverEntry, so `kmhost run pingpong.sys` is the whole
 * benchmark. kmbench runs it twice: on every CPU, and with the kmhost
 * process restricted to one CPU (as `taskset -c 0` does) for the one-CPU
 * ping-pong figure.
 */
#include "kbench.h"

#define KPB_RUNS KB_RUNS
#define KPB_TRIPS 2000     /* round trips per ping-pong run */
#define KPB_LIFECYCLES 200 /* threads per lifecycle run */

static KEVENT KpbPing, KpbPong;
static KB_PAIR KpbPair;                         /* where the two threads meet */
static LONGLONG KpbPingPongTicks[KPB_RUNS + 1]; /* [0] is the warm-up */

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD KpbUnload;
static KSTART_ROUTINE KpbPinger, KpbPonger, KpbEmpty;

static VOID NTAPI KpbPonger(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KbMeet(&KpbPair);
    for (ULONG i = 0; i < (KPB_RUNS + 1) * KPB_TRIPS; i++) {
        KeWaitForSingleObject(&KpbPing, Executive, KernelMode, FALSE, NULL);
        KeSetEvent(&KpbPong, IO_NO_INCREMENT, FALSE);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static VOID NTAPI KpbPinger(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KbMeet(&KpbPair);
    for (int run = 0; run <= KPB_RUNS; run++) {
        LARGE_INTEGER start = KeQueryPerformanceCounter(NULL);
        for (ULONG i = 0; i < KPB_TRIPS; i++) {
            KeSetEvent(&KpbPing, IO_NO_INCREMENT, FALSE);
            KeWaitForSingleObject(&KpbPong, Executive, KernelMode, FALSE, NULL);
        }
        KpbPingPongTicks[run] = KeQueryPerformanceCounter(NULL).QuadPart - start.QuadPart;
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static VOID NTAPI KpbEmpty(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS KpbPingPong(LONGLONG Frequency)
{
    PVOID pinger, ponger;
    NTSTATUS status;

    /* Synchronization events: a satisfied wait resets the event, so each
       KeSetEvent releases exactly one turn. */
    KeInitializeEvent(&KpbPing, SynchronizationEvent, FALSE);
    KeInitializeEvent(&KpbPong, SynchronizationEvent, FALSE);
    KbPairInit(&KpbPair);
    status = KbStart(KpbPonger, NULL, &ponger);
    if (!NT_SUCCESS(status))
        return status;
    status = KbStart(KpbPinger, NULL, &pinger);
    if (!NT_SUCCESS(status)) {
        /* The ponger waits for turns that will not come: serve them. */
        KbMeet(&KpbPair);
        for (ULONG i = 0; i < (KPB_RUNS + 1) * KPB_TRIPS; i++) {
            KeSetEvent(&KpbPing, IO_NO_INCREMENT, FALSE);
            KeWaitForSingleObject(&KpbPong, Executive, KernelMode, FALSE, NULL);
        }
        KbJoin(ponger);
        return status;
    }
    KbJoin(pinger);
    KbJoin(ponger);
    KbReportRuns("pingpong", KpbPingPongTicks, KPB_TRIPS, Frequency);
    return STATUS_SUCCESS;
}

static NTSTATUS KpbLifecycle(LONGLONG Frequency)
{
    LONGLONG ticks[KPB_RUNS + 1];
    NTSTATUS status;

    for (int run = 0; run <= KPB_RUNS; run++) {
        LARGE_INTEGER start = KeQueryPerformanceCounter(NULL);
        for (ULONG i = 0; i < KPB_LIFECYCLES; i++) {
            PVOID thread;
            status = KbStart(KpbEmpty, NULL, &thread);
            if (!NT_SUCCESS(status))
                return status;
            KbJoin(thread);
        }
        ticks[run] = KeQueryPerformanceCounter(NULL).QuadPart - start.QuadPart;
    }
    KbReportRuns("lifecycle", ticks, KPB_LIFECYCLES, Frequency);
    return STATUS_SUCCESS;
}

static VOID NTAPI KpbUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LONGLONG frequency = KbFrequency();
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    if (!frequency)
        return STATUS_NOT_SUPPORTED;
    DbgPrint("BENCH qpc_hz=%I64d runs=%d trips=%d lifecycles=%d\n", frequency, KPB_RUNS, KPB_TRIPS,
             KPB_LIFECYCLES);

    status = KpbPingPong(frequency);
    if (NT_SUCCESS(status))
        status = KpbLifecycle(frequency);
    if (!NT_SUCCESS(status)) {
        DbgPrint("BENCH error: a system thread did not start: 0x%08lX\n", (ULONG)status);
        return status;
    }
    DriverObject->DriverUnload = KpbUnload;
    return STATUS_SUCCESS;
}
