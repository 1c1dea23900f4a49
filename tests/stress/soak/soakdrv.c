// The driver test_soak_load.c loads and unloads a thousand times: each load
// takes what a real driver takes (a pool block, a named event by handle, a
// system thread that waits on it, a KTIMER set and cancelled) and each
// unload gives all of it back. It prints nothing.
#include <ntifs.h>

/* kmfix.h needs the DDK types: keep it after <ntifs.h>. */
#include <kmfix.h>

#define SOAK_TAG ((ULONG)0x6b616f53) /* "Soak" */

static HANDLE g_event, g_thread;
static PVOID g_block;
static KTIMER g_timer;

static VOID NTAPI waiter(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
    ZwWaitForSingleObject(g_event, FALSE, NULL);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    KeCancelTimer(&g_timer);
    ZwSetEvent(g_event, NULL);
    ZwWaitForSingleObject(g_thread, FALSE, NULL);
    ZwClose(g_thread);
    ZwClose(g_event);
    ExFreePoolWithTag(g_block, SOAK_TAG);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\BaseNamedObjects\\KmhostSoakEvent");
    OBJECT_ATTRIBUTES oa;
    NTSTATUS st;

    g_block = ExAllocatePoolWithTag(NonPagedPool, 4096, SOAK_TAG);
    if (!g_block)
        return STATUS_INSUFFICIENT_RESOURCES;
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = ZwCreateEvent(&g_event, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    if (!NT_SUCCESS(st)) {
        ExFreePoolWithTag(g_block, SOAK_TAG);
        return st;
    }
    st = PsCreateSystemThread(&g_thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, waiter, NULL);
    if (!NT_SUCCESS(st)) {
        ZwClose(g_event);
        ExFreePoolWithTag(g_block, SOAK_TAG);
        return st;
    }
    KeInitializeTimer(&g_timer);
    LARGE_INTEGER due = {.QuadPart = -10LL * 1000 * 1000 * 60}; /* never fires: cancelled */
    KeSetTimer(&g_timer, due, NULL);
    DriverObject->DriverUnload = DriverUnload;
    return STATUS_SUCCESS;
}
