/*
 * kbench.h: what every benchmark driver in bench/drivers/ shares.
 *
 * A driver times its loops with KeQueryPerformanceCounter (10 MHz under
 * kmhost: CLOCK_MONOTONIC, src/hal/clock.c) and prints each figure as one
 * line "BENCH <name>_ns=<value>" for bench/kmbench.c to parse. A figure is
 * the median of KB_RUNS timed runs after one untimed warm-up run; kmbench
 * then takes the median over its rounds. Kernel code avoids floating
 * point, so the arithmetic here is in integers.
 */
#ifndef KBENCH_H
#define KBENCH_H

#include <ntddk.h>

#include "kmfix.h"

#define KB_RUNS 5
/* The pool tag of the bench drivers, "KmBn". */
#define KB_TAG ((ULONG)'K' | (ULONG)'m' << 8 | (ULONG)'B' << 16 | (ULONG)'n' << 24)
#define KB_MAX_FREQUENCY 100000000LL /* keeps KbReport's products below 2^64 */

/* The performance counter frequency, or 0 after printing why it is unusable. */
static inline LONGLONG KbFrequency(void)
{
    LARGE_INTEGER frequency;

    KeQueryPerformanceCounter(&frequency);
    if (frequency.QuadPart <= 0 || frequency.QuadPart > KB_MAX_FREQUENCY) {
        DbgPrint("BENCH error: performance counter frequency %I64d Hz is out of range\n",
                 frequency.QuadPart);
        return 0;
    }
    return frequency.QuadPart;
}

static inline LONGLONG KbNow(void)
{
    return KeQueryPerformanceCounter(NULL).QuadPart;
}

/* Sorts the KB_RUNS values at V in place and returns the middle one. */
static inline LONGLONG KbMedian(LONGLONG *V)
{
    for (int i = 1; i < KB_RUNS; i++)
        for (int j = i; j > 0 && V[j - 1] > V[j]; j--) {
            LONGLONG t = V[j];
            V[j] = V[j - 1];
            V[j - 1] = t;
        }
    return V[KB_RUNS / 2];
}

/* Prints Ticks / Count in nanoseconds with two decimals. Frequency <=
   KB_MAX_FREQUENCY keeps (Ticks % Frequency) * 1e11 below 2^64. */
static inline VOID KbReport(PCSTR Name, LONGLONG Ticks, ULONGLONG Count, LONGLONG Frequency)
{
    ULONGLONG t = (ULONGLONG)Ticks, f = (ULONGLONG)Frequency;
    ULONGLONG hundredths = (t / f) * 100000000000ULL + (t % f) * 100000000000ULL / f;

    hundredths /= Count ? Count : 1;
    DbgPrint("BENCH %s_ns=%I64u.%02I64u\n", Name, hundredths / 100, hundredths % 100);
}

/* Reports the median of Ticks[1..KB_RUNS]; Ticks[0] is the warm-up. */
static inline VOID KbReportRuns(PCSTR Name, LONGLONG *Ticks, ULONGLONG Count, LONGLONG Frequency)
{
    KbReport(Name, KbMedian(&Ticks[1]), Count, Frequency);
}

/* Starts a system thread and returns its referenced thread object. */
static inline NTSTATUS KbStart(PKSTART_ROUTINE Routine, PVOID Context, PVOID *Thread)
{
    OBJECT_ATTRIBUTES attributes;
    HANDLE handle;
    NTSTATUS status;

    InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    status =
        PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, &attributes, NULL, NULL, Routine, Context);
    if (!NT_SUCCESS(status))
        return status;
    status =
        ObReferenceObjectByHandle(handle, SYNCHRONIZE, KM_PsThreadType, KernelMode, Thread, NULL);
    ZwClose(handle);
    /* A kernel handle just returned with THREAD_ALL_ACCESS always resolves. */
    return status;
}

/* Waits for a thread from KbStart to end and drops its reference. */
static inline VOID KbJoin(PVOID Thread)
{
    KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(Thread);
}

/* Sleeps Milliseconds at PASSIVE_LEVEL. */
static inline VOID KbSleep(LONG Milliseconds)
{
    LARGE_INTEGER interval;

    interval.QuadPart = -10000LL * Milliseconds;
    KeDelayExecutionThread(KernelMode, FALSE, &interval);
}

/* Binds the calling thread to processor Seat (modulo their number) when
   the machine has two or more, so that the two threads of a two-CPU figure
   run on two processors, not wherever the scheduler put them (on one CPU
   they would take turns and never contend). Returns the previous system
   affinity for KeRevertToUserAffinityThreadEx. */
static inline KAFFINITY KbBindToProcessor(ULONG Seat)
{
    ULONG n = KeQueryActiveProcessorCount(NULL);
    return n >= 2 ? KeSetSystemAffinityThreadEx((KAFFINITY)1 << (Seat % n)) : 0;
}

/*
 * Two threads running the same loop together, each on its own processor, timed from the moment both
 * are released to the moment the last one finishes: thread creation and
 * exit stay outside the figure.
 */
typedef struct KB_PAIR {
    KEVENT Go;             /* notification event: releases both threads */
    volatile LONG Seats;   /* threads bound to their processor */
    volatile LONG Arrived; /* threads past the gate */
    volatile LONG Left;    /* threads still running the loop */
    LONGLONG Start, End;
} KB_PAIR;

static inline VOID KbPairInit(KB_PAIR *Pair)
{
    KeInitializeEvent(&Pair->Go, NotificationEvent, FALSE);
    Pair->Seats = 0;
    Pair->Arrived = 0;
    Pair->Left = 2;
    Pair->Start = Pair->End = 0;
}

/* The two threads meet: each takes its processor, and returns once both
   run. A figure between two threads starts with both awake, as it goes on
   (a wait that spins a while before it sleeps stays spinning while its
   partner answers fast, and stays sleeping once both sleep: the start
   decides which, on kmhost as natively). */
static inline KAFFINITY KbMeetBind(KB_PAIR *Pair)
{
    return KbBindToProcessor((ULONG)InterlockedIncrement(&Pair->Seats) - 1);
}
static inline VOID KbMeetArrive(KB_PAIR *Pair)
{
    InterlockedIncrement(&Pair->Arrived);
    while (Pair->Arrived < 2)
        YieldProcessor();
}
static inline VOID KbMeet(KB_PAIR *Pair)
{
    KbMeetBind(Pair);
    KbMeetArrive(Pair);
}

/* Called by each thread before its loop: returns when both threads run, so
   that the loops overlap from their first iteration. */
static inline VOID KbPairBegin(KB_PAIR *Pair)
{
    KbMeetBind(Pair);
    KeWaitForSingleObject(&Pair->Go, Executive, KernelMode, FALSE, NULL);
    KbMeetArrive(Pair);
}

/* Called by each thread after its loop; the last one stamps the end. */
static inline VOID KbPairEnd(KB_PAIR *Pair)
{
    LONGLONG now = KbNow();
    if (InterlockedDecrement(&Pair->Left) == 0)
        Pair->End = now;
}

/* Starts Routine twice with Contexts[0] and [1], releases them together and
   returns the ticks between the release and the last finish, or -1. */
static inline LONGLONG KbPairRun(KB_PAIR *Pair, PKSTART_ROUTINE Routine, PVOID Contexts[2])
{
    PVOID threads[2];

    KbPairInit(Pair);
    if (!NT_SUCCESS(KbStart(Routine, Contexts[0], &threads[0])))
        return -1;
    if (!NT_SUCCESS(KbStart(Routine, Contexts[1], &threads[1]))) {
        /* The first thread runs its loop alone: the run is not a pair. */
        KeSetEvent(&Pair->Go, IO_NO_INCREMENT, FALSE);
        KbJoin(threads[0]);
        return -1;
    }
    KbSleep(5); /* both threads reach the gate */
    Pair->Start = KbNow();
    KeSetEvent(&Pair->Go, IO_NO_INCREMENT, FALSE);
    KbJoin(threads[0]);
    KbJoin(threads[1]);
    return Pair->End - Pair->Start;
}

#endif
