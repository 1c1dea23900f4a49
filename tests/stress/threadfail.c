// Faults: thread creation failure. Run with KMHOST_THREAD_FAIL_RATE=0.5 (the
// CTest ENVIRONMENT of this test; registered once src/ps/thread.c reads that
// variable, see ps-thread-fail.diff): PsCreateSystemThread returns
// STATUS_INSUFFICIENT_RESOURCES, the documented status when the system lacks
// the resources, and then neither writes a handle nor runs the routine.
// EXPECT-EXIT: 0
#include "stress.h"

#define ROUNDS 400

static volatile LONG g_ran;

static VOID NTAPI worker(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    InterlockedIncrement(&g_ran);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = harness_unload;
    ULONG failed = 0, created = 0, other = 0;
    for (ULONG i = 0; i < ROUNDS; i++) {
        HANDLE h = (HANDLE)(ULONG_PTR)0x1234;
        NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, worker, NULL);
        if (NT_SUCCESS(st)) {
            created++;
            ZwWaitForSingleObject(h, FALSE, NULL);
            ZwClose(h);
        } else if (st == STATUS_INSUFFICIENT_RESOURCES) {
            failed++;
            ok(h == (HANDLE)(ULONG_PTR)0x1234, "a failed creation writes no handle");
        } else {
            other++;
            is_status(st, STATUS_INSUFFICIENT_RESOURCES, "the status of a failed creation");
        }
    }
    ok(failed > ROUNDS / 10 && created > ROUNDS / 10,
       "a share of creations failed (%lu failed, %lu created)", failed, created);
    ok(g_ran == (LONG)created, "only the created threads ran (%ld, %lu created)", g_ran, created);
    ok(other == 0, "no other status (%lu)", other);
    return STATUS_SUCCESS;
}
