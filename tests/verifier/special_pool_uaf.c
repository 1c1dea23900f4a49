// With special pool on, the driver reads a pool block after freeing it: the
// block's pages are no longer accessible, and the read faults at once.
// Windows: bug check 0xD5 DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL, P1 the
// address, P2 0 (a read), P3 the faulting instruction.
// KMHOST-ARGS: --verifier=default,special_pool
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000D5
// \(0x[0-9A-F]{16},0x0000000000000000,0x[0-9A-F]{16},0x0000000000000000\)
// DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL$ EXPECT-OUTPUT: faulting instruction:
// bug_special_pool_uaf\.sys\+0x[0-9a-f]+
#include <ntddk.h>

#define TAG 0x66416155u /* "UaAf" */

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG *block;
    ULONG value;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    block = ExAllocatePoolWithTag(NonPagedPool, 64, TAG);
    if (!block)
        return STATUS_INSUFFICIENT_RESOURCES;
    block[0] = 1;
    ExFreePoolWithTag((PVOID)block, TAG);
    value = block[0]; /* Bug: use after free. */
    DbgPrint("read %lu\n", value);
    return STATUS_SUCCESS;
}
