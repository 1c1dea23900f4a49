/*
 * waits: the dispatcher objects under contention, measured from inside a
 * driver (figures printed as "BENCH <name>_ns=<value>", see kbench.h).
 *
 *   waitany3    a waiter in KeWaitForMultipleObjects(WaitAny) over 3
 *               synchronization events (the thread's built-in wait blocks),
 *               a setter signalling a different one each time and waiting
 *               for the waiter's acknowledgement; ns per round trip.
 *   waitany64   the same over 64 events (the caller's KWAIT_BLOCK array).
 *   mutex       two threads, each acquiring and releasing one KMUTEX in a
 *               loop: a released KMUTEX passes to the waiting thread, if it
 *               is queued by then; ns per acquisition, and the percentage
 *               of acquisitions that were hand-offs (mutex_handoffs_pct).
 *   semaphore   producer/consumer over a bounded buffer of KBW_SLOTS: two
 *               semaphores, items and free slots; ns per item.
 *   wake1000    1000 threads wait on one notification event; ns from
 *               KeSetEvent until every thread has woken (each increments a
 *               counter; the setter spins until it reaches 1000).
 */
#include "kbench.h"

#define KBW_TRIPS 2000     /* round trips per WaitAny run */
#define KBW_HANDOFFS 20000 /* acquisitions per thread per mutex run */
#define KBW_ITEMS 50000    /* items per semaphore run */
#define KBW_SLOTS 16       /* the producer/consumer buffer */
#define KBW_WAITERS 1000   /* threads woken by one KeSetEvent */

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD KbwUnload;
static KSTART_ROUTINE KbwAnyWaiter, KbwMutexLoop, KbwProducer, KbwConsumer, KbwWakeWaiter;

/* ---- WaitAny ---- */

/* Each event on a cache line of its own, as a driver that cares lays them
   out: the figure measures the wait, not whether the compiler happened to
   put the acknowledgement next to the objects waited on (that false sharing
   alone made it half as slow again). The native equivalent keeps its words
   on one line, which is its own best layout (native.c). */
typedef struct KBW_LINE_EVENT {
    KEVENT Event;
} __attribute__((aligned(64))) KBW_LINE_EVENT;
static KBW_LINE_EVENT KbwAny[MAXIMUM_WAIT_OBJECTS], KbwAckLine;
#define KbwAck KbwAckLine.Event
static KB_PAIR KbwPair; /* the two threads of each figure */
static PVOID KbwAnyObjects[MAXIMUM_WAIT_OBJECTS];
static KWAIT_BLOCK KbwAnyBlocks[MAXIMUM_WAIT_OBJECTS];
static ULONG KbwAnyCount;
static volatile LONG KbwAnyWrong; /* waits that returned the wrong index */

static VOID NTAPI KbwAnyWaiter(PVOID Context)
{
    PKWAIT_BLOCK blocks = KbwAnyCount > THREAD_WAIT_OBJECTS ? KbwAnyBlocks : NULL;

    UNREFERENCED_PARAMETER(Context);
    KbMeet(&KbwPair);
    for (ULONG i = 0; i < (KB_RUNS + 1) * KBW_TRIPS; i++) {
        NTSTATUS status = KeWaitForMultipleObjects(KbwAnyCount, KbwAnyObjects, WaitAny, Executive,
                                                   KernelMode, FALSE, NULL, blocks);
        if (status != (NTSTATUS)(STATUS_WAIT_0 + (i * 7) % KbwAnyCount))
            InterlockedIncrement(&KbwAnyWrong);
        KeSetEvent(&KbwAck, IO_NO_INCREMENT, FALSE);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS KbwWaitAny(PCSTR Name, ULONG Count, LONGLONG Frequency)
{
    LONGLONG ticks[KB_RUNS + 1];
    PVOID waiter;
    NTSTATUS status;

    KbwAnyCount = Count;
    KbwAnyWrong = 0;
    for (ULONG i = 0; i < Count; i++) {
        KeInitializeEvent(&KbwAny[i].Event, SynchronizationEvent, FALSE);
        KbwAnyObjects[i] = &KbwAny[i].Event;
    }
    KeInitializeEvent(&KbwAck, SynchronizationEvent, FALSE);
    KbPairInit(&KbwPair);
    status = KbStart(KbwAnyWaiter, NULL, &waiter);
    if (!NT_SUCCESS(status))
        return status;
    KAFFINITY previous = KbMeetBind(&KbwPair); /* the signaller: its own processor */
    KbMeetArrive(&KbwPair);
    for (int run = 0; run <= KB_RUNS; run++) {
        LONGLONG start = KbNow();
        for (ULONG i = 0; i < KBW_TRIPS; i++) {
            /* 7 is prime to 3 and 64: every object is signalled in turn. */
            ULONG n = (ULONG)run * KBW_TRIPS + i;
            KeSetEvent(&KbwAny[(n * 7) % Count].Event, IO_NO_INCREMENT, FALSE);
            KeWaitForSingleObject(&KbwAck, Executive, KernelMode, FALSE, NULL);
        }
        ticks[run] = KbNow() - start;
    }
    if (KeQueryActiveProcessorCount(NULL) >= 2)
        KeRevertToUserAffinityThreadEx(previous);
    KbJoin(waiter);
    if (KbwAnyWrong) {
        DbgPrint("BENCH error: %s: %ld waits returned the wrong index\n", Name, KbwAnyWrong);
        return STATUS_UNSUCCESSFUL;
    }
    KbReportRuns(Name, ticks, KBW_TRIPS, Frequency);
    return STATUS_SUCCESS;
}

/* ---- mutex hand-off ---- */

/* The mutex and the counter it protects share a cache line, as the native
   equivalent's ticket words and counter do (native.c). The owner also
   counts the acquisitions that took the mutex from the other thread: a
   release that finds the other thread not yet queued leaves the mutex free,
   and the releaser takes it straight back, so the figure is a mix of
   hand-offs and such local acquisitions, in proportions that move with the
   timing of the two threads (a FIFO ticket lock hands off every time). */
static struct {
    KMUTEX Mutex;
    volatile LONG Shared;    /* changed only by the mutex owner */
    volatile USHORT Handoffs; /* acquisitions by the thread that did not own it last */
    volatile UCHAR LastOwner; /* 1 or 2: the thread's Context */
} __attribute__((aligned(64))) KbwMutexLine;
_Static_assert(sizeof(KbwMutexLine) == 64, "the mutex, its counters and owner on one line");
#define KbwMutex KbwMutexLine.Mutex
#define KbwShared KbwMutexLine.Shared

static VOID NTAPI KbwMutexLoop(PVOID Context)
{
    UCHAR me = (UCHAR)(ULONG_PTR)Context;
    KbPairBegin(&KbwPair);
    for (ULONG i = 0; i < KBW_HANDOFFS; i++) {
        KeWaitForSingleObject(&KbwMutex, Executive, KernelMode, FALSE, NULL);
        KbwShared++;
        if (KbwMutexLine.LastOwner != me) {
            KbwMutexLine.LastOwner = me;
            KbwMutexLine.Handoffs++;
        }
        KeReleaseMutex(&KbwMutex, FALSE);
    }
    KbPairEnd(&KbwPair);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS KbwMutexHandoff(LONGLONG Frequency)
{
    LONGLONG ticks[KB_RUNS + 1];
    PVOID contexts[2] = {(PVOID)1, (PVOID)2};
    ULONG handoffs = 0; /* over the timed runs */

    KeInitializeMutex(&KbwMutex, 0);
    for (int run = 0; run <= KB_RUNS; run++) {
        KbwShared = 0;
        KbwMutexLine.Handoffs = 0;
        KbwMutexLine.LastOwner = 0;
        ticks[run] = KbPairRun(&KbwPair, KbwMutexLoop, contexts);
        if (ticks[run] < 0)
            return STATUS_INSUFFICIENT_RESOURCES;
        if (KbwShared != 2 * KBW_HANDOFFS) {
            DbgPrint("BENCH error: mutex: %ld increments, expected %d\n", KbwShared,
                     2 * KBW_HANDOFFS);
            return STATUS_UNSUCCESSFUL;
        }
        if (run > 0)
            handoffs += KbwMutexLine.Handoffs;
    }
    KbReportRuns("mutex", ticks, 2 * KBW_HANDOFFS, Frequency);
    /* Percent of the timed runs' acquisitions, with one decimal. */
    ULONG tenths = (ULONG)((ULONGLONG)handoffs * 1000 / (2ULL * KBW_HANDOFFS * KB_RUNS));
    DbgPrint("BENCH mutex_handoffs_pct=%lu.%lu\n", tenths / 10, tenths % 10);
    return STATUS_SUCCESS;
}

/* ---- semaphore producer/consumer ---- */

static KSEMAPHORE KbwItems, KbwFree;
static ULONG KbwBuffer[KBW_SLOTS];
static volatile LONG KbwSum;

static VOID NTAPI KbwProducer(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KbPairBegin(&KbwPair);
    for (ULONG i = 0; i < KBW_ITEMS; i++) {
        KeWaitForSingleObject(&KbwFree, Executive, KernelMode, FALSE, NULL);
        KbwBuffer[i % KBW_SLOTS] = 1;
        KeReleaseSemaphore(&KbwItems, IO_NO_INCREMENT, 1, FALSE);
    }
    KbPairEnd(&KbwPair);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static VOID NTAPI KbwConsumer(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KbPairBegin(&KbwPair);
    for (ULONG i = 0; i < KBW_ITEMS; i++) {
        KeWaitForSingleObject(&KbwItems, Executive, KernelMode, FALSE, NULL);
        KbwSum += KbwBuffer[i % KBW_SLOTS];
        KeReleaseSemaphore(&KbwFree, IO_NO_INCREMENT, 1, FALSE);
    }
    KbPairEnd(&KbwPair);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static VOID NTAPI KbwProducerConsumer(PVOID Context)
{
    if (Context)
        KbwProducer(NULL);
    else
        KbwConsumer(NULL);
}

static NTSTATUS KbwSemaphore(LONGLONG Frequency)
{
    LONGLONG ticks[KB_RUNS + 1];
    PVOID contexts[2] = {(PVOID)1, NULL};

    for (int run = 0; run <= KB_RUNS; run++) {
        KeInitializeSemaphore(&KbwItems, 0, KBW_SLOTS);
        KeInitializeSemaphore(&KbwFree, KBW_SLOTS, KBW_SLOTS);
        KbwSum = 0;
        ticks[run] = KbPairRun(&KbwPair, KbwProducerConsumer, contexts);
        if (ticks[run] < 0)
            return STATUS_INSUFFICIENT_RESOURCES;
        if (KbwSum != KBW_ITEMS) {
            DbgPrint("BENCH error: semaphore: %ld items consumed, expected %d\n", KbwSum,
                     KBW_ITEMS);
            return STATUS_UNSUCCESSFUL;
        }
    }
    KbReportRuns("semaphore", ticks, KBW_ITEMS, Frequency);
    return STATUS_SUCCESS;
}

/* ---- one notification event waking 1000 threads ---- */

/* Run r waits on KbwWake[r % 2]: a thread that has woken from run r waits
   for run r + 1 on the other event, which the setter cleared beforehand. */
static KEVENT KbwWake[2];
static volatile LONG KbwReady, KbwWoken;

static VOID NTAPI KbwWakeWaiter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (int run = 0; run <= KB_RUNS; run++) {
        InterlockedIncrement(&KbwReady);
        KeWaitForSingleObject(&KbwWake[run % 2], Executive, KernelMode, FALSE, NULL);
        InterlockedIncrement(&KbwWoken);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS KbwWakeAll(LONGLONG Frequency)
{
    LONGLONG ticks[KB_RUNS + 1];
    PVOID *threads;
    ULONG started = 0;
    NTSTATUS status = STATUS_SUCCESS;

    threads = ExAllocatePoolWithTag(NonPagedPool, KBW_WAITERS * sizeof(PVOID), KB_TAG);
    if (!threads)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeEvent(&KbwWake[0], NotificationEvent, FALSE);
    KeInitializeEvent(&KbwWake[1], NotificationEvent, FALSE);
    KbwReady = KbwWoken = 0;
    for (; started < KBW_WAITERS; started++) {
        status = KbStart(KbwWakeWaiter, NULL, &threads[started]);
        if (!NT_SUCCESS(status))
            break;
    }
    for (int run = 0; run <= KB_RUNS && NT_SUCCESS(status); run++) {
        LONG target = (LONG)KBW_WAITERS * (run + 1);
        while (KbwReady < target)
            KbSleep(1);
        KbSleep(20); /* the last threads to count themselves reach their wait */
        KeClearEvent(&KbwWake[(run + 1) % 2]);
        LONGLONG start = KbNow();
        KeSetEvent(&KbwWake[run % 2], IO_NO_INCREMENT, FALSE);
        while (KbwWoken < target)
            YieldProcessor();
        ticks[run] = KbNow() - start;
    }
    /* Whatever happened, release every started thread for good. */
    KeSetEvent(&KbwWake[0], IO_NO_INCREMENT, FALSE);
    KeSetEvent(&KbwWake[1], IO_NO_INCREMENT, FALSE);
    for (ULONG i = 0; i < started; i++)
        KbJoin(threads[i]);
    ExFreePoolWithTag(threads, KB_TAG);
    if (NT_SUCCESS(status))
        KbReportRuns("wake1000", ticks, 1, Frequency);
    return status;
}

static VOID NTAPI KbwUnload(PDRIVER_OBJECT DriverObject)
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
    status = KbwWaitAny("waitany3", 3, frequency);
    if (NT_SUCCESS(status))
        status = KbwWaitAny("waitany64", MAXIMUM_WAIT_OBJECTS, frequency);
    if (NT_SUCCESS(status))
        status = KbwMutexHandoff(frequency);
    if (NT_SUCCESS(status))
        status = KbwSemaphore(frequency);
    if (NT_SUCCESS(status))
        status = KbwWakeAll(frequency);
    if (!NT_SUCCESS(status)) {
        DbgPrint("BENCH error: waits: 0x%08lX\n", (ULONG)status);
        return status;
    }
    DriverObject->DriverUnload = KbwUnload;
    return STATUS_SUCCESS;
}
