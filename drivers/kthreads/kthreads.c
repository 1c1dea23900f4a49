/*
 * kthreads: a pool of system threads, started and stopped the way the WDK
 * documentation requires. docs/walkthrough.md explains each rule.
 *
 * Lifetime of a worker:
 *   DriverEntry   PsCreateSystemThread -> handle
 *                 ObReferenceObjectByHandle(handle) -> thread object pointer
 *                 ZwClose(handle)
 *   worker        ticks until KthStop is signalled, then ends itself with
 *                 PsTerminateSystemThread
 *   DriverUnload  KeSetEvent(KthStop), KeWaitForSingleObject(thread),
 *                 ObDereferenceObject(thread)
 *
 * The rule behind the shape: a thread running in this image must have ended
 * before DriverUnload returns, because the image is unmapped right after.
 * The only proof that a thread has left the image is its thread object being
 * signalled, so every thread we start is referenced before its handle is
 * closed, and waited for before the reference is dropped.
 *
 * Build note (mingw-w64): use KM_PsThreadType from kmfix.h where the WDK says
 * *PsThreadType.
 */
#include <ntifs.h> /* ntddk.h, plus ZwWaitForSingleObject */

#include "kmfix.h"

/* Pool tag: the bytes read "KmTh" in a pool dump. */
#define KTH_TAG ((ULONG)'K' | (ULONG)'m' << 8 | (ULONG)'T' << 16 | (ULONG)'h' << 24)
#define KTH_DEFAULT_THREADS 4
#define KTH_MIN_THREADS 1
#define KTH_MAX_THREADS 64

/* WDK 8 and later define these in wdm.h; mingw-w64's does not. */
#ifndef RTL_QUERY_REGISTRY_TYPECHECK
#define RTL_QUERY_REGISTRY_TYPECHECK 0x00000100
#define RTL_QUERY_REGISTRY_TYPECHECK_SHIFT 24
#endif

/* Relative timeouts are negative, in 100 ns units. */
#define KTH_TICK_INTERVAL (-200LL * 10 * 1000) /* 200 ms */

/*
 * Worker 3 ends itself after a few ticks, to show that a thread may leave
 * early and that unload still waits for it correctly. Its exit status sets the
 * Customer bit (bit 29) with Success severity: NT_SUCCESS() is true, and no
 * Microsoft-defined status can have this value.
 */
#define KTH_QUITTER 3
#define KTH_QUITTER_TICKS 3
#define KTH_QUITTER_STATUS ((NTSTATUS)0x2000BEEF)

typedef struct _KTH_WORKER {
    ULONG Index;
    /* Units and ExitStatus are written by the worker only, and read by the
       unload path only after the thread object is signalled: no lock. */
    ULONG Units;
    NTSTATUS ExitStatus;
    PVOID Thread; /* referenced PKTHREAD; NULL until the reference is taken */
    CLIENT_ID ClientId;
} KTH_WORKER, *PKTH_WORKER;

/* KEVENTs and anything a waiter touches must be in nonpaged memory: the
   image's data section is, and so is POOL_FLAG_NON_PAGED pool. */
static KEVENT KthStop;
static PKTH_WORKER KthWorkers;
static ULONG KthCount;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD KthUnload;
static KSTART_ROUTINE KthWorker;

/*
 * The worker's only exit is PsTerminateSystemThread. It records its own exit
 * status first: PsGetThreadExitStatus would report it too, but only from
 * Windows 10 1703 on, and mingw-w64 does not declare it.
 */
static VOID NTAPI KthWorker(PVOID Context)
{
    PKTH_WORKER w = Context;
    LARGE_INTEGER interval;
    NTSTATUS status;

    interval.QuadPart = KTH_TICK_INTERVAL;
    for (;;) {
        w->Units++;
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "kthreads: worker %lu tick %lu\n",
                   w->Index, w->Units);

        if (w->Index == KTH_QUITTER && w->Units == KTH_QUITTER_TICKS) {
            w->ExitStatus = KTH_QUITTER_STATUS;
            PsTerminateSystemThread(KTH_QUITTER_STATUS); /* does not return */
        }

        /* A non-alertable KernelMode wait returns STATUS_SUCCESS when the
           event is signalled and STATUS_TIMEOUT when the interval elapses;
           nothing else. A notification event stays signalled, so every
           worker sees the one KeSetEvent. */
        status = KeWaitForSingleObject(&KthStop, Executive, KernelMode, FALSE, &interval);
        if (status == STATUS_SUCCESS)
            break;
    }
    w->ExitStatus = STATUS_SUCCESS;
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/*
 * Signals stop, then waits for and releases the first Started workers. Used
 * by DriverUnload and by a DriverEntry that fails half way: the cleanup is the
 * same. Runs at PASSIVE_LEVEL (waits with a NULL timeout need < DISPATCH).
 */
static VOID KthStopWorkers(ULONG Started)
{
    ULONG i;

    KeSetEvent(&KthStop, IO_NO_INCREMENT, FALSE);
    for (i = 0; i < Started; i++) {
        PKTH_WORKER w = &KthWorkers[i];

        /* A thread object is signalled when the thread has terminated. */
        KeWaitForSingleObject(w->Thread, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(w->Thread);
        w->Thread = NULL;
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL,
                   "kthreads: worker %lu did %lu units; exit status 0x%08lX\n", w->Index, w->Units,
                   (ULONG)w->ExitStatus);
    }
    ExFreePoolWithTag(KthWorkers, KTH_TAG);
    KthWorkers = NULL;
}

/*
 * Starts one worker and takes a reference on its thread object. On success
 * the handle is closed and w->Thread holds the reference; on failure no
 * thread of ours is left running.
 */
static NTSTATUS KthStartWorker(PKTH_WORKER w)
{
    OBJECT_ATTRIBUTES attributes;
    HANDLE handle;
    NTSTATUS status;

    /* OBJ_KERNEL_HANDLE: DriverEntry runs in the System process, but a
       routine that might run in a user process's context must not leave a
       handle that process can use. */
    InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    w->ExitStatus = STATUS_PENDING;
    status = PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, &attributes, NULL, &w->ClientId,
                                  KthWorker, w);
    if (!NT_SUCCESS(status))
        return status;

    /* The handle only names the thread; the pointer keeps the object alive
       after the handle is closed, and is what KeWaitForSingleObject takes. */
    status = ObReferenceObjectByHandle(handle, SYNCHRONIZE, KM_PsThreadType, KernelMode, &w->Thread,
                                       NULL);
    if (!NT_SUCCESS(status)) {
        /* Not expected for a kernel handle we were just given, but the thread
           is running our code: stop it and wait through the handle. */
        KeSetEvent(&KthStop, IO_NO_INCREMENT, FALSE);
        ZwWaitForSingleObject(handle, FALSE, NULL);
        w->Thread = NULL;
    }
    ZwClose(handle);
    return status;
}

/*
 * Reads RegistryPath\Parameters\ThreadCount (REG_DWORD, 1..64); a missing
 * key or value, a value of another type, or one out of range gives
 * KTH_DEFAULT_THREADS.
 *
 * RTL_QUERY_REGISTRY_DIRECT stores the value straight into our ULONG. With
 * DIRECT a driver must also set RTL_QUERY_REGISTRY_TYPECHECK (Microsoft's
 * 2014 security fix): the expected type goes in DefaultType's high byte, and
 * a value of another type is refused (STATUS_OBJECT_TYPE_MISMATCH) instead
 * of being written, whatever its size, over our 4 bytes.
 * RTL_REGISTRY_OPTIONAL: having no Parameters key is not an error.
 */
static ULONG KthReadThreadCount(PUNICODE_STRING RegistryPath)
{
    static const WCHAR parameters[] = L"\\Parameters";
    RTL_QUERY_REGISTRY_TABLE table[2];
    ULONG count = KTH_DEFAULT_THREADS;
    ULONG fallback = KTH_DEFAULT_THREADS;
    PWCHAR path;
    NTSTATUS status;

    /* Path is NUL-terminated; RegistryPath is a counted string. */
    path = ExAllocatePool2(POOL_FLAG_PAGED, RegistryPath->Length + sizeof(parameters), KTH_TAG);
    if (path == NULL)
        return KTH_DEFAULT_THREADS;
    RtlCopyMemory(path, RegistryPath->Buffer, RegistryPath->Length);
    RtlCopyMemory((PUCHAR)path + RegistryPath->Length, parameters, sizeof(parameters));

    /* The table ends with an all-zero entry. */
    RtlZeroMemory(table, sizeof(table));
    table[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;
    table[0].Name = L"ThreadCount";
    table[0].EntryContext = &count;
    table[0].DefaultType = (REG_DWORD << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT) | REG_DWORD;
    table[0].DefaultData = &fallback;
    table[0].DefaultLength = sizeof(fallback);

    status = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE | RTL_REGISTRY_OPTIONAL, path, table,
                                    NULL, NULL);
    ExFreePoolWithTag(path, KTH_TAG);
    if (!NT_SUCCESS(status)) {
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL,
                   "kthreads: Parameters\\ThreadCount unreadable (0x%08lX); using %lu\n",
                   (ULONG)status, (ULONG)KTH_DEFAULT_THREADS);
        return KTH_DEFAULT_THREADS;
    }
    if (count < KTH_MIN_THREADS || count > KTH_MAX_THREADS) {
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL,
                   "kthreads: ThreadCount %lu is outside %lu..%lu; using %lu\n", count,
                   (ULONG)KTH_MIN_THREADS, (ULONG)KTH_MAX_THREADS, (ULONG)KTH_DEFAULT_THREADS);
        return KTH_DEFAULT_THREADS;
    }
    return count;
}

static VOID NTAPI KthUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    KthStopWorkers(KthCount);
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "kthreads: unloaded\n");
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;
    ULONG i;

    KthCount = KthReadThreadCount(RegistryPath);
    /* ExAllocatePool2 zeroes the allocation unless POOL_FLAG_UNINITIALIZED. */
    KthWorkers = ExAllocatePool2(POOL_FLAG_NON_PAGED, KthCount * sizeof(*KthWorkers), KTH_TAG);
    if (KthWorkers == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;

    /* Notification event, initially not signalled: once set it releases
       every waiter, present and future, until reset. */
    KeInitializeEvent(&KthStop, NotificationEvent, FALSE);

    for (i = 0; i < KthCount; i++) {
        KthWorkers[i].Index = i;
        status = KthStartWorker(&KthWorkers[i]);
        if (!NT_SUCCESS(status)) {
            DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL,
                       "kthreads: worker %lu did not start: 0x%08lX\n", i, (ULONG)status);
            /* When DriverEntry fails the driver is unloaded without a call to
               DriverUnload, so the workers already running stop here. */
            KthStopWorkers(i);
            return status;
        }
        DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL,
                   "kthreads: worker %lu started, thread id %p\n", i,
                   KthWorkers[i].ClientId.UniqueThread);
    }

    /* Set only once there is something for DriverUnload to stop. */
    DriverObject->DriverUnload = KthUnload;
    return STATUS_SUCCESS;
}
