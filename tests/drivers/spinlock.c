// Conformance: spin locks (KeAcquireSpinLock/KeReleaseSpinLock, the AtDpcLevel
// and ForDpc forms, KeTryToAcquireSpinLockAtDpcLevel, KeTestSpinLock) and
// in-stack queued spin locks.
// EXPECT-EXIT: 0
#include "harness.h"

static void test_acquire_raises(void)
{
    KSPIN_LOCK lock;
    KIRQL old, inner;

    KeInitializeSpinLock(&lock);
    ok(KeTestSpinLock(&lock), "KeTestSpinLock returns TRUE for a free spin lock");
    KeAcquireSpinLock(&lock, &old);
    is_int(old, PASSIVE_LEVEL, "KeAcquireSpinLock returns the IRQL it was called at");
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL,
           "KeAcquireSpinLock raises the IRQL to DISPATCH_LEVEL");
    ok(!KeTestSpinLock(&lock), "KeTestSpinLock returns FALSE while the spin lock is held");
    KeReleaseSpinLock(&lock, old);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "KeReleaseSpinLock restores the IRQL it is given");
    ok(KeTestSpinLock(&lock), "KeReleaseSpinLock frees the spin lock");

    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeAcquireSpinLock(&lock, &inner);
    is_int(inner, DISPATCH_LEVEL, "KeAcquireSpinLock at DISPATCH_LEVEL returns DISPATCH_LEVEL");
    KeReleaseSpinLock(&lock, inner);
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL,
           "releasing with DISPATCH_LEVEL leaves the IRQL at DISPATCH_LEVEL");
    KeLowerIrql(old);
}

static void test_at_dpc_level(void)
{
    KSPIN_LOCK lock;
    KIRQL old;

    KeInitializeSpinLock(&lock);
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    KeAcquireSpinLockAtDpcLevel(&lock);
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL, "KeAcquireSpinLockAtDpcLevel keeps the IRQL");
    ok(!KeTestSpinLock(&lock), "KeAcquireSpinLockAtDpcLevel takes the lock");
    ok(!KeTryToAcquireSpinLockAtDpcLevel(&lock),
       "KeTryToAcquireSpinLockAtDpcLevel returns FALSE for a held lock");
    KeReleaseSpinLockFromDpcLevel(&lock);
    ok(KeTestSpinLock(&lock), "KeReleaseSpinLockFromDpcLevel frees the lock");
    ok(KeTryToAcquireSpinLockAtDpcLevel(&lock),
       "KeTryToAcquireSpinLockAtDpcLevel returns TRUE and takes a free lock");
    ok(!KeTestSpinLock(&lock), "a lock taken by KeTryToAcquireSpinLockAtDpcLevel is held");
    ok(!KeTryToAcquireSpinLockAtDpcLevel(&lock),
       "KeTryToAcquireSpinLockAtDpcLevel fails while its own acquisition holds the lock");
    KeReleaseSpinLockFromDpcLevel(&lock);
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL, "KeReleaseSpinLockFromDpcLevel keeps the IRQL");
    KeLowerIrql(old);
}

static void test_for_dpc(void)
{
    KSPIN_LOCK lock;
    KIRQL old, outer;

    KeInitializeSpinLock(&lock);
    old = KeAcquireSpinLockForDpc(&lock);
    is_int(old, PASSIVE_LEVEL, "KeAcquireSpinLockForDpc below DISPATCH_LEVEL returns the old IRQL");
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL, "KeAcquireSpinLockForDpc raises to DISPATCH_LEVEL");
    KeReleaseSpinLockForDpc(&lock, old);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, "KeReleaseSpinLockForDpc restores the IRQL");
    ok(KeTestSpinLock(&lock), "KeReleaseSpinLockForDpc frees the lock");

    KeRaiseIrql(DISPATCH_LEVEL, &outer);
    old = KeAcquireSpinLockForDpc(&lock);
    is_int(old, DISPATCH_LEVEL, "KeAcquireSpinLockForDpc at DISPATCH_LEVEL returns DISPATCH_LEVEL");
    KeReleaseSpinLockForDpc(&lock, old);
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL, "KeReleaseSpinLockForDpc keeps DISPATCH_LEVEL");
    KeLowerIrql(outer);
}

static void test_queued(void)
{
    KSPIN_LOCK a, b;
    KLOCK_QUEUE_HANDLE ha, hb;

    KeInitializeSpinLock(&a);
    KeInitializeSpinLock(&b);
    KeAcquireInStackQueuedSpinLock(&a, &ha);
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL,
           "KeAcquireInStackQueuedSpinLock raises the IRQL to DISPATCH_LEVEL");
    ok(!KeTestSpinLock(&a), "KeTestSpinLock returns FALSE for a held queued spin lock");
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&b, &hb);
    ok(!KeTestSpinLock(&b), "KeAcquireInStackQueuedSpinLockAtDpcLevel takes the lock");
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL,
           "KeAcquireInStackQueuedSpinLockAtDpcLevel keeps DISPATCH_LEVEL");
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&hb);
    ok(KeTestSpinLock(&b), "KeReleaseInStackQueuedSpinLockFromDpcLevel frees the lock");
    is_int(KeGetCurrentIrql(), DISPATCH_LEVEL,
           "KeReleaseInStackQueuedSpinLockFromDpcLevel keeps DISPATCH_LEVEL");
    KeReleaseInStackQueuedSpinLock(&ha);
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL,
           "KeReleaseInStackQueuedSpinLock restores the IRQL saved in the handle");
    ok(KeTestSpinLock(&a), "KeReleaseInStackQueuedSpinLock frees the lock");
}

#define QUEUED_THREADS 4
#define QUEUED_ROUNDS 20000

static KSPIN_LOCK g_queued_lock;
static volatile LONG g_queued_counter;
static volatile LONG g_queued_overlap;
static volatile LONG g_queued_inside;

static VOID NTAPI queued_worker(PVOID ctx)
{
    KLOCK_QUEUE_HANDLE h;
    int i;

    for (i = 0; i < QUEUED_ROUNDS; i++) {
        KeAcquireInStackQueuedSpinLock(&g_queued_lock, &h);
        if (InterlockedIncrement(&g_queued_inside) != 1)
            InterlockedIncrement(&g_queued_overlap);
        g_queued_counter = g_queued_counter + 1;
        InterlockedDecrement(&g_queued_inside);
        KeReleaseInStackQueuedSpinLock(&h);
    }
}

static void test_queued_contention(void)
{
    PKTHREAD t[QUEUED_THREADS];
    int i;

    KeInitializeSpinLock(&g_queued_lock);
    for (i = 0; i < QUEUED_THREADS; i++)
        t[i] = harness_start_thread(queued_worker, NULL);
    for (i = 0; i < QUEUED_THREADS; i++)
        harness_join_thread(t[i]);
    is_int(g_queued_counter, QUEUED_THREADS * QUEUED_ROUNDS,
           "an in-stack queued spin lock excludes: no increment is lost");
    is_int(g_queued_overlap, 0, "no two holders of an in-stack queued spin lock overlap");
    ok(KeTestSpinLock(&g_queued_lock), "the queued spin lock is free after the last release");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_acquire_raises();
    test_at_dpc_level();
    test_for_dpc();
    test_queued();
    test_queued_contention();
    return STATUS_SUCCESS;
}
