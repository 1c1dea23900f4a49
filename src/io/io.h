/* I/O manager (Io) internals: loading and unloading drivers. */
#ifndef KM_IO_IO_H
#define KM_IO_IO_H

#include "km.h"
#include <nt/io.h>

typedef struct KM_DRIVER {
    LDR_IMAGE *Image;
    PDRIVER_OBJECT DriverObject;
    UNICODE_STRING RegistryPath;
    char ServiceName[128];
    NTSTATUS EntryStatus;
    struct KM_DRIVER *Next; /* the list of loaded drivers (driver.c) */
} KM_DRIVER;

/* Map the image, build the DRIVER_OBJECT and run DriverEntry in a system
   thread at PASSIVE_LEVEL. On failure the driver is gone again, the status is
   returned and Why says why. */
NTSTATUS IoLoadDriver(const char *Path, const char *ServiceName, KM_DRIVER **Driver, char *Why,
                      size_t WhyLen);

/* Run DriverUnload in a system thread, then check that nothing of the driver
   still runs (bug check 0xCE otherwise) and unmap it. Returns false when the
   driver has no DriverUnload and so cannot be unloaded, as on Windows. */
bool IoUnloadDriver(KM_DRIVER *Driver);

/* UTF-8 → a pool-free UNICODE_STRING (host malloc), terminated. */
bool IopMakeUnicodeString(PUNICODE_STRING Out, const char *Prefix, const char *Name);

#endif
