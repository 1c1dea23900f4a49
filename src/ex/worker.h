/*
 * System worker threads (src/ex/worker.c): the queue behind ExQueueWorkItem
 * and IoQueueWorkItem.
 */
#ifndef KM_EX_WORKER_H
#define KM_EX_WORKER_H

#include "km.h"

typedef VOID NTAPI WORKER_THREAD_ROUTINE(PVOID Parameter);
typedef WORKER_THREAD_ROUTINE *PWORKER_THREAD_ROUTINE;

/* The WDK x64 layout (0x20 bytes); ExInitializeWorkItem is an inline macro
   that sets WorkerRoutine and Parameter and List.Flink = NULL. */
typedef struct _WORK_QUEUE_ITEM {
    LIST_ENTRY List; /* Flink != NULL while queued */
    PWORKER_THREAD_ROUTINE WorkerRoutine;
    PVOID volatile Parameter;
} WORK_QUEUE_ITEM, *PWORK_QUEUE_ITEM;
_Static_assert(sizeof(WORK_QUEUE_ITEM) == 0x20, "WORK_QUEUE_ITEM");

typedef enum _WORK_QUEUE_TYPE {
    CriticalWorkQueue,
    DelayedWorkQueue,
    HyperCriticalWorkQueue,
    NormalWorkQueue,
    BackgroundWorkQueue,
    RealTimeWorkQueue,
    SuperCriticalWorkQueue,
    MaximumWorkQueue,
} WORK_QUEUE_TYPE;

VOID NTAPI ExQueueWorkItem(PWORK_QUEUE_ITEM WorkItem, WORK_QUEUE_TYPE QueueType);

/* Queues Item on behalf of Caller (for reports); Routine is the routine a
   report names (the driver's, when Item wraps an Io work item). */
void ExpQueueWorkItem(PWORK_QUEUE_ITEM Item, WORK_QUEUE_TYPE QueueType, void *Caller);

/* Waits until every work item queued so far, and every item those queue in
   turn, has run to completion. Called at driver unload, after DriverUnload
   returned and before the image is unmapped: no worker may run unloaded code. */
void ExpFlushWorkQueues(void);

/* Items queued or running now (for the verifier). */
ULONG ExpPendingWorkItemCount(void);

#endif
