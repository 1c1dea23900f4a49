/*
 * Asynchronous procedure calls: the KAPC object with the WDK x64 layout
 * (wdm.h), the exported routines, and the hooks through which the wait
 * mechanism, the IRQL code, regions, mutexes and thread exit let APCs in.
 * The mechanism and its rules are described at the top of apc.c.
 */
#ifndef KM_KE_APC_H
#define KM_KE_APC_H

#include "ke/ke.h"

#include <stddef.h>

/* KOBJECTS value for KAPC.Type. */
#define KI_APC_OBJECT 0x12

/* Undocumented but exported with this well-known prototype; kmhost has one
   APC environment per thread (no process attach), so every value selects it. */
typedef enum _KAPC_ENVIRONMENT {
    OriginalApcEnvironment,
    AttachedApcEnvironment,
    CurrentApcEnvironment,
    InsertApcEnvironment
} KAPC_ENVIRONMENT;

struct _KAPC;
typedef VOID NTAPI KNORMAL_ROUTINE(PVOID NormalContext, PVOID SystemArgument1,
                                   PVOID SystemArgument2);
typedef KNORMAL_ROUTINE *PKNORMAL_ROUTINE;
typedef VOID NTAPI KKERNEL_ROUTINE(struct _KAPC *Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                   PVOID *NormalContext, PVOID *SystemArgument1,
                                   PVOID *SystemArgument2);
typedef KKERNEL_ROUTINE *PKKERNEL_ROUTINE;
typedef VOID NTAPI KRUNDOWN_ROUTINE(struct _KAPC *Apc);
typedef KRUNDOWN_ROUTINE *PKRUNDOWN_ROUTINE;

typedef struct _KAPC {
    UCHAR Type; /* KI_APC_OBJECT */
    UCHAR SpareByte0;
    UCHAR Size; /* sizeof(KAPC) */
    UCHAR SpareByte1;
    ULONG SpareLong0;
    struct _KTHREAD *Thread;
    LIST_ENTRY ApcListEntry; /* in Thread->ApcListHead[ApcMode] while Inserted */
    PKKERNEL_ROUTINE KernelRoutine;
    PKRUNDOWN_ROUTINE RundownRoutine;
    PKNORMAL_ROUTINE NormalRoutine; /* NULL: a special kernel APC */
    PVOID NormalContext;
    PVOID SystemArgument1;
    PVOID SystemArgument2;
    CCHAR ApcStateIndex;
    KPROCESSOR_MODE ApcMode;
    BOOLEAN Inserted;
} KAPC, *PKAPC, *PRKAPC;
_Static_assert(sizeof(KAPC) == 0x58, "KAPC");
_Static_assert(offsetof(KAPC, Thread) == 0x08, "KAPC.Thread");
_Static_assert(offsetof(KAPC, ApcListEntry) == 0x10, "KAPC.ApcListEntry");
_Static_assert(offsetof(KAPC, KernelRoutine) == 0x20, "KAPC.KernelRoutine");
_Static_assert(offsetof(KAPC, RundownRoutine) == 0x28, "KAPC.RundownRoutine");
_Static_assert(offsetof(KAPC, NormalRoutine) == 0x30, "KAPC.NormalRoutine");
_Static_assert(offsetof(KAPC, NormalContext) == 0x38, "KAPC.NormalContext");
_Static_assert(offsetof(KAPC, SystemArgument1) == 0x40, "KAPC.SystemArgument1");
_Static_assert(offsetof(KAPC, SystemArgument2) == 0x48, "KAPC.SystemArgument2");
_Static_assert(offsetof(KAPC, ApcStateIndex) == 0x50, "KAPC.ApcStateIndex");
_Static_assert(offsetof(KAPC, ApcMode) == 0x51, "KAPC.ApcMode");
_Static_assert(offsetof(KAPC, Inserted) == 0x52, "KAPC.Inserted");

VOID NTAPI KeInitializeApc(PRKAPC Apc, PRKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                           PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                           PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                           PVOID NormalContext);
BOOLEAN NTAPI KeInsertQueueApc(PRKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                               KPRIORITY Increment);
BOOLEAN NTAPI KeRemoveQueueApc(PKAPC Apc);

/* The KI_APC_* kinds that may interrupt a wait the current thread starts now
   (its IRQL and APC-disable counts, Alertable and WaitMode). */
KM_MSABI UCHAR KiApcWaitMask(BOOLEAN Alertable, KPROCESSOR_MODE WaitMode);

/* Runs the current thread's deliverable kernel APCs if it is at
   PASSIVE_LEVEL and may run driver code here (see apc.c on the trap
   handler). Also KiCheckForKernelApcDelivery, the hook of region.c and
   mutex.c. */
KM_MSABI void KiDeliverKernelApcs(void);
KM_MSABI void KiCheckForKernelApcDelivery(void);

/* From KiIrqlLowered (dpc.c): the IRQL went from Old to New. */
void KiApcIrqlLowered(KIRQL Old, KIRQL New);

/* Thread exit (ps/thread.c), on the exiting thread: no APC can be queued
   any more; kernel APCs are delivered (bug check 0x20 if one cannot be),
   user APCs are run down (RundownRoutine, or ExFreePool without one). */
void KiRundownApcQueues(void);

#endif
