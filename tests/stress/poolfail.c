// Faults: pool allocation failure. Run with KMHOST_POOL_FAIL_RATE=0.5 (the
// CTest ENVIRONMENT of this test): a failed request returns NULL, as
// documented for ExAllocatePoolWithTag and for ExAllocatePool2 without
// POOL_FLAG_RAISE_ON_FAILURE, and the host goes on. Every block that was
// given is usable and freed; the routines that allocate for the driver
// (RtlCreateUnicodeString, ZwCreateEvent) fail with their documented answer
// or succeed, never crash.
// EXPECT-EXIT: 0
#include "stress.h"

#define ROUNDS 4000

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = harness_unload;
    ULONG null_tag = 0, null2 = 0, bad = 0, str_fail = 0, ev_fail = 0;

    for (ULONG i = 0; i < ROUNDS; i++) {
        SIZE_T n = 16 + (i % 97) * 8;
        PUCHAR p = ExAllocatePoolWithTag(NonPagedPool, n, HARNESS_TAG);
        if (!p) {
            null_tag++;
        } else {
            for (SIZE_T k = 0; k < n; k++)
                p[k] = (UCHAR)k;
            ExFreePoolWithTag(p, HARNESS_TAG);
        }
        PUCHAR q = ExAllocatePool2(POOL_FLAG_NON_PAGED, n, HARNESS_TAG);
        if (!q) {
            null2++;
        } else {
            for (SIZE_T k = 0; k < n; k++)
                bad += q[k] != 0; /* zeroed, as documented */
            ExFreePoolWithTag(q, HARNESS_TAG);
        }
        UNICODE_STRING s;
        if (RtlCreateUnicodeString(&s, L"pool failure"))
            RtlFreeUnicodeString(&s);
        else
            str_fail++;
        HANDLE h;
        OBJECT_ATTRIBUTES oa;
        InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
        NTSTATUS st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
        if (NT_SUCCESS(st))
            ZwClose(h);
        else if (st == STATUS_INSUFFICIENT_RESOURCES || st == STATUS_NO_MEMORY)
            ev_fail++;
        else
            is_status(st, STATUS_INSUFFICIENT_RESOURCES, "ZwCreateEvent fails only for memory");
    }
    /* At a rate of 0.5 over 4000 requests, none failing (or all) is
       beyond chance: the injection is not reaching the driver. */
    ok(null_tag > ROUNDS / 10 && null_tag < ROUNDS - ROUNDS / 10,
       "ExAllocatePoolWithTag returned NULL for a share of requests (%lu of %d)", null_tag, ROUNDS);
    ok(null2 > ROUNDS / 10 && null2 < ROUNDS - ROUNDS / 10,
       "ExAllocatePool2 returned NULL for a share of requests (%lu of %d)", null2, ROUNDS);
    ok(bad == 0, "every ExAllocatePool2 block it gave was zeroed (%lu bytes not)", bad);
    DbgPrint("stress_poolfail: NULL from ExAllocatePoolWithTag %lu, ExAllocatePool2 %lu, "
             "RtlCreateUnicodeString failed %lu, ZwCreateEvent failed %lu (of %d)\n",
             null_tag, null2, str_fail, ev_fail, ROUNDS);
    return STATUS_SUCCESS;
}
