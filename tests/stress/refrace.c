// Stress: references by handle racing the handle's close. Two threads keep
// calling ObReferenceObjectByHandle (KernelMode, no HandleInformation: the
// common driver call) on handles read from a shared array of slots, while
// a third replaces each slot's event with a new one and closes the old
// handle. The documented rule: a reference obtained by handle keeps the
// object alive after its handle is closed, until ObDereferenceObject; a
// closed handle gives STATUS_INVALID_HANDLE. Each reference is used (the
// event set and reset) before it is dropped, so under ASan or TSan a
// reference to a freed object is reported. The verifier's reference checks
// are off (-objects), as in a run without Driver Verifier, so that kmhost's
// fastest lookup is the one raced; the leak checks stay on and find
// nothing at unload.
// KMHOST-ARGS: --verifier=default,-objects
// EXPECT-EXIT: 0
#include "stress.h"

#define NSLOTS 8
#define NREADERS 2

static HANDLE volatile g_slots[NSLOTS];
static volatile LONG g_stop, g_started, g_errors, g_found, g_closed;

static void error(const char *what, NTSTATUS st)
{
    if (InterlockedIncrement(&g_errors) <= 5)
        DbgPrint("stress_refrace: %s: 0x%08lx\n", what, (ULONG)st);
}

static HANDLE new_event(void)
{
    OBJECT_ATTRIBUTES oa;
    HANDLE h = NULL;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    NTSTATUS st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    if (!NT_SUCCESS(st))
        error("ZwCreateEvent", st);
    return h;
}

static VOID NTAPI reader(PVOID Context)
{
    ULONG i = (ULONG)(ULONG_PTR)Context;
    InterlockedIncrement(&g_started);
    while (!InterlockedCompareExchange(&g_stop, 0, 0)) {
        HANDLE h = g_slots[i++ % NSLOTS];
        PKEVENT event;
        NTSTATUS st = ObReferenceObjectByHandle(h, EVENT_MODIFY_STATE, KM_ExEventObjectType,
                                                KernelMode, (PVOID *)&event, NULL);
        if (NT_SUCCESS(st)) {
            KeSetEvent(event, IO_NO_INCREMENT, FALSE);
            KeResetEvent(event);
            ObDereferenceObject(event);
            InterlockedIncrement(&g_found);
        } else if (st == STATUS_INVALID_HANDLE) {
            InterlockedIncrement(&g_closed);
        } else {
            error("ObReferenceObjectByHandle", st);
        }
    }
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = harness_unload;
    for (ULONG i = 0; i < NSLOTS; i++)
        g_slots[i] = new_event();

    HANDLE t[NREADERS];
    ULONG n = 0;
    for (; n < NREADERS; n++) {
        NTSTATUS st = PsCreateSystemThread(&t[n], THREAD_ALL_ACCESS, NULL, NULL, NULL, reader,
                                           (PVOID)(ULONG_PTR)(n * 3));
        if (!is_status(st, STATUS_SUCCESS, "PsCreateSystemThread"))
            break;
    }
    LARGE_INTEGER tick = {.QuadPart = -10000}; /* 1 ms */
    while (InterlockedCompareExchange(&g_started, 0, 0) < (LONG)n)
        KeDelayExecutionThread(KernelMode, FALSE, &tick);
    ULONG replaced = 0;
    for (ULONG r = 0; r < NREADERS * STRESS_HANDLE_ROUNDS; r++) {
        HANDLE old =
            InterlockedExchangePointer((PVOID volatile *)&g_slots[r % NSLOTS], new_event());
        NTSTATUS st = ZwClose(old);
        if (NT_SUCCESS(st))
            replaced++;
        else
            error("ZwClose of a replaced handle", st);
    }
    InterlockedExchange(&g_stop, 1);
    for (ULONG i = 0; i < n; i++) {
        ZwWaitForSingleObject(t[i], FALSE, NULL);
        ZwClose(t[i]);
    }
    for (ULONG i = 0; i < NSLOTS; i++)
        ZwClose(g_slots[i]);

    ok(g_errors == 0,
       "every reference by handle succeeded or found the handle closed (%ld "
       "other results)",
       g_errors);
    ok(g_found > 0, "the readers referenced events (%ld)", g_found);
    ok(replaced == NREADERS * STRESS_HANDLE_ROUNDS, "every replaced handle closed (%lu)", replaced);
    DbgPrint("stress_refrace: %ld references, %ld closed handles met, %lu handles replaced\n",
             g_found, g_closed, replaced);
    return STATUS_SUCCESS;
}
