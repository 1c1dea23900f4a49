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
 * benchmark.
 */
#include <ntddk.h>

#include "kmfix.h"

#define KPB_RUNS 5
#define KPB_TRIPS 10000    /* round trips per ping-pong run */
#define KPB_LIFECYCLES 200 /* threads per lifecycle run */

static KEVENT KpbPing, KpbPong;
static LONGLONG KpbPingPongTicks[KPB_RUNS + 1]; /* [0] is the warm-up */

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD KpbUnload;
static KSTART_ROUTINE KpbPinger, KpbPonger, KpbEmpty;

/* Sorts the KPB_RUNS timed values in place and returns the middle one. */
static LONGLONG KpbMedian(LONGLONG *v)
{
    for (int i = 1; i < KPB_RUNS; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            LONGLONG t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[KPB_RUNS / 2];
}

/* Prints Ticks / Count in nanoseconds with one decimal, in integers only:
   kernel code avoids floating point. Ticks < 2^63 and Frequency <= 1e9 keep
   every intermediate below 2^64. */
static VOID KpbReport(PCSTR Name, LONGLONG Ticks, ULONG Count, LONGLONG Frequency)
{
    ULONGLONG t = (ULONGLONG)Ticks, f = (ULONGLONG)Frequency;
    ULONGLONG tenths = (t / f) * 10000000000ULL + (t % f) * 10000000000ULL / f;

    tenths /= Count;
    DbgPrint("BENCH %s_ns=%I64u.%I64u\n", Name, tenths / 10, tenths % 10);
}

/* Starts a system thread and returns its referenced thread object. */
static NTSTATUS KpbStart(PKSTART_ROUTINE Routine, PVOID Context, PVOID *Thread)
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
    /* A failure here would leave a thread we cannot wait for; it cannot
       happen for a kernel handle just returned with THREAD_ALL_ACCESS. */
    return status;
}

static VOID KpbJoin(PVOID Thread)
{
    KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(Thread);
}

static VOID NTAPI KpbPonger(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    for (ULONG i = 0; i < (KPB_RUNS + 1) * KPB_TRIPS; i++) {
        KeWaitForSingleObject(&KpbPing, Executive, KernelMode, FALSE, NULL);
        KeSetEvent(&KpbPong, IO_NO_INCREMENT, FALSE);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static VOID NTAPI KpbPinger(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
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
    status = KpbStart(KpbPonger, NULL, &ponger);
    if (!NT_SUCCESS(status))
        return status;
    status = KpbStart(KpbPinger, NULL, &pinger);
    if (!NT_SUCCESS(status)) {
        /* The ponger waits for turns that will not come: serve them. */
        for (ULONG i = 0; i < (KPB_RUNS + 1) * KPB_TRIPS; i++) {
            KeSetEvent(&KpbPing, IO_NO_INCREMENT, FALSE);
            KeWaitForSingleObject(&KpbPong, Executive, KernelMode, FALSE, NULL);
        }
        KpbJoin(ponger);
        return status;
    }
    KpbJoin(pinger);
    KpbJoin(ponger);
    KpbReport("pingpong", KpbMedian(&KpbPingPongTicks[1]), KPB_TRIPS, Frequency);
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
            status = KpbStart(KpbEmpty, NULL, &thread);
            if (!NT_SUCCESS(status))
                return status;
            KpbJoin(thread);
        }
        ticks[run] = KeQueryPerformanceCounter(NULL).QuadPart - start.QuadPart;
    }
    KpbReport("lifecycle", KpbMedian(&ticks[1]), KPB_LIFECYCLES, Frequency);
    return STATUS_SUCCESS;
}

static VOID NTAPI KpbUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LARGE_INTEGER frequency;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    KeQueryPerformanceCounter(&frequency);
    if (frequency.QuadPart <= 0 || frequency.QuadPart > 1000000000LL) {
        DbgPrint("BENCH error: performance counter frequency %I64d Hz is out of range\n",
                 frequency.QuadPart);
        return STATUS_NOT_SUPPORTED;
    }
    DbgPrint("BENCH qpc_hz=%I64d runs=%d trips=%d lifecycles=%d\n", frequency.QuadPart, KPB_RUNS,
             KPB_TRIPS, KPB_LIFECYCLES);

    status = KpbPingPong(frequency.QuadPart);
    if (NT_SUCCESS(status))
        status = KpbLifecycle(frequency.QuadPart);
    if (!NT_SUCCESS(status)) {
        DbgPrint("BENCH error: a system thread did not start: 0x%08lX\n", (ULONG)status);
        return status;
    }
    DriverObject->DriverUnload = KpbUnload;
    return STATUS_SUCCESS;
}
