// Conformance: executive and I/O work items run at PASSIVE_LEVEL in system
// threads with their context; IoCreateDevice/IoDeleteDevice basics.
// EXPECT-EXIT: 0
#include "harness.h"

#define MANY 32

typedef struct {
    WORK_QUEUE_ITEM Item;
    KEVENT Done;
    KIRQL Irql;
    BOOLEAN SystemThread;
    PETHREAD Thread;
    PVOID Seen;
} EX_CONTEXT;

typedef struct {
    KEVENT Done;
    KIRQL Irql;
    BOOLEAN SystemThread;
    PDEVICE_OBJECT Device;
    PVOID Context;
    PIO_WORKITEM Item;
} IO_CONTEXT;

static PDEVICE_OBJECT g_device;
static volatile LONG g_many;
static KEVENT g_many_done;
static WORK_QUEUE_ITEM g_many_items[MANY];

static VOID NTAPI ex_routine(PVOID parameter)
{
    EX_CONTEXT *c = parameter;
    c->Irql = KeGetCurrentIrql();
    c->SystemThread = PsIsSystemThread(PsGetCurrentThread());
    c->Thread = PsGetCurrentThread();
    c->Seen = parameter;
    KeSetEvent(&c->Done, IO_NO_INCREMENT, FALSE);
}

static void test_ex_work_item(WORK_QUEUE_TYPE type, const char *what)
{
    static EX_CONTEXT c;

    KeInitializeEvent(&c.Done, NotificationEvent, FALSE);
    c.Irql = 0xff;
    c.SystemThread = FALSE;
    c.Seen = NULL;
    ExInitializeWorkItem(&c.Item, ex_routine, &c);
    ExQueueWorkItem(&c.Item, type);
    is_status(KeWaitForSingleObject(&c.Done, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              what);
    is_int(c.Irql, PASSIVE_LEVEL, "an executive work item runs at PASSIVE_LEVEL");
    ok(c.SystemThread, "an executive work item runs in a system thread");
    ok(c.Thread != PsGetCurrentThread(), "a work item runs in a worker thread, not the caller's");
    is_ptr(c.Seen, &c, "the work item routine gets the Parameter given to ExInitializeWorkItem");
}

static VOID NTAPI many_routine(PVOID parameter)
{
    if (InterlockedIncrement(&g_many) == MANY)
        KeSetEvent(&g_many_done, IO_NO_INCREMENT, FALSE);
}

static void test_many(void)
{
    int i;
    KeInitializeEvent(&g_many_done, NotificationEvent, FALSE);
    g_many = 0;
    for (i = 0; i < MANY; i++) {
        ExInitializeWorkItem(&g_many_items[i], many_routine, NULL);
        ExQueueWorkItem(&g_many_items[i], i & 1 ? CriticalWorkQueue : DelayedWorkQueue);
    }
    KeWaitForSingleObject(&g_many_done, Executive, KernelMode, FALSE, NULL);
    is_int(g_many, MANY, "every queued work item runs exactly once");
}

/* One work item waits for an event that a second one sets: the system must
   run them concurrently (Windows has several worker threads per queue). */
static KEVENT g_chain;
static VOID NTAPI chain_waiter(PVOID parameter)
{
    EX_CONTEXT *c = parameter;
    KeWaitForSingleObject(&g_chain, Executive, KernelMode, FALSE, NULL);
    KeSetEvent(&c->Done, IO_NO_INCREMENT, FALSE);
}
static VOID NTAPI chain_setter(PVOID parameter)
{
    KeSetEvent(&g_chain, IO_NO_INCREMENT, FALSE);
}

static void test_dependent_items(void)
{
    static EX_CONTEXT waiter;
    static WORK_QUEUE_ITEM setter;
    KeInitializeEvent(&g_chain, NotificationEvent, FALSE);
    KeInitializeEvent(&waiter.Done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&waiter.Item, chain_waiter, &waiter);
    ExInitializeWorkItem(&setter, chain_setter, NULL);
    ExQueueWorkItem(&waiter.Item, DelayedWorkQueue);
    ExQueueWorkItem(&setter, DelayedWorkQueue);
    is_status(KeWaitForSingleObject(&waiter.Done, Executive, KernelMode, FALSE, NULL),
              STATUS_SUCCESS, "a work item that waits for a later one does not block it");
}

static VOID NTAPI io_routine(PDEVICE_OBJECT device, PVOID context)
{
    IO_CONTEXT *c = context;
    c->Irql = KeGetCurrentIrql();
    c->SystemThread = PsIsSystemThread(PsGetCurrentThread());
    c->Device = device;
    c->Context = context;
    IoFreeWorkItem(c->Item); /* documented: the routine may free its work item */
    KeSetEvent(&c->Done, IO_NO_INCREMENT, FALSE);
}

static VOID NTAPI io_routine_ex(PVOID io_object, PVOID context, PIO_WORKITEM item)
{
    IO_CONTEXT *c = context;
    c->Irql = KeGetCurrentIrql();
    c->SystemThread = PsIsSystemThread(PsGetCurrentThread());
    c->Device = io_object;
    c->Context = context;
    ok(item == c->Item, "IoQueueWorkItemEx passes the work item to the routine");
    KeSetEvent(&c->Done, IO_NO_INCREMENT, FALSE);
}

static void test_io_work_items(PDRIVER_OBJECT driver)
{
    static IO_CONTEXT c;
    UNICODE_STRING name;
    PDEVICE_OBJECT second;
    NTSTATUS st;

    RtlInitUnicodeString(&name, L"\\Device\\KmhostWorkItemTest");
    st = IoCreateDevice(driver, 64, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_device);
    if (!is_status(st, STATUS_SUCCESS, "IoCreateDevice returns STATUS_SUCCESS"))
        return;
    is_ptr(driver->DeviceObject, g_device, "IoCreateDevice links the device to its driver");
    is_ptr(g_device->DriverObject, driver, "DeviceObject->DriverObject is the creator");
    ok(g_device->DeviceExtension != NULL, "a device extension was allocated");
    ok(g_device->Flags & DO_DEVICE_INITIALIZING, "a new device has DO_DEVICE_INITIALIZING");
    is_int(((UCHAR *)g_device->DeviceExtension)[63], 0, "the device extension is zeroed");
    is_status(IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &second),
              STATUS_OBJECT_NAME_COLLISION, "a second device with the same name is refused");
    g_device->Flags &= ~DO_DEVICE_INITIALIZING;

    KeInitializeEvent(&c.Done, NotificationEvent, FALSE);
    c.Irql = 0xff;
    c.Item = IoAllocateWorkItem(g_device);
    if (!ok(c.Item != NULL, "IoAllocateWorkItem returns a work item"))
        return;
    IoQueueWorkItem(c.Item, io_routine, DelayedWorkQueue, &c);
    KeWaitForSingleObject(&c.Done, Executive, KernelMode, FALSE, NULL);
    is_int(c.Irql, PASSIVE_LEVEL, "an I/O work item runs at PASSIVE_LEVEL");
    ok(c.SystemThread, "an I/O work item runs in a system thread");
    is_ptr(c.Device, g_device, "the routine gets the work item's device object");
    is_ptr(c.Context, &c, "the routine gets the Context given to IoQueueWorkItem");

    c.Item = ExAllocatePoolWithTag(NonPagedPoolNx, IoSizeofWorkItem(), HARNESS_TAG);
    if (!ok(c.Item != NULL, "pool for a caller-allocated work item"))
        return;
    IoInitializeWorkItem(g_device, c.Item);
    KeInitializeEvent(&c.Done, NotificationEvent, FALSE);
    c.Irql = 0xff;
    IoQueueWorkItemEx(c.Item, io_routine_ex, CriticalWorkQueue, &c);
    KeWaitForSingleObject(&c.Done, Executive, KernelMode, FALSE, NULL);
    is_int(c.Irql, PASSIVE_LEVEL, "an IoQueueWorkItemEx routine runs at PASSIVE_LEVEL");
    is_ptr(c.Device, g_device, "IoQueueWorkItemEx passes the IoObject");
    is_ptr(c.Context, &c, "IoQueueWorkItemEx passes the Context");
    /* The routine has run (it set the event last); the I/O manager does not
       touch a work item once its routine was called. */
    IoUninitializeWorkItem(c.Item);
    ExFreePoolWithTag(c.Item, HARNESS_TAG);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    if (g_device) {
        IoDeleteDevice(g_device);
        is_ptr(driver->DeviceObject, NULL, "IoDeleteDevice unlinks the device from its driver");
    }
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_ex_work_item(DelayedWorkQueue, "a DelayedWorkQueue item runs");
    test_ex_work_item(CriticalWorkQueue, "a CriticalWorkQueue item runs");
    test_ex_work_item(HyperCriticalWorkQueue, "a HyperCriticalWorkQueue item runs");
    test_many();
    test_dependent_items();
    test_io_work_items(driver);
    return STATUS_SUCCESS;
}
