// Conformance: a WaitAny returns the lowest index among the objects that are
// signalled at the moment the wait is satisfied ("the array index of the
// signaled object with the smallest index value of all the signaled
// objects"). Objects: E[0] a notification event, E[1..N-2] notification
// events that stay reset, E[N-1] a synchronization event, which only the
// waiter takes. The setter sets E[N-1], then E[0], then reads E[N-1]'s
// state: if E[N-1] was still signalled after E[0] was set, the waiter took
// E[N-1] at a moment when E[0] was signalled too, so STATUS_WAIT_0 + N-1 is
// not a valid answer in that round (the wait's test and take are atomic
// with respect to KeSetEvent). The setter dirties a varying number of the
// middle events' lines between the two sets, so that a waiter checking
// E[0..N-2] without their locks after locking E[N-1] is slow right after it
// read E[0]. (Fails with N 2 and no dirtying too, only less often.)
// EXPECT-EXIT: 0
#include "harness.h"

#define N 8
#define ROUNDS 40000
#define SPREAD (N - 2)

typedef struct {
    KEVENT e;
    char pad[64 - sizeof(KEVENT)];
} __attribute__((aligned(64))) LINE_EVENT;

static LINE_EVENT g_ev[N];
static KEVENT g_ready, g_done, g_ack;
static KWAIT_BLOCK g_blocks[N];
static volatile LONG g_still_set; /* E[N-1] signalled after E[0] was set, this round */
static volatile LONG g_wrong, g_first, g_timeouts, g_took_last;

static VOID NTAPI setter(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    for (int r = 0; r < ROUNDS; r++) {
        KeWaitForSingleObject(&g_ready, Executive, KernelMode, FALSE, NULL);
        KeSetEvent(&g_ev[N - 1].e, IO_NO_INCREMENT, FALSE);
        for (int i = N - 2; i > N - 2 - r % SPREAD; i--)
            KeClearEvent(&g_ev[i].e); /* stays reset; its line now lives in this CPU */
        KeSetEvent(&g_ev[0].e, IO_NO_INCREMENT, FALSE);
        g_still_set = KeReadStateEvent(&g_ev[N - 1].e);
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
        KeWaitForSingleObject(&g_done, Executive, KernelMode, FALSE, NULL);
        if (st == STATUS_WAIT_0 + N - 1) {
            g_took_last++;
            if (g_still_set && InterlockedIncrement(&g_wrong) == 1)
                g_first = r;
        } else if (st != STATUS_WAIT_0) {
            g_timeouts++;
        }
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
    for (int i = 0; i < N - 1; i++)
        KeInitializeEvent(&g_ev[i].e, NotificationEvent, FALSE);
    KeInitializeEvent(&g_ev[N - 1].e, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_ready, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_ack, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_done, SynchronizationEvent, FALSE);
    PKTHREAD w = harness_start_thread(waiter, NULL);
    PKTHREAD s = harness_start_thread(setter, NULL);
    harness_join_thread(w);
    harness_join_thread(s);
    DbgPrint("waitany_prefix: E[%d] taken in %ld of %d rounds\n", N - 1, g_took_last, ROUNDS);
    is_int(g_timeouts, 0, "every wait ended with an object");
    ok(g_wrong == 0,
       "WaitAny returns the lowest signalled index: E[%d] was still signalled after E[0] was "
       "set, yet the wait took E[%d] %ld times in %d rounds (first in round %ld)",
       N - 1, N - 1, g_wrong, ROUNDS, g_first);
    return STATUS_SUCCESS;
}
