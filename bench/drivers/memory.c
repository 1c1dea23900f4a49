/*
 * memory: the resident memory of idle system threads.
 *
 * DriverEntry prints "BENCH mem_mark=<threads>" with 0, then 1, then 1000
 * system threads started and blocked on one notification event, and
 * sleeps KBM_PAUSE_MS after each mark: bench/kmbench.c reads the VmRSS of
 * the kmhost process when it sees a mark. DriverUnload sets the event and
 * waits for every thread to end.
 */
#include "kbench.h"

#define KBM_THREADS 1000
#define KBM_PAUSE_MS 300

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD KbmUnload;
static KSTART_ROUTINE KbmIdle;

static KEVENT KbmStop;
static volatile LONG KbmWaiting;
static PVOID *KbmThreads;
static ULONG KbmStarted;

static VOID NTAPI KbmIdle(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    InterlockedIncrement(&KbmWaiting);
    KeWaitForSingleObject(&KbmStop, Executive, KernelMode, FALSE, NULL);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* Starts threads until Count run, waits until they have all reached their
   wait, and prints the mark. */
static NTSTATUS KbmStartUpTo(ULONG Count)
{
    for (; KbmStarted < Count; KbmStarted++) {
        NTSTATUS status = KbStart(KbmIdle, NULL, &KbmThreads[KbmStarted]);
        if (!NT_SUCCESS(status))
            return status;
    }
    while (KbmWaiting < (LONG)Count)
        KbSleep(1);
    KbSleep(10); /* the last thread to count itself reaches its wait */
    DbgPrint("BENCH mem_mark=%lu\n", Count);
    KbSleep(KBM_PAUSE_MS);
    return STATUS_SUCCESS;
}

static VOID KbmStopAll(void)
{
    KeSetEvent(&KbmStop, IO_NO_INCREMENT, FALSE);
    for (ULONG i = 0; i < KbmStarted; i++)
        KbJoin(KbmThreads[i]);
    ExFreePoolWithTag(KbmThreads, KB_TAG);
}

static VOID NTAPI KbmUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    KbmStopAll();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(RegistryPath);
    KeInitializeEvent(&KbmStop, NotificationEvent, FALSE);
    KbmThreads = ExAllocatePoolWithTag(NonPagedPool, KBM_THREADS * sizeof(PVOID), KB_TAG);
    if (!KbmThreads)
        return STATUS_INSUFFICIENT_RESOURCES;
    status = KbmStartUpTo(0);
    if (NT_SUCCESS(status))
        status = KbmStartUpTo(1);
    if (NT_SUCCESS(status))
        status = KbmStartUpTo(KBM_THREADS);
    if (!NT_SUCCESS(status)) {
        DbgPrint("BENCH error: memory: thread %lu did not start: 0x%08lX\n", KbmStarted,
                 (ULONG)status);
        KbmStopAll();
        return status;
    }
    DriverObject->DriverUnload = KbmUnload;
    return STATUS_SUCCESS;
}
