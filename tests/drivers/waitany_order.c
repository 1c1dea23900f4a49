// Conformance: a WaitAny returns the lowest index among the objects that are
// signalled when the wait is satisfied (documented for KeWaitForMultipleObjects
// and WaitForMultipleObjects: "the array index of the signaled object with
// the smallest index value of all the signaled objects"), and its test and
// take are one step for every other thread. Objects: E[0] a notification
// event, E[1..62] notification events that stay reset, E[63] a
// synchronization event, which only the waiter takes.
//
// Order: the setter sets E[0] (it stays set) and then E[63]: whenever E[63]
// is taken E[0] is signalled already, so STATUS_WAIT_63 is never valid. The
// setter dirties the middle events' lines just before, so a waiter scanning
// the objects in index order without their locks is slow between reading
// E[0] and reading E[63] (kmhost's spin before it queues did just that).
//
// Atomic take: over {E[0], E[1..6], E[63]} the setter sets E[63], then E[0],
// then reads E[63]'s state. If E[63] was still signalled after E[0] was set,
// a wait that took E[63] took it while E[0] was signalled too: the last
// index is not valid in that round. (kmhost once locked the object it took
// and read the ones before it without their locks: the set of E[0] and the
// read of E[63] fitted between that read and the take.) The setter dirties
// a varying number of the middle events first.
//
// Snapshot: E[0] reset, E[1..61] reset, E[62] and E[63] synchronization
// events, both set. The setter writes into the middle events' cache lines
// (not into their headers), sets E[0], then takes E[62] with a zero
// timeout. Before E[0] is set, E[62] is signalled (only the setter takes it,
// after setting E[0], or the waiter itself), so at every instant the lowest
// signalled index is 0 or 62: STATUS_WAIT_63 is never valid. (A waiter that
// reads the objects before the one it takes only once, without their locks,
// can read E[0] before the set and E[62] after the take.)
// EXPECT-EXIT: 0
#include "harness.h"

#define N 64
#define N_ATOMIC 8 /* objects of the atomic-take part: E[0..6] and E[63] */
#define ROUNDS 20000

typedef struct {
    KEVENT e;
    char pad[64 - sizeof(KEVENT)];
} __attribute__((aligned(64))) LINE_EVENT;

static LINE_EVENT g_ev[N];
static LINE_EVENT g_take; /* the snapshot part's E[62] */
static KEVENT g_ready, g_done, g_ack;
static KWAIT_BLOCK g_blocks[N];
enum { PART_ORDER, PART_ATOMIC, PART_SNAPSHOT };
static int g_part;              /* which part the rounds run */
static volatile LONG g_invalid; /* this round, the last index is not a valid answer */
static volatile LONG g_wrong, g_first, g_timeouts, g_took_last;

static VOID NTAPI setter(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    for (int r = 0; r < ROUNDS; r++) {
        KeWaitForSingleObject(&g_ready, Executive, KernelMode, FALSE, NULL);
        if (g_part == PART_SNAPSHOT) {
            LARGE_INTEGER zero = {.QuadPart = 0};
            for (int i = 1 + r % 8; i < N - 2; i++)
                g_ev[i].pad[8] = (char)r; /* the line, not the header */
            KeSetEvent(&g_ev[0].e, IO_NO_INCREMENT, FALSE);
            KeWaitForSingleObject(&g_take.e, Executive, KernelMode, FALSE, &zero);
            g_invalid = TRUE;
        } else if (g_part == PART_ORDER) {
            for (int i = 1; i < N - 1; i++)
                KeClearEvent(&g_ev[i].e); /* stays reset; its line now lives in this CPU */
            KeSetEvent(&g_ev[0].e, IO_NO_INCREMENT, FALSE);
            KeSetEvent(&g_ev[N - 1].e, IO_NO_INCREMENT, FALSE);
            g_invalid = TRUE;
        } else {
            KeSetEvent(&g_ev[N - 1].e, IO_NO_INCREMENT, FALSE);
            for (int i = N_ATOMIC - 2; i > N_ATOMIC - 2 - r % (N_ATOMIC - 2); i--)
                KeClearEvent(&g_ev[i].e);
            KeSetEvent(&g_ev[0].e, IO_NO_INCREMENT, FALSE);
            g_invalid = KeReadStateEvent(&g_ev[N - 1].e);
        }
        KeSetEvent(&g_done, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(&g_ack, Executive, KernelMode, FALSE, NULL);
    }
}

static VOID NTAPI waiter(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    PVOID objs[N];
    ULONG count = g_part == PART_ATOMIC ? N_ATOMIC : N;
    LARGE_INTEGER timeout = {.QuadPart = -10LL * 1000 * 1000}; /* 1 s: a hang is reported */
    for (ULONG i = 0; i + 1 < count; i++)
        objs[i] = &g_ev[i].e;
    objs[count - 1] = &g_ev[N - 1].e;
    if (g_part == PART_SNAPSHOT) {
        objs[N - 2] = &g_take.e;
        KeSetEvent(&g_take.e, IO_NO_INCREMENT, FALSE);
        KeSetEvent(&g_ev[N - 1].e, IO_NO_INCREMENT, FALSE);
    }
    for (int r = 0; r < ROUNDS; r++) {
        KeSetEvent(&g_ready, IO_NO_INCREMENT, FALSE);
        NTSTATUS st = KeWaitForMultipleObjects(count, objs, WaitAny, Executive, KernelMode, FALSE,
                                               &timeout, g_blocks);
        /* both sets done before the round's reset: nothing stale next round */
        KeWaitForSingleObject(&g_done, Executive, KernelMode, FALSE, NULL);
        if (st == (NTSTATUS)(STATUS_WAIT_0 + count - 1)) {
            g_took_last++;
            if (g_invalid && InterlockedIncrement(&g_wrong) == 1)
                g_first = r;
        } else if (st != STATUS_WAIT_0 &&
                   !(g_part == PART_SNAPSHOT && st == (NTSTATUS)(STATUS_WAIT_0 + N - 2))) {
            g_timeouts++;
        }
        KeClearEvent(&g_ev[0].e);
        if (g_part == PART_SNAPSHOT) { /* both set again for the next round */
            KeSetEvent(&g_take.e, IO_NO_INCREMENT, FALSE);
            KeSetEvent(&g_ev[N - 1].e, IO_NO_INCREMENT, FALSE);
        } else {
            KeClearEvent(&g_ev[N - 1].e);
        }
        KeSetEvent(&g_ack, IO_NO_INCREMENT, FALSE);
    }
}

static void run_part(int part)
{
    g_part = part;
    g_wrong = g_first = g_timeouts = g_took_last = 0;
    PKTHREAD w = harness_start_thread(waiter, NULL);
    PKTHREAD s = harness_start_thread(setter, NULL);
    harness_join_thread(w);
    harness_join_thread(s);
    is_int(g_timeouts, 0, "every wait ended with an object");
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

    KeInitializeEvent(&g_take.e, SynchronizationEvent, FALSE);

    run_part(PART_ORDER);
    ok(g_wrong == 0,
       "WaitAny returns the lowest signalled index: E[0] was set before E[63], yet "
       "STATUS_WAIT_63 came back %ld times in %d rounds (first in round %ld)",
       g_wrong, ROUNDS, g_first);

    run_part(PART_ATOMIC);
    DbgPrint("waitany_order: E[63] taken in %ld of %d rounds of the atomic part\n", g_took_last,
             ROUNDS);
    ok(g_wrong == 0,
       "WaitAny's test and take are one step: E[63] was still signalled after E[0] was set, "
       "yet the wait took E[63] %ld times in %d rounds (first in round %ld)",
       g_wrong, ROUNDS, g_first);

    run_part(PART_SNAPSHOT);
    ok(g_wrong == 0,
       "WaitAny sees its objects at one instant: E[62] was signalled until E[0] was set, yet "
       "STATUS_WAIT_63 came back %ld times in %d rounds (first in round %ld)",
       g_wrong, ROUNDS, g_first);
    return STATUS_SUCCESS;
}
