/*
 * The verifier (Vf): Driver Verifier's checks, made at the moment a driver
 * misuses the kernel, reported with Windows' bug check codes and parameters.
 *
 * Control: `kmhost run --verifier=all|none|LIST` (VfpParseOptions). The
 * checks are bits of VfpFlags; the default is every check that cannot fire
 * on correct code (VF_DEFAULT). A check costs its caller one load of
 * VfpFlags (or of the IRQL) and a branch; side tables are consulted only on
 * paths that are already slow (create, close, unload, blocking waits).
 *
 * Two kinds of report:
 *  - a violation at call time stops at once: one explanatory line
 *    "kmhost: verifier: ..." naming the driver's call site, then the STOP
 *    (KeBugCheckEx 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION with the
 *    documented subcode, or the code Windows itself raises);
 *  - what is left behind at a clean unload (leaked handles, references,
 *    pool, IRQL left raised) is one line per finding starting "VERIFIER:",
 *    and `kmhost run` exits with status 4 when any was printed.
 *
 * ---- Hook list: where each call belongs ----
 * Lead's files (inserted, marked with a verifier comment):
 *   ob/object.c   ObfReferenceObject/ObReferenceObjectByPointer:
 *                   VfpObjectReferenced(Object, caller)
 *                 ObfDereferenceObject/ObDereferenceObject...:
 *                   VfpObjectDereferenced(Object, caller)
 *                 before ObpBadReference: VfpBadReference(Object, NewCount, caller)
 *                 ObpDeleteObject: VfpQuarantineObject(Header) (keeps the
 *                   memory of a deleted object for a while)
 *   ob/handle.c   ObReferenceObjectByHandle: VfpCheckReferenceByHandle(...)
 *                 ObCloseHandle (ZwClose): VfpCheckClose(Handle, caller)
 *   ps/thread.c   PsCreateSystemThread: VfpCheckIrql(VF_DDI_..., caller)
 *                 PsTerminateSystemThread: VfpTerminateNotSystemThread()
 *                 thread exit: VfpThreadExiting(Thread)
 *   io/driver.c   after DriverEntry/DriverUnload return: VfpDriverRoutineReturned
 *                 after the 0xCE check: VfpDriverUnloaded(Image)
 *   ke/wait.c     KeWaitForMultipleObjects: VF_CHECK_WAIT(...)
 *   ke/event.c    KeSetEvent: VfpCheckIrql; KeInitializeEvent: VfpCheckInitialize
 *   ke/irql.c     KfRaiseIrql/KfLowerIrql: 0x30/0x31 under the verifier
 *   ex/pool.c     ExpAllocatePool/ExpFreePool: VfpSpecialPool* when enabled
 *   cli/run.c     --verifier, exit status 4
 * Lock and timer files (one-line calls, marked with a verifier comment):
 *   ke/mutex.c      none: a KMUTEX is tracked through the owner's
 *                   MutantListHead, its acquisition through the wait
 *                   (VfpWaitDone in wait.c)
 *   ke/spinlock.c   every acquire (before spinning): VfpLockAcquired(VF_LOCK_SPIN);
 *                   releases: VfpCheckSpinLockRelease (0x32) + VfpLockReleased,
 *                   VfpQueuedSpinLockReleased for the in-stack queued forms
 *   ex/fastmutex.c  VfpCheckFastMutex (0x33/0x34/0x39/0x3A) and
 *                   VfpLockAcquired/Released (VF_LOCK_FAST_MUTEX, _GUARDED_MUTEX);
 *                   KeInitializeGuardedMutex: VfpLockDeleted
 *   ex/resource.c   ExAcquire*: VfpResourceAcquiring (0x37); release:
 *                   VfpResourceReleasing (0x38); ExSetResourceOwnerPointer:
 *                   VfpLockReleased; Initialize/Delete: VfpLockDeleted
 *   ke/timer.c, ke/dpc.c  in the 0xC7 scans at unload: VfpPendingTimer /
 *                   VfpQueuedDpc (name the routine, then 0xC7). The weak
 *                   Ki*InRange queries below stay unused: io/driver.c runs the
 *                   kernel's own scan (KiCheckTimersAndDpcs) first, and work
 *                   items are flushed (ExpFlushWorkQueues) before either.
 *   hal/fault.c     before the 0x7E/0x50 decision for an access violation:
 *                   VfpSpecialPoolFault(Address, Access, Rip, Uc)
 */
#ifndef KM_VF_VF_H
#define KM_VF_VF_H

#include "km.h"

#include <stdatomic.h>
#include <stdbool.h>

/* ---- Checks (names for --verifier in parentheses) ---- */
enum {
    VF_IRQL = 1u << 0,     /* (irql) DDI IRQL rules, waits at DISPATCH, raise/lower */
    VF_HANDLES = 1u << 1,  /* (handles) NULL/bad handles, user/kernel handle mix-ups */
    VF_OBJECTS = 1u << 2,  /* (objects) reference counts going through zero */
    VF_LEAKS = 1u << 3,    /* (leaks) handles, references, pool, IRQL at unload */
    VF_PENDING = 1u << 4,  /* (pending) timers, DPCs, work items at unload */
    VF_LOCKS = 1u << 5,    /* (locks) thread ends holding a lock; spin lock and resource misuse */
    VF_DEADLOCK = 1u << 6, /* (deadlock) lock-order inversions */
    VF_SPECIAL_POOL = 1u << 7, /* (special_pool) guarded allocations */
    VF_INIT_WAITED = 1u << 8,  /* (init_waited) re-initialising an object with waiters */
    VF_ALL = (1u << 9) - 1,
    /* Everything that cannot fire on correct code and costs nothing on hot
       paths. Deadlock detection reports lock orders that other means (a gate
       lock) may make safe; special pool changes memory layout and costs
       two pages per block; the handle checks stop on a bad handle whose
       documented STATUS_INVALID_HANDLE a driver may legitimately test for
       (conformance drivers do): these are opt-in. */
    VF_DEFAULT = VF_ALL & ~(VF_DEADLOCK | VF_SPECIAL_POOL | VF_HANDLES),
};

/* 0 until the host enables checks (kmhost run: VF_DEFAULT unless --verifier). */
extern _Atomic unsigned VfpFlags;

static inline bool VfpEnabled(unsigned Check)
{
    return (atomic_load_explicit(&VfpFlags, memory_order_relaxed) & Check) != 0;
}

/* "all", "none", "default" or a comma-separated list of names, each
   optionally prefixed with '-' to remove it from what precedes
   ("all,-deadlock"). Returns false and writes why into Why on a bad name. */
bool VfpParseOptions(const char *Text, unsigned *Flags, char *Why, size_t WhyLen);
/* The names of the checks in Flags, comma-separated ("none" for 0). */
void VfpFormatFlags(unsigned Flags, char *Buf, size_t Len);

/* `kmhost verifier ...` (command.c): the persistent setting, verifier.exe
   style, in the home's boot settings. Returns the exit status. */
int VfpCliVerifier(int argc, char **argv);
/* The persistent checks for the service Service, if it is set up for them. */
bool VfpLoadPersistentFlags(const char *Service, unsigned *Flags);

/* ---- Reports (report.c) ---- */

/* One "VERIFIER: ..." line on standard output; counted for the exit status. */
__attribute__((format(printf, 1, 2))) void VfpReport(const char *Format, ...);
/* VERIFIER: lines printed so far. */
unsigned VfpReportCount(void);
/* Explain in one line, then bug check. Site is the driver's call site (NULL
   or a kmhost address: the innermost driver frame on the stack is named). */
KM_NORETURN void VfpStop(const void *Site, ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3,
                         ULONG_PTR P4, const char *Format, ...)
    __attribute__((format(printf, 7, 8)));
/* True when Address lies in a loaded driver image. */
NTAPI bool VfpIsDriverAddress(const void *Address);
/* Site when it is in a driver image, else the innermost driver frame on the
   stack (the driver's call into kmhost), else Site. */
const void *VfpDriverSite(const void *Site);
/* The current thread's IRQL (KPCR.Irql). */
static inline KIRQL VfpCurrentIrql(void)
{
    return HalPcr()->Irql;
}

/* ---- Call-time checks (calls.c) ---- */

/* The DDIs whose IRQL rule VfpCheckIrql enforces. */
typedef enum VF_DDI {
    VF_DDI_PS_CREATE_SYSTEM_THREAD, /* PASSIVE_LEVEL: 0xC4/0xE5 */
    VF_DDI_ZW_CLOSE,                /* PASSIVE_LEVEL (a Zw routine): 0xC4/0xE6 */
    VF_DDI_OB_REFERENCE_BY_HANDLE,  /* PASSIVE_LEVEL: 0xC4/0xE5 */
    VF_DDI_KE_SET_EVENT,            /* <= DISPATCH_LEVEL: 0xC4/0x80 */
} VF_DDI;
KM_SLOWPATH void VfpCheckIrqlSlow(VF_DDI Ddi, const void *Object, const void *Site);
static inline void VfpCheckIrql(VF_DDI Ddi, KIRQL Irql, const void *Object, const void *Site)
{
    if (Irql > PASSIVE_LEVEL && VfpEnabled(VF_IRQL))
        VfpCheckIrqlSlow(Ddi, Object, Site);
}

/* KeWaitForMultipleObjects: 0x120 above DISPATCH_LEVEL, 0x121 at DISPATCH
   with a NULL timeout, 0x122 at DISPATCH with a non-zero one, 0x123 a
   UserMode wait on an object on the kernel stack. */
KM_SLOWPATH void VfpCheckWaitSlow(ULONG Count, PVOID Object[], KPROCESSOR_MODE WaitMode,
                                  const LARGE_INTEGER *Timeout, const void *Site);
#define VF_CHECK_WAIT(Irql, Count, Objects, WaitMode, Timeout, Site)                               \
    do {                                                                                           \
        if (((Irql) >= DISPATCH_LEVEL || (WaitMode) != KernelMode) && VfpEnabled(VF_IRQL))         \
            VfpCheckWaitSlow((Count), (Objects), (WaitMode), (Timeout), (Site));                   \
    } while (0)

/* KfRaiseIrql to a lower level (0x30) / KfLowerIrql to a higher one (0x31),
   or beyond HIGH_LEVEL: stops when the verifier is on, else returns. */
KM_SLOWPATH void VfpCheckRaiseIrql(KIRQL Current, KIRQL New, const void *Site);
KM_SLOWPATH void VfpCheckLowerIrql(KIRQL Current, KIRQL New, const void *Site);

/* ObReferenceObjectByHandle: Status is what the lookup returned. Stops with
   0xC4/0xF5 (NULL handle), 0x3C (bad handle), 0xF7 (kernel handle with
   UserMode); called only on failure, so the success path costs nothing. */
KM_SLOWPATH void VfpCheckReferenceByHandleFailed(HANDLE Handle, POBJECT_TYPE Type,
                                                 KPROCESSOR_MODE Mode, NTSTATUS Status,
                                                 const void *Site);
/* ZwClose/NtClose of a handle that is not open: 0x93 INVALID_KERNEL_HANDLE
   (P1 the handle, P2 1) also for values without the kernel bits. */
KM_SLOWPATH void VfpCheckCloseFailed(HANDLE Handle, const void *Site);

/* PsTerminateSystemThread from a thread that is not a system thread. */
KM_SLOWPATH void VfpTerminateNotSystemThread(const void *Site);

/* KeInitializeEvent (and the other Initialize routines) on an object that
   threads are waiting on. Header is read only when the verifier is on. */
KM_SLOWPATH void VfpCheckInitializeSlow(const DISPATCHER_HEADER *Header, const void *Site);
static inline void VfpCheckInitialize(const DISPATCHER_HEADER *Header, const void *Site)
{
    if (VfpEnabled(VF_INIT_WAITED))
        VfpCheckInitializeSlow(Header, Site);
}

/* ---- Objects (refs.c) ---- */

/* A reference taken / dropped at Site (the caller's return address); only
   sites in driver images are recorded, for the leak report at unload. */
KM_SLOWPATH void VfpObjectReferencedSlow(PVOID Object, const void *Site);
KM_SLOWPATH void VfpObjectDereferencedSlow(PVOID Object, const void *Site);
static inline void VfpObjectReferenced(PVOID Object, const void *Site)
{
    if (VfpEnabled(VF_LEAKS) && VfpIsDriverAddress(Site))
        VfpObjectReferencedSlow(Object, Site);
}
static inline void VfpObjectDereferenced(PVOID Object, const void *Site)
{
    if (VfpEnabled(VF_LEAKS) && VfpIsDriverAddress(Site))
        VfpObjectDereferencedSlow(Object, Site);
}
/* The count of Object went from 0 to NewCount (1: a reference, -1: a
   dereference): 0xC4/0x3F when the verifier checks objects; returns
   otherwise (the caller then bug checks 0x18 as Windows does). */
KM_SLOWPATH void VfpBadReference(PVOID Object, LONG_PTR NewCount, const void *Site);
/* The object manager deletes an object: forget it; with VF_OBJECTS keep its
   memory (PointerCount 0) in a quarantine for a while so that a late
   reference is caught (0x3F) instead of touching freed memory. Returns true
   when the verifier keeps the memory (the caller must not free it). */
bool VfpQuarantineObject(void *Header, size_t Size);
/* Every object with references that call sites in Image still hold. */
typedef void (*VFP_REF_VISITOR)(void *Ctx, PVOID Object, LONG_PTR Count, const void *Site);
void VfpForEachDriverReference(LDR_IMAGE *Image, VFP_REF_VISITOR Visit, void *Ctx);

/* ---- Driver lifetime (unload.c) ---- */

typedef enum VF_ROUTINE { VF_ROUTINE_DRIVER_ENTRY, VF_ROUTINE_DRIVER_UNLOAD } VF_ROUTINE;
/* In the system thread that ran it, right after the routine returned. */
void VfpDriverRoutineReturned(VF_ROUTINE Routine, LDR_IMAGE *Image);
/* Before DriverEntry: records the image for the checks. */
void VfpDriverLoading(LDR_IMAGE *Image);
/* After DriverUnload returned and no thread of the driver runs: bug checks
   0xC7/0xCE for timers, DPCs and work items still pending in the image,
   then prints a VERIFIER: line per leak. */
void VfpDriverUnloaded(LDR_IMAGE *Image);

/* Queries the timer/DPC/work-item owners provide (weak: false without them).
   Each returns true for the first pending item whose routine (or, for a
   timer, the timer object itself or its DPC routine) lies in
   [Base, Base+Size), and fills the bug check parameters Windows uses. */
bool KiTimerPendingInRange(const void *Base, size_t Size, void **Timer, void **Routine);
bool KiDpcQueuedInRange(const void *Base, size_t Size, void **Dpc, void **Routine);
bool ExpWorkItemPendingInRange(const void *Base, size_t Size, void **Item, void **Routine);

/* ---- Locks and deadlock detection (locks.c) ---- */

typedef enum VF_LOCK_KIND {
    VF_LOCK_MUTEX,
    VF_LOCK_FAST_MUTEX,
    VF_LOCK_RESOURCE,
    VF_LOCK_SPIN,
    VF_LOCK_GUARDED_MUTEX,
} VF_LOCK_KIND;
/* The current thread now holds Lock (acquired at Site) / released it.
   Inline: with the lock checks off, nothing is recorded (VfpHeldCount, the
   thread's count of recorded locks, stays 0) and nothing is called. */
KM_SLOWPATH void VfpLockAcquiredSlow(VF_LOCK_KIND Kind, const void *Lock, const void *Site);
KM_SLOWPATH void VfpLockReleasedSlow(VF_LOCK_KIND Kind, const void *Lock, const void *Site);
extern __thread unsigned VfpHeldCount;
static inline void VfpLockAcquired(VF_LOCK_KIND Kind, const void *Lock, const void *Site)
{
    if (VfpEnabled(VF_LOCKS | VF_DEADLOCK))
        VfpLockAcquiredSlow(Kind, Lock, Site);
}
static inline void VfpLockReleased(VF_LOCK_KIND Kind, const void *Lock, const void *Site)
{
    if (VfpHeldCount != 0)
        VfpLockReleasedSlow(Kind, Lock, Site);
}
/* The lock's memory is reinitialised or freed: forget its order edges. */
void VfpLockDeleted(const void *Lock);
/* Blocking acquisitions call VfpLockAcquired before they block, so that an
   inversion is reported even when this very acquisition would deadlock. */

/* KeReleaseInStackQueuedSpinLock*: the lock is the KLOCK_QUEUE_HANDLE's
   LockQueue.Lock (its second pointer; bit 0 is a wait flag). */
static inline void VfpQueuedSpinLockReleased(const void *LockHandle, const void *Site)
{
    const ULONG_PTR *h = LockHandle;
    VfpLockReleased(VF_LOCK_SPIN, (const void *)(h[1] & ~(ULONG_PTR)1), Site);
}

/* ExAcquireResource*Lite (at entry): 0xC4/0x37 when normal kernel APCs are
   enabled below APC_LEVEL (no KeEnterCriticalRegion); with Wait TRUE the
   acquisition cannot fail and enters the held set (try-acquisitions with
   Wait FALSE are not tracked). */
KM_SLOWPATH void VfpResourceAcquiring(const void *Resource, BOOLEAN Wait, const void *Site);
/* ExReleaseResourceForThreadLite: the acquisition of Owner (an
   ERESOURCE_THREAD) ends; 0xC4/0x38 when the current thread releases its
   own acquisition with normal kernel APCs enabled below APC_LEVEL. */
KM_SLOWPATH void VfpResourceReleasing(const void *Resource, ULONG_PTR Owner, const void *Site);

/* KeReleaseSpinLock/KeReleaseSpinLockFromDpcLevel (at entry): a lock whose
   word is free is held by nobody: 0xC4/0x32 (P2 IRQL, P3 the lock), the
   subcode Windows gives a double release. */
KM_SLOWPATH void VfpSpinLockNotHeld(const void *Lock, const void *Site);
static inline void VfpCheckSpinLockRelease(const KSPIN_LOCK *Lock, const void *Site)
{
    /* The flag first: without the check, the release touches the lock's
       cache line once, with its store (contended, every access moves it). */
    if (VfpEnabled(VF_LOCKS) && !(__atomic_load_n(Lock, __ATOMIC_RELAXED) & 1))
        VfpSpinLockNotHeld(Lock, Site);
}

/* Fast mutex IRQL rules (at entry of the routine): 0x33 ExAcquireFastMutex
   or ExTryToAcquireFastMutex above APC_LEVEL; 0x34 ExReleaseFastMutex at an
   IRQL other than APC_LEVEL; 0x39 / 0x3A the Unsafe acquire / release
   neither at APC_LEVEL nor inside a critical or guarded region. P2 the IRQL,
   P3 the mutex (0x39/0x3A: P3 the thread's APC disable count, P4 the mutex). */
enum {
    VF_FM_ACQUIRE = 0x33,
    VF_FM_RELEASE = 0x34,
    VF_FM_ACQUIRE_UNSAFE = 0x39,
    VF_FM_RELEASE_UNSAFE = 0x3A
};
KM_SLOWPATH void VfpFastMutexMisuse(ULONG Subcode, const void *Mutex, const void *Site);
static inline void VfpCheckFastMutex(ULONG Subcode, const void *Mutex, const void *Site)
{
    KIRQL irql = VfpCurrentIrql();
    bool suspect = Subcode == VF_FM_ACQUIRE ? irql > APC_LEVEL : irql != APC_LEVEL;
    if (suspect && VfpEnabled(VF_IRQL))
        VfpFastMutexMisuse(Subcode, Mutex, Site);
}

/* The kernel's 0xC7 check of an unloading image's range [Start, End)
   (ke/timer.c, ke/dpc.c) calls these for each timer still set / DPC still
   queued, before its own test: with VF_PENDING, one that lies in the range
   (its object, its DPC or its routine) is explained in a line naming its
   routine (module+offset), then bug check 0xC7 with the kernel's
   parameters (P1 0 timer, 1 DPC, 2 DPC routine; P2 that address). */
void VfpPendingTimer(const KTIMER *Timer, const void *Start, const void *End);
void VfpQueuedDpc(const KDPC *Dpc, const void *Start, const void *End);
/* A wait returned Status: mutexes it acquired enter the lock order (wait.c). */
KM_SLOWPATH void VfpMutexAcquiredByWait(PVOID Mutex, const void *Site);
KM_SLOWPATH void VfpWaitDoneSlow(ULONG Count, PVOID Object[], WAIT_TYPE WaitType, NTSTATUS Status,
                                 const void *Site);
static inline void VfpWaitDone(ULONG Count, PVOID Object[], WAIT_TYPE WaitType, NTSTATUS Status,
                               const void *Site)
{
    if (VfpEnabled(VF_DEADLOCK))
        VfpWaitDoneSlow(Count, Object, WaitType, Status, Site);
}
/* Thread exit (ps/thread.c, before mutants are abandoned): 0xC4/0x100A
   when the thread still holds a lock it acquired. */
void VfpThreadExiting(void *Thread);
/* For unit tests: forget every lock and order edge. */
void VfpLocksReset(void);

/* ---- Special pool (specialpool.c) ---- */

/* Size bytes at the end of pages of their own (at their start when Align is
   a page or more), followed by a PROT_NONE guard page; a freed block stays
   PROT_NONE for a while. 16-byte aligned; NULL on failure (the pool then
   uses ordinary memory). */
void *VfpSpecialPoolAllocate(size_t Size, size_t Align);
/* True when Base came from VfpSpecialPoolAllocate (it is freed now); false
   for any other address, which the caller frees itself. */
bool VfpSpecialPoolFree(void *Base);
/* From the fault handler: if Address is in a freed special pool block or
   past the end of a live one, bug checks 0xD5 / 0xD6 and does not return. */
void VfpSpecialPoolFault(ULONG_PTR Address, ULONG_PTR Access, ULONG_PTR Rip, const void *Uc);

#endif
