/*
 * I/O work items: IoAllocateWorkItem / IoInitializeWorkItem, IoQueueWorkItem
 * (Ex), IoFreeWorkItem / IoUninitializeWorkItem.
 *
 * An IO_WORKITEM is opaque to drivers (they size caller-allocated ones with
 * IoSizeofWorkItem) and wraps an executive WORK_QUEUE_ITEM whose routine,
 * IopWorkItemRoutine, calls the driver's routine with the device (or driver)
 * object, then drops the reference IoQueueWorkItem took on that object: as
 * documented, a queued Io work item keeps its device object, and so its
 * driver, from going away. The driver's routine may free the work item
 * (documented), so nothing reads it after the routine is called.
 *
 * IoAllocateWorkItem allocates from the driver's pool accounting (call site
 * recorded), so a work item the driver never frees shows up as its leak.
 */
#include "ex/ex.h"
#include "ex/worker.h"
#include "io/device.h"
#include "ob/ob.h"

#include <stdio.h>
#include <string.h>

#define IOP_WORKITEM_TAG 0x6b576f49u /* "IoWk" */

struct _IO_WORKITEM;
typedef VOID NTAPI IO_WORKITEM_ROUTINE(PDEVICE_OBJECT DeviceObject, PVOID Context);
typedef VOID NTAPI IO_WORKITEM_ROUTINE_EX(PVOID IoObject, PVOID Context,
                                          struct _IO_WORKITEM *IoWorkItem);
typedef IO_WORKITEM_ROUTINE *PIO_WORKITEM_ROUTINE;
typedef IO_WORKITEM_ROUTINE_EX *PIO_WORKITEM_ROUTINE_EX;

typedef struct _IO_WORKITEM {
    WORK_QUEUE_ITEM Item;
    PVOID IoObject; /* a DEVICE_OBJECT or a DRIVER_OBJECT */
    PIO_WORKITEM_ROUTINE Routine;
    PIO_WORKITEM_ROUTINE_EX RoutineEx;
    PVOID Context;
} IO_WORKITEM, *PIO_WORKITEM;

static VOID NTAPI IopWorkItemRoutine(PVOID Parameter)
{
    PIO_WORKITEM w = Parameter;
    PVOID object = w->IoObject;
    if (w->RoutineEx)
        w->RoutineEx(object, w->Context, w);
    else
        w->Routine(object, w->Context);
    ObfDereferenceObject(object);
}

static void IopInitialize(PVOID IoObject, PIO_WORKITEM w)
{
    memset(w, 0, sizeof(*w));
    w->IoObject = IoObject;
    w->Item.WorkerRoutine = IopWorkItemRoutine;
    w->Item.Parameter = w;
}

static void IopCheckNotQueued(PIO_WORKITEM w, const char *Routine)
{
    if (__atomic_load_n(&w->Item.List.Flink, __ATOMIC_RELAXED)) {
        dprintf(1,
                "kmhost: %s(%p): the work item is still queued; free it in its routine or "
                "after the routine ran\n",
                Routine, (void *)w);
        KeBugCheckEx(0xE4 /* WORKER_INVALID */, 0, (ULONG_PTR)w, 0, 0);
    }
}

/* Documented: the size of an IO_WORKITEM, for IoInitializeWorkItem. */
ULONG NTAPI IoSizeofWorkItem(VOID)
{
    return (ULONG)sizeof(IO_WORKITEM);
}
KM_EXPORT(IoSizeofWorkItem);

/* Documented: NULL when there is not enough memory; IRQL <= DISPATCH_LEVEL. */
PIO_WORKITEM NTAPI IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
    PIO_WORKITEM w = ExpAllocatePool(NonPagedPoolNx, sizeof(IO_WORKITEM), IOP_WORKITEM_TAG, TRUE,
                                     __builtin_return_address(0));
    if (w)
        IopInitialize(DeviceObject, w);
    return w;
}
KM_EXPORT(IoAllocateWorkItem);

VOID NTAPI IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
    IopCheckNotQueued(IoWorkItem, "IoFreeWorkItem");
    ExpFreePool(IoWorkItem, IOP_WORKITEM_TAG, __builtin_return_address(0));
}
KM_EXPORT(IoFreeWorkItem);

/* Documented: IoObject is a device object or a driver object. */
VOID NTAPI IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem)
{
    IopInitialize(IoObject, IoWorkItem);
}
KM_EXPORT(IoInitializeWorkItem);

VOID NTAPI IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem)
{
    IopCheckNotQueued(IoWorkItem, "IoUninitializeWorkItem");
}
KM_EXPORT(IoUninitializeWorkItem);

static void IopQueue(PIO_WORKITEM w, PIO_WORKITEM_ROUTINE Routine,
                     PIO_WORKITEM_ROUTINE_EX RoutineEx, WORK_QUEUE_TYPE QueueType, PVOID Context,
                     void *Caller)
{
    if ((unsigned)QueueType >= MaximumWorkQueue) {
        dprintf(1,
                "kmhost: IoQueueWorkItem(%p, ..., %d): QueueType must be CriticalWorkQueue, "
                "DelayedWorkQueue or HyperCriticalWorkQueue\n",
                (void *)w, (int)QueueType);
        KeBugCheckEx(0xE4 /* WORKER_INVALID */, 1, (ULONG_PTR)w, (ULONG_PTR)QueueType, 0);
    }
    ObfReferenceObject(w->IoObject);
    w->Routine = Routine;
    w->RoutineEx = RoutineEx;
    w->Context = Context;
    ExpQueueWorkItem(&w->Item, QueueType, Caller);
}

/* Documented: the routine runs at PASSIVE_LEVEL in a system worker thread
   with the work item's device object and Context. */
VOID NTAPI IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                           WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    IopQueue(IoWorkItem, WorkerRoutine, NULL, QueueType, Context, __builtin_return_address(0));
}
KM_EXPORT(IoQueueWorkItem);

VOID NTAPI IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                             WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    IopQueue(IoWorkItem, NULL, WorkerRoutine, QueueType, Context, __builtin_return_address(0));
}
KM_EXPORT(IoQueueWorkItemEx);
