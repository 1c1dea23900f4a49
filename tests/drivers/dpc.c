// Conformance: deferred procedure calls (KeInitializeDpc, KeInsertQueueDpc,
// KeRemoveQueueDpc, KeFlushQueuedDpcs, KeSetImportanceDpc, KeSetTargetProcessorDpc,
// KeInitializeThreadedDpc) and DPC delivery when the IRQL drops.
// EXPECT-EXIT: 0
#include "harness.h"

#define MS(n) ((LONGLONG)(n)*10 * 1000)

typedef struct DPC_RECORD {
    KEVENT Done;
    volatile LONG Count;
    volatile LONG Irql;
    volatile LONG Processor;
    PKDPC Dpc;
    PVOID Context, Arg1, Arg2;
    volatile LONG *Order; /* optional: a shared sequence counter */
    volatile LONG Position;
} DPC_RECORD;

static void init_record(DPC_RECORD *r)
{
    RtlZeroMemory(r, sizeof(*r));
    KeInitializeEvent(&r->Done, NotificationEvent, FALSE);
    r->Irql = -1;
    r->Processor = -1;
}

static VOID NTAPI record_dpc(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
    DPC_RECORD *r = context;
    r->Irql = KeGetCurrentIrql();
    r->Processor = (LONG)KeGetCurrentProcessorNumber();
    r->Dpc = dpc;
    r->Context = context;
    r->Arg1 = arg1;
    r->Arg2 = arg2;
    if (r->Order)
        r->Position = InterlockedIncrement(r->Order);
    InterlockedIncrement(&r->Count);
    KeSetEvent(&r->Done, IO_NO_INCREMENT, FALSE);
}

static NTSTATUS wait_done(DPC_RECORD *r)
{
    LARGE_INTEGER t = {.QuadPart = -MS(10000)};
    return KeWaitForSingleObject(&r->Done, Executive, KernelMode, FALSE, &t);
}

static void test_runs_with_arguments(void)
{
    static DPC_RECORD r;
    KDPC dpc;

    init_record(&r);
    KeInitializeDpc(&dpc, record_dpc, &r);
    ok(KeInsertQueueDpc(&dpc, (PVOID)0x1234, (PVOID)&r.Count),
       "KeInsertQueueDpc returns TRUE for a DPC that is not queued");
    is_status(wait_done(&r), STATUS_SUCCESS, "a DPC queued at PASSIVE_LEVEL runs");
    KeFlushQueuedDpcs();
    is_int(r.Irql, DISPATCH_LEVEL, "a DPC routine runs at DISPATCH_LEVEL");
    is_ptr(r.Dpc, &dpc, "a DPC routine receives its KDPC");
    is_ptr(r.Context, &r, "a DPC routine receives the DeferredContext of KeInitializeDpc");
    is_ptr(r.Arg1, 0x1234, "SystemArgument1 is the value passed to KeInsertQueueDpc");
    is_ptr(r.Arg2, (PVOID)&r.Count, "SystemArgument2 is the value passed to KeInsertQueueDpc");
    is_int(r.Count, 1, "a queued DPC runs once");
    ok(KeInsertQueueDpc(&dpc, NULL, NULL),
       "a DPC that has run can be queued again (KeInsertQueueDpc returns TRUE)");
    KeFlushQueuedDpcs();
    is_int(r.Count, 2, "the queued-again DPC ran (KeFlushQueuedDpcs waited for it)");
}

/* At DISPATCH_LEVEL a DPC queued to the current processor cannot run until
   the IRQL drops, so its queue state can be observed. */
static void test_insert_twice_and_remove(void)
{
    static DPC_RECORD r;
    KDPC dpc;
    KIRQL old;

    init_record(&r);
    KeInitializeDpc(&dpc, record_dpc, &r);
    ok(!KeRemoveQueueDpc(&dpc), "KeRemoveQueueDpc returns FALSE for a DPC not in a queue");
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ok(KeInsertQueueDpc(&dpc, NULL, NULL), "the first KeInsertQueueDpc returns TRUE");
    ok(!KeInsertQueueDpc(&dpc, NULL, NULL),
       "KeInsertQueueDpc returns FALSE when the DPC is already queued");
    ok(KeRemoveQueueDpc(&dpc), "KeRemoveQueueDpc returns TRUE for a queued DPC");
    ok(!KeRemoveQueueDpc(&dpc), "KeRemoveQueueDpc returns FALSE once it was removed");
    KeLowerIrql(old);
    KeFlushQueuedDpcs();
    is_int(r.Count, 0, "a DPC removed from its queue does not run");
}

static void test_runs_when_irql_drops(void)
{
    static DPC_RECORD r;
    KDPC dpc;
    KIRQL old;
    KSPIN_LOCK lock;
    ULONG me;

    init_record(&r);
    KeInitializeDpc(&dpc, record_dpc, &r);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    me = KeGetCurrentProcessorNumber();
    KeSetTargetProcessorDpc(&dpc, (CCHAR)me);
    ok(KeInsertQueueDpc(&dpc, NULL, NULL), "KeInsertQueueDpc at DISPATCH_LEVEL returns TRUE");
    is_int(r.Count, 0,
           "a DPC queued to the current processor does not run while it is at DISPATCH_LEVEL");
    KeLowerIrql(old);
    is_int(r.Count, 1, "a DPC queued to the current processor has run when KeLowerIrql returns");
    is_int(r.Irql, DISPATCH_LEVEL, "the DPC run on lowering ran at DISPATCH_LEVEL");
    is_int(r.Processor, (LONG)me, "a DPC runs on its target processor");

    /* The same through KeReleaseSpinLock, which lowers the IRQL. */
    init_record(&r);
    KeInitializeSpinLock(&lock);
    KeAcquireSpinLock(&lock, &old);
    me = KeGetCurrentProcessorNumber();
    KeSetTargetProcessorDpc(&dpc, (CCHAR)me);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    KeReleaseSpinLock(&lock, old);
    is_int(r.Count, 1, "a DPC queued under a spin lock has run when KeReleaseSpinLock returns");
    KeFlushQueuedDpcs();
}

/* Documented: HighImportance puts the DPC at the head of the queue, the
   others at its tail. */
static void test_importance_order(void)
{
    static DPC_RECORD a, b, c;
    static volatile LONG order;
    KDPC da, db, dc;
    KIRQL old;
    ULONG me;

    init_record(&a);
    init_record(&b);
    init_record(&c);
    order = 0;
    a.Order = b.Order = c.Order = &order;
    KeInitializeDpc(&da, record_dpc, &a);
    KeInitializeDpc(&db, record_dpc, &b);
    KeInitializeDpc(&dc, record_dpc, &c);
    KeSetImportanceDpc(&db, HighImportance);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    me = KeGetCurrentProcessorNumber();
    KeSetTargetProcessorDpc(&da, (CCHAR)me);
    KeSetTargetProcessorDpc(&db, (CCHAR)me);
    KeSetTargetProcessorDpc(&dc, (CCHAR)me);
    KeInsertQueueDpc(&da, NULL, NULL);
    KeInsertQueueDpc(&dc, NULL, NULL);
    KeInsertQueueDpc(&db, NULL, NULL);
    KeLowerIrql(old);
    KeFlushQueuedDpcs();
    is_int(b.Position, 1, "a HighImportance DPC is queued at the head: it runs first");
    is_int(a.Position, 2, "MediumImportance DPCs run in the order they were queued (first)");
    is_int(c.Position, 3, "MediumImportance DPCs run in the order they were queued (second)");
}

static void test_flush(void)
{
    static DPC_RECORD r[4];
    KDPC dpc[4];
    LONG total = 0;
    int i;

    for (i = 0; i < 4; i++) {
        init_record(&r[i]);
        KeInitializeDpc(&dpc[i], record_dpc, &r[i]);
        KeInsertQueueDpc(&dpc[i], NULL, NULL);
    }
    KeFlushQueuedDpcs();
    for (i = 0; i < 4; i++)
        total += r[i].Count;
    is_int(total, 4, "KeFlushQueuedDpcs returns after every queued DPC has run");
}

static void test_every_processor(void)
{
    static DPC_RECORD r[64];
    static KDPC dpc[64];
    ULONG n = KeQueryActiveProcessorCount(NULL), i, right = 0, ran = 0;

    if (n > 64)
        n = 64;
    for (i = 0; i < n; i++) {
        init_record(&r[i]);
        KeInitializeDpc(&dpc[i], record_dpc, &r[i]);
        KeSetTargetProcessorDpc(&dpc[i], (CCHAR)i);
        KeInsertQueueDpc(&dpc[i], NULL, NULL);
    }
    KeFlushQueuedDpcs();
    for (i = 0; i < n; i++) {
        ran += r[i].Count == 1;
        right += r[i].Processor == (LONG)i && r[i].Irql == DISPATCH_LEVEL;
    }
    is_int(ran, n, "a DPC targeted at each processor ran once");
    is_int(right, n, "each targeted DPC ran on its processor at DISPATCH_LEVEL");
}

static void test_threaded(void)
{
    static DPC_RECORD r;
    KDPC dpc;

    init_record(&r);
    KeInitializeThreadedDpc(&dpc, record_dpc, &r);
    ok(KeInsertQueueDpc(&dpc, (PVOID)7, NULL), "KeInsertQueueDpc queues a threaded DPC");
    is_status(wait_done(&r), STATUS_SUCCESS, "a threaded DPC runs");
    KeFlushQueuedDpcs();
    /* Documented: PASSIVE_LEVEL, or DISPATCH_LEVEL where threaded DPCs are
       run as ordinary ones. */
    ok(r.Irql == PASSIVE_LEVEL || r.Irql == DISPATCH_LEVEL,
       "a threaded DPC runs at PASSIVE_LEVEL or DISPATCH_LEVEL: got %ld", r.Irql);
    is_ptr(r.Arg1, 7, "a threaded DPC receives SystemArgument1");
}

/*
 * Threads race to queue and remove one shared DPC. Documented: each
 * KeInsertQueueDpc that returns TRUE queues the DPC once, and each
 * KeRemoveQueueDpc that returns TRUE takes one queued instance out; so once
 * the queues are flushed, runs == inserts - removes.
 */
#define RACE_THREADS 4
#define RACE_ROUNDS 5000

static KDPC g_race_dpc;
static volatile LONG g_race_runs, g_race_inserts, g_race_removes;

static VOID NTAPI count_race(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
    InterlockedIncrement(&g_race_runs);
}

static VOID NTAPI race_worker(PVOID ctx)
{
    int i;

    for (i = 0; i < RACE_ROUNDS; i++) {
        if (KeInsertQueueDpc(&g_race_dpc, NULL, NULL))
            InterlockedIncrement(&g_race_inserts);
        if (i % 3 == 0 && KeRemoveQueueDpc(&g_race_dpc))
            InterlockedIncrement(&g_race_removes);
    }
}

static void test_insert_remove_race(void)
{
    PKTHREAD t[RACE_THREADS];
    int i;

    KeInitializeDpc(&g_race_dpc, count_race, NULL);
    for (i = 0; i < RACE_THREADS; i++)
        t[i] = harness_start_thread(race_worker, NULL);
    for (i = 0; i < RACE_THREADS; i++)
        harness_join_thread(t[i]);
    KeFlushQueuedDpcs();
    ok(g_race_inserts > 0, "some KeInsertQueueDpc calls of the race succeeded");
    is_int(g_race_runs, g_race_inserts - g_race_removes,
           "each successful insert runs the DPC once unless a successful remove took it out");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_runs_with_arguments();
    test_insert_twice_and_remove();
    test_runs_when_irql_drops();
    test_importance_order();
    test_flush();
    test_every_processor();
    test_threaded();
    test_insert_remove_race();
    return STATUS_SUCCESS;
}
