/*
 * pingpong: the dispatcher's two hot paths, measured from inside a driver.
 *
 *   pingpong       two system threads hand the turn back and forth through
 *                  two synchronization events (KeSetEvent +
 *                  KeWaitForSingleObject), each event on a cache line of its
 *                  own; figure: ns per round trip.
 *   pingpong_line  the same with both events on one cache line.
 *   lifecycle      PsCreateSystemThread + ObReferenceObjectByHandle + ZwClose
 *                  + KeWaitForSingleObject(thread) + ObDereferenceObject,
 *                  with an empty thread; figure: ns per thread.
 *
 * Each figure is the median of KPB_RUNS timed runs after one untimed warm-up
 * run, printed as "BENCH <name>_ns=<value>" for bench/kmbench.c to parse. All
 * work happens in DriverEntry, so `kmhost run pingpong.sys` is the whole
 * benchmark. kmbench runs it twice: on every CPU, and with the kmhost
 * process restricted to one CPU (as `taskset -c 0` does) for the one-CPU
 * ping-pong figure.
 *
 * The layouts: when both events share a line, the thread that just took one
 * and sets the other writes that line twice, 15-25 ns apart (the wait's
 * return, the loop, the set's checks), and the other thread's spin reads the
 * line back in between: in the VM state where a line moves between the CPUs
 * in about 35 ns that costs kmhost a transfer more per hand-off (121-126
 * against 83-87 ns a trip), while the native equivalent, whose set and take
 * are one instruction each, is fastest with its two words on one line (67-69
 * ns; 79-116 on lines of their own). So the figure gives each side its best
 * layout, as a driver that cares lays its events out (waits.c does the
 * same), and pingpong_line shows the other.
 */
#include "kbench.h"

#define KPB_RUNS KB_RUNS
#define KPB_TRIPS 2000     /* round trips per ping-pong run */
#define KPB_LIFECYCLES 200 /* threads per lifecycle run */

/* The two events of one layout: [0] pings, [1] answers. */
typedef struct KPB_LINE_EVENT {
    KEVENT Event;
} __attribute__((aligned(64))) KPB_LINE_EVENT;
static KPB_LINE_EVENT KpbOwnLines[2];
static struct {
    KEVENT Events[2];
} __attribute__((aligned(64))) KpbOneLine;
_Static_assert(sizeof(KpbOneLine) <= 64, "both events on one line");

static PKEVENT KpbPing, KpbPong; /* the layout being measured */
static KB_PAIR KpbPair;          /* where the two threads meet */
static LONGLONG KpbPingPongTicks[KPB_RUNS + 1]; /* [0] is the warm-up */

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD KpbUnload;
static KSTART_ROUTINE KpbPinger, KpbPonger, KpbEmpty;

static VOID NTAPI KpbPonger(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KbMeet(&KpbPair);
    for (ULONG i = 0; i < (KPB_RUNS + 1) * KPB_TRIPS; i++) {
        KeWaitForSingleObject(KpbPing, Executive, KernelMode, FALSE, NULL);
        KeSetEvent(KpbPong, IO_NO_INCREMENT, FALSE);
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
            KeSetEvent(KpbPing, IO_NO_INCREMENT, FALSE);
            KeWaitForSingleObject(KpbPong, Executive, KernelMode, FALSE, NULL);
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

static NTSTATUS KpbPingPong(PCSTR Name, PKEVENT Ping, PKEVENT Pong, LONGLONG Frequency)
{
    PVOID pinger, ponger;
    NTSTATUS status;

    /* Synchronization events: a satisfied wait resets the event, so each
       KeSetEvent releases exactly one turn. */
    KpbPing = Ping;
    KpbPong = Pong;
    KeInitializeEvent(KpbPing, SynchronizationEvent, FALSE);
    KeInitializeEvent(KpbPong, SynchronizationEvent, FALSE);
    KbPairInit(&KpbPair);
    status = KbStart(KpbPonger, NULL, &ponger);
    if (!NT_SUCCESS(status))
        return status;
    status = KbStart(KpbPinger, NULL, &pinger);
    if (!NT_SUCCESS(status)) {
        /* The ponger waits for turns that will not come: serve them. */
        KbMeet(&KpbPair);
        for (ULONG i = 0; i < (KPB_RUNS + 1) * KPB_TRIPS; i++) {
            KeSetEvent(KpbPing, IO_NO_INCREMENT, FALSE);
            KeWaitForSingleObject(KpbPong, Executive, KernelMode, FALSE, NULL);
        }
        KbJoin(ponger);
        return status;
    }
    KbJoin(pinger);
    KbJoin(ponger);
    KbReportRuns(Name, KpbPingPongTicks, KPB_TRIPS, Frequency);
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

    status = KpbPingPong("pingpong", &KpbOwnLines[0].Event, &KpbOwnLines[1].Event, frequency);
    if (NT_SUCCESS(status))
        status = KpbPingPong("pingpong_line", &KpbOneLine.Events[0], &KpbOneLine.Events[1],
                             frequency);
    if (NT_SUCCESS(status))
        status = KpbLifecycle(frequency);
    if (!NT_SUCCESS(status)) {
        DbgPrint("BENCH error: a system thread did not start: 0x%08lX\n", (ULONG)status);
        return status;
    }
    DriverObject->DriverUnload = KpbUnload;
    return STATUS_SUCCESS;
}
