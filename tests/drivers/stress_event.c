// Stress: KeSetEvent racing with the waits it must release. A token passes
// around a ring of 4 system threads, each waiting on a synchronization event
// of its own and setting the next one's (20000 laps); two threads ping-pong
// through two synchronization events (50000 round trips); and 6 threads pass
// a gate, a notification event set while some of them are still queueing,
// 3000 times.
// Documented rules: KeSetEvent sets the event to the signalled state and
// tries to satisfy as many waits as it can; a satisfied wait on a
// synchronization event resets it, so each set releases exactly one wait.
// A lost wake-up would leave a wait to time out (10 s, counted as a failure)
// instead of hanging the run.
// EXPECT-EXIT: 0
#include "harness.h"

#define RING 4
#define LAPS 20000
#define TRIPS 50000
#define WAIT_LIMIT_MS 10000

static KEVENT g_ring[RING];
static volatile LONG g_passes;

static NTSTATUS wait_limited(PKEVENT Event)
{
    LARGE_INTEGER limit;
    limit.QuadPart = -10000LL * WAIT_LIMIT_MS;
    return KeWaitForSingleObject(Event, Executive, KernelMode, FALSE, &limit);
}

static VOID NTAPI ring_member(PVOID ctx)
{
    ULONG_PTR me = (ULONG_PTR)ctx;
    LONG timeouts = 0, not_reset = 0;

    for (int lap = 0; lap < LAPS; lap++) {
        if (wait_limited(&g_ring[me]) != STATUS_SUCCESS) {
            timeouts++;
            break;
        }
        /* The satisfied wait reset the event: it reads not signalled. */
        if (KeReadStateEvent(&g_ring[me]) != 0)
            not_reset++;
        InterlockedIncrement(&g_passes);
        KeSetEvent(&g_ring[(me + 1) % RING], IO_NO_INCREMENT, FALSE);
    }
    is_int(timeouts, 0, "a token set on a synchronization event always releases its waiter");
    is_int(not_reset, 0, "a satisfied wait on a synchronization event resets it");
}

static KEVENT g_ping, g_pong;

static VOID NTAPI ponger(PVOID ctx)
{
    LONG timeouts = 0;
    for (int i = 0; i < TRIPS; i++) {
        if (wait_limited(&g_ping) != STATUS_SUCCESS) {
            timeouts++;
            break;
        }
        KeSetEvent(&g_pong, IO_NO_INCREMENT, FALSE);
    }
    is_int(timeouts, 0, "every KeSetEvent of the ping releases the waiting ponger");
}

/* A gate: GATE_WAITERS threads pass a notification event once a round;
   round r waits on g_gate[r % 2], which the controller cleared before it
   set the previous round's, so a thread that already passed cannot pass
   the next gate early. Waiters that reach the gate before the set are
   queued on it, the others find it signalled: a set races their queueing. */
#define GATE_WAITERS 6
#define ROUNDS 3000
static KEVENT g_gate[2], g_all_passed;
static volatile LONG g_passed_gate;

static VOID NTAPI gate_waiter(PVOID ctx)
{
    LONG timeouts = 0;
    for (int r = 0; r < ROUNDS; r++) {
        if (wait_limited(&g_gate[r % 2]) != STATUS_SUCCESS) {
            timeouts++;
            break;
        }
        if (InterlockedIncrement(&g_passed_gate) == GATE_WAITERS * (r + 1))
            KeSetEvent(&g_all_passed, IO_NO_INCREMENT, FALSE);
    }
    is_int(timeouts, 0, "a notification event's set releases every thread waiting on it");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PKTHREAD t[RING];
    DriverObject->DriverUnload = DriverUnload;

    for (int i = 0; i < RING; i++)
        KeInitializeEvent(&g_ring[i], SynchronizationEvent, FALSE);
    for (ULONG_PTR i = 0; i < RING; i++)
        t[i] = harness_start_thread(ring_member, (PVOID)i);
    KeSetEvent(&g_ring[0], IO_NO_INCREMENT, FALSE); /* the one token */
    for (int i = 0; i < RING; i++)
        harness_join_thread(t[i]);
    is_int(g_passes, RING * LAPS, "the token passed exactly once per lap and member");
    /* The last member set the first one's event after its last lap. */
    is_int(KeReadStateEvent(&g_ring[0]), 1, "the last set left the first event signalled");

    KeInitializeEvent(&g_ping, SynchronizationEvent, FALSE);
    KeInitializeEvent(&g_pong, SynchronizationEvent, FALSE);
    PKTHREAD pong = harness_start_thread(ponger, NULL);
    LONG timeouts = 0, previous_set = 0;
    for (int i = 0; i < TRIPS; i++) {
        if (KeSetEvent(&g_ping, IO_NO_INCREMENT, FALSE) != 0)
            previous_set++;
        if (wait_limited(&g_pong) != STATUS_SUCCESS) {
            timeouts++;
            break;
        }
    }
    harness_join_thread(pong);
    is_int(timeouts, 0, "every KeSetEvent of the pong releases the waiting pinger");
    is_int(previous_set, 0,
           "KeSetEvent returns the previous state: 0, as the ponger consumed each ping");

    KeInitializeEvent(&g_gate[0], NotificationEvent, FALSE);
    KeInitializeEvent(&g_gate[1], NotificationEvent, FALSE);
    KeInitializeEvent(&g_all_passed, SynchronizationEvent, FALSE);
    PKTHREAD gate[GATE_WAITERS];
    for (int i = 0; i < GATE_WAITERS; i++)
        gate[i] = harness_start_thread(gate_waiter, NULL);
    timeouts = 0;
    previous_set = 0;
    for (int r = 0; r < ROUNDS; r++) {
        KeClearEvent(&g_gate[(r + 1) % 2]);
        if (KeSetEvent(&g_gate[r % 2], IO_NO_INCREMENT, FALSE) != 0)
            previous_set++;
        if (wait_limited(&g_all_passed) != STATUS_SUCCESS) {
            timeouts++;
            break;
        }
    }
    if (timeouts) { /* release whoever still waits, so that the joins end */
        KeSetEvent(&g_gate[0], IO_NO_INCREMENT, FALSE);
        KeSetEvent(&g_gate[1], IO_NO_INCREMENT, FALSE);
    }
    for (int i = 0; i < GATE_WAITERS; i++)
        harness_join_thread(gate[i]);
    is_int(timeouts, 0, "every round, all the gate's waiters passed it");
    is_int(previous_set, 0, "KeSetEvent on a cleared gate returns 0, its previous state");
    is_int(g_passed_gate, GATE_WAITERS * ROUNDS, "each waiter passed each gate exactly once");
    return STATUS_SUCCESS;
}
