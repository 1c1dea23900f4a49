/*
 * The System process (PID 4): the only process kmhost has. Every driver
 * thread, DriverEntry and DriverUnload run in it, as on Windows.
 */
#include "ps/ps.h"

#include <string.h>

#define PROCESS_VM_READ 0x0010
#define PROCESS_VM_WRITE 0x0020
#define PROCESS_VM_OPERATION 0x0008
#define PROCESS_CREATE_PROCESS 0x0080
#define PROCESS_DUP_HANDLE 0x0040
#define PROCESS_SET_QUOTA 0x0100
#define PROCESS_SET_INFORMATION 0x0200
#define PROCESS_SUSPEND_RESUME 0x0800

static OBJECT_TYPE PspProcessType = {
    .Name = "Process",
    .GenericMapping = {STANDARD_RIGHTS_READ | PROCESS_VM_READ | PROCESS_QUERY_INFORMATION,
                       STANDARD_RIGHTS_WRITE | PROCESS_CREATE_PROCESS | PROCESS_CREATE_THREAD |
                           PROCESS_VM_OPERATION | PROCESS_VM_WRITE | PROCESS_DUP_HANDLE |
                           PROCESS_TERMINATE | PROCESS_SET_QUOTA | PROCESS_SET_INFORMATION |
                           PROCESS_SUSPEND_RESUME,
                       STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, PROCESS_ALL_ACCESS},
    .ValidAccessMask = PROCESS_ALL_ACCESS,
};
POBJECT_TYPE PsProcessType = &PspProcessType;
KM_EXPORT(PsProcessType);

PEPROCESS PsInitialSystemProcess;
KM_EXPORT(PsInitialSystemProcess);

void PspInitSystemProcess(void)
{
    PEPROCESS p = ObpCreateObject(PsProcessType, sizeof(EPROCESS), NULL);
    if (!p)
        KeBugCheckEx(0x5 /* INVALID_PROCESS_ATTACH_ATTEMPT */, 0, 0, 0, 0);
    p->Pcb.Header.Type = ProcessObject;
    p->Pcb.Header.Size = (UCHAR)(sizeof(KPROCESS) / 4);
    KiInitializeListHead(&p->Pcb.Header.WaitListHead);
    p->UniqueProcessId = (HANDLE)4;
    strcpy(p->ImageFileName, "System");
    PsInitialSystemProcess = p; /* the System process is never deleted */
}

NTAPI PVOID PspCurrentProcessObject(void)
{
    return KiCurrentThread()->Process;
}

PEPROCESS NTAPI PsGetCurrentProcess(void)
{
    return (PEPROCESS)KiCurrentThread()->Process;
}
KM_EXPORT(PsGetCurrentProcess);

PEPROCESS NTAPI IoGetCurrentProcess(void)
{
    return PsGetCurrentProcess();
}
KM_EXPORT(IoGetCurrentProcess);

HANDLE NTAPI PsGetCurrentProcessId(void)
{
    return PsGetCurrentProcess()->UniqueProcessId;
}
KM_EXPORT(PsGetCurrentProcessId);

HANDLE NTAPI PsGetProcessId(PEPROCESS Process)
{
    return Process->UniqueProcessId;
}
KM_EXPORT(PsGetProcessId);

PCHAR NTAPI PsGetProcessImageFileName(PEPROCESS Process)
{
    return (PCHAR)Process->ImageFileName;
}
KM_EXPORT(PsGetProcessImageFileName);

/* Documented: returns the referenced process for a process ID, or
   STATUS_INVALID_PARAMETER. */
NTSTATUS NTAPI PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process)
{
    if (ProcessId != PsInitialSystemProcess->UniqueProcessId)
        return STATUS_INVALID_PARAMETER;
    ObfReferenceObject(PsInitialSystemProcess);
    *Process = PsInitialSystemProcess;
    return STATUS_SUCCESS;
}
KM_EXPORT(PsLookupProcessByProcessId);
