/*
 * Call-time checks: the IRQL rules of the DDIs kmhost exports, waits at
 * raised IRQL, IRQL raise/lower direction, bad handles, re-initialising an
 * object with waiters. Each stops with DRIVER_VERIFIER_DETECTED_VIOLATION
 * (0xC4) and the subcode and parameters of Microsoft's bug check reference;
 * its callers reach this file only when a cheap test (an IRQL load and a
 * branch, or a failed lookup) already says something is wrong.
 */
#include "vf/vf.h"

#include "ps/ps.h"

#include <pthread.h>

#define DRIVER_VERIFIER_DETECTED_VIOLATION 0xC4

static const char *VfpIrqlName(KIRQL Irql)
{
    switch (Irql) {
    case PASSIVE_LEVEL:
        return "PASSIVE_LEVEL";
    case APC_LEVEL:
        return "APC_LEVEL";
    case DISPATCH_LEVEL:
        return "DISPATCH_LEVEL";
    case HIGH_LEVEL:
        return "HIGH_LEVEL";
    default:
        return Irql > HIGH_LEVEL ? "an invalid IRQL" : "a device IRQL";
    }
}

KM_SLOWPATH void VfpCheckIrqlSlow(VF_DDI Ddi, const void *Object, const void *Site)
{
    KIRQL irql = KiCurrentIrql();
    switch (Ddi) {
    case VF_DDI_PS_CREATE_SYSTEM_THREAD:
    case VF_DDI_OB_REFERENCE_BY_HANDLE:
        if (irql == PASSIVE_LEVEL)
            return;
        /* 0xE5: a kernel API called at the wrong IRQL; P2 the IRQL. */
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0xE5, irql, 0, 0,
                "%s called at IRQL %u (%s): it must be called at PASSIVE_LEVEL",
                Ddi == VF_DDI_PS_CREATE_SYSTEM_THREAD ? "PsCreateSystemThread"
                                                      : "ObReferenceObjectByHandle",
                irql, VfpIrqlName(irql));
    case VF_DDI_ZW_CLOSE: {
        if (irql == PASSIVE_LEVEL)
            return;
        /* 0xE6: a Zw routine not at PASSIVE_LEVEL with special kernel APCs
           enabled; P2 the driver's call site, P3 the IRQL, P4 the thread's
           special-APC-disable count. */
        PKTHREAD t = KiCurrentThread();
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0xE6, (ULONG_PTR)Site, irql,
                t ? (ULONG_PTR)(LONG_PTR)t->SpecialApcDisable : 0,
                "ZwClose called at IRQL %u (%s): Zw routines must be called at PASSIVE_LEVEL", irql,
                VfpIrqlName(irql));
    }
    case VF_DDI_KE_SET_EVENT:
        if (irql <= DISPATCH_LEVEL)
            return;
        /* 0x80: KeSetEvent above DISPATCH_LEVEL; P2 the IRQL, P3 the event. */
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x80, irql, (ULONG_PTR)Object, 0,
                "KeSetEvent(%p) called at IRQL %u (%s): the most it allows is DISPATCH_LEVEL",
                Object, irql, VfpIrqlName(irql));
    }
}

static bool VfpOnCurrentStack(const void *Address)
{
    pthread_attr_t attr;
    void *base;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr))
        return false;
    int err = pthread_attr_getstack(&attr, &base, &size);
    pthread_attr_destroy(&attr);
    return !err && (uintptr_t)Address >= (uintptr_t)base &&
           (uintptr_t)Address - (uintptr_t)base < size;
}

/*
 * Documented: callers of KeWaitForSingleObject/KeWaitForMultipleObjects run
 * at IRQL <= DISPATCH_LEVEL, and at DISPATCH_LEVEL only with a zero
 * timeout. The reference lists P2 as the address of the IRQL value; kmhost
 * keeps the IRQL in the thread's KPCR and gives the value itself, which is
 * what a reader of the report needs. P3 is the object (the array for a
 * multiple-object wait), P4 the address of the timeout.
 */
KM_SLOWPATH void VfpCheckWaitSlow(ULONG Count, PVOID Object[], KPROCESSOR_MODE WaitMode,
                                  const LARGE_INTEGER *Timeout, const void *Site)
{
    KIRQL irql = KiCurrentIrql();
    ULONG_PTR object = Count == 1 ? (ULONG_PTR)Object[0] : (ULONG_PTR)Object;
    if (irql > DISPATCH_LEVEL)
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x120, irql, object, (ULONG_PTR)Timeout,
                "wait at IRQL %u (%s): a thread may wait only at IRQL <= DISPATCH_LEVEL", irql,
                VfpIrqlName(irql));
    if (irql == DISPATCH_LEVEL && !Timeout)
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x121, irql, object, 0,
                "wait at DISPATCH_LEVEL with a NULL (infinite) timeout: at DISPATCH_LEVEL only "
                "a zero timeout is allowed; wait at PASSIVE_LEVEL or APC_LEVEL");
    if (irql == DISPATCH_LEVEL && Timeout->QuadPart != 0)
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x122, irql, object, (ULONG_PTR)Timeout,
                "wait at DISPATCH_LEVEL with a non-zero timeout (%lld): at DISPATCH_LEVEL only "
                "a zero timeout is allowed",
                (long long)Timeout->QuadPart);
    if (WaitMode != KernelMode) {
        for (ULONG i = 0; i < Count; i++) {
            if (VfpOnCurrentStack(Object[i]))
                /* 0x123: P2 the object on the stack. */
                VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x123, (ULONG_PTR)Object[i], 0, 0,
                        "UserMode wait on object %p, which is on the kernel stack: the stack "
                        "of a thread in a UserMode wait may be paged out; wait in KernelMode "
                        "or put the object in nonpaged pool",
                        Object[i]);
        }
    }
}

KM_SLOWPATH void VfpCheckRaiseIrql(KIRQL Current, KIRQL New, const void *Site)
{
    if (!VfpEnabled(VF_IRQL) || (New >= Current && New <= HIGH_LEVEL))
        return;
    /* 0x30: P2 the current IRQL, P3 the requested one. */
    VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x30, Current, New, 0,
            "KeRaiseIrql from IRQL %u to %u: the new IRQL must be at least the current one "
            "and at most HIGH_LEVEL (an uninitialised variable?)",
            Current, New);
}

KM_SLOWPATH void VfpCheckLowerIrql(KIRQL Current, KIRQL New, const void *Site)
{
    if (!VfpEnabled(VF_IRQL) || (New <= Current && New <= HIGH_LEVEL))
        return;
    /* 0x31: P2 the current IRQL, P3 the requested one, P4 0 (the new IRQL is bad). */
    VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x31, Current, New, 0,
            "KeLowerIrql from IRQL %u to %u: pass the value the matching KeRaiseIrql returned, "
            "which is never above the current IRQL",
            Current, New);
}

static bool VfpIsKernelHandle(HANDLE Handle)
{
    return ((ULONG_PTR)Handle & KERNEL_HANDLE_MASK) == KERNEL_HANDLE_MASK && (LONG_PTR)Handle < -2;
}

KM_SLOWPATH void VfpCheckReferenceByHandleFailed(HANDLE Handle, POBJECT_TYPE Type,
                                                 KPROCESSOR_MODE Mode, NTSTATUS Status,
                                                 const void *Site)
{
    if (!VfpEnabled(VF_HANDLES) || Status != STATUS_INVALID_HANDLE)
        return;
    const char *type = Type ? Type->Name : "any";
    if (!Handle)
        /* 0xF5: a NULL handle; P3 the object type. */
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0xF5, 0, (ULONG_PTR)Type, 0,
                "ObReferenceObjectByHandle with a NULL handle (object type %s)", type);
    if (Mode != KernelMode && VfpIsKernelHandle(Handle))
        /* 0xF7: a UserMode reference to a kernel handle in the System process;
           P2 the handle, P3 the type, P4 the access mode. */
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0xF7, (ULONG_PTR)Handle, (ULONG_PTR)Type,
                Mode,
                "ObReferenceObjectByHandle(%p, UserMode) of a kernel handle: UserMode is for "
                "handles a user-mode caller gave you, and a kernel handle is never one",
                (void *)Handle);
    if (Mode == KernelMode)
        /* 0x3C: a bad handle; P2 the handle, P3 the type. */
        VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0x3C, (ULONG_PTR)Handle, (ULONG_PTR)Type,
                0,
                "ObReferenceObjectByHandle(%p, KernelMode): not an open handle (closed "
                "already, or never opened)",
                (void *)Handle);
}

KM_SLOWPATH void VfpCheckCloseFailed(HANDLE Handle, const void *Site)
{
    if (!VfpEnabled(VF_HANDLES) || !Handle || (LONG_PTR)Handle == -1 || (LONG_PTR)Handle == -2)
        return;
    /* Closing a handle that is not open from kernel mode is bug check 0x93
       INVALID_KERNEL_HANDLE: P1 the handle, P2 1 (an invalid handle was closed). */
    VfpStop(Site, 0x93, (ULONG_PTR)Handle, 1, 0, 0,
            "ZwClose(%p): not an open handle (closed twice?)", (void *)Handle);
}

KM_SLOWPATH void VfpTerminateNotSystemThread(const void *Site)
{
    if (!VfpEnabled(VF_IRQL))
        return;
    /* Documented: PsTerminateSystemThread is for system threads only; it
       returns STATUS_INVALID_PARAMETER otherwise. There is no 0xC4 subcode
       for it: the verifier reports 0xE5 (a kernel API called in the wrong
       context) with the current IRQL. */
    VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0xE5, KiCurrentIrql(), 0, 0,
            "PsTerminateSystemThread called by a thread that is not a system thread created "
            "by PsCreateSystemThread");
}

typedef struct VFP_WAITED {
    const DISPATCHER_HEADER *Header;
    PETHREAD Waiter;
} VFP_WAITED;

/* The wait blocks of other threads are read without their objects' locks
   (taking the lock of an object whose memory may be garbage could spin
   forever): the values are only compared with the object's address, never
   followed, and a stale value at worst misses a waiter. The race is by
   design, so ThreadSanitizer is told not to report it. */
#define VFP_RACY_READS __attribute__((no_sanitize("thread")))

VFP_RACY_READS static void VfpFindWaiter(void *Ctx, PETHREAD Thread)
{
    VFP_WAITED *w = Ctx;
    if (w->Waiter || atomic_load(&Thread->Tcb.WaitStatus) != KI_WAIT_PENDING)
        return;
    for (int i = 0; i < THREAD_WAIT_OBJECTS; i++) {
        const KWAIT_BLOCK *b = &Thread->Tcb.WaitBlock[i];
        if (b->Object == (PVOID)w->Header && b->BlockState == KI_BLOCK_ACTIVE)
            w->Waiter = Thread;
    }
}

/*
 * An object's memory before its first initialisation is garbage, so the
 * object itself is never read: the threads blocked in a wait say which
 * objects have waiters (their built-in wait blocks; waits on a driver's
 * KWAIT_BLOCK array are not seen). There is no 0xC4 subcode for this
 * mistake; kmhost uses 0xC4/0xE1 "a synchronization object ... invalid"
 * with P2 the object, which is what Driver Verifier reports for a
 * synchronization object it cannot accept.
 */
VFP_RACY_READS KM_SLOWPATH void VfpCheckInitializeSlow(const DISPATCHER_HEADER *Header,
                                                       const void *Site)
{
    /* Memory never used for an object (zeroed) or an object with an empty
       wait list has no waiter: only other contents need the thread scan. */
    const LIST_ENTRY *head = &Header->WaitListHead;
    const PLIST_ENTRY flink = head->Flink;
    if (!flink || flink == head)
        return;
    VFP_WAITED w = {Header, NULL};
    PspForEachThread(VfpFindWaiter, &w);
    if (!w.Waiter)
        return;
    char who[256];
    PsDescribeThread(&w.Waiter->Tcb, who, sizeof(who));
    VfpStop(Site, DRIVER_VERIFIER_DETECTED_VIOLATION, 0xE1, (ULONG_PTR)Header, 0, 0,
            "object %p initialised again while %s waits on it: the waiter would never be "
            "released; initialise an object once, before any thread can wait on it",
            (const void *)Header, who);
}
