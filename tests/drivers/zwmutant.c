// Conformance: mutant objects by handle (what CreateMutex/ReleaseMutex are
// built on): ZwCreateMutant with and without InitialOwner, ZwOpenMutant by
// name, ZwReleaseMutant's PreviousCount and STATUS_MUTANT_NOT_OWNED,
// OBJ_OPENIF on an existing name (documented for CreateMutex: the caller
// does not become the owner), a mutant abandoned by an ending owner
// (STATUS_ABANDONED), and the last handle closed while another thread owns
// the mutant: the name goes at once, the owner keeps running, releases or
// ends without harm (NT deletes the object abandoned; kmhost keeps the
// memory until the owner lets go, which no driver can tell apart).
// EXPECT-EXIT: 0
#include "harness.h"

#ifndef MUTANT_ALL_ACCESS
#define MUTANT_ALL_ACCESS 0x001F0001
#endif

/* Exported by ntoskrnl.exe (drivers/include/kmextra.def); not declared by mingw-w64. */
NTSYSAPI NTSTATUS NTAPI ZwCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                                       POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner);
NTSYSAPI NTSTATUS NTAPI ZwOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                                     POBJECT_ATTRIBUTES ObjectAttributes);
NTSYSAPI NTSTATUS NTAPI ZwReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount);

#define NAME L"\\BaseNamedObjects\\KmConfZwMutant"

static LARGE_INTEGER g_zero;
static HANDLE g_h;
static KEVENT g_step, g_next;
static NTSTATUS g_status;
static LONG g_previous;

static void named(OBJECT_ATTRIBUTES *oa, UNICODE_STRING *name, ULONG attributes)
{
    RtlInitUnicodeString(name, NAME);
    InitializeObjectAttributes(oa, name, OBJ_KERNEL_HANDLE | attributes, NULL, NULL);
}

/* Another thread's zero-timeout wait on g_h: STATUS_TIMEOUT while owned. */
static VOID NTAPI try_wait(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    g_status = ZwWaitForSingleObject(g_h, FALSE, &g_zero);
    if (g_status == STATUS_SUCCESS || g_status == STATUS_ABANDONED)
        ZwReleaseMutant(g_h, NULL);
}

static NTSTATUS other_thread_wait(void)
{
    harness_join_thread(harness_start_thread(try_wait, NULL));
    return g_status;
}

static VOID NTAPI try_release(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    g_previous = 12345;
    g_status = ZwReleaseMutant(g_h, &g_previous);
}

static void test_ownership(void)
{
    LONG previous = 99;

    if (!is_status(ZwCreateMutant(&g_h, MUTANT_ALL_ACCESS, NULL, TRUE), STATUS_SUCCESS,
                   "ZwCreateMutant(InitialOwner TRUE)"))
        return;
    is_status(other_thread_wait(), STATUS_TIMEOUT,
              "InitialOwner: the creator owns it, another thread's wait times out");
    is_status(ZwWaitForSingleObject(g_h, FALSE, &g_zero), STATUS_SUCCESS,
              "the owner acquires it again (recursively)");
    harness_join_thread(harness_start_thread(try_release, NULL));
    is_status(g_status, STATUS_MUTANT_NOT_OWNED,
              "ZwReleaseMutant by a thread that does not own it: STATUS_MUTANT_NOT_OWNED");
    is_int(g_previous, 12345, "a refused release leaves PreviousCount alone");
    is_status(ZwReleaseMutant(g_h, &previous), STATUS_SUCCESS, "first of two releases");
    is_int(previous, -1, "PreviousCount: the state before the release (owned twice)");
    is_status(other_thread_wait(), STATUS_TIMEOUT, "still owned after one of two releases");
    is_status(ZwReleaseMutant(g_h, &previous), STATUS_SUCCESS, "last release");
    is_int(previous, 0, "PreviousCount 0: the release made it free");
    is_status(other_thread_wait(), STATUS_SUCCESS, "free: another thread acquires it");
    is_status(ZwReleaseMutant(g_h, NULL), STATUS_MUTANT_NOT_OWNED,
              "releasing a free mutant: STATUS_MUTANT_NOT_OWNED");
    ZwClose(g_h);

    is_status(ZwCreateMutant(&g_h, MUTANT_ALL_ACCESS, NULL, FALSE), STATUS_SUCCESS,
              "ZwCreateMutant(InitialOwner FALSE)");
    is_status(other_thread_wait(), STATUS_SUCCESS, "without InitialOwner it starts free");
    ZwClose(g_h);
}

static void test_names(void)
{
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING name;
    HANDLE opened = NULL, again = NULL;

    named(&oa, &name, 0);
    if (!is_status(ZwCreateMutant(&g_h, MUTANT_ALL_ACCESS, &oa, FALSE), STATUS_SUCCESS,
                   "ZwCreateMutant with a name"))
        return;
    is_status(ZwOpenMutant(&opened, MUTANT_ALL_ACCESS, &oa), STATUS_SUCCESS,
              "ZwOpenMutant by name");
    named(&oa, &name, OBJ_OPENIF);
    is_status(ZwCreateMutant(&again, MUTANT_ALL_ACCESS, &oa, TRUE), STATUS_OBJECT_NAME_EXISTS,
              "OBJ_OPENIF on an existing name: STATUS_OBJECT_NAME_EXISTS");
    /* Documented for CreateMutex: bInitialOwner is ignored for an existing mutex. */
    is_status(other_thread_wait(), STATUS_SUCCESS,
              "...and the caller does not own the existing mutant");
    is_status(ZwReleaseMutant(again, NULL), STATUS_MUTANT_NOT_OWNED,
              "...nor any other: its release is refused");
    ZwWaitForSingleObject(opened, FALSE, NULL);
    is_status(ZwReleaseMutant(g_h, NULL), STATUS_SUCCESS,
              "handles opened by name are the same mutant");
    if (again)
        ZwClose(again);
    if (opened)
        ZwClose(opened);
    ZwClose(g_h);
    named(&oa, &name, 0);
    is_status(ZwOpenMutant(&opened, MUTANT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND,
              "the name is gone with the last handle");
}

/* Creates a named mutant it owns, lets the main thread close the only
   handle, then either releases it through its own reference or ends
   owning it. */
static VOID NTAPI owner_of_closed(PVOID ctx)
{
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING name;
    PVOID body = NULL;

    named(&oa, &name, 0);
    g_status = ZwCreateMutant(&g_h, MUTANT_ALL_ACCESS, &oa, TRUE);
    if (ctx && NT_SUCCESS(g_status))
        ObReferenceObjectByHandle(g_h, SYNCHRONIZE, NULL, KernelMode, &body, NULL);
    KeSetEvent(&g_step, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&g_next, Executive, KernelMode, FALSE, NULL);
    if (body) {
        is_int(KeReleaseMutant(body, IO_NO_INCREMENT, FALSE, FALSE), 0,
               "the owner releases a mutant whose handles are all closed, through its pointer");
        ObDereferenceObject(body);
    }
}

static void test_closed_while_owned(void)
{
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING name;
    HANDLE h;

    for (int release = 0; release < 2; release++) {
        KeInitializeEvent(&g_step, NotificationEvent, FALSE);
        KeInitializeEvent(&g_next, NotificationEvent, FALSE);
        PKTHREAD t = harness_start_thread(owner_of_closed, release ? (PVOID)1 : NULL);
        KeWaitForSingleObject(&g_step, Executive, KernelMode, FALSE, NULL);
        if (is_status(g_status, STATUS_SUCCESS, "the owner thread created the mutant")) {
            is_status(ZwClose(g_h), STATUS_SUCCESS,
                      "another thread closes the owned mutant's only handle");
            named(&oa, &name, 0);
            is_status(ZwOpenMutant(&h, MUTANT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND,
                      "its name is gone although a thread still owns it");
        }
        KeSetEvent(&g_next, IO_NO_INCREMENT, FALSE);
        harness_join_thread(t); /* ends owning it (release 0) or after releasing it */
    }
}

static VOID NTAPI acquire_and_end(PVOID ctx)
{
    UNREFERENCED_PARAMETER(ctx);
    is_status(ZwWaitForSingleObject(g_h, FALSE, NULL), STATUS_SUCCESS,
              "a thread acquires the mutant by handle");
}

static void test_abandoned(void)
{
    if (!is_status(ZwCreateMutant(&g_h, MUTANT_ALL_ACCESS, NULL, FALSE), STATUS_SUCCESS,
                   "ZwCreateMutant"))
        return;
    harness_join_thread(harness_start_thread(acquire_and_end, NULL));
    is_status(ZwWaitForSingleObject(g_h, FALSE, &g_zero), STATUS_ABANDONED,
              "a mutant whose owner ended: the next wait returns STATUS_ABANDONED");
    is_status(ZwReleaseMutant(g_h, NULL), STATUS_SUCCESS, "the new owner releases it");
    is_status(ZwWaitForSingleObject(g_h, FALSE, &g_zero), STATUS_SUCCESS,
              "the acquisition after that is a normal one");
    ZwReleaseMutant(g_h, NULL);
    ZwClose(g_h);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = DriverUnload;
    test_ownership();
    test_names();
    test_closed_while_owned();
    test_abandoned();
    return STATUS_SUCCESS;
}
