// Stress: eight threads open, use and close handles at once. Each round a
// thread creates an unnamed event, references it by handle, sets it through
// the handle and closes it; opens the shared named event by name; and
// trades handles with the other threads through a shared array of slots, so
// that a handle is often closed by a thread other than its creator. At the
// end every slot is closed: the verifier's handle checks at unload find no
// handle left and no bad handle used.
// KMHOST-ARGS: --verifier=default,handles
// EXPECT-EXIT: 0
#include "stress.h"

#define NTHREADS 8
#define NSLOTS 64

static HANDLE volatile g_slots[NSLOTS];
static volatile LONG g_errors, g_traded;
static HANDLE g_named;
static UNICODE_STRING g_name = RTL_CONSTANT_STRING(L"\\BaseNamedObjects\\KmhostStressHandles");

static void error(const char *what, NTSTATUS st)
{
    if (InterlockedIncrement(&g_errors) <= 5)
        DbgPrint("stress_handles: %s: 0x%08lx\n", what, (ULONG)st);
}

static VOID NTAPI worker(PVOID Context)
{
    ULONG seed = (ULONG)(ULONG_PTR)Context * 2654435761u + 1;
    for (ULONG i = 0; i < STRESS_HANDLE_ROUNDS; i++) {
        OBJECT_ATTRIBUTES oa;
        HANDLE h;
        PVOID obj;
        NTSTATUS st;

        InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
        st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
        if (!NT_SUCCESS(st)) {
            error("ZwCreateEvent", st);
            continue;
        }
        st = ObReferenceObjectByHandle(h, EVENT_MODIFY_STATE, KM_ExEventObjectType, KernelMode,
                                       &obj, NULL);
        if (NT_SUCCESS(st)) {
            if (KeReadStateEvent(obj) != 0)
                error("a new event is not signaled", STATUS_UNSUCCESSFUL);
            ObDereferenceObject(obj);
        } else {
            error("ObReferenceObjectByHandle", st);
        }
        if (!NT_SUCCESS(st = ZwSetEvent(h, NULL)))
            error("ZwSetEvent", st);

        /* Trade: take a slot's handle (another thread's, often) and close
           it, or leave ours there. */
        seed = seed * 1103515245u + 12345u;
        ULONG slot = (seed >> 16) % NSLOTS;
        HANDLE old = InterlockedExchangePointer((PVOID volatile *)&g_slots[slot], h);
        if (old) {
            InterlockedIncrement(&g_traded);
            if (!NT_SUCCESS(st = ZwWaitForSingleObject(old, FALSE, NULL)))
                error("waiting on a traded handle", st);
            if (!NT_SUCCESS(st = ZwClose(old)))
                error("ZwClose of a traded handle", st);
        }

        InitializeObjectAttributes(&oa, &g_name, OBJ_KERNEL_HANDLE, NULL, NULL);
        st = ZwOpenEvent(&h, SYNCHRONIZE, &oa);
        if (NT_SUCCESS(st)) {
            ZwClose(h);
        } else {
            error("ZwOpenEvent of the shared name", st);
        }
    }
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = harness_unload;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &g_name, OBJ_KERNEL_HANDLE, NULL, NULL);
    NTSTATUS st = ZwCreateEvent(&g_named, EVENT_ALL_ACCESS, &oa, NotificationEvent, TRUE);
    if (!is_status(st, STATUS_SUCCESS, "ZwCreateEvent of the shared named event"))
        return STATUS_SUCCESS;
    HANDLE t[NTHREADS];
    ULONG n = 0;
    for (; n < NTHREADS; n++) {
        st = PsCreateSystemThread(&t[n], THREAD_ALL_ACCESS, NULL, NULL, NULL, worker,
                                  (PVOID)(ULONG_PTR)n);
        if (!is_status(st, STATUS_SUCCESS, "PsCreateSystemThread"))
            break;
    }
    for (ULONG i = 0; i < n; i++) {
        ZwWaitForSingleObject(t[i], FALSE, NULL);
        ZwClose(t[i]);
    }
    ULONG left = 0;
    for (ULONG i = 0; i < NSLOTS; i++) {
        if (g_slots[i]) {
            left++;
            is_status(ZwClose(g_slots[i]), STATUS_SUCCESS, "closing a handle left in a slot");
        }
    }
    ZwClose(g_named);
    ok(g_errors == 0, "no call failed (%ld failures)", g_errors);
    ok(g_traded + (LONG)left == NTHREADS * STRESS_HANDLE_ROUNDS,
       "every handle was closed once (%ld traded + %lu left, expected %d)", g_traded, left,
       NTHREADS * STRESS_HANDLE_ROUNDS);
    DbgPrint("stress_handles: %d handles by %d threads, %ld closed by the thread that took them "
             "from a slot\n",
             NTHREADS * STRESS_HANDLE_ROUNDS, NTHREADS, g_traded);
    return STATUS_SUCCESS;
}
