/*
 * DPCs, timers, spin locks and APC-disable regions: what the files of this
 * mechanism (dpc.c, timer.c, spinlock.c, region.c) share.
 */
#ifndef KM_KE_DPC_H
#define KM_KE_DPC_H

#include "ke/ke.h"

/* KOBJECTS values for KDPC.Type. */
#define KI_DPC_OBJECT 0x13
#define KI_THREADED_DPC_OBJECT 0x18

/* KDPC_IMPORTANCE */
#define KI_LOW_IMPORTANCE 0
#define KI_MEDIUM_IMPORTANCE 1
#define KI_HIGH_IMPORTANCE 2
#define KI_MEDIUM_HIGH_IMPORTANCE 3

/* KDPC.Number: 0 targets the processor that queues the DPC; a DPC set to a
   processor by KeSetTargetProcessorDpc holds KI_DPC_TARGETED + its number. */
#define KI_DPC_TARGETED 64

typedef VOID NTAPI KI_DEFERRED_ROUTINE(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1,
                                       PVOID SystemArgument2);

/* A host lock word (bit 0 set while held) for kmhost's own short critical
   sections: spins with pause, then yields, since a holder may be preempted.
   Signal-safe as long as no trapping code runs while it is held. */
void KiAcquireLockWord(volatile ULONG_PTR *Lock);
void KiReleaseLockWord(volatile ULONG_PTR *Lock);

/* The IRQL byte of the current thread's KPCR, written without the
   KiIrqlLowered hook (the dispatcher's own raises and lowers around DPCs). */
static inline void KiSetIrqlNoHook(KIRQL Irql)
{
    KiWriteIrql(Irql);
}

static inline USHORT KiCurrentProcessorNumber(void)
{
    return *(volatile USHORT *)&HalPcr()->Number;
}

/* TRUE on a processor's DPC thread (where DPC routines run). */
bool KiIsDpcThread(void);

/* Starts the per-processor DPC threads and the timer thread once; called by
   every routine that can queue a DPC or a timer. */
void KiEnsureDpcSystem(void);

/* Queues Dpc on Processor's queue (dpc.c); FALSE if it was already queued. */
BOOLEAN KiInsertQueueDpc(PKDPC Dpc, ULONG Processor, PVOID SystemArgument1, PVOID SystemArgument2);

/* Before memory [Start, End) is freed or unmapped (a driver image at unload,
   a pool block): bug check TIMER_OR_DPC_INVALID (0xC7) as Windows does when
   a queued timer (P1 0) or DPC (P1 1), or a queued DPC's routine (P1 2),
   lies in it; P2 the object or routine, P3/P4 the range. Timers in timer.c,
   DPC queues in dpc.c (KiCheckTimersAndDpcs calls both). */
void KiCheckTimersAndDpcs(const void *Start, const void *End);
void KiCheckTimerQueue(const void *Start, const void *End);
void KiCheckDpcQueues(const void *Start, const void *End);

/* The timer thread's start routine (timer.c). */
VOID NTAPI KiTimerThread(PVOID Context);

VOID NTAPI KeInitializeDpc(PRKDPC Dpc, PVOID DeferredRoutine, PVOID DeferredContext);
BOOLEAN NTAPI KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2);
BOOLEAN NTAPI KeRemoveQueueDpc(PRKDPC Dpc);
VOID NTAPI KeFlushQueuedDpcs(VOID);

#endif
