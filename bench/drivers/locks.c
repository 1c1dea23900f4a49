/*
 * locks: the short, non-blocking paths, measured from inside a driver
 * (figures printed as "BENCH <name>_ns=<value>", see kbench.h).
 *
 *   spin1       KeAcquireSpinLock + KeReleaseSpinLock, uncontended; ns per
 *               pair.
 *   spin2       two threads on one spin lock, each incrementing a shared
 *               counter inside; ns per acquisition.
 *   obref1      ObReferenceObjectByHandle + ObDereferenceObject on a kernel
 *               event handle; ns per pair.
 *   obref2      the same in two threads at once, each on its own handle;
 *               ns per pair per thread (equal to obref1 when it scales).
 *   irql_get    KeGetCurrentIrql, mingw-w64's inline `mov reg, cr8`.
 *   irql_raise  KeRaiseIrql(DISPATCH_LEVEL) + KeLowerIrql, inline: one
 *               cr8 read and two cr8 writes.
 *   systime     KeQuerySystemTime, mingw-w64's inline read of
 *               KUSER_SHARED_DATA.SystemTime.
 *
 * The inline figures trap (one signal each, microseconds) unless kmhost
 * patched them at load, so their loop counts adapt: each run lasts about
 * KBL_TARGET_TICKS whatever one iteration costs.
 */
#include "kbench.h"

#define KBL_PAIRS 1000000      /* spin and reference pairs per run */
#define KBL_TARGET_TICKS 50000 /* 5 ms at 10 MHz: one inline run */

/* In ntoskrnl.exe and mingw-w64's import library, not in its headers. */
NTSYSAPI NTSTATUS NTAPI ZwCreateEvent(PHANDLE EventHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes, EVENT_TYPE EventType,
                                      BOOLEAN InitialState);

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD KblUnload;
static KSTART_ROUTINE KblSpinLoop, KblRefLoop;

static KB_PAIR KblPair;

/* ---- spin lock ---- */

static KSPIN_LOCK KblLock;
static volatile LONG KblCounter; /* changed only under KblLock */

static LONGLONG KblSpinOnce(ULONG Pairs)
{
    KIRQL old;
    LONGLONG start = KbNow();

    for (ULONG i = 0; i < Pairs; i++) {
        KeAcquireSpinLock(&KblLock, &old);
        KblCounter++;
        KeReleaseSpinLock(&KblLock, old);
    }
    return KbNow() - start;
}

static VOID NTAPI KblSpinLoop(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    KbPairBegin(&KblPair);
    KblSpinOnce(KBL_PAIRS / 2);
    KbPairEnd(&KblPair);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS KblSpin(LONGLONG Frequency)
{
    LONGLONG ticks[KB_RUNS + 1];
    PVOID contexts[2] = {NULL, NULL};

    KeInitializeSpinLock(&KblLock);
    for (int run = 0; run <= KB_RUNS; run++)
        ticks[run] = KblSpinOnce(KBL_PAIRS);
    KbReportRuns("spin1", ticks, KBL_PAIRS, Frequency);

    for (int run = 0; run <= KB_RUNS; run++) {
        KblCounter = 0;
        ticks[run] = KbPairRun(&KblPair, KblSpinLoop, contexts);
        if (ticks[run] < 0)
            return STATUS_INSUFFICIENT_RESOURCES;
        if (KblCounter != KBL_PAIRS) {
            DbgPrint("BENCH error: spin2: counter %ld, expected %d\n", KblCounter, KBL_PAIRS);
            return STATUS_UNSUCCESSFUL;
        }
    }
    KbReportRuns("spin2", ticks, KBL_PAIRS, Frequency);
    return STATUS_SUCCESS;
}

/* ---- reference by handle ---- */

static HANDLE KblEvents[2];
static volatile LONG KblRefFailures;

static LONGLONG KblRefOnce(HANDLE Handle)
{
    LONGLONG start = KbNow();

    for (ULONG i = 0; i < KBL_PAIRS; i++) {
        PVOID object;
        if (!NT_SUCCESS(ObReferenceObjectByHandle(Handle, SYNCHRONIZE, KM_ExEventObjectType,
                                                  KernelMode, &object, NULL))) {
            InterlockedIncrement(&KblRefFailures);
            break;
        }
        ObDereferenceObject(object);
    }
    return KbNow() - start;
}

static VOID NTAPI KblRefLoop(PVOID Context)
{
    KbPairBegin(&KblPair);
    KblRefOnce((HANDLE)Context);
    KbPairEnd(&KblPair);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS KblReference(LONGLONG Frequency)
{
    LONGLONG ticks[KB_RUNS + 1], ticks2[KB_RUNS + 1];
    OBJECT_ATTRIBUTES attributes;
    NTSTATUS status = STATUS_SUCCESS;

    InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    for (int i = 0; i < 2 && NT_SUCCESS(status); i++)
        status =
            ZwCreateEvent(&KblEvents[i], EVENT_ALL_ACCESS, &attributes, NotificationEvent, FALSE);
    if (!NT_SUCCESS(status)) {
        if (KblEvents[0])
            ZwClose(KblEvents[0]);
        return status;
    }
    KblRefFailures = 0;
    for (int run = 0; run <= KB_RUNS; run++)
        ticks[run] = KblRefOnce(KblEvents[0]);
    PVOID contexts[2] = {KblEvents[0], KblEvents[1]};
    for (int run = 0; run <= KB_RUNS && NT_SUCCESS(status); run++) {
        ticks2[run] = KbPairRun(&KblPair, KblRefLoop, contexts);
        if (ticks2[run] < 0)
            status = STATUS_INSUFFICIENT_RESOURCES;
    }
    ZwClose(KblEvents[0]);
    ZwClose(KblEvents[1]);
    if (!NT_SUCCESS(status))
        return status;
    if (KblRefFailures) {
        DbgPrint("BENCH error: ObReferenceObjectByHandle failed %ld times\n", KblRefFailures);
        return STATUS_UNSUCCESSFUL;
    }
    KbReportRuns("obref1", ticks, KBL_PAIRS, Frequency);
    KbReportRuns("obref2", ticks2, KBL_PAIRS, Frequency);
    return STATUS_SUCCESS;
}

/* ---- inline IRQL and shared data ---- */

static volatile ULONG64 KblSink; /* keeps the loops' results alive */

/* Times Count iterations of BODY (which folds into `acc`) and stores the
   ticks in `elapsed`. */
#define KBL_TIME(Count, elapsed, BODY)                                                             \
    do {                                                                                           \
        ULONG64 acc = 0;                                                                           \
        LONGLONG start_ = KbNow();                                                                 \
        for (ULONG i_ = 0; i_ < (Count); i_++) {                                                   \
            BODY;                                                                                  \
        }                                                                                          \
        (elapsed) = KbNow() - start_;                                                              \
        KblSink += acc;                                                                            \
    } while (0)

/* Runs BODY about KBL_TARGET_TICKS long per run and reports ns/iteration. */
#define KBL_INLINE(Name, Frequency, BODY)                                                          \
    do {                                                                                           \
        LONGLONG ticks_[KB_RUNS + 1], probe_;                                                      \
        ULONG count_ = 1000;                                                                       \
        KBL_TIME(count_, probe_, BODY);                                                            \
        while (probe_ < KBL_TARGET_TICKS / 10 && count_ < 100000000) {                             \
            count_ *= 10;                                                                          \
            KBL_TIME(count_, probe_, BODY);                                                        \
        }                                                                                          \
        if (probe_ > 0 && probe_ < KBL_TARGET_TICKS)                                               \
            count_ = (ULONG)((ULONGLONG)count_ * KBL_TARGET_TICKS / (ULONGLONG)probe_);            \
        for (int run_ = 0; run_ <= KB_RUNS; run_++)                                                \
            KBL_TIME(count_, ticks_[run_], BODY);                                                  \
        KbReportRuns(Name, ticks_, count_, Frequency);                                             \
    } while (0)

static VOID KblInline(LONGLONG Frequency)
{
    KBL_INLINE("irql_get", Frequency, acc += KeGetCurrentIrql());
    KBL_INLINE("irql_raise", Frequency, {
        KIRQL old;
        KeRaiseIrql(DISPATCH_LEVEL, &old);
        KeLowerIrql(old);
        acc += old;
    });
    KBL_INLINE("systime", Frequency, {
        LARGE_INTEGER now;
        KeQuerySystemTime(&now);
        acc += (ULONG64)now.QuadPart;
    });
}

static VOID NTAPI KblUnload(PDRIVER_OBJECT DriverObject)
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
    KblInline(frequency);
    status = KblSpin(frequency);
    if (NT_SUCCESS(status))
        status = KblReference(frequency);
    if (!NT_SUCCESS(status)) {
        DbgPrint("BENCH error: locks: 0x%08lX\n", (ULONG)status);
        return status;
    }
    DriverObject->DriverUnload = KblUnload;
    return STATUS_SUCCESS;
}
