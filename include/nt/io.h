/* I/O manager (Io) structures with the WDK x64 layout. */
#ifndef KM_NT_IO_H
#define KM_NT_IO_H

#include "ntdef.h"

#define IRP_MJ_MAXIMUM_FUNCTION 0x1b
#define IO_TYPE_DRIVER 4
#define IO_TYPE_DEVICE 3

struct _DRIVER_OBJECT;
struct _DEVICE_OBJECT;

typedef NTSTATUS NTAPI DRIVER_INITIALIZE(struct _DRIVER_OBJECT *DriverObject,
                                         PUNICODE_STRING RegistryPath);
typedef VOID NTAPI DRIVER_UNLOAD(struct _DRIVER_OBJECT *DriverObject);
typedef NTSTATUS NTAPI DRIVER_DISPATCH(struct _DEVICE_OBJECT *DeviceObject, PVOID Irp);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;
typedef DRIVER_UNLOAD *PDRIVER_UNLOAD;
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;

typedef struct _DRIVER_EXTENSION {
    struct _DRIVER_OBJECT *DriverObject;
    PVOID AddDevice;
    ULONG Count;
    UNICODE_STRING ServiceKeyName;
} DRIVER_EXTENSION, *PDRIVER_EXTENSION;

typedef struct _DRIVER_OBJECT {
    CSHORT Type;
    CSHORT Size;
    struct _DEVICE_OBJECT *DeviceObject;
    ULONG Flags;
    PVOID DriverStart;
    ULONG DriverSize;
    PVOID DriverSection;
    PDRIVER_EXTENSION DriverExtension;
    UNICODE_STRING DriverName;
    PUNICODE_STRING HardwareDatabase;
    PVOID FastIoDispatch;
    PDRIVER_INITIALIZE DriverInit;
    PVOID DriverStartIo;
    PDRIVER_UNLOAD DriverUnload;
    PDRIVER_DISPATCH MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
} DRIVER_OBJECT, *PDRIVER_OBJECT;
_Static_assert(sizeof(DRIVER_OBJECT) == 0x150, "DRIVER_OBJECT");
_Static_assert(offsetof(DRIVER_OBJECT, DriverStart) == 0x18, "DriverStart");
_Static_assert(offsetof(DRIVER_OBJECT, DriverName) == 0x38, "DriverName");
_Static_assert(offsetof(DRIVER_OBJECT, DriverUnload) == 0x68, "DriverUnload");
_Static_assert(offsetof(DRIVER_OBJECT, MajorFunction) == 0x70, "MajorFunction");

#endif
