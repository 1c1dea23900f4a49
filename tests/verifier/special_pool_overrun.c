// With special pool on, the driver writes one element past the end of a
// 64-byte pool block: the block ends where a guard page begins, and the
// write faults at once. Windows: bug check 0xD6
// DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION, P1 the address, P2 1 (a
// write), P3 the faulting instruction.
// KMHOST-ARGS: --verifier=default,special_pool
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x000000D6
// \(0x[0-9A-F]{16},0x0000000000000001,0x[0-9A-F]{16},0x0000000000000000\)
// DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION$ EXPECT-OUTPUT: faulting instruction:
// bug_special_pool_overrun\.sys\+0x[0-9a-f]+
#include <ntddk.h>

#define TAG 0x6E75724Fu /* "Orun" */

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    volatile ULONG *block;
    ULONG i;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    block = ExAllocatePoolWithTag(NonPagedPool, 16 * sizeof(ULONG), TAG);
    if (!block)
        return STATUS_INSUFFICIENT_RESOURCES;
    for (i = 0; i <= 16; i++) /* Bug: <= writes block[16], past the end. */
        block[i] = i;
    ExFreePoolWithTag((PVOID)block, TAG);
    return STATUS_SUCCESS;
}
