/*
 * Thread affinity: KeSetSystemAffinityThreadEx and its relatives.
 *
 * Documented: a thread runs with its user affinity (for a system thread,
 * every processor) until a driver sets a system affinity; the routines
 * return the previous system affinity, 0 when the user affinity was in
 * force, and KeRevertToUserAffinityThreadEx puts back what it is given (0:
 * the user affinity). A mask is taken only when it names processors only
 * and at least one of them is active; otherwise the call has no effect. At
 * IRQL <= APC_LEVEL the thread runs on a processor of the new set when the
 * call returns; at DISPATCH_LEVEL the move waits until the IRQL drops below
 * DISPATCH_LEVEL. Callers run at IRQL <= DISPATCH_LEVEL.
 *
 * kmhost: processor i is a host CPU (hal/processor.c); a move binds the host
 * thread to the CPUs of the set and makes KPCR.Number a processor of it (the
 * current one when it is in the set, else the lowest), which is what
 * KeGetCurrentProcessorNumber(Ex) then returns. A deferred move sets
 * KPCR.InterruptRequest so that the lowering calls KiIrqlLowered, which
 * applies it (KiAffinityIrqlLowered).
 *
 * Invariant: the affinity fields of a KTHREAD change only on that thread.
 * A DPC routine runs on its processor's DPC thread, at DISPATCH_LEVEL for
 * as long as it runs: a call there has no effect (the thread belongs to the
 * processor, and no lowering would ever apply the move).
 */
#include "ke/dpc.h"

#include "hal/hal.h"
#include "vf/vf.h"

#define DRIVER_VIOLATION 0x121

typedef struct _GROUP_AFFINITY {
    KAFFINITY Mask;
    USHORT Group;
    USHORT Reserved[3];
} GROUP_AFFINITY, *PGROUP_AFFINITY;
_Static_assert(sizeof(GROUP_AFFINITY) == 16, "GROUP_AFFINITY");

static KM_SLOWPATH void KipAffinityAboveDispatch(const char *Routine, KIRQL Irql, const void *Site)
{
    /* 0x121 DRIVER_VIOLATION, P1 2: a routine called above the highest
       IRQL it allows; P2 the IRQL, P3 that highest IRQL. */
    VfpStop(Site, DRIVER_VIOLATION, 2, Irql, DISPATCH_LEVEL, 0,
            "%s called at IRQL %u: the most it allows is DISPATCH_LEVEL", Routine, Irql);
}

static inline void KipCheckIrql(const char *Routine, const void *Site)
{
    KIRQL irql = KiCurrentIrql();
    if (irql > DISPATCH_LEVEL && VfpEnabled(VF_IRQL))
        KipAffinityAboveDispatch(Routine, irql, Site);
}

/* Names processors only, at least one (all of ours are active). */
static bool KipValidMask(KAFFINITY Mask)
{
    return Mask != 0 && (Mask & ~KeQueryActiveProcessors()) == 0;
}

static void KipSetProcessor(USHORT Number)
{
    KPCR *pcr = KiCurrentThread()->Pcr;
    __atomic_store_n(&pcr->Number, Number, __ATOMIC_RELAXED);
    pcr->LegacyNumber = (UCHAR)Number;
}

/* Moves the current thread to the processors of Mask (0: its user
   affinity). Runs below DISPATCH_LEVEL, or from KiIrqlLowered. */
static void KipMove(PKTHREAD t, KAFFINITY Mask)
{
    if (Mask == 0) {
        HalpBindThread(0);
        KipSetProcessor(t->UserProcessor);
        return;
    }
    HalpBindThread(Mask);
    USHORT n = KiCurrentProcessorNumber();
    if (n >= 64 || !(Mask & ((KAFFINITY)1 << n)))
        KipSetProcessor((USHORT)__builtin_ctzll(Mask));
}

/* The move now, or when the IRQL drops below DISPATCH_LEVEL (Mask 0: back
   to the user affinity). */
static void KipMoveOrDefer(PKTHREAD t, KAFFINITY Mask)
{
    if (KiCurrentIrql() < DISPATCH_LEVEL) {
        t->AffinityPending = FALSE;
        KipMove(t, Mask);
        return;
    }
    t->PendingAffinity = Mask;
    t->AffinityPending = TRUE;
    __atomic_store_n(&t->Pcr->InterruptRequest, 1, __ATOMIC_SEQ_CST);
}

void KiAffinityIrqlLowered(KIRQL Old, KIRQL New)
{
    PKTHREAD t = KiCurrentThread();
    if (Old < DISPATCH_LEVEL || New >= DISPATCH_LEVEL || !t || !t->AffinityPending)
        return;
    t->AffinityPending = FALSE;
    KipMove(t, t->PendingAffinity);
}

/* Sets the system affinity; returns the previous one (0: the user
   affinity was in force). */
static KAFFINITY KipSetSystemAffinity(KAFFINITY Affinity)
{
    PKTHREAD t = KiCurrentThread();
    KAFFINITY previous = t->SystemAffinityActive ? t->SystemAffinity : 0;
    if (!KipValidMask(Affinity) || KiIsDpcThread())
        return previous; /* documented: no effect */
    if (!t->SystemAffinityActive) {
        /* The user affinity's processor, to come back to: a move still
           pending does not count. */
        t->UserProcessor = KiCurrentProcessorNumber();
        t->SystemAffinityActive = TRUE;
    }
    t->SystemAffinity = Affinity;
    KipMoveOrDefer(t, Affinity);
    return previous;
}

static void KipRevert(KAFFINITY Affinity)
{
    PKTHREAD t = KiCurrentThread();
    if (!t->SystemAffinityActive || KiIsDpcThread())
        return; /* documented: no effect without a previous set */
    if (Affinity != 0) {
        if (!KipValidMask(Affinity))
            return;
        t->SystemAffinity = Affinity;
        KipMoveOrDefer(t, Affinity);
        return;
    }
    t->SystemAffinityActive = FALSE;
    t->SystemAffinity = 0;
    KipMoveOrDefer(t, 0);
}

KAFFINITY NTAPI KeSetSystemAffinityThreadEx(KAFFINITY Affinity)
{
    KipCheckIrql("KeSetSystemAffinityThreadEx", __builtin_return_address(0));
    return KipSetSystemAffinity(Affinity);
}
KM_EXPORT(KeSetSystemAffinityThreadEx);

VOID NTAPI KeRevertToUserAffinityThreadEx(KAFFINITY Affinity)
{
    KipCheckIrql("KeRevertToUserAffinityThreadEx", __builtin_return_address(0));
    KipRevert(Affinity);
}
KM_EXPORT(KeRevertToUserAffinityThreadEx);

/* The Windows 2000 forms: no previous affinity to return or restore. */
VOID NTAPI KeSetSystemAffinityThread(KAFFINITY Affinity)
{
    KipCheckIrql("KeSetSystemAffinityThread", __builtin_return_address(0));
    KipSetSystemAffinity(Affinity);
}
KM_EXPORT(KeSetSystemAffinityThread);

VOID NTAPI KeRevertToUserAffinityThread(VOID)
{
    KipCheckIrql("KeRevertToUserAffinityThread", __builtin_return_address(0));
    KipRevert(0);
}
KM_EXPORT(KeRevertToUserAffinityThread);

/* Documented: group 0 is the only group here; a mask for another group, or
   with Reserved not zero, has no effect. PreviousAffinity receives the
   previous system group affinity, all zero when the user affinity was in
   force. KeRevertToUserGroupAffinityThread takes that back. */
VOID NTAPI KeSetSystemGroupAffinityThread(PGROUP_AFFINITY Affinity,
                                          PGROUP_AFFINITY PreviousAffinity)
{
    KipCheckIrql("KeSetSystemGroupAffinityThread", __builtin_return_address(0));
    PKTHREAD t = KiCurrentThread();
    KAFFINITY previous = t->SystemAffinityActive ? t->SystemAffinity : 0;
    if (Affinity && Affinity->Group == 0 && !Affinity->Reserved[0] && !Affinity->Reserved[1] &&
        !Affinity->Reserved[2])
        previous = KipSetSystemAffinity(Affinity->Mask);
    if (PreviousAffinity)
        *PreviousAffinity = (GROUP_AFFINITY){.Mask = previous};
}
KM_EXPORT(KeSetSystemGroupAffinityThread);

VOID NTAPI KeRevertToUserGroupAffinityThread(PGROUP_AFFINITY PreviousAffinity)
{
    KipCheckIrql("KeRevertToUserGroupAffinityThread", __builtin_return_address(0));
    if (PreviousAffinity && PreviousAffinity->Group == 0)
        KipRevert(PreviousAffinity->Mask);
}
KM_EXPORT(KeRevertToUserGroupAffinityThread);
