/* Processes and threads (Ps) internals. */
#ifndef KM_PS_PS_H
#define KM_PS_PS_H

#include "ke/ke.h"
#include "ob/ob.h"

#include <pthread.h>
#include <setjmp.h>

typedef struct _EPROCESS {
    KPROCESS Pcb;
    HANDLE UniqueProcessId;
    char ImageFileName[16];
} EPROCESS, *PEPROCESS;

typedef struct _ETHREAD {
    KTHREAD Tcb; /* first: a PETHREAD is a PKTHREAD, as drivers assume */
    CLIENT_ID Cid;
    PKSTART_ROUTINE StartRoutine;
    PVOID StartContext;
    void *Creator; /* the driver's call site of PsCreateSystemThread */
    NTSTATUS ExitStatus;
    BOOLEAN SystemThread;
    _Atomic BOOLEAN Terminating;
    BOOLEAN HasExitPoint;
    jmp_buf ExitPoint; /* PsTerminateSystemThread returns here, see thread.c */
    LIST_ENTRY ThreadListEntry;
    struct _HAL_THREAD_BLOCK *HostBlock; /* its stack and KPCR; NULL for the initial thread */
} ETHREAD, *PETHREAD;

extern PEPROCESS PsInitialSystemProcess;

/* Boot the process/thread subsystem: the System process and the calling
   host thread as its initial system thread. */
void PsInitSystem(void);

/* Create a system thread without a handle; *Thread is referenced. */
NTSTATUS PspCreateSystemThread(PKSTART_ROUTINE StartRoutine, PVOID StartContext, void *Creator,
                               PETHREAD *Thread);

/* Visit every live thread (for the verifier at unload). */
typedef void (*PSP_THREAD_VISITOR)(void *Ctx, PETHREAD Thread);
void PspForEachThread(PSP_THREAD_VISITOR Visit, void *Ctx);
LONG PspLiveThreadCount(void);

#endif
