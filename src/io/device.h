/*
 * Device objects (src/io/device.c), with the WDK x64 layout.
 *
 * The WDK declares DEVICE_OBJECT DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT),
 * which makes it 0x150 bytes; mingw-w64's wdm.h lacks the alignment and says
 * 0x148. The fields sit at the same offsets in both; kmhost allocates 0x150
 * and places the device extension after that, as Windows does.
 */
#ifndef KM_IO_DEVICE_H
#define KM_IO_DEVICE_H

#include "io/io.h"
#include "ke/ke.h"

typedef ULONG DEVICE_TYPE;

typedef struct __attribute__((aligned(16))) _DEVICE_OBJECT {
    CSHORT Type;
    USHORT Size;
    LONG ReferenceCount;
    struct _DRIVER_OBJECT *DriverObject;
    struct _DEVICE_OBJECT *NextDevice;
    struct _DEVICE_OBJECT *AttachedDevice;
    PVOID CurrentIrp;
    PVOID Timer;
    ULONG Flags;
    ULONG Characteristics;
    PVOID Vpb;
    PVOID DeviceExtension;
    DEVICE_TYPE DeviceType;
    CCHAR StackSize;
    union {
        LIST_ENTRY ListEntry;
        UCHAR Wcb[0x48]; /* WAIT_CONTEXT_BLOCK */
    } Queue;
    ULONG AlignmentRequirement;
    UCHAR DeviceQueue[0x28]; /* KDEVICE_QUEUE */
    KDPC Dpc;
    ULONG ActiveThreadCount;
    PVOID SecurityDescriptor;
    KEVENT DeviceLock;
    USHORT SectorSize;
    USHORT Spare1;
    PVOID DeviceObjectExtension;
    PVOID Reserved;
} DEVICE_OBJECT, *PDEVICE_OBJECT;
_Static_assert(sizeof(DEVICE_OBJECT) == 0x150, "DEVICE_OBJECT");
_Static_assert(offsetof(DEVICE_OBJECT, Flags) == 0x30, "DEVICE_OBJECT.Flags");
_Static_assert(offsetof(DEVICE_OBJECT, DeviceExtension) == 0x40, "DEVICE_OBJECT.DeviceExtension");
_Static_assert(offsetof(DEVICE_OBJECT, Queue) == 0x50, "DEVICE_OBJECT.Queue");
_Static_assert(offsetof(DEVICE_OBJECT, Dpc) == 0xc8, "DEVICE_OBJECT.Dpc");
_Static_assert(offsetof(DEVICE_OBJECT, DeviceLock) == 0x118, "DEVICE_OBJECT.DeviceLock");
_Static_assert(offsetof(DEVICE_OBJECT, Reserved) == 0x140, "DEVICE_OBJECT.Reserved");

#define DO_VERIFY_VOLUME 0x00000002
#define DO_BUFFERED_IO 0x00000004
#define DO_EXCLUSIVE 0x00000008
#define DO_DIRECT_IO 0x00000010
#define DO_DEVICE_HAS_NAME 0x00000040
#define DO_DEVICE_INITIALIZING 0x00000080

extern POBJECT_TYPE IoDeviceObjectType;

NTSTATUS NTAPI IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                              PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                              ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                              PDEVICE_OBJECT *DeviceObject);
VOID NTAPI IoDeleteDevice(PDEVICE_OBJECT DeviceObject);

#endif
