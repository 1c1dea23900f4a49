// Stress: readers and writers on one ERESOURCE. Invariants checked on every
// acquisition: a writer is alone; readers never overlap a writer; every
// write survives (a non-atomic read-modify-write done only under exclusive
// access).
// EXPECT-EXIT: 0
#include "harness.h"

#define READERS 6
#define WRITERS 3
#define ROUNDS 3000

static ERESOURCE g_res;
static volatile LONG g_readers, g_writers, g_violations;
static LONG g_data;

static VOID NTAPI reader(PVOID ctx)
{
    ULONG_PTR n = (ULONG_PTR)ctx;
    int i;
    for (i = 0; i < ROUNDS; i++) {
        KeEnterCriticalRegion();
        switch ((i + n) % 3) {
        case 0:
            ExAcquireResourceSharedLite(&g_res, TRUE);
            break;
        case 1:
            ExAcquireSharedStarveExclusive(&g_res, TRUE);
            break;
        default:
            ExAcquireSharedWaitForExclusive(&g_res, TRUE);
            break;
        }
        InterlockedIncrement(&g_readers);
        if (g_writers != 0)
            InterlockedIncrement(&g_violations);
        if ((i & 15) == 0 && ExIsResourceAcquiredSharedLite(&g_res) != 1)
            InterlockedIncrement(&g_violations);
        InterlockedDecrement(&g_readers);
        ExReleaseResourceLite(&g_res);
        KeLeaveCriticalRegion();
    }
}

static VOID NTAPI writer(PVOID ctx)
{
    int i;
    for (i = 0; i < ROUNDS; i++) {
        KeEnterCriticalRegion();
        if (!ExAcquireResourceExclusiveLite(&g_res, (i & 3) != 0)) {
            KeLeaveCriticalRegion();
            continue;
        }
        if (InterlockedIncrement(&g_writers) != 1 || g_readers != 0)
            InterlockedIncrement(&g_violations);
        g_data = g_data + 1;
        if ((i & 7) == 0) {
            /* Downgrade: still no other writer may enter. */
            InterlockedDecrement(&g_writers);
            ExConvertExclusiveToSharedLite(&g_res);
            if (g_writers != 0)
                InterlockedIncrement(&g_violations);
        } else {
            InterlockedDecrement(&g_writers);
        }
        ExReleaseResourceLite(&g_res);
        KeLeaveCriticalRegion();
        InterlockedIncrement((volatile LONG *)ctx);
    }
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    PKTHREAD t[READERS + WRITERS];
    static volatile LONG writes;
    int i;

    driver->DriverUnload = DriverUnload;
    ExInitializeResourceLite(&g_res);
    for (i = 0; i < READERS; i++)
        t[i] = harness_start_thread(reader, (PVOID)(ULONG_PTR)i);
    for (i = 0; i < WRITERS; i++)
        t[READERS + i] = harness_start_thread(writer, (PVOID)&writes);
    for (i = 0; i < READERS + WRITERS; i++)
        harness_join_thread(t[i]);
    is_int(g_violations, 0, "readers never overlap a writer and writers are alone");
    is_int(g_data, writes, "every write made under exclusive access survives");
    ok(writes >= WRITERS * ROUNDS * 3 / 4, "every write with Wait TRUE succeeded: %ld", writes);
    is_int(ExGetSharedWaiterCount(&g_res), 0, "no shared waiter is left");
    is_int(ExGetExclusiveWaiterCount(&g_res), 0, "no exclusive waiter is left");
    is_status(ExDeleteResourceLite(&g_res), STATUS_SUCCESS, "ExDeleteResourceLite");
    return STATUS_SUCCESS;
}
