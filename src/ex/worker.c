/*
 * System worker threads and ExQueueWorkItem.
 *
 * Work items run at PASSIVE_LEVEL in system threads of the System process
 * (PspCreateSystemThread), as on Windows. The pool grows on demand: whenever
 * more items are queued or running than there are workers, a worker is added
 * (up to EXP_MAX_WORKERS), so an item that waits for another item to run
 * does not deadlock the pool. Workers stay for the life of the host process.
 *
 * Invariants (ExpWorkLock guards all of them; driver code never runs with it
 * held):
 *  - ExpQueue[p] holds the queued items of priority class p in FIFO order;
 *    an item is linked there exactly while its List.Flink is not NULL. The
 *    worker sets List.Flink back to NULL before calling the routine, so the
 *    routine may queue the item again (documented use).
 *  - ExpPending counts items queued or running; ExpWorkers counts workers
 *    created. ExpIdle is broadcast whenever ExpPending drops to 0, which is
 *    what ExpFlushWorkQueues waits for.
 *
 * Documented rules checked after each routine: it must return at
 * PASSIVE_LEVEL (else bug check 0xE1 WORKER_THREAD_RETURNED_AT_BAD_IRQL:
 * routine, IRQL, parameter, item) and with kernel APCs enabled (else 0x1
 * APC_INDEX_MISMATCH: routine, 0, the disable count, 1 = worker routine).
 * Queuing an item that is still queued corrupts the queue on Windows; kmhost
 * stops with bug check 0xE4 WORKER_INVALID (P1 0 = the item is queued, P2 the
 * item, P3 the queue, P4 0).
 */
#include "ex/worker.h"

#include "ps/ps.h"

#include <pthread.h>
#include <stdio.h>

#define EXP_MAX_WORKERS 64
#define EXP_PRIORITY_CLASSES 3

static pthread_mutex_t ExpWorkLock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ExpWorkAvailable = PTHREAD_COND_INITIALIZER;
static pthread_cond_t ExpIdle = PTHREAD_COND_INITIALIZER;
static LIST_ENTRY ExpQueue[EXP_PRIORITY_CLASSES] = {
    {&ExpQueue[0], &ExpQueue[0]}, {&ExpQueue[1], &ExpQueue[1]}, {&ExpQueue[2], &ExpQueue[2]}};
static ULONG ExpPending;
static ULONG ExpWorkers;

/* The priority class of each queue type; class 0 is served first. A worker
   records the priority NT gives the class's workers while it runs an item
   (hyper-critical 15, critical 13, delayed 12). */
static const int ExpQueueClass[MaximumWorkQueue] = {
    [CriticalWorkQueue] = 1,      [DelayedWorkQueue] = 2,    [HyperCriticalWorkQueue] = 0,
    [NormalWorkQueue] = 1,        [BackgroundWorkQueue] = 2, [RealTimeWorkQueue] = 0,
    [SuperCriticalWorkQueue] = 0,
};
static const KPRIORITY ExpClassPriority[EXP_PRIORITY_CLASSES] = {15, 13, 12};

static void ExpCheckReturn(PWORK_QUEUE_ITEM Item, PWORKER_THREAD_ROUTINE Routine, PVOID Parameter)
{
    PKTHREAD t = KiCurrentThread();
    KIRQL irql = KiCurrentIrql();
    if (irql != PASSIVE_LEVEL)
        KeBugCheckEx(0xE1 /* WORKER_THREAD_RETURNED_AT_BAD_IRQL */, (ULONG_PTR)Routine, irql,
                     (ULONG_PTR)Parameter, (ULONG_PTR)Item);
    if (t->KernelApcDisable || t->SpecialApcDisable)
        KeBugCheckEx(
            0x1 /* APC_INDEX_MISMATCH */, (ULONG_PTR)Routine, 0,
            (ULONG_PTR)(ULONG)(((USHORT)t->SpecialApcDisable << 16) | (USHORT)t->KernelApcDisable),
            1);
}

static VOID NTAPI ExpWorkerThread(PVOID Context)
{
    PKTHREAD self = KiCurrentThread();
    (void)Context;
    pthread_mutex_lock(&ExpWorkLock);
    for (;;) {
        int p = 0;
        while (p < EXP_PRIORITY_CLASSES && KiIsListEmpty(&ExpQueue[p]))
            p++;
        if (p == EXP_PRIORITY_CLASSES) {
            pthread_cond_wait(&ExpWorkAvailable, &ExpWorkLock);
            continue;
        }
        PLIST_ENTRY e = ExpQueue[p].Flink;
        KiRemoveEntryList(e);
        PWORK_QUEUE_ITEM item = CONTAINING_RECORD(e, WORK_QUEUE_ITEM, List);
        PWORKER_THREAD_ROUTINE routine = item->WorkerRoutine;
        PVOID parameter = item->Parameter;
        item->List.Flink = NULL;
        pthread_mutex_unlock(&ExpWorkLock);

        __atomic_store_n(&self->Priority, ExpClassPriority[p], __ATOMIC_RELAXED);
        __atomic_store_n(&self->BasePriority, ExpClassPriority[p], __ATOMIC_RELAXED);
        routine(parameter); /* item may be freed or requeued from here on */
        ExpCheckReturn(item, routine, parameter);

        pthread_mutex_lock(&ExpWorkLock);
        if (--ExpPending == 0)
            pthread_cond_broadcast(&ExpIdle);
    }
}

void ExpQueueWorkItem(PWORK_QUEUE_ITEM Item, WORK_QUEUE_TYPE QueueType, void *Caller)
{
    (void)Caller;
    int p = ExpQueueClass[QueueType];
    bool grow;

    pthread_mutex_lock(&ExpWorkLock);
    if (Item->List.Flink) {
        pthread_mutex_unlock(&ExpWorkLock);
        dprintf(1,
                "kmhost: work item %p queued again while it is still queued; wait until its "
                "routine runs before queuing it again\n",
                (void *)Item);
        KeBugCheckEx(0xE4 /* WORKER_INVALID */, 0, (ULONG_PTR)Item, (ULONG_PTR)QueueType, 0);
    }
    KiInsertTailList(&ExpQueue[p], &Item->List);
    ExpPending++;
    grow = ExpPending > ExpWorkers && ExpWorkers < EXP_MAX_WORKERS;
    if (grow)
        ExpWorkers++;
    pthread_cond_signal(&ExpWorkAvailable);
    pthread_mutex_unlock(&ExpWorkLock);

    if (grow) {
        PETHREAD t;
        if (NT_SUCCESS(PspCreateSystemThread(ExpWorkerThread, NULL, NULL, &t))) {
            ObfDereferenceObject(t);
        } else {
            /* The items wait for the workers there are. */
            pthread_mutex_lock(&ExpWorkLock);
            ExpWorkers--;
            pthread_mutex_unlock(&ExpWorkLock);
        }
    }
}

/* Documented: QueueType is CriticalWorkQueue, DelayedWorkQueue or
   HyperCriticalWorkQueue (later Windows also accepts the other
   WORK_QUEUE_TYPE values below MaximumWorkQueue); IRQL <= DISPATCH_LEVEL.
   The item must have been set up with ExInitializeWorkItem. */
VOID NTAPI ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType)
{
    if ((unsigned)QueueType >= MaximumWorkQueue) {
        dprintf(1,
                "kmhost: ExQueueWorkItem(%p, %d): QueueType must be CriticalWorkQueue, "
                "DelayedWorkQueue or HyperCriticalWorkQueue\n",
                (void *)WorkItem, (int)QueueType);
        KeBugCheckEx(0xE4 /* WORKER_INVALID */, 1, (ULONG_PTR)WorkItem, (ULONG_PTR)QueueType, 0);
    }
    ExpQueueWorkItem(WorkItem, QueueType, __builtin_return_address(0));
}
KM_EXPORT(ExQueueWorkItem);

void ExpFlushWorkQueues(void)
{
    pthread_mutex_lock(&ExpWorkLock);
    while (ExpPending)
        pthread_cond_wait(&ExpIdle, &ExpWorkLock);
    pthread_mutex_unlock(&ExpWorkLock);
}

ULONG ExpPendingWorkItemCount(void)
{
    pthread_mutex_lock(&ExpWorkLock);
    ULONG n = ExpPending;
    pthread_mutex_unlock(&ExpWorkLock);
    return n;
}
