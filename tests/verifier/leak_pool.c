// The driver allocates pool and unloads without freeing it. Driver
// Verifier's pool tracking would stop with 0xC4/0x62; kmhost lists each
// block (size, tag, allocation site) on a VERIFIER: line; exit status 4.
// EXPECT-EXIT: 4
// EXPECT-OUTPUT: ^VERIFIER: leaked pool: 100 bytes, tag 'Leak', allocated at bug_leak_pool\.sys\+0x[0-9a-f]+.*, never freed \(Driver Verifier's pool tracking stops with 0xC4 \(0x62, driver name, 0, 1\)
#include <ntddk.h>

#define LEAK_TAG 0x6B61654Cu /* the bytes "Leak" (MSVC: 'kaeL') */

static PVOID Block;

static VOID NTAPI Unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    /* Bug: no ExFreePoolWithTag(Block, LEAK_TAG). */
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    Block = ExAllocatePoolWithTag(NonPagedPool, 100, LEAK_TAG);
    if (!Block)
        return STATUS_INSUFFICIENT_RESOURCES;
    DriverObject->DriverUnload = Unload;
    return STATUS_SUCCESS;
}
