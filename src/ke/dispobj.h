/*
 * Mutants (mutexes) and semaphores: the dispatcher objects of ke/mutex.c and
 * ke/semaphore.c, and what the executive's handle-based forms (ex/mutant.c,
 * ex/semaphore.c) and thread exit need from them.
 */
#ifndef KM_KE_DISPOBJ_H
#define KM_KE_DISPOBJ_H

#include "ke/ke.h"

/* Bug check 0x20: a thread ended with kernel APCs still disabled. */
#define KI_BUGCHECK_APC_PENDING_DURING_EXIT 0x20u

VOID NTAPI KeInitializeMutex(PRKMUTEX Mutex, ULONG Level);
VOID NTAPI KeInitializeMutant(PRKMUTANT Mutant, BOOLEAN InitialOwner);
LONG NTAPI KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait);
LONG NTAPI KeReleaseMutant(PRKMUTANT Mutant, KPRIORITY Increment, BOOLEAN Abandon, BOOLEAN Wait);
LONG NTAPI KeReadStateMutex(PRKMUTEX Mutex);
LONG NTAPI KeReadStateMutant(PRKMUTANT Mutant);

/* Releases Mutant once for the current thread (or abandons it) without
   raising: STATUS_SUCCESS and the previous SignalState in *Previous, or
   STATUS_MUTANT_NOT_OWNED / STATUS_ABANDONED when the caller is not the owner
   (then nothing changed). */
KM_MSABI NTSTATUS KiReleaseMutant(PRKMUTANT Mutant, BOOLEAN Abandon, LONG *Previous);

/* Thread exit, called by the exiting thread itself before its object is
   signalled: a thread whose kernel APC disable count is not zero (it holds a
   KeInitializeMutex mutex, or left a critical region unbalanced) is bug check
   0x20 KERNEL_APC_PENDING_DURING_EXIT; every other mutant it still owns is
   abandoned, so that its next waiter gets STATUS_ABANDONED. */
void KiAbandonMutants(PKTHREAD Thread);

/* A mutant with an object header (ZwCreateMutant): it holds a reference on
   itself while owned, so that closing its last handle never frees a mutant
   on its owner's list (only the owner touches that list); the release or
   abandonment that leaves it free drops it (ke/mutex.c, ex/mutant.c). */
void KiMarkObjectMutant(PKMUTANT Mutant);
KM_SLOWPATH void ExpReferenceOwnedMutant(PKMUTANT Mutant, bool Reference); /* ex/mutant.c */

VOID NTAPI KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit);
LONG NTAPI KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment,
                              BOOLEAN Wait);
LONG NTAPI KeReadStateSemaphore(PRKSEMAPHORE Semaphore);

/* Adds Adjustment to the count without raising: STATUS_SUCCESS and the
   previous count in *Previous, or STATUS_SEMAPHORE_LIMIT_EXCEEDED when the
   count would pass the limit (or overflow, or go down), leaving it unchanged. */
NTSTATUS KiReleaseSemaphore(PRKSEMAPHORE Semaphore, LONG Adjustment, LONG *Previous);

#endif
