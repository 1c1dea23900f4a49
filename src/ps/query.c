/*
 * NtQueryInformationThread / ZwQueryInformationThread.
 *
 * Documented order of checks, as Windows makes them: an information class
 * this routine cannot query is STATUS_INVALID_INFO_CLASS (the set-only
 * classes ThreadPriority, ThreadBasePriority, ThreadAffinityMask... included);
 * a buffer length other than the class's exact size is
 * STATUS_INFO_LENGTH_MISMATCH; then the handle is referenced for the access
 * the class needs (KernelMode, from Zw, is not access-checked). On success
 * ReturnLength, when given, receives the size written.
 *
 * Supported classes: ThreadBasicInformation, ThreadQuerySetWin32StartAddress,
 * ThreadIsTerminated. Every thread kmhost runs is a system thread: no TEB.
 */
#include "hal/hal.h"
#include "ps/ps.h"

#include <string.h>

enum {
    PspThreadBasicInformation = 0,
    PspThreadQuerySetWin32StartAddress = 9,
    PspThreadIsTerminated = 20,
};

typedef struct _THREAD_BASIC_INFORMATION {
    NTSTATUS ExitStatus;
    PVOID TebBaseAddress;
    CLIENT_ID ClientId;
    ULONG_PTR AffinityMask; /* KAFFINITY */
    KPRIORITY Priority;
    LONG BasePriority;
} THREAD_BASIC_INFORMATION;
_Static_assert(sizeof(THREAD_BASIC_INFORMATION) == 48, "THREAD_BASIC_INFORMATION");
_Static_assert(offsetof(THREAD_BASIC_INFORMATION, AffinityMask) == 32, "AffinityMask");

static NTSTATUS PspQueryInformationThread(HANDLE ThreadHandle, ULONG ThreadInformationClass,
                                          PVOID ThreadInformation, ULONG ThreadInformationLength,
                                          PULONG ReturnLength, KPROCESSOR_MODE Mode)
{
    ULONG size;
    ACCESS_MASK access;
    switch (ThreadInformationClass) {
    case PspThreadBasicInformation:
        size = sizeof(THREAD_BASIC_INFORMATION);
        access = THREAD_QUERY_LIMITED_INFORMATION;
        break;
    case PspThreadQuerySetWin32StartAddress:
        size = sizeof(PVOID);
        access = THREAD_QUERY_INFORMATION;
        break;
    case PspThreadIsTerminated:
        size = sizeof(ULONG);
        access = THREAD_QUERY_LIMITED_INFORMATION;
        break;
    default:
        return STATUS_INVALID_INFO_CLASS;
    }
    if (ThreadInformationLength != size)
        return STATUS_INFO_LENGTH_MISMATCH;
    if (!ThreadInformation)
        return STATUS_ACCESS_VIOLATION;

    PETHREAD t;
    NTSTATUS status =
        ObReferenceObjectByHandle(ThreadHandle, access, PsThreadType, Mode, (PVOID *)&t, NULL);
    if (!NT_SUCCESS(status))
        return status;
    switch (ThreadInformationClass) {
    case PspThreadBasicInformation: {
        THREAD_BASIC_INFORMATION info;
        ULONG n = HalpProcessorCount();
        memset(&info, 0, sizeof(info));
        info.ExitStatus = t->ExitStatus;
        info.TebBaseAddress = NULL;
        info.ClientId = t->Cid;
        info.AffinityMask = n >= 64 ? ~(ULONG_PTR)0 : ((ULONG_PTR)1 << n) - 1;
        info.Priority = __atomic_load_n(&t->Tcb.Priority, __ATOMIC_RELAXED);
        info.BasePriority = __atomic_load_n(&t->Tcb.BasePriority, __ATOMIC_RELAXED);
        memcpy(ThreadInformation, &info, sizeof(info));
        break;
    }
    case PspThreadQuerySetWin32StartAddress: {
        PVOID start = (PVOID)t->StartRoutine;
        memcpy(ThreadInformation, &start, sizeof(start));
        break;
    }
    case PspThreadIsTerminated: {
        ULONG ended = __atomic_load_n(&t->Tcb.Header.SignalState, __ATOMIC_ACQUIRE) != 0;
        memcpy(ThreadInformation, &ended, sizeof(ended));
        break;
    }
    }
    ObfDereferenceObject(t);
    if (ReturnLength)
        *ReturnLength = size;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI NtQueryInformationThread(HANDLE ThreadHandle, ULONG ThreadInformationClass,
                                        PVOID ThreadInformation, ULONG ThreadInformationLength,
                                        PULONG ReturnLength)
{
    return PspQueryInformationThread(ThreadHandle, ThreadInformationClass, ThreadInformation,
                                     ThreadInformationLength, ReturnLength,
                                     KiCurrentThread()->PreviousMode);
}
KM_EXPORT(NtQueryInformationThread);

NTSTATUS NTAPI ZwQueryInformationThread(HANDLE ThreadHandle, ULONG ThreadInformationClass,
                                        PVOID ThreadInformation, ULONG ThreadInformationLength,
                                        PULONG ReturnLength)
{
    return PspQueryInformationThread(ThreadHandle, ThreadInformationClass, ThreadInformation,
                                     ThreadInformationLength, ReturnLength, KernelMode);
}
KM_EXPORT(ZwQueryInformationThread);
