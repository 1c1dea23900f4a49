// Conformance: a WaitAny returns the lowest index among the objects that are
// signalled when the wait is satisfied (documented for KeWaitForMultipleObjects
// and WaitForMultipleObjects: "the array index of the signaled object with
// the smallest index value of all the signaled objects"). A setter signals
// E[0] (a notification event, stays set) and then E[63] (a synchronization
// event); nobody resets E[0] before the waiter returns, so whenever E[63] is
// taken E[0] is signalled already: STATUS_WAIT_63 is never a valid answer.
// Objects 1..62 are events that stay reset; the setter dirties their cache
// lines just before it signals, so a waiter scanning the objects in index
// order without their locks is slow between reading E[0] and reading E[63]
// (kmhost's spin before it queues did just that, and took E[63]).
// EXPECT-EXIT: 0
#include "harness.h"

#ifndef N
#define N 64
#endif
#define ROUNDS 20000

typedef struct {
    KEVENT e;
    char pad[64 - sizeof(KEVENT)];
} __attribute__((aligned(64))) LINE_EVENT;

static LINE_EVENT g_ev[N];
static KEVENT g_ready, g_done, g_ack;
static KWAIT_BLOCK g_blocks[N];
static volatile LONG g_wrong, g_first, g_timeouts;

static VOID NTAPI setter(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    for (int r = 0; r < ROUNDS; r++) {
        KeWaitForSingleObject(&g_ready, Executive, KernelMode, FALSE, NULL);
        for (int i = 1; i < N - 1; i++)
            KeClearEvent(&g_ev[i].e); /* stays reset; its line now lives in this CPU */
        KeSetEvent(&g_ev[0].e, IO_NO_INCREMENT, FALSE);
        KeSetEvent(&g_ev[N - 1].e, IO_NO_INCREMENT, FALSE);
        KeSetEvent(&g_done, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(&g_ack, Executive, KernelMode, FALSE, NULL);
    }
}

static VOID NTAPI waiter(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    PVOID objs[N];
    LARGE_INTEGER timeout = {.QuadPart = -10LL * 1000 * 1000}; /* 1 s: a hang is reported */
    for (int i = 0; i < N; i++)
        objs[i] = &g_ev[i].e;
    for (int r = 0; r < ROUNDS; r++) {
        KeSetEvent(&g_ready, IO_NO_INCREMENT, FALSE);
        NTSTATUS st = KeWaitForMultipleObjects(N, objs, WaitAny, Executive, KernelMode, FALSE,
                                               &timeout, g_blocks);
        if (st == STATUS_WAIT_0 + N - 1) {
            if (InterlockedIncrement(&g_wrong) == 1)
                g_first = r;
        } else if (st != STATUS_WAIT_0) {
            g_timeouts++;
        }
        /* both sets done before the round's reset: nothing stale next round */
        KeWaitForSingleObject(&g_done, Executive, KernelMode, FALSE, NULL);
        KeClearEvent(&g_ev[0].e);
        KeClearEvent(&g_ev[N - 1].e);
        KeSetEvent(&g_ack, IO_NO_INCREMENT, FALSE);
    }
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = DriverUnload;
    KeInitializeEvent(&g_ev[0].e, NotificationEvent, FALSE);
    for (int i = 1; i < N - 1; i++)
        KeInitializeEvent(&g_ev[i].e, NotificationEvent, FALSE);
    KeInitializeEvent(&g_ev[N - 1].e, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_ready, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_ack, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_done, SynchronizationEvent, FALSE);
    PKTHREAD w = harness_start_thread(waiter, NULL);
    PKTHREAD s = harness_start_thread(setter, NULL);
    harness_join_thread(w);
    harness_join_thread(s);
    is_int(g_timeouts, 0, "every wait ended with an object");
    ok(g_wrong == 0,
       "WaitAny returns the lowest signalled index: E[0] was set before E[63], yet "
       "STATUS_WAIT_63 came back %ld times in %d rounds (first in round %ld)",
       g_wrong, ROUNDS, g_first);
    return STATUS_SUCCESS;
}
