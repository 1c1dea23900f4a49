/*
 * Device objects: IoCreateDevice and IoDeleteDevice, as far as work items and
 * simple drivers need them (no IRPs are sent yet).
 *
 * A DEVICE_OBJECT is an object of type "Device" (IoDeviceObjectType): the
 * 0x150-byte body, then the device extension, zeroed, 16-byte aligned.
 * IoCreateDevice links it at the head of DriverObject->DeviceObject through
 * NextDevice, as NT does; IoDeleteDevice unlinks it and drops the creation
 * reference, so the memory lives on while others (queued Io work items)
 * still hold references.
 *
 * Invariants: IopDeviceLock guards every driver's DeviceObject list and the
 * list of device names; it is never held while driver code runs. Names are
 * kept only to refuse a second device with the same name
 * (STATUS_OBJECT_NAME_COLLISION); kmhost's object namespace has no \Device
 * directory yet, so a device cannot be opened by name.
 */
#include "io/device.h"

#include "ob/ob.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct IOP_DEVICE_NAME {
    struct IOP_DEVICE_NAME *Next;
    PDEVICE_OBJECT Device;
    UNICODE_STRING Name;
} IOP_DEVICE_NAME;

static pthread_mutex_t IopDeviceLock = PTHREAD_MUTEX_INITIALIZER;
static IOP_DEVICE_NAME *IopDeviceNames;

static OBJECT_TYPE IopDeviceType = {
    .Name = "Device",
    .GenericMapping = {STANDARD_RIGHTS_READ | 0x1, STANDARD_RIGHTS_WRITE | 0x2,
                       STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, STANDARD_RIGHTS_REQUIRED | 0x1ff},
    .ValidAccessMask = STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1ff,
};
POBJECT_TYPE IoDeviceObjectType = &IopDeviceType;
KM_EXPORT(IoDeviceObjectType);

#define IOP_DEVICE_BODY_SIZE ((sizeof(DEVICE_OBJECT) + 15) & ~(size_t)15)

static bool IopSameName(PCUNICODE_STRING a, PCUNICODE_STRING b)
{
    if (a->Length != b->Length)
        return false;
    for (USHORT i = 0; i < a->Length / 2; i++) {
        WCHAR x = a->Buffer[i], y = b->Buffer[i];
        if (x >= 'a' && x <= 'z')
            x -= 32;
        if (y >= 'a' && y <= 'z')
            y -= 32;
        if (x != y)
            return false;
    }
    return true;
}

/* Lock held: unlinks Device's name entry, returns it for freeing. */
static IOP_DEVICE_NAME *IopUnlinkName(PDEVICE_OBJECT Device)
{
    for (IOP_DEVICE_NAME **p = &IopDeviceNames; *p; p = &(*p)->Next) {
        if ((*p)->Device == Device) {
            IOP_DEVICE_NAME *n = *p;
            *p = n->Next;
            return n;
        }
    }
    return NULL;
}

/*
 * Documented: STATUS_SUCCESS and *DeviceObject; DO_DEVICE_INITIALIZING is set
 * until the driver clears it (DriverEntry's devices have it cleared by the
 * I/O manager on return); the extension is zeroed; DeviceName is optional
 * and, when given, must be a full path ("\Device\Name"):
 * STATUS_OBJECT_PATH_SYNTAX_BAD otherwise, STATUS_OBJECT_NAME_COLLISION when
 * a device already has it. Exclusive sets DO_EXCLUSIVE.
 */
NTSTATUS NTAPI IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                              PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                              ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                              PDEVICE_OBJECT *DeviceObject)
{
    IOP_DEVICE_NAME *name = NULL;
    if (!DriverObject || !DeviceObject)
        return STATUS_INVALID_PARAMETER;
    if (DeviceName && DeviceName->Length) {
        if (DeviceName->Length & 1)
            return STATUS_OBJECT_NAME_INVALID;
        /* The caller's name may sit at an odd address: read it unaligned. */
        if (!DeviceName->Buffer || *(const KM_UNALIGNED_WCHAR *)DeviceName->Buffer != '\\')
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        name = calloc(1, sizeof(*name));
        WCHAR *buf = malloc(DeviceName->Length + sizeof(WCHAR));
        if (!name || !buf) {
            free(name);
            free(buf);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        memcpy(buf, DeviceName->Buffer, DeviceName->Length);
        buf[DeviceName->Length / 2] = 0;
        name->Name.Buffer = buf;
        name->Name.Length = DeviceName->Length;
        name->Name.MaximumLength = (USHORT)(DeviceName->Length + sizeof(WCHAR));
    }
    if (DeviceExtensionSize > 0x7fffffffu - IOP_DEVICE_BODY_SIZE) {
        free(name ? name->Name.Buffer : NULL);
        free(name);
        return STATUS_INSUFFICIENT_RESOURCES;
    }

    PDEVICE_OBJECT d =
        ObpCreateObject(IoDeviceObjectType, IOP_DEVICE_BODY_SIZE + DeviceExtensionSize,
                        __builtin_return_address(0));
    if (!d) {
        free(name ? name->Name.Buffer : NULL);
        free(name);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    d->Type = IO_TYPE_DEVICE;
    d->Size = (USHORT)(sizeof(DEVICE_OBJECT) + DeviceExtensionSize);
    d->DriverObject = DriverObject;
    d->DeviceExtension = DeviceExtensionSize ? (char *)d + IOP_DEVICE_BODY_SIZE : NULL;
    d->DeviceType = DeviceType;
    d->Characteristics = DeviceCharacteristics;
    d->StackSize = 1;
    d->AlignmentRequirement = 0; /* FILE_BYTE_ALIGNMENT */
    d->SectorSize = 512;
    d->Flags =
        DO_DEVICE_INITIALIZING | (Exclusive ? DO_EXCLUSIVE : 0) | (name ? DO_DEVICE_HAS_NAME : 0);
    KiInitializeListHead(&d->Queue.ListEntry);
    KeInitializeEvent(&d->DeviceLock, SynchronizationEvent, TRUE);

    pthread_mutex_lock(&IopDeviceLock);
    if (name) {
        for (IOP_DEVICE_NAME *n = IopDeviceNames; n; n = n->Next) {
            if (IopSameName(&n->Name, &name->Name)) {
                pthread_mutex_unlock(&IopDeviceLock);
                free(name->Name.Buffer);
                free(name);
                ObfDereferenceObject(d);
                return STATUS_OBJECT_NAME_COLLISION;
            }
        }
        name->Device = d;
        name->Next = IopDeviceNames;
        IopDeviceNames = name;
    }
    d->NextDevice = DriverObject->DeviceObject;
    DriverObject->DeviceObject = d;
    pthread_mutex_unlock(&IopDeviceLock);
    *DeviceObject = d;
    return STATUS_SUCCESS;
}
KM_EXPORT(IoCreateDevice);

/* Documented: removes the device from the system; the memory goes when the
   last reference does. */
VOID NTAPI IoDeleteDevice(PDEVICE_OBJECT DeviceObject)
{
    PDRIVER_OBJECT drv = DeviceObject->DriverObject;
    pthread_mutex_lock(&IopDeviceLock);
    for (PDEVICE_OBJECT *p = &drv->DeviceObject; *p; p = &(*p)->NextDevice) {
        if (*p == DeviceObject) {
            *p = DeviceObject->NextDevice;
            break;
        }
    }
    IOP_DEVICE_NAME *name = IopUnlinkName(DeviceObject);
    pthread_mutex_unlock(&IopDeviceLock);
    if (name) {
        free(name->Name.Buffer);
        free(name);
    }
    ObfDereferenceObject(DeviceObject);
}
KM_EXPORT(IoDeleteDevice);
