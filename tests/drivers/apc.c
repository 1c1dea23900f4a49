// Conformance: kernel and user APCs (KeInitializeApc, KeInsertQueueApc, and
// KeRemoveQueueApc looked up with MmGetSystemRoutineAddress since not every
// ntoskrnl exports it): where and when they run, and how they end waits.
// EXPECT-EXIT: 0
#include "harness.h"

/* Exported by ntoskrnl.exe, not declared by the WDK headers; the prototypes
   are the well-known ones. */
typedef enum _KAPC_ENVIRONMENT {
    OriginalApcEnvironment,
    AttachedApcEnvironment,
    CurrentApcEnvironment,
    InsertApcEnvironment
} KAPC_ENVIRONMENT;
NTKERNELAPI VOID NTAPI KeInitializeApc(PRKAPC Apc, PRKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                                       PKKERNEL_ROUTINE KernelRoutine,
                                       PKRUNDOWN_ROUTINE RundownRoutine,
                                       PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                                       PVOID NormalContext);
NTKERNELAPI BOOLEAN NTAPI KeInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                                           KPRIORITY Increment);
typedef BOOLEAN NTAPI REMOVE_QUEUE_APC(PKAPC Apc);
static REMOVE_QUEUE_APC *KeRemoveQueueApc_;

#define APC_OBJECT_TYPE 0x12 /* KOBJECTS ApcObject */

/* What the routines saw; reset by reset_record(). */
static volatile LONG g_kernel_runs, g_normal_runs, g_rundown_runs, g_sequence;
static volatile LONG g_kernel_order, g_normal_order;
static PKTHREAD volatile g_kernel_thread, g_normal_thread, g_rundown_thread;
static volatile KIRQL g_kernel_irql, g_normal_irql;
static PVOID volatile g_kernel_a1, g_kernel_a2, g_normal_ctx, g_normal_a1, g_normal_a2;
static volatile BOOLEAN g_kernel_saw_inserted;
static PVOID volatile g_kernel_saw_normal;
static volatile BOOLEAN g_cancel_normal, g_replace_context;
static KEVENT g_ran; /* set by the routine that ends an APC */

static KEVENT g_started, g_release, g_release2, g_never;
static volatile NTSTATUS g_status;
static volatile BOOLEAN g_returned;
static volatile LONG g_before_leave, g_after_leave;

static void reset_record(void)
{
    g_kernel_runs = g_normal_runs = g_rundown_runs = g_sequence = 0;
    g_kernel_order = g_normal_order = 0;
    g_kernel_thread = g_normal_thread = g_rundown_thread = NULL;
    g_kernel_irql = g_normal_irql = 0xff;
    g_kernel_a1 = g_kernel_a2 = g_normal_ctx = g_normal_a1 = g_normal_a2 = NULL;
    g_kernel_saw_inserted = TRUE;
    g_kernel_saw_normal = (PVOID)1;
    g_cancel_normal = g_replace_context = FALSE;
    KeInitializeEvent(&g_ran, NotificationEvent, FALSE);
}

static VOID NTAPI kernel_routine(PKAPC apc, PKNORMAL_ROUTINE *normal, PVOID *ctx, PVOID *a1,
                                 PVOID *a2)
{
    g_kernel_thread = (PKTHREAD)PsGetCurrentThread();
    g_kernel_irql = KeGetCurrentIrql();
    g_kernel_a1 = *a1;
    g_kernel_a2 = *a2;
    g_kernel_saw_inserted = apc->Inserted;
    g_kernel_saw_normal = (PVOID)*normal;
    g_kernel_order = InterlockedIncrement(&g_sequence);
    if (g_cancel_normal)
        *normal = NULL;
    if (g_replace_context)
        *ctx = (PVOID)0x5678;
    InterlockedIncrement(&g_kernel_runs);
    if (!*normal) /* a special APC, or a cancelled normal one: nothing follows */
        KeSetEvent(&g_ran, IO_NO_INCREMENT, FALSE);
}

static VOID NTAPI normal_routine(PVOID ctx, PVOID a1, PVOID a2)
{
    g_normal_thread = (PKTHREAD)PsGetCurrentThread();
    g_normal_irql = KeGetCurrentIrql();
    g_normal_ctx = ctx;
    g_normal_a1 = a1;
    g_normal_a2 = a2;
    g_normal_order = InterlockedIncrement(&g_sequence);
    InterlockedIncrement(&g_normal_runs);
    KeSetEvent(&g_ran, IO_NO_INCREMENT, FALSE);
}

static VOID NTAPI rundown_routine(PKAPC apc)
{
    g_rundown_thread = (PKTHREAD)PsGetCurrentThread();
    InterlockedIncrement(&g_rundown_runs);
}

static void settle(void)
{
    LARGE_INTEGER ms = {.QuadPart = -10 * 1000 * 20};
    KeDelayExecutionThread(KernelMode, FALSE, &ms);
}

/* Waits for an APC's last routine; a finite timeout so a failure is not a hang. */
static NTSTATUS wait_ran(void)
{
    LARGE_INTEGER timeout = {.QuadPart = -10LL * 1000 * 1000 * 10};
    return KeWaitForSingleObject(&g_ran, Executive, KernelMode, FALSE, &timeout);
}

static void test_initialize(void)
{
    KAPC apc;
    RtlFillMemory(&apc, sizeof(apc), 0xcc);
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL,
                    UserMode, (PVOID)0x1234);
    is_int(sizeof(KAPC), 0x58, "KAPC is 0x58 bytes on x64");
    is_int(apc.Type, APC_OBJECT_TYPE, "KeInitializeApc sets Type to ApcObject");
    is_int(apc.Size, sizeof(KAPC), "KeInitializeApc sets Size to sizeof(KAPC)");
    ok(!apc.Inserted, "a new APC is not inserted");
    is_ptr(apc.Thread, KeGetCurrentThread(), "KeInitializeApc records the target thread");
    is_int(apc.ApcMode, KernelMode, "an APC without NormalRoutine is a kernel-mode APC");
    is_ptr(apc.NormalContext, NULL, "an APC without NormalRoutine has no NormalContext");
}

static void test_self_special(void)
{
    static KAPC apc; /* static: a failed check never leaves a dead stack frame queued */
    reset_record();
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL,
                    KernelMode, NULL);
    ok(KeInsertQueueApc(&apc, (PVOID)0x11, (PVOID)0x22, IO_NO_INCREMENT),
       "KeInsertQueueApc queues a special kernel APC to the current thread");
    is_int(g_kernel_runs, 1,
           "a special kernel APC queued to the current thread at PASSIVE_LEVEL runs before "
           "KeInsertQueueApc returns");
    is_ptr(g_kernel_thread, KeGetCurrentThread(), "the KernelRoutine runs in the target thread");
    is_int(g_kernel_irql, APC_LEVEL, "a KernelRoutine runs at APC_LEVEL");
    is_ptr(g_kernel_a1, (PVOID)0x11, "the KernelRoutine gets SystemArgument1");
    is_ptr(g_kernel_a2, (PVOID)0x22, "the KernelRoutine gets SystemArgument2");
    is_ptr(g_kernel_saw_normal, NULL, "a special APC's KernelRoutine sees no NormalRoutine");
    ok(!g_kernel_saw_inserted, "an APC is no longer inserted when its KernelRoutine runs");
    ok(!apc.Inserted, "a delivered APC is not inserted");
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "delivery returns to PASSIVE_LEVEL");
}

static void test_self_raised(void)
{
    static KAPC apc;
    KIRQL old;
    reset_record();
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL,
                    KernelMode, NULL);
    KeRaiseIrql(APC_LEVEL, &old);
    ok(KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT), "KeInsertQueueApc at APC_LEVEL");
    is_int(g_kernel_runs, 0, "no APC runs while its thread is at APC_LEVEL");
    KeLowerIrql(old);
    is_int(g_kernel_runs, 1, "a pending kernel APC runs when the thread lowers to PASSIVE_LEVEL");
}

static void test_guarded_and_requeue(void)
{
    static KAPC apc;
    reset_record();
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL,
                    KernelMode, NULL);
    KeEnterGuardedRegion();
    ok(KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT), "KeInsertQueueApc in a guarded region");
    ok(apc.Inserted, "a queued APC is inserted");
    ok(!KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT),
       "KeInsertQueueApc returns FALSE for an APC that is already queued");
    is_int(g_kernel_runs, 0, "a guarded region holds special kernel APCs back");
    KeLeaveGuardedRegion();
    is_int(g_kernel_runs, 1, "leaving the guarded region delivers the APC, once");
}

static void test_remove(void)
{
    UNICODE_STRING name;
    static KAPC apc;

    RtlInitUnicodeString(&name, L"KeRemoveQueueApc");
    KeRemoveQueueApc_ = (REMOVE_QUEUE_APC *)MmGetSystemRoutineAddress(&name);
    if (!KeRemoveQueueApc_) {
        DbgPrint("skipped: this kernel does not export KeRemoveQueueApc\n");
        return;
    }
    reset_record();
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL,
                    KernelMode, NULL);
    ok(!KeRemoveQueueApc_(&apc), "KeRemoveQueueApc returns FALSE for an APC not queued");
    KeEnterGuardedRegion();
    KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT);
    ok(KeRemoveQueueApc_(&apc), "KeRemoveQueueApc returns TRUE for a queued APC");
    ok(!apc.Inserted, "a removed APC is not inserted");
    ok(!KeRemoveQueueApc_(&apc), "... and a second KeRemoveQueueApc returns FALSE");
    KeLeaveGuardedRegion();
    is_int(g_kernel_runs, 0, "a removed APC does not run");
    ok(KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT), "a removed APC may be queued again");
    is_int(g_kernel_runs, 1, "... and then runs");
}

static void test_self_critical(void)
{
    static KAPC normal, special;
    reset_record();
    KeInitializeApc(&normal, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL,
                    normal_routine, KernelMode, (PVOID)0x1234);
    KeInitializeApc(&special, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL,
                    NULL, KernelMode, NULL);
    KeEnterCriticalRegion();
    ok(KeInsertQueueApc(&normal, (PVOID)0x33, (PVOID)0x44, IO_NO_INCREMENT),
       "KeInsertQueueApc queues a normal kernel APC in a critical region");
    is_int(g_kernel_runs + g_normal_runs, 0, "a critical region holds normal kernel APCs back");
    KeInsertQueueApc(&special, NULL, NULL, IO_NO_INCREMENT);
    is_int(g_kernel_runs, 1, "a critical region does not hold special kernel APCs back");
    is_int(g_normal_runs, 0, "... and the normal one still waits");
    g_kernel_irql = 0xff;
    KeLeaveCriticalRegion();
    is_int(g_kernel_runs, 2, "leaving the critical region runs the normal APC's KernelRoutine");
    is_int(g_normal_runs, 1, "... and its NormalRoutine");
    is_int(g_kernel_irql, APC_LEVEL, "a normal APC's KernelRoutine runs at APC_LEVEL");
    is_int(g_normal_irql, PASSIVE_LEVEL, "a NormalRoutine runs at PASSIVE_LEVEL");
    ok(g_kernel_order < g_normal_order, "the KernelRoutine runs before the NormalRoutine");
    is_ptr(g_normal_ctx, (PVOID)0x1234, "the NormalRoutine gets NormalContext");
    is_ptr(g_normal_a1, (PVOID)0x33, "the NormalRoutine gets SystemArgument1");
    is_ptr(g_normal_a2, (PVOID)0x44, "the NormalRoutine gets SystemArgument2");
    is_ptr(g_normal_thread, KeGetCurrentThread(), "the NormalRoutine runs in the target thread");
}

static void test_kernel_routine_edits(void)
{
    static KAPC apc;
    reset_record();
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL,
                    normal_routine, KernelMode, (PVOID)0x1234);
    g_replace_context = TRUE;
    KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT);
    is_ptr(g_kernel_saw_normal, (PVOID)normal_routine,
           "a normal APC's KernelRoutine sees its NormalRoutine");
    is_ptr(g_normal_ctx, (PVOID)0x5678, "the NormalRoutine gets the context the KernelRoutine set");

    reset_record();
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL,
                    normal_routine, KernelMode, NULL);
    g_cancel_normal = TRUE;
    KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT);
    is_int(g_kernel_runs, 1, "the KernelRoutine ran");
    is_int(g_normal_runs, 0, "a KernelRoutine that clears NormalRoutine cancels it");
}

/* ---- APCs to a thread blocked in a wait ---- */

static VOID NTAPI kernel_waiter(PVOID ctx)
{
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    g_status = KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
    g_returned = TRUE;
}

static VOID NTAPI waitall_waiter(PVOID ctx)
{
    PVOID objects[2] = {&g_release, &g_release2};
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    g_status =
        KeWaitForMultipleObjects(2, objects, WaitAll, Executive, KernelMode, FALSE, NULL, NULL);
    g_returned = TRUE;
}

static VOID NTAPI timed_waiter(PVOID ctx)
{
    LARGE_INTEGER timeout = {.QuadPart = -10LL * 1000 * 500};
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    g_status = KeWaitForSingleObject(&g_never, Executive, KernelMode, FALSE, &timeout);
    g_returned = TRUE;
}

static PKTHREAD start_waiter(PKSTART_ROUTINE routine)
{
    PKTHREAD t;
    KeInitializeEvent(&g_started, NotificationEvent, FALSE);
    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    KeInitializeEvent(&g_release2, NotificationEvent, FALSE);
    KeInitializeEvent(&g_never, NotificationEvent, FALSE);
    g_status = STATUS_PENDING;
    g_returned = FALSE;
    t = harness_start_thread(routine, NULL);
    if (t) {
        KeWaitForSingleObject(&g_started, Executive, KernelMode, FALSE, NULL);
        settle(); /* most likely blocked in its wait now */
    }
    return t;
}

static void test_apc_to_waiter(BOOLEAN special, PKSTART_ROUTINE routine, const char *what)
{
    static KAPC apc;
    PKTHREAD t;
    reset_record();
    t = start_waiter(routine);
    if (!t)
        return;
    KeInitializeApc(&apc, t, OriginalApcEnvironment, kernel_routine, NULL,
                    special ? NULL : normal_routine, KernelMode, (PVOID)0x99);
    ok(KeInsertQueueApc(&apc, (PVOID)0x55, NULL, IO_NO_INCREMENT),
       "KeInsertQueueApc to a waiting thread (%s)", what);
    is_status(wait_ran(), STATUS_SUCCESS,
              "a kernel APC runs while its thread is blocked in a wait");
    is_ptr(g_kernel_thread, t, "the KernelRoutine runs in the target thread");
    is_int(g_kernel_irql, APC_LEVEL, "the KernelRoutine runs at APC_LEVEL");
    is_ptr(g_kernel_a1, (PVOID)0x55, "the KernelRoutine gets SystemArgument1");
    if (!special) {
        is_ptr(g_normal_thread, t, "the NormalRoutine runs in the target thread");
        is_int(g_normal_irql, PASSIVE_LEVEL, "the NormalRoutine runs at PASSIVE_LEVEL");
        is_ptr(g_normal_ctx, (PVOID)0x99, "the NormalRoutine gets NormalContext");
    }
    if (routine != timed_waiter) /* that wait may end by its timeout any time */
        ok(!g_returned, "a kernel APC does not end a wait (%s)", what);
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    KeSetEvent(&g_release2, IO_NO_INCREMENT, FALSE);
    harness_join_thread(t);
    is_status(g_status, routine == timed_waiter ? STATUS_TIMEOUT : STATUS_SUCCESS,
              "after a kernel APC the wait goes on to its own outcome");
}

static VOID NTAPI critical_waiter(PVOID ctx)
{
    KeEnterCriticalRegion();
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    g_status = KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
    g_before_leave = g_normal_runs;
    KeLeaveCriticalRegion();
    g_after_leave = g_normal_runs;
}

static void test_critical_waiter(void)
{
    static KAPC apc;
    PKTHREAD t;
    reset_record();
    g_before_leave = g_after_leave = -1;
    t = start_waiter(critical_waiter);
    if (!t)
        return;
    KeInitializeApc(&apc, t, OriginalApcEnvironment, kernel_routine, NULL, normal_routine,
                    KernelMode, NULL);
    ok(KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT),
       "KeInsertQueueApc to a thread in a critical region");
    settle();
    is_int(g_kernel_runs + g_normal_runs, 0,
           "a normal kernel APC is held off while its thread is in a critical region");
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    harness_join_thread(t);
    is_status(g_status, STATUS_SUCCESS, "the wait in the critical region ends normally");
    is_int(g_before_leave, 0, "the APC has not run before KeLeaveCriticalRegion");
    is_int(g_after_leave, 1, "KeLeaveCriticalRegion delivers the normal APC");
    is_ptr(g_normal_thread, t, "... in the target thread");
}

/* ---- user APCs ---- */

static VOID NTAPI user_waiter(PVOID ctx)
{
    ULONG kind = (ULONG)(ULONG_PTR)ctx;
    /* Long enough never to expire in a passing run; finite, so a failure
       is a wrong status rather than a hang. */
    LARGE_INTEGER ten = {.QuadPart = -10LL * 1000 * 1000 * 10};
    KeSetEvent(&g_started, IO_NO_INCREMENT, FALSE);
    switch (kind) {
    case 0: /* alertable UserMode wait */
        g_status = KeWaitForSingleObject(&g_never, UserRequest, UserMode, TRUE, &ten);
        break;
    case 1: /* alertable UserMode delay */
        g_status = KeDelayExecutionThread(UserMode, TRUE, &ten);
        break;
    case 2: /* alertable KernelMode wait */
        g_status = KeWaitForSingleObject(&g_release, Executive, KernelMode, TRUE, NULL);
        break;
    case 3: /* non-alertable UserMode wait */
        g_status = KeWaitForSingleObject(&g_release, UserRequest, UserMode, FALSE, NULL);
        break;
    }
    g_returned = TRUE;
}

static void test_user_apc(ULONG kind, NTSTATUS expected, const char *what)
{
    static KAPC apc; /* stays queued until the thread's exit runs it down */
    PKTHREAD t;
    reset_record();
    KeInitializeEvent(&g_started, NotificationEvent, FALSE);
    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    KeInitializeEvent(&g_never, NotificationEvent, FALSE);
    g_status = STATUS_PENDING;
    g_returned = FALSE;
    t = harness_start_thread(user_waiter, (PVOID)(ULONG_PTR)kind);
    if (!t)
        return;
    KeWaitForSingleObject(&g_started, Executive, KernelMode, FALSE, NULL);
    settle();
    KeInitializeApc(&apc, t, OriginalApcEnvironment, kernel_routine, rundown_routine,
                    normal_routine, UserMode, NULL);
    ok(KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT), "KeInsertQueueApc of a user APC");
    if (expected != STATUS_USER_APC) {
        settle();
        ok(!g_returned, "%s", what);
        KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    }
    harness_join_thread(t);
    is_status(g_status, expected, what);
    /* A system thread never returns to user mode, where a user APC's
       routines would run; its exit runs the queue down instead. */
    is_int(g_kernel_runs + g_normal_runs, 0, "a system thread does not run a user APC's routines");
    is_int(g_rundown_runs, 1, "thread exit calls the RundownRoutine of a queued user APC");
    is_ptr(g_rundown_thread, t, "... in the exiting thread");
}

static VOID NTAPI self_user_apc(PVOID ctx)
{
    static KAPC apc;
    LARGE_INTEGER five = {.QuadPart = -10LL * 1000 * 1000 * 5};
    LARGE_INTEGER zero = {.QuadPart = 0};

    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine,
                    rundown_routine, normal_routine, UserMode, NULL);
    ok(KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT), "a thread queues a user APC to itself");
    ok(!KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT),
       "KeInsertQueueApc returns FALSE for a user APC already queued");
    is_status(KeWaitForSingleObject(&g_never, UserRequest, UserMode, TRUE, &five), STATUS_USER_APC,
              "an alertable UserMode wait with a user APC queued returns STATUS_USER_APC at once");
    is_status(KeWaitForSingleObject(&g_never, Executive, KernelMode, TRUE, &zero), STATUS_TIMEOUT,
              "a queued user APC does not affect an alertable KernelMode wait");
    is_status(KeWaitForSingleObject(&g_never, UserRequest, UserMode, FALSE, &zero), STATUS_TIMEOUT,
              "a queued user APC does not affect a non-alertable UserMode wait");
    if (KeRemoveQueueApc_)
        ok(KeRemoveQueueApc_(&apc), "KeRemoveQueueApc takes the user APC back");
}

static void test_self_user_apc(void)
{
    PKTHREAD t;
    reset_record();
    KeInitializeEvent(&g_never, NotificationEvent, FALSE);
    t = harness_start_thread(self_user_apc, NULL);
    harness_join_thread(t);
    if (KeRemoveQueueApc_)
        is_int(g_rundown_runs, 0, "a removed APC is not run down at thread exit");
    else
        is_int(g_rundown_runs, 1, "thread exit runs a queued user APC down");
}

static VOID NTAPI quick_thread(PVOID ctx)
{
}

static void test_exited_thread(void)
{
    OBJECT_ATTRIBUTES oa;
    HANDLE h;
    PVOID t = NULL;
    static KAPC apc;

    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    if (!is_status(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, quick_thread, NULL),
                   STATUS_SUCCESS, "PsCreateSystemThread"))
        return;
    ObReferenceObjectByHandle(h, SYNCHRONIZE, KM_PsThreadType, KernelMode, &t, NULL);
    ZwClose(h);
    if (!t)
        return;
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
    reset_record();
    KeInitializeApc(&apc, (PKTHREAD)t, OriginalApcEnvironment, kernel_routine, NULL, NULL,
                    KernelMode, NULL);
    ok(!KeInsertQueueApc(&apc, NULL, NULL, IO_NO_INCREMENT),
       "KeInsertQueueApc returns FALSE for a thread that has exited");
    ok(!apc.Inserted, "... and the APC is not inserted");
    ObDereferenceObject(t);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_initialize();
    test_self_special();
    test_self_raised();
    test_guarded_and_requeue();
    test_remove();
    test_self_critical();
    test_kernel_routine_edits();
    test_apc_to_waiter(TRUE, kernel_waiter, "special APC, non-alertable KernelMode wait");
    test_apc_to_waiter(FALSE, kernel_waiter, "normal APC, non-alertable KernelMode wait");
    test_apc_to_waiter(TRUE, waitall_waiter, "special APC, WaitAll wait");
    test_apc_to_waiter(TRUE, timed_waiter, "special APC, wait with a timeout");
    test_critical_waiter();
    test_user_apc(0, STATUS_USER_APC, "a user APC ends an alertable UserMode wait");
    test_user_apc(1, STATUS_USER_APC, "a user APC ends an alertable UserMode delay");
    test_user_apc(2, STATUS_SUCCESS, "a user APC does not end an alertable KernelMode wait");
    test_user_apc(3, STATUS_SUCCESS, "a user APC does not end a non-alertable UserMode wait");
    test_self_user_apc();
    test_exited_thread();
    return STATUS_SUCCESS;
}
