// Stress: 8 system threads x 20000 iterations through a semaphore of limit 3
// (never more than 3 inside at once, the count back at 3 at the end), and a
// bounded producer/consumer queue built on two semaphores (free slots and
// filled slots) and a mutex, which must deliver every item exactly once.
// EXPECT-EXIT: 0
#include "harness.h"

#define THREADS 8
#define ITERATIONS 20000
#define LIMIT 3

#define QUEUE 16
#define PRODUCERS 2
#define CONSUMERS 2
#define ITEMS 20000 /* per producer */

static KSEMAPHORE g_sem;
static volatile LONG g_inside, g_max_inside;

static VOID NTAPI hammer(PVOID ctx)
{
    LONG over = 0, bad_status = 0;

    for (int i = 0; i < ITERATIONS; i++) {
        if (KeWaitForSingleObject(&g_sem, Executive, KernelMode, FALSE, NULL) != STATUS_SUCCESS)
            bad_status++;
        LONG n = InterlockedIncrement(&g_inside);
        if (n > LIMIT)
            over++;
        for (LONG m = g_max_inside; n > m; m = g_max_inside)
            if (InterlockedCompareExchange(&g_max_inside, n, m) == m)
                break;
        InterlockedDecrement(&g_inside);
        KeReleaseSemaphore(&g_sem, IO_NO_INCREMENT, 1, FALSE);
    }
    is_int(bad_status, 0, "every wait on the semaphore returns STATUS_SUCCESS");
    is_int(over, 0, "never more threads inside than the semaphore's count allows");
}

static KSEMAPHORE g_free, g_filled;
static KMUTEX g_queue_lock;
static LONG g_queue[QUEUE];
static ULONG g_head, g_tail;
static volatile LONG64 g_sum;
static volatile LONG g_consumed;

static VOID NTAPI producer(PVOID ctx)
{
    for (LONG i = 1; i <= ITEMS; i++) {
        KeWaitForSingleObject(&g_free, Executive, KernelMode, FALSE, NULL);
        KeWaitForSingleObject(&g_queue_lock, Executive, KernelMode, FALSE, NULL);
        g_queue[g_tail++ % QUEUE] = i;
        KeReleaseMutex(&g_queue_lock, FALSE);
        KeReleaseSemaphore(&g_filled, IO_NO_INCREMENT, 1, FALSE);
    }
}

static VOID NTAPI consumer(PVOID ctx)
{
    LONG64 sum = 0;
    LONG count = 0;

    for (LONG i = 0; i < PRODUCERS * ITEMS / CONSUMERS; i++) {
        KeWaitForSingleObject(&g_filled, Executive, KernelMode, FALSE, NULL);
        KeWaitForSingleObject(&g_queue_lock, Executive, KernelMode, FALSE, NULL);
        sum += g_queue[g_head++ % QUEUE];
        KeReleaseMutex(&g_queue_lock, FALSE);
        KeReleaseSemaphore(&g_free, IO_NO_INCREMENT, 1, FALSE);
        count++;
    }
    InterlockedExchangeAdd64(&g_sum, sum);
    InterlockedExchangeAdd(&g_consumed, count);
}

static void test_producer_consumer(void)
{
    PKTHREAD t[PRODUCERS + CONSUMERS];

    KeInitializeSemaphore(&g_free, QUEUE, QUEUE);
    KeInitializeSemaphore(&g_filled, 0, QUEUE);
    KeInitializeMutex(&g_queue_lock, 0);
    for (int i = 0; i < PRODUCERS; i++)
        t[i] = harness_start_thread(producer, NULL);
    for (int i = 0; i < CONSUMERS; i++)
        t[PRODUCERS + i] = harness_start_thread(consumer, NULL);
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        harness_join_thread(t[i]);
    is_int(g_consumed, PRODUCERS * ITEMS, "every produced item was consumed");
    is_int(g_sum, (LONG64)PRODUCERS * ITEMS * (ITEMS + 1) / 2,
           "every item was delivered exactly once (the sum of the values matches)");
    is_int(KeReadStateSemaphore(&g_free), QUEUE, "every slot is free again");
    is_int(KeReadStateSemaphore(&g_filled), 0, "no filled slot is left");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    PKTHREAD t[THREADS];

    DriverObject->DriverUnload = DriverUnload;
    KeInitializeSemaphore(&g_sem, LIMIT, LIMIT);
    for (int i = 0; i < THREADS; i++)
        t[i] = harness_start_thread(hammer, NULL);
    for (int i = 0; i < THREADS; i++)
        harness_join_thread(t[i]);
    is_int(KeReadStateSemaphore(&g_sem), LIMIT, "the count is back at the limit at the end");
    ok(g_max_inside >= 1 && g_max_inside <= LIMIT, "at most %d inside at once (saw %ld)", LIMIT,
       g_max_inside);
    test_producer_consumer();
    return STATUS_SUCCESS;
}
