// Conformance: thread affinity. KeSetSystemAffinityThreadEx returns the
// previous system affinity, 0 when the user affinity was in force; at
// IRQL <= APC_LEVEL the thread runs on a processor of the new set when it
// returns; at DISPATCH_LEVEL the move waits until the IRQL drops below
// DISPATCH_LEVEL; a mask naming a processor that does not exist has no
// effect; KeRevertToUserAffinityThreadEx restores what it is given (0: the
// user affinity) and has no effect without a previous set; the group forms
// report a user affinity as an all-zero GROUP_AFFINITY; a DPC queued to the
// processor runs before a move deferred at DISPATCH_LEVEL.
// EXPECT-EXIT: 0
#include "harness.h"

static ULONG g_count;
static volatile LONG64 g_child_previous = -1;

static KAFFINITY bit(ULONG n)
{
    return (KAFFINITY)1 << n;
}

static void test_each_processor(void)
{
    for (ULONG i = 0; i < g_count; i++) {
        KAFFINITY previous = KeSetSystemAffinityThreadEx(bit(i));
        is_int(previous, 0, "the first KeSetSystemAffinityThreadEx returns 0 (user affinity)");
        is_int(KeGetCurrentProcessorNumberEx(NULL), i,
               "at PASSIVE_LEVEL the thread runs on the one processor of its new affinity");
        is_int(KeGetCurrentProcessorNumber(), i, "KeGetCurrentProcessorNumber agrees");
        KeRevertToUserAffinityThreadEx(previous);
    }
}

static void test_nesting(void)
{
    ULONG last = g_count - 1;
    KAFFINITY outer = KeSetSystemAffinityThreadEx(bit(0));
    is_int(outer, 0, "KeSetSystemAffinityThreadEx from the user affinity returns 0");
    KAFFINITY inner = KeSetSystemAffinityThreadEx(bit(last));
    is_int(inner, bit(0), "a nested KeSetSystemAffinityThreadEx returns the previous system affinity");
    is_int(KeGetCurrentProcessorNumberEx(NULL), last, "the nested affinity is in force");
    KeRevertToUserAffinityThreadEx(inner);
    is_int(KeGetCurrentProcessorNumberEx(NULL), 0,
           "KeRevertToUserAffinityThreadEx(previous) puts the outer affinity back");
    KeRevertToUserAffinityThreadEx(outer);
    is_int(KeSetSystemAffinityThreadEx(bit(0)), 0,
           "after a revert to 0 the user affinity is in force again");
    KeRevertToUserAffinityThreadEx(0);
}

static void test_invalid(void)
{
    ULONG before;

    if (g_count >= 64)
        return;
    KAFFINITY previous = KeSetSystemAffinityThreadEx(bit(0));
    before = KeGetCurrentProcessorNumberEx(NULL);
    KeSetSystemAffinityThreadEx(bit(g_count));
    is_int(KeGetCurrentProcessorNumberEx(NULL), before,
           "a mask naming no existing processor has no effect: the thread stays where it was");
    is_int(KeSetSystemAffinityThreadEx(bit(0)), bit(0),
           "... and the earlier system affinity is still in force");
    KeSetSystemAffinityThreadEx(0);
    is_int(KeSetSystemAffinityThreadEx(bit(0)), bit(0), "an empty mask has no effect either");
    KeRevertToUserAffinityThreadEx(previous);

    KeRevertToUserAffinityThreadEx(bit(0));
    is_int(KeSetSystemAffinityThreadEx(bit(0)), 0,
           "KeRevertToUserAffinityThreadEx without a previous set has no effect");
    KeRevertToUserAffinityThreadEx(0);
}

static void test_dispatch_level(void)
{
    KIRQL old;
    ULONG here, there;

    if (g_count < 2)
        return;
    KAFFINITY previous = KeSetSystemAffinityThreadEx(bit(0));
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    here = KeGetCurrentProcessorNumberEx(NULL);
    there = here == 0 ? 1 : 0;
    is_int(KeSetSystemAffinityThreadEx(bit(there)), bit(0),
           "at DISPATCH_LEVEL KeSetSystemAffinityThreadEx still returns the previous affinity");
    is_int(KeGetCurrentProcessorNumberEx(NULL), here,
           "at DISPATCH_LEVEL the move waits: the thread is still on its processor");
    KeLowerIrql(old);
    is_int(KeGetCurrentProcessorNumberEx(NULL), there,
           "once the IRQL drops below DISPATCH_LEVEL the thread runs on the new processor");
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeRevertToUserAffinityThreadEx(previous);
    KeLowerIrql(old);
    is_int(KeSetSystemAffinityThreadEx(bit(0)), 0,
           "a revert to the user affinity at DISPATCH_LEVEL takes effect at the lowering");
    KeRevertToUserAffinityThreadEx(0);
}

static volatile LONG g_dpc_ran;

static VOID NTAPI count_dpc(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
    UNREFERENCED_PARAMETER(dpc);
    UNREFERENCED_PARAMETER(context);
    UNREFERENCED_PARAMETER(arg1);
    UNREFERENCED_PARAMETER(arg2);
    InterlockedIncrement(&g_dpc_ran);
}

/* A DPC queued at DISPATCH_LEVEL to the current processor runs when the
   IRQL drops below DISPATCH_LEVEL there, before a move deferred at the same
   IRQL takes the thread elsewhere. */
static void test_dpc_before_move(void)
{
    static KDPC dpc;
    KIRQL old;

    if (g_count < 2)
        return;
    KeInitializeDpc(&dpc, count_dpc, NULL);
    g_dpc_ran = 0;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ULONG here = KeGetCurrentProcessorNumberEx(NULL);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KAFFINITY previous = KeSetSystemAffinityThreadEx(bit(here == 0 ? 1 : 0));
    KeLowerIrql(old);
    is_int(g_dpc_ran, 1,
           "a DPC queued to this processor at DISPATCH_LEVEL ran when the IRQL dropped, "
           "though a move to another processor was pending");
    KeRevertToUserAffinityThreadEx(previous);
    KeFlushQueuedDpcs();
}

static void test_legacy_and_group(void)
{
    GROUP_AFFINITY want = {0}, previous, again;
    ULONG last = g_count - 1;

    KeSetSystemAffinityThread(bit(last));
    is_int(KeGetCurrentProcessorNumberEx(NULL), last, "KeSetSystemAffinityThread moves the thread");
    KeRevertToUserAffinityThread();
    is_int(KeSetSystemAffinityThreadEx(bit(0)), 0,
           "KeRevertToUserAffinityThread restores the user affinity");
    KeRevertToUserAffinityThreadEx(0);

    want.Mask = bit(last);
    want.Group = 0;
    RtlFillMemory(&previous, sizeof(previous), 0xCC);
    KeSetSystemGroupAffinityThread(&want, &previous);
    is_int(previous.Mask, 0, "KeSetSystemGroupAffinityThread reports a user affinity as Mask 0");
    is_int(previous.Group, 0, "... and Group 0");
    is_int(KeGetCurrentProcessorNumberEx(NULL), last,
           "KeSetSystemGroupAffinityThread moves the thread to the group-relative processor");
    want.Mask = bit(0);
    KeSetSystemGroupAffinityThread(&want, &again);
    is_int(again.Mask, bit(last), "a nested group set reports the previous system affinity");
    KeRevertToUserGroupAffinityThread(&again);
    is_int(KeGetCurrentProcessorNumberEx(NULL), last,
           "KeRevertToUserGroupAffinityThread puts the previous group affinity back");
    KeRevertToUserGroupAffinityThread(&previous);
    is_int(KeSetSystemAffinityThreadEx(bit(0)), 0, "... and then the user affinity");
    KeRevertToUserAffinityThreadEx(0);
}

static VOID NTAPI child(PVOID context)
{
    UNREFERENCED_PARAMETER(context);
    g_child_previous = (LONG64)KeSetSystemAffinityThreadEx(bit(0));
    KeRevertToUserAffinityThreadEx(0);
}

/* A system affinity belongs to the thread that set it: a thread it creates
   starts with its own user affinity. */
static void test_not_inherited(void)
{
    HANDLE handle;
    PVOID thread;
    NTSTATUS status;
    KAFFINITY previous = KeSetSystemAffinityThreadEx(bit(g_count - 1));

    status = PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, NULL, NULL, NULL, child, NULL);
    if (is_status(status, STATUS_SUCCESS, "PsCreateSystemThread")) {
        ObReferenceObjectByHandle(handle, SYNCHRONIZE, NULL, KernelMode, &thread, NULL);
        ZwClose(handle);
        KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(thread);
        is_int(g_child_previous, 0,
               "a thread created under a system affinity starts with its user affinity");
    }
    KeRevertToUserAffinityThreadEx(previous);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    UNREFERENCED_PARAMETER(driver);
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    UNREFERENCED_PARAMETER(registry_path);
    driver->DriverUnload = DriverUnload;
    g_count = KeQueryActiveProcessorCount(NULL);
    ok(g_count >= 1 && g_count <= 64, "KeQueryActiveProcessorCount: 1 to 64 in group 0, got %lu",
       g_count);
    test_each_processor();
    test_nesting();
    test_invalid();
    test_dispatch_level();
    test_dpc_before_move();
    test_legacy_and_group();
    test_not_inherited();
    return STATUS_SUCCESS;
}
