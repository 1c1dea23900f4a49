/*
 * Driver objects: load, DriverEntry, DriverUnload.
 *
 * As on Windows, DriverEntry and DriverUnload run at PASSIVE_LEVEL in a
 * system thread of the System process, never in the host's main thread; the
 * DRIVER_OBJECT is an object (type "Driver") so drivers may reference it;
 * every MajorFunction entry starts as a routine that fails the request with
 * STATUS_INVALID_DEVICE_REQUEST; RegistryPath names the service key.
 */
#include "io/io.h"

#include "ci/ci.h"
#include "ex/worker.h"
#include "ke/dpc.h"
#include "ke/ke.h"
#include "ob/ob.h"
#include "ps/ps.h"
#include "vf/vf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void IopDeleteDriver(PVOID Body)
{
    PDRIVER_OBJECT d = Body;
    free(d->DriverName.Buffer);
    if (d->DriverExtension) {
        free(d->DriverExtension->ServiceKeyName.Buffer);
        free(d->DriverExtension);
    }
}

static OBJECT_TYPE IopDriverType = {
    .Name = "Driver",
    .GenericMapping = {STANDARD_RIGHTS_READ, STANDARD_RIGHTS_WRITE, STANDARD_RIGHTS_EXECUTE,
                       STANDARD_RIGHTS_REQUIRED | 0x1},
    .ValidAccessMask = STANDARD_RIGHTS_REQUIRED | 0x1,
    .DeleteProcedure = IopDeleteDriver,
};
POBJECT_TYPE IoDriverObjectType = &IopDriverType;
KM_EXPORT(IoDriverObjectType);

/* Every loaded driver, until it is unloaded; one without DriverUnload stays
   until the process ends, as it stays loaded until reboot on Windows. */
static pthread_mutex_t IopDriverListLock = PTHREAD_MUTEX_INITIALIZER;
static KM_DRIVER *IopDriverList;

static NTSTATUS NTAPI IopInvalidDeviceRequest(struct _DEVICE_OBJECT *DeviceObject, PVOID Irp)
{
    (void)DeviceObject;
    (void)Irp;
    return STATUS_INVALID_DEVICE_REQUEST;
}

bool IopMakeUnicodeString(PUNICODE_STRING Out, const char *Prefix, const char *Name)
{
    size_t n = strlen(Prefix) + strlen(Name);
    if (n >= 32767)
        return false;
    WCHAR *buf = calloc(n + 1, sizeof(WCHAR));
    if (!buf)
        return false;
    size_t i = 0;
    for (const char *p = Prefix; *p; p++)
        buf[i++] = (unsigned char)*p;
    for (const char *p = Name; *p; p++)
        buf[i++] = (unsigned char)*p; /* service names are ASCII on Windows */
    Out->Buffer = buf;
    Out->Length = (USHORT)(n * sizeof(WCHAR));
    Out->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
    return true;
}

typedef struct IOP_CALL {
    KM_DRIVER *Driver;
    NTSTATUS Status;
} IOP_CALL;

static VOID NTAPI IopDriverEntryThread(PVOID Context)
{
    IOP_CALL *call = Context;
    KM_DRIVER *drv = call->Driver;
    call->Status = drv->DriverObject->DriverInit(drv->DriverObject, &drv->RegistryPath);
    VfpDriverRoutineReturned(VF_ROUTINE_DRIVER_ENTRY, drv->Image); /* verifier */
}

static VOID NTAPI IopDriverUnloadThread(PVOID Context)
{
    IOP_CALL *call = Context;
    call->Driver->DriverObject->DriverUnload(call->Driver->DriverObject);
    VfpDriverRoutineReturned(VF_ROUTINE_DRIVER_UNLOAD, call->Driver->Image); /* verifier */
    call->Status = STATUS_SUCCESS;
}

/* Run Routine in a new system thread and wait for it to end. */
static NTSTATUS IopCallInSystemThread(PKSTART_ROUTINE Routine, IOP_CALL *Call)
{
    PETHREAD t;
    NTSTATUS status = PspCreateSystemThread(Routine, Call, NULL, &t);
    if (!NT_SUCCESS(status))
        return status;
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
    ObfDereferenceObject(t);
    return Call->Status;
}

static void IopBaseName(const char *Path, char *Out, size_t Len)
{
    const char *base = strrchr(Path, '/');
    base = base ? base + 1 : Path;
    snprintf(Out, Len, "%s", base);
    char *dot = strrchr(Out, '.');
    if (dot && dot != Out)
        *dot = 0;
}

NTSTATUS IoLoadDriver(const char *Path, const char *ServiceName, KM_DRIVER **Driver, char *Why,
                      size_t WhyLen)
{
    KM_DRIVER *drv = calloc(1, sizeof(*drv));
    NTSTATUS status;

    Why[0] = 0;
    if (!drv)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (ServiceName)
        snprintf(drv->ServiceName, sizeof(drv->ServiceName), "%s", ServiceName);
    else
        IopBaseName(Path, drv->ServiceName, sizeof(drv->ServiceName));

    /* Code integrity first, as the memory manager checks an image's
       signature before it maps a driver. */
    bool test_mode;
    uint8_t *image;
    size_t imageSize = 0;
    status = CiCheckDriverImage(Path, &image, &imageSize, Why, WhyLen, &test_mode);
    if (!NT_SUCCESS(status)) {
        free(drv);
        return status;
    }
    /* The bytes the signature check read, not the file read again: it may
       have changed in between. */
    status = LdrLoadDriverImageFromBytes(Path, image, imageSize, &drv->Image, Why, WhyLen);
    free(image);
    if (!NT_SUCCESS(status)) {
        free(drv);
        return status;
    }

    PDRIVER_OBJECT d = ObpCreateObject(IoDriverObjectType, sizeof(DRIVER_OBJECT), NULL);
    PDRIVER_EXTENSION ext = calloc(1, sizeof(*ext));
    if (!d || !ext ||
        !IopMakeUnicodeString(&drv->RegistryPath,
                              "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\",
                              drv->ServiceName) ||
        !IopMakeUnicodeString(&d->DriverName, "\\Driver\\", drv->ServiceName) ||
        !IopMakeUnicodeString(&ext->ServiceKeyName, "", drv->ServiceName)) {
        snprintf(Why, WhyLen, "out of memory building the driver object");
        free(ext);
        if (d)
            ObfDereferenceObject(d);
        free(drv->RegistryPath.Buffer);
        LdrUnloadDriverImage(drv->Image);
        free(drv);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    d->Type = IO_TYPE_DRIVER;
    d->Size = (CSHORT)sizeof(DRIVER_OBJECT);
    d->DriverStart = drv->Image->Base;
    d->DriverSize = (ULONG)drv->Image->Size;
    d->DriverSection = drv->Image;
    ext->DriverObject = d;
    d->DriverExtension = ext;
    d->DriverInit = (PDRIVER_INITIALIZE)drv->Image->EntryPoint;
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        d->MajorFunction[i] = IopInvalidDeviceRequest;
    drv->DriverObject = d;

    IOP_CALL call = {drv, STATUS_UNSUCCESSFUL};
    status = IopCallInSystemThread(IopDriverEntryThread, &call);
    drv->EntryStatus = status;
    if (!NT_SUCCESS(status)) {
        const char *name = KmStatusName(status);
        snprintf(Why, WhyLen, "DriverEntry returned %s (0x%08X)", name ? name : "an error status",
                 (unsigned)status);
        /* Windows does not call DriverUnload after DriverEntry failed. */
        ObfDereferenceObject(d);
        free(drv->RegistryPath.Buffer);
        LdrUnloadDriverImage(drv->Image);
        free(drv);
        return status;
    }
    pthread_mutex_lock(&IopDriverListLock);
    drv->Next = IopDriverList;
    IopDriverList = drv;
    pthread_mutex_unlock(&IopDriverListLock);
    *Driver = drv;
    return status;
}

typedef struct IOP_RUNNING {
    LDR_IMAGE *Image;
    PETHREAD Found;
} IOP_RUNNING;

static void IopFindRunningThread(void *Ctx, PETHREAD Thread)
{
    IOP_RUNNING *r = Ctx;
    if (!r->Found && !atomic_load(&Thread->Terminating) && Thread->StartRoutine &&
        LdrFindImageByAddress((const void *)Thread->StartRoutine) == r->Image)
        r->Found = Thread;
}

bool IoUnloadDriver(KM_DRIVER *Driver)
{
    PDRIVER_OBJECT d = Driver->DriverObject;
    if (!d->DriverUnload)
        return false;
    IOP_CALL call = {Driver, STATUS_UNSUCCESSFUL};
    IopCallInSystemThread(IopDriverUnloadThread, &call);
    /* Work items the driver queued run to completion before its image goes. */
    ExpFlushWorkQueues();

    /* The lecture's rule: DriverUnload must make every thread of the driver
       end before it returns, or that thread runs unloaded code. Windows
       crashes later with 0xCE; kmhost stops at once and names the thread.
       P1 the code the thread would run (its start routine), P2 8 (execute),
       P3 the thread object, P4 0. */
    IOP_RUNNING running = {Driver->Image, NULL};
    PspForEachThread(IopFindRunningThread, &running);
    if (running.Found) {
        char what[256];
        PsDescribeThread(&running.Found->Tcb, what, sizeof(what));
        dprintf(1,
                "kmhost: DriverUnload returned while %s is still running: a driver must make "
                "its system threads end (set a stop event, wait on each thread object) before "
                "DriverUnload returns.\n",
                what);
        KeBugCheckEx(0xCE /* DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS */,
                     (ULONG_PTR)running.Found->StartRoutine, 8, (ULONG_PTR)running.Found, 0);
    }
    /* A timer still set or a DPC still queued in the image would run
       unloaded code: bug check 0xC7 TIMER_OR_DPC_INVALID, as Windows does
       when it finds one in freed memory. */
    KiCheckTimersAndDpcs(Driver->Image->Base, Driver->Image->Base + Driver->Image->Size);
    VfpDriverUnloaded(Driver->Image); /* verifier: pending timers/DPCs, leaks */
    ObfDereferenceObject(d);
    free(Driver->RegistryPath.Buffer);
    LdrUnloadDriverImage(Driver->Image);
    pthread_mutex_lock(&IopDriverListLock);
    for (KM_DRIVER **p = &IopDriverList; *p; p = &(*p)->Next) {
        if (*p == Driver) {
            *p = Driver->Next;
            break;
        }
    }
    pthread_mutex_unlock(&IopDriverListLock);
    free(Driver);
    return true;
}
