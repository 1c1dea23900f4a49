// Conformance: the DriverEntry and DriverUnload contract: context (IRQL,
// System process, system thread), RegistryPath, documented DRIVER_OBJECT
// members. Run as the service conf_unload (kmhost run names the service after
// the file; on Windows: sc create conf_unload type= kernel binPath= ...).
// EXPECT-EXIT: 0
#include "harness.h"

#define SERVICES_KEY L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\"
#define SERVICE_NAME L"conf_unload"

static PDRIVER_OBJECT g_driver;

DRIVER_INITIALIZE DriverEntry;

/* DriverEntry and Unload are called in a system thread at PASSIVE_LEVEL. */
static void check_context(const char *where)
{
    is_int(KeGetCurrentIrql(), PASSIVE_LEVEL, where);
    ok(PsIsSystemThread(PsGetCurrentThread()), "%s runs in a system thread", where);
    is_ptr(PsGetCurrentProcess(), KM_PsInitialSystemProcess,
           "DriverEntry and Unload run in the System process");
    is_ptr(PsGetCurrentProcessId(), (HANDLE)4, "the System process id is 4");
}

static void check_registry_path(PUNICODE_STRING path)
{
    UNICODE_STRING prefix, name, want;
    USHORT i;
    int backslash = 0;

    if (!ok(path != NULL && path->Buffer != NULL, "RegistryPath is a valid UNICODE_STRING"))
        return;
    ok(path->Length % sizeof(WCHAR) == 0 && path->Length <= path->MaximumLength,
       "RegistryPath: Length %u is even and at most MaximumLength %u", path->Length,
       path->MaximumLength);
    RtlInitUnicodeString(&prefix, SERVICES_KEY);
    if (!ok(RtlPrefixUnicodeString(&prefix, path, TRUE),
            "RegistryPath is \\Registry\\Machine\\System\\CurrentControlSet\\Services\\<name> "
            "(case-insensitive), got %wZ",
            path))
        return;
    name.Buffer = path->Buffer + prefix.Length / sizeof(WCHAR);
    name.Length = name.MaximumLength = path->Length - prefix.Length;
    for (i = 0; i < name.Length / sizeof(WCHAR); i++)
        backslash |= name.Buffer[i] == L'\\';
    ok(name.Length > 0 && !backslash, "the last component of RegistryPath is the service name");
    RtlInitUnicodeString(&want, SERVICE_NAME);
    ok(RtlEqualUnicodeString(&name, &want, TRUE),
       "the service key is the driver's service name (conf_unload), got %wZ", &name);
}

static void check_driver_object(PDRIVER_OBJECT driver)
{
    /* DRIVER_OBJECT (wdm.h): the members documented as accessible to drivers. */
    ok(driver != NULL, "DriverEntry receives a driver object");
    is_ptr(driver->DriverUnload, NULL,
           "DriverUnload is NULL until DriverEntry sets it (NULL if no Unload routine)");
    is_ptr(driver->DriverStartIo, NULL, "DriverStartIo is NULL if the driver sets no StartIo");
    is_ptr(driver->DeviceObject, NULL,
           "DeviceObject lists the driver's device objects: none before IoCreateDevice");
    ok(driver->DriverExtension != NULL,
       "DriverExtension points to the driver extension (for DriverExtension->AddDevice)");
    is_ptr(driver->DriverInit, DriverEntry,
           "DriverInit is the DriverEntry entry point, set up by the I/O manager");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    check_context("DriverUnload runs at PASSIVE_LEVEL");
    is_ptr(driver, g_driver, "Unload receives the driver object DriverEntry received");
    is_ptr(driver->DriverUnload, DriverUnload, "the Unload routine DriverEntry set is kept");
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    g_driver = driver;
    check_context("DriverEntry runs at PASSIVE_LEVEL");
    check_driver_object(driver);
    check_registry_path(registry_path);
    driver->DriverUnload = DriverUnload;
    return STATUS_SUCCESS;
}
