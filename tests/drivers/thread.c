// Conformance: PsCreateSystemThread parameters, the new thread's context,
// PsTerminateSystemThread, thread ends and exit status, many threads.
// EXPECT-EXIT: 0
#include "harness.h"

#define KERNEL_HANDLE_BITS ((ULONG_PTR)0xFFFFFFFF80000000ULL)
#define NTHREADS 32

struct observed {
    PVOID context; /* StartContext as received */
    PKTHREAD self;
    HANDLE tid, pid;
    KIRQL irql;
    BOOLEAN system_thread;
    PEPROCESS process, io_process;
};

static VOID NTAPI observe(PVOID ctx)
{
    struct observed *o = ctx;

    o->context = ctx;
    o->self = KeGetCurrentThread();
    o->tid = PsGetCurrentThreadId();
    o->pid = PsGetCurrentProcessId();
    o->irql = KeGetCurrentIrql();
    o->system_thread = PsIsSystemThread(PsGetCurrentThread());
    o->process = PsGetCurrentProcess();
    o->io_process = IoGetCurrentProcess();
}

static int is_kernel_handle(HANDLE h)
{
    return ((ULONG_PTR)h & KERNEL_HANDLE_BITS) == KERNEL_HANDLE_BITS;
}

/* Create a thread with the given parameters and check everything it saw. */
static void create_and_check(ACCESS_MASK access, BOOLEAN kernel_attr, HANDLE process,
                             const char *what)
{
    static struct observed o;
    OBJECT_ATTRIBUTES oa;
    OBJECT_HANDLE_INFORMATION info;
    CLIENT_ID cid;
    HANDLE h = NULL;
    PVOID obj = NULL;
    NTSTATUS st;

    RtlZeroMemory(&o, sizeof(o));
    RtlZeroMemory(&cid, sizeof(cid));
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = PsCreateSystemThread(&h, access, kernel_attr ? &oa : NULL, process, &cid, observe, &o);
    if (!is_status(st, STATUS_SUCCESS, what))
        return;
    ok(is_kernel_handle(h),
       "%s: PsCreateSystemThread returns a kernel handle on Vista and later: %p", what, h);
    st = ObReferenceObjectByHandle(h, 0, KM_PsThreadType, KernelMode, &obj, &info);
    is_status(st, STATUS_SUCCESS, "ObReferenceObjectByHandle on the new thread's handle");
    if (NT_SUCCESS(st))
        is_int(info.GrantedAccess, access,
               "the handle is granted the DesiredAccess given to PsCreateSystemThread");
    is_status(ZwClose(h), STATUS_SUCCESS, "ZwClose on the thread handle");
    if (!NT_SUCCESS(st))
        return;
    is_status(KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "the thread object is signalled when its start routine returns");

    is_ptr(o.context, &o, "StartContext is passed to the start routine unchanged");
    is_ptr(o.self, obj, "the handle refers to the thread that ran the start routine");
    is_ptr(cid.UniqueThread, o.tid, "ClientId.UniqueThread is the new thread's id");
    is_ptr(cid.UniqueProcess, o.pid, "ClientId.UniqueProcess is the new thread's process id");
    is_ptr(cid.UniqueProcess, PsGetProcessId(KM_PsInitialSystemProcess),
           "the thread runs in the initial system process (ProcessHandle NULL or current)");
    is_int(o.irql, PASSIVE_LEVEL, "a new system thread runs at PASSIVE_LEVEL");
    ok(o.system_thread, "PsIsSystemThread is TRUE inside a PsCreateSystemThread thread");
    is_ptr(o.process, KM_PsInitialSystemProcess,
           "PsGetCurrentProcess in a system thread is PsInitialSystemProcess");
    is_ptr(o.io_process, KM_PsInitialSystemProcess,
           "IoGetCurrentProcess in a system thread is PsInitialSystemProcess");
    ok(o.tid != PsGetCurrentThreadId(), "a new thread's id differs from its creator's");
    ObDereferenceObject(obj);
}

static KEVENT g_release;
static volatile LONG g_after_terminate;

static VOID NTAPI terminate_self(PVOID ctx)
{
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
    PsTerminateSystemThread((NTSTATUS)(ULONG_PTR)ctx);
    InterlockedExchange(&g_after_terminate, 1);
}

typedef NTSTATUS(NTAPI *exit_status_fn)(PETHREAD);

static void test_terminate(void)
{
    LARGE_INTEGER zero = {.QuadPart = 0};
    const NTSTATUS code = (NTSTATUS)0xE0000123;
    UNICODE_STRING name;
    exit_status_fn exit_status;
    PKTHREAD t;

    /* PsGetThreadExitStatus: ntddk.h, Windows 10 1703 and later. */
    RtlInitUnicodeString(&name, L"PsGetThreadExitStatus");
    exit_status = (exit_status_fn)MmGetSystemRoutineAddress(&name);
    ok(exit_status != NULL, "MmGetSystemRoutineAddress finds PsGetThreadExitStatus");

    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    t = harness_start_thread(terminate_self, (PVOID)(ULONG_PTR)(ULONG)code);
    if (!t)
        return;
    if (exit_status)
        is_status(exit_status((PETHREAD)t), STATUS_PENDING,
                  "PsGetThreadExitStatus returns STATUS_PENDING while the thread is active");
    is_status(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT,
              "a running thread's object is not signalled");
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "PsTerminateSystemThread ends the thread and signals its object");
    is_int(g_after_terminate, 0, "PsTerminateSystemThread does not return to its caller");
    if (exit_status)
        is_status(exit_status((PETHREAD)t), code,
                  "PsGetThreadExitStatus returns the ExitStatus given to PsTerminateSystemThread");
    ObDereferenceObject(t);
}

static HANDLE g_ids[NTHREADS];
static PKTHREAD g_selves[NTHREADS];
static volatile LONG g_ran;

static VOID NTAPI record_id(PVOID ctx)
{
    ULONG_PTR i = (ULONG_PTR)ctx;

    g_ids[i] = PsGetCurrentThreadId();
    g_selves[i] = KeGetCurrentThread();
    InterlockedIncrement(&g_ran);
}

static void test_many(void)
{
    PKTHREAD t[NTHREADS];
    ULONG_PTR i, j;
    int distinct = 1;

    for (i = 0; i < NTHREADS; i++)
        t[i] = harness_start_thread(record_id, (PVOID)i);
    for (i = 0; i < NTHREADS; i++)
        if (t[i])
            is_status(KeWaitForSingleObject(t[i], Executive, KernelMode, FALSE, NULL),
                      STATUS_SUCCESS, "each of 32 threads ends and signals its object");
    is_int(g_ran, NTHREADS, "every one of 32 system threads ran its start routine once");
    for (i = 0; i < NTHREADS; i++) {
        is_ptr(g_selves[i], t[i], "KeGetCurrentThread inside the thread is its thread object");
        for (j = i + 1; j < NTHREADS; j++)
            if (g_ids[i] == g_ids[j])
                distinct = 0;
    }
    ok(distinct, "PsGetCurrentThreadId differs between threads that exist at the same time");
    for (i = 0; i < NTHREADS; i++)
        if (t[i])
            ObDereferenceObject(t[i]);
}

static VOID NTAPI just_return(PVOID ctx)
{
    *(volatile LONG *)ctx = 1;
}

static void test_return(void)
{
    static volatile LONG ran;
    PKTHREAD t = harness_start_thread(just_return, (PVOID)&ran);
    /* Returning from the start routine ends the thread like PsTerminateSystemThread. */
    harness_join_thread(t);
    is_int(ran, 1, "the start routine ran before its thread object was signalled");
}

static void test_current(void)
{
    PVOID obj = NULL;
    NTSTATUS st;

    ok(KeGetCurrentThread() != NULL, "KeGetCurrentThread is not NULL");
    is_ptr(PsGetCurrentThread(), KeGetCurrentThread(),
           "PsGetCurrentThread and KeGetCurrentThread are the same thread object");
    st = ObReferenceObjectByHandle(NtCurrentThread(), 0, KM_PsThreadType, KernelMode, &obj, NULL);
    is_status(st, STATUS_SUCCESS, "NtCurrentThread() resolves by ObReferenceObjectByHandle");
    if (NT_SUCCESS(st)) {
        is_ptr(obj, KeGetCurrentThread(), "NtCurrentThread() refers to the current thread");
        ObDereferenceObject(obj);
    }
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_current();
    create_and_check(THREAD_ALL_ACCESS, TRUE, NULL,
                     "THREAD_ALL_ACCESS, OBJ_KERNEL_HANDLE, ProcessHandle NULL");
    create_and_check(SYNCHRONIZE, FALSE, NtCurrentProcess(),
                     "SYNCHRONIZE, ObjectAttributes NULL, ProcessHandle NtCurrentProcess()");
    create_and_check(SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION, TRUE, NtCurrentProcess(),
                     "a small access mask with OBJ_KERNEL_HANDLE");
    test_terminate();
    test_return();
    test_many();
    return STATUS_SUCCESS;
}
