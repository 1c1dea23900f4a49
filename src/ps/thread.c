/*
 * System threads.
 *
 * Each system thread is a host thread on its own thread block (its KPCR as GS
 * base, its alternate signal stack and stack: hal/stacks.c); it runs the driver's start routine at
 * PASSIVE_LEVEL in the System process.
 *
 * Invariants:
 *  - The ETHREAD is an object of PsThreadType. A running thread holds one
 *    reference to itself, dropped as the very last thing it does with the
 *    object; a handle holds another; a driver's ObReferenceObjectByHandle
 *    more. So a driver may wait on a thread object after the thread ended and
 *    after its handle was closed, for as long as it holds a reference.
 *  - A thread ends by returning from its start routine (exit status
 *    STATUS_SUCCESS) or by PsTerminateSystemThread, which longjmps to the
 *    exit point kept by the startup routine: driver frames have no
 *    .eh_frame, so the host's unwinder (pthread_exit) must not walk them.
 *  - The thread object is signalled (KiSignalThreadTerminated) after
 *    ExitStatus is final, so a waiter that wakes reads the final status.
 *  - An ending thread first stops taking APCs and runs its queues down
 *    (KiRundownApcQueues, ke/apc.c), on itself and before its KPCR is freed.
 *  - PspThreadLock protects PspThreadList (every live ETHREAD) and the
 *    thread-ID counter; it is never held while driver code runs.
 */
#include "ps/ps.h"

#include "hal/hal.h"
#include "hal/inject.h"
#include "ke/apc.h"
#include "ke/dispobj.h"
#include "ldr/ldr.h"
#include "vf/vf.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static OBJECT_TYPE PspThreadType = {
    .Name = "Thread",
    .GenericMapping = {STANDARD_RIGHTS_READ | THREAD_GET_CONTEXT | THREAD_QUERY_INFORMATION,
                       STANDARD_RIGHTS_WRITE | THREAD_TERMINATE | THREAD_SUSPEND_RESUME |
                           THREAD_ALERT | THREAD_SET_INFORMATION | THREAD_SET_CONTEXT,
                       STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, THREAD_ALL_ACCESS},
    .ValidAccessMask = THREAD_ALL_ACCESS,
};
POBJECT_TYPE PsThreadType = &PspThreadType;
KM_EXPORT(PsThreadType);

static pthread_mutex_t PspThreadLock = PTHREAD_MUTEX_INITIALIZER;
static LIST_ENTRY PspThreadList = {&PspThreadList, &PspThreadList};
static ULONG_PTR PspNextThreadId = 8; /* IDs are multiples of 4; 4 is the System process */
static LONG PspThreadCount;
static _Atomic ULONG PspNextProcessor;

void PspInitSystemProcess(void);

static void PspInitializePcr(KPCR *Pcr, PKTHREAD Thread)
{
    Pcr->Self = Pcr;
    Pcr->CurrentPrcb = &Pcr->MxCsr;
    Pcr->Irql = PASSIVE_LEVEL;
    Pcr->CurrentThread = (struct _KTHREAD *)Thread;
    /* A host thread is not pinned to a CPU; it gets a stable processor number
       below KeNumberProcessors, spread round-robin. */
    Pcr->Number = (USHORT)(atomic_fetch_add(&PspNextProcessor, 1) % HalpProcessorCount());
    Pcr->LegacyNumber = (UCHAR)Pcr->Number;
}

/* Pcr: zeroed, the thread's for its lifetime. */
static PETHREAD PspAllocateThread(void *Creator, KPCR *Pcr)
{
    PETHREAD t = ObpCreateObject(PsThreadType, sizeof(ETHREAD), Creator);
    if (!t)
        return NULL;
    PspInitializePcr(Pcr, &t->Tcb);
    KiInitializeThread(&t->Tcb, &PsInitialSystemProcess->Pcb, Pcr);
    t->SystemThread = TRUE;
    t->Creator = Creator;
    t->ExitStatus = STATUS_PENDING;
    t->Cid.UniqueProcess = PsInitialSystemProcess->UniqueProcessId;
    pthread_mutex_lock(&PspThreadLock);
    t->Cid.UniqueThread = (HANDLE)PspNextThreadId;
    PspNextThreadId += 4;
    KiInsertTailList(&PspThreadList, &t->ThreadListEntry);
    PspThreadCount++;
    pthread_mutex_unlock(&PspThreadLock);
    return t;
}

static void PspUnlinkThread(PETHREAD t)
{
    pthread_mutex_lock(&PspThreadLock);
    KiRemoveEntryList(&t->ThreadListEntry);
    PspThreadCount--;
    pthread_mutex_unlock(&PspThreadLock);
}

static void *PspSystemThreadStartup(void *Arg)
{
    PETHREAD volatile t = Arg;
    HAL_THREAD_BLOCK *block = t->HostBlock;

    HalEnterThreadBlock(block);
    t->HasExitPoint = TRUE;
    if (setjmp(t->ExitPoint) == 0) {
        t->StartRoutine(t->StartContext);
        t->ExitStatus = STATUS_SUCCESS;
    }
    VfpThreadExiting(&t->Tcb); /* verifier: no lock may outlive its holder */
    atomic_store(&t->Terminating, TRUE);
    KiRundownApcQueues(); /* no more APCs; kernel ones delivered, user ones run down (ke/apc.c) */
    PspUnlinkThread(t);
    KiAbandonMutants(&t->Tcb); /* mutants it still owns are abandoned (ke/mutex.c) */
    KiSignalThreadTerminated(&t->Tcb);
    t->Tcb.Pcr = NULL;
    ObfDereferenceObject(t);     /* the thread's own reference: t may be gone now */
    HalRetireThreadBlock(block); /* its KPCR and stacks, reused after this host thread ended */
    return NULL;
}

/* KMHOST_THREAD_FAIL_RATE makes that share of thread creations fail with
   STATUS_INSUFFICIENT_RESOURCES, as a full system does (hal/inject.c). */
static KM_FAULT_INJECTION PspThreadFail = KM_FAULT_INJECTION_INIT("THREAD");

NTSTATUS PspCreateSystemThread(PKSTART_ROUTINE StartRoutine, PVOID StartContext, void *Creator,
                               PETHREAD *Thread)
{
    if (km_inject_failure(&PspThreadFail))
        return STATUS_INSUFFICIENT_RESOURCES;
    HAL_THREAD_BLOCK *block = HalAllocateThreadBlock();
    if (!block)
        return STATUS_INSUFFICIENT_RESOURCES;
    PETHREAD t = PspAllocateThread(Creator, HalThreadBlockPcr(block));
    if (!t) {
        HalFreeThreadBlock(block);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    t->HostBlock = block;
    t->StartRoutine = StartRoutine;
    t->StartContext = StartContext;
    ObfReferenceObject(t);                                            /* the caller's */
    if (HalStartThreadBlock(block, PspSystemThreadStartup, t) != 0) { /* frees the block */
        PspUnlinkThread(t);
        t->Tcb.Pcr = NULL;
        ObfDereferenceObject(t);
        ObfDereferenceObject(t);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    *Thread = t;
    return STATUS_SUCCESS;
}

/*
 * Documented: ProcessHandle NULL (or the System process) runs the thread in
 * the System process; the handle is a kernel handle (Vista and later), granted
 * DesiredAccess; OBJ_PERMANENT, OBJ_EXCLUSIVE and OBJ_OPENIF are not valid
 * for a thread; ClientId is filled when given.
 */
NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                                    PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                    PVOID StartContext)
{
    void *creator = __builtin_return_address(0);
    ULONG attributes = 0;
    PETHREAD t;
    NTSTATUS status;

    VfpCheckIrql(VF_DDI_PS_CREATE_SYSTEM_THREAD, VfpCurrentIrql(), NULL, creator); /* verifier */
    if (!ThreadHandle || !StartRoutine)
        return STATUS_INVALID_PARAMETER;
    if (ObjectAttributes) {
        if (ObjectAttributes->Length != sizeof(OBJECT_ATTRIBUTES) ||
            (ObjectAttributes->Attributes & ~(ULONG)OBJ_VALID_ATTRIBUTES) ||
            (ObjectAttributes->Attributes & (OBJ_PERMANENT | OBJ_EXCLUSIVE | OBJ_OPENIF)))
            return STATUS_INVALID_PARAMETER;
        attributes = ObjectAttributes->Attributes;
    }
    /* Documented: from Windows Vista on, the handle is a kernel handle
       whatever the attributes say. */
    attributes |= OBJ_KERNEL_HANDLE;
    if (ProcessHandle && ProcessHandle != NtCurrentProcess()) {
        PVOID process;
        status = ObReferenceObjectByHandle(ProcessHandle, PROCESS_CREATE_THREAD, PsProcessType,
                                           KernelMode, &process, NULL);
        if (!NT_SUCCESS(status))
            return status;
        ObfDereferenceObject(process); /* the System process is the only one */
    }
    status = PspCreateSystemThread(StartRoutine, StartContext, creator, &t);
    if (!NT_SUCCESS(status))
        return status;
    ACCESS_MASK granted = DesiredAccess & MAXIMUM_ALLOWED
                              ? THREAD_ALL_ACCESS
                              : ObpMapGenericMask(PsThreadType, DesiredAccess);
    /* The handle takes over the caller's reference that PspCreateSystemThread returned. */
    status = ObpInsertHandle(t, granted, attributes, false, ThreadHandle);
    if (!NT_SUCCESS(status)) {
        ObfDereferenceObject(t);
        return status;
    }
    if (ClientId)
        *ClientId = t->Cid;
    return STATUS_SUCCESS;
}
KM_EXPORT(PsCreateSystemThread);

/* Documented: does not return for a system thread; STATUS_INVALID_PARAMETER
   when the caller is not a system thread. */
NTSTATUS NTAPI PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    PETHREAD t = (PETHREAD)KiCurrentThread();
    if (!t->SystemThread || !t->HasExitPoint) {
        VfpTerminateNotSystemThread(__builtin_return_address(0)); /* verifier */
        return STATUS_INVALID_PARAMETER;
    }
    t->ExitStatus = ExitStatus;
    longjmp(t->ExitPoint, 1);
}
KM_EXPORT(PsTerminateSystemThread);

NTAPI PVOID PspCurrentThreadObject(void)
{
    return KiCurrentThread();
}

PKTHREAD NTAPI KeGetCurrentThread(void)
{
    return KiCurrentThread();
}
KM_EXPORT(KeGetCurrentThread);

PETHREAD NTAPI PsGetCurrentThread(void)
{
    return (PETHREAD)KiCurrentThread();
}
KM_EXPORT(PsGetCurrentThread);

HANDLE NTAPI PsGetCurrentThreadId(void)
{
    return PsGetCurrentThread()->Cid.UniqueThread;
}
KM_EXPORT(PsGetCurrentThreadId);

HANDLE NTAPI PsGetThreadId(PETHREAD Thread)
{
    return Thread->Cid.UniqueThread;
}
KM_EXPORT(PsGetThreadId);

HANDLE NTAPI PsGetThreadProcessId(PETHREAD Thread)
{
    return Thread->Cid.UniqueProcess;
}
KM_EXPORT(PsGetThreadProcessId);

PEPROCESS NTAPI PsGetThreadProcess(PETHREAD Thread)
{
    return (PEPROCESS)Thread->Tcb.Process;
}
KM_EXPORT(PsGetThreadProcess);

BOOLEAN NTAPI PsIsSystemThread(PETHREAD Thread)
{
    return Thread->SystemThread;
}
KM_EXPORT(PsIsSystemThread);

BOOLEAN NTAPI PsIsThreadTerminating(PETHREAD Thread)
{
    return atomic_load(&Thread->Terminating);
}
KM_EXPORT(PsIsThreadTerminating);

/* STATUS_PENDING while the thread runs, its exit status once it ended. */
NTSTATUS NTAPI PsGetThreadExitStatus(PETHREAD Thread)
{
    return Thread->ExitStatus;
}
KM_EXPORT(PsGetThreadExitStatus);

KPROCESSOR_MODE NTAPI ExGetPreviousMode(void)
{
    return KiCurrentThread()->PreviousMode;
}
KM_EXPORT(ExGetPreviousMode);

KPROCESSOR_MODE NTAPI KeGetPreviousMode(void)
{
    return KiCurrentThread()->PreviousMode;
}
KM_EXPORT(KeGetPreviousMode);

/* Documented: returns the referenced thread for a thread ID, or
   STATUS_INVALID_PARAMETER. */
NTSTATUS NTAPI PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread)
{
    NTSTATUS status = STATUS_INVALID_PARAMETER;
    pthread_mutex_lock(&PspThreadLock);
    for (PLIST_ENTRY e = PspThreadList.Flink; e != &PspThreadList; e = e->Flink) {
        PETHREAD t = CONTAINING_RECORD(e, ETHREAD, ThreadListEntry);
        if (t->Cid.UniqueThread == ThreadId && !atomic_load(&t->Terminating)) {
            ObfReferenceObject(t);
            *Thread = t;
            status = STATUS_SUCCESS;
            break;
        }
    }
    pthread_mutex_unlock(&PspThreadLock);
    return status;
}
KM_EXPORT(PsLookupThreadByThreadId);

void PspForEachThread(PSP_THREAD_VISITOR Visit, void *Ctx)
{
    pthread_mutex_lock(&PspThreadLock);
    for (PLIST_ENTRY e = PspThreadList.Flink; e != &PspThreadList; e = e->Flink)
        Visit(Ctx, CONTAINING_RECORD(e, ETHREAD, ThreadListEntry));
    pthread_mutex_unlock(&PspThreadLock);
}

LONG PspLiveThreadCount(void)
{
    pthread_mutex_lock(&PspThreadLock);
    LONG n = PspThreadCount;
    pthread_mutex_unlock(&PspThreadLock);
    return n;
}

void PsDescribeThread(struct _KTHREAD *Thread, char *Buf, size_t Len)
{
    PETHREAD t = (PETHREAD)Thread;
    char start[160] = "";
    if (!t) {
        snprintf(Buf, Len, "no thread");
        return;
    }
    if (t->StartRoutine)
        LdrDescribeAddress((const void *)t->StartRoutine, start, sizeof(start));
    snprintf(Buf, Len, "thread %p (cid %llx.%llx%s%s)", (void *)t,
             (unsigned long long)(ULONG_PTR)t->Cid.UniqueProcess,
             (unsigned long long)(ULONG_PTR)t->Cid.UniqueThread, start[0] ? ", start " : "", start);
}

void PsInitSystem(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    HalInitSystem();
    PspInitSystemProcess();
    /* The calling host thread becomes the System process's initial thread. */
    KPCR *pcr = aligned_alloc(4096, sizeof(KPCR));
    PETHREAD t = pcr ? PspAllocateThread(NULL, memset(pcr, 0, sizeof(KPCR))) : NULL;
    if (!t)
        KeBugCheckEx(0x7D /* INSTALL_MORE_MEMORY */, 0, 0, 0, 0);
    HalSetCurrentPcr(t->Tcb.Pcr);
}
