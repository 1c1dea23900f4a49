// Conformance: KeQueryPriorityThread, KeSetPriorityThread,
// KeSetBasePriorityThread, ZwQueryInformationThread.
// EXPECT-EXIT: 0
#include "harness.h"

/* Exported by ntoskrnl.exe; the WDK declares them in ntddk.h/winternl.h only
   for some targets. */
NTSYSAPI NTSTATUS NTAPI ZwQueryInformationThread(HANDLE ThreadHandle,
                                                 THREADINFOCLASS ThreadInformationClass,
                                                 PVOID ThreadInformation,
                                                 ULONG ThreadInformationLength,
                                                 PULONG ReturnLength);

typedef struct {
    NTSTATUS ExitStatus;
    PVOID TebBaseAddress;
    CLIENT_ID ClientId;
    KAFFINITY AffinityMask;
    KPRIORITY Priority;
    KPRIORITY BasePriority;
} TEST_THREAD_BASIC_INFORMATION;

static VOID NTAPI priorities(PVOID ctx)
{
    PKTHREAD self = KeGetCurrentThread();
    KPRIORITY start = KeQueryPriorityThread(self);

    is_int(start, 8, "a new system thread runs at priority 8 (the System process's base)");
    is_int(KeSetPriorityThread(self, LOW_REALTIME_PRIORITY), start,
           "KeSetPriorityThread returns the old priority");
    is_int(KeQueryPriorityThread(self), LOW_REALTIME_PRIORITY,
           "KeQueryPriorityThread returns the priority just set");
    is_int(KeSetPriorityThread(self, start), LOW_REALTIME_PRIORITY,
           "setting the priority back returns the real-time one");

    is_int(KeSetBasePriorityThread(self, 2), 0,
           "KeSetBasePriorityThread returns the previous increment: 0 for a new thread");
    is_int(KeSetBasePriorityThread(self, -1), 2,
           "KeSetBasePriorityThread returns the increment set before");
    is_int(KeQueryPriorityThread(self), 7,
           "a variable-priority thread's priority follows its new base (8 - 1)");
    KeSetBasePriorityThread(self, 0);
}

static VOID NTAPI exits(PVOID ctx)
{
    PsTerminateSystemThread((NTSTATUS)0x12345678);
}

static void test_query(void)
{
    TEST_THREAD_BASIC_INFORMATION info;
    ULONG len = 0, terminated = 7;
    NTSTATUS st;
    HANDLE h;
    PVOID obj;
    OBJECT_ATTRIBUTES oa;

    RtlZeroMemory(&info, sizeof(info));
    st = ZwQueryInformationThread(NtCurrentThread(), ThreadBasicInformation, &info, sizeof(info),
                                  &len);
    is_status(st, STATUS_SUCCESS, "ZwQueryInformationThread(ThreadBasicInformation)");
    is_int(len, sizeof(info), "ReturnLength is sizeof(THREAD_BASIC_INFORMATION)");
    is_int(sizeof(info), 48, "THREAD_BASIC_INFORMATION is 48 bytes on x64");
    is_ptr(info.ClientId.UniqueThread, PsGetCurrentThreadId(), "ClientId.UniqueThread");
    is_ptr(info.ClientId.UniqueProcess, PsGetCurrentProcessId(), "ClientId.UniqueProcess");
    is_status(info.ExitStatus, STATUS_PENDING, "a running thread's ExitStatus is STATUS_PENDING");
    is_int(info.Priority, KeQueryPriorityThread(KeGetCurrentThread()), "Priority");
    ok(info.AffinityMask != 0, "AffinityMask names at least one processor");

    is_status(ZwQueryInformationThread(NtCurrentThread(), ThreadBasicInformation, &info,
                                       sizeof(info) - 1, &len),
              STATUS_INFO_LENGTH_MISMATCH, "a short buffer gives STATUS_INFO_LENGTH_MISMATCH");
    is_status(ZwQueryInformationThread(NtCurrentThread(), ThreadBasicInformation, &info,
                                       sizeof(info) + 8, &len),
              STATUS_INFO_LENGTH_MISMATCH, "a long buffer gives STATUS_INFO_LENGTH_MISMATCH");
    is_status(ZwQueryInformationThread(NtCurrentThread(), ThreadPriority, &terminated,
                                       sizeof(KPRIORITY), &len),
              STATUS_INVALID_INFO_CLASS, "ThreadPriority can be set, not queried");
    is_status(ZwQueryInformationThread(NtCurrentThread(), ThreadIsTerminated, &terminated,
                                       sizeof(terminated), &len),
              STATUS_SUCCESS, "ZwQueryInformationThread(ThreadIsTerminated)");
    is_int(terminated, 0, "the running thread is not terminated");

    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, exits, NULL);
    if (!is_status(st, STATUS_SUCCESS, "PsCreateSystemThread"))
        return;
    st = ObReferenceObjectByHandle(h, SYNCHRONIZE, KM_PsThreadType, KernelMode, &obj, NULL);
    if (is_status(st, STATUS_SUCCESS, "reference the thread")) {
        KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(obj);
    }
    st = ZwQueryInformationThread(h, ThreadBasicInformation, &info, sizeof(info), NULL);
    is_status(st, STATUS_SUCCESS, "query an ended thread by handle");
    is_status(info.ExitStatus, 0x12345678, "ExitStatus is PsTerminateSystemThread's status");
    terminated = 0;
    is_status(
        ZwQueryInformationThread(h, ThreadIsTerminated, &terminated, sizeof(terminated), NULL),
        STATUS_SUCCESS, "ThreadIsTerminated by handle");
    ok(terminated != 0, "an ended thread is terminated");
    ZwClose(h);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    harness_join_thread(harness_start_thread(priorities, NULL));
    test_query();
    return STATUS_SUCCESS;
}
