/*
 * Critical and guarded regions: the thread's APC-disable counts.
 *
 * KTHREAD.KernelApcDisable is 0 outside any critical region and is
 * decremented by each KeEnterCriticalRegion (and by each mutex acquired,
 * wait.c); SpecialApcDisable is the same for guarded regions. While either
 * is non-zero the thread's normal kernel APCs are held back; while
 * SpecialApcDisable is, all kernel APCs. Only the thread itself changes its
 * own counts, so plain reads and writes suffice.
 *
 * Leaving the last region lets pending APCs in: KiCheckForKernelApcDelivery
 * (apc.c) delivers them when the thread is at PASSIVE_LEVEL.
 */
#include "ke/apc.h"
#include "ke/dpc.h"

#define APC_INDEX_MISMATCH 0x01
#define DRIVER_VERIFIER_DETECTED_VIOLATION 0xC4

/* Windows' KTHREAD.CombinedApcDisable: both counts in one 32-bit value. */
static ULONG KipCombinedApcDisable(PKTHREAD t)
{
    return ((ULONG)(USHORT)t->SpecialApcDisable << 16) | (USHORT)t->KernelApcDisable;
}

/* Driver Verifier: entering or leaving a critical region above APC_LEVEL
   is 0xC4 with P1 0x11A / 0x11B and P2 the IRQL. */
static void KipCheckRegionIrql(ULONG Subcode)
{
    KIRQL irql = KiCurrentIrql();
    if (irql > APC_LEVEL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, Subcode, irql, 0, 0);
}

VOID NTAPI KeEnterCriticalRegion(VOID)
{
    KipCheckRegionIrql(0x11A);
    KiCurrentThread()->KernelApcDisable--;
}
KM_EXPORT(KeEnterCriticalRegion);

/* Driver Verifier: leaving a critical region the thread is not in is 0xC4
   with P1 0x3E. */
VOID NTAPI KeLeaveCriticalRegion(VOID)
{
    PKTHREAD t = KiCurrentThread();
    KipCheckRegionIrql(0x11B);
    if (t->KernelApcDisable >= 0)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, 0x3E, 0, 0, 0);
    if (++t->KernelApcDisable == 0)
        KiCheckForKernelApcDelivery();
}
KM_EXPORT(KeLeaveCriticalRegion);

VOID NTAPI KeEnterGuardedRegion(VOID)
{
    KiCurrentThread()->SpecialApcDisable--;
}
KM_EXPORT(KeEnterGuardedRegion);

/*
 * Leaving a guarded region the thread is not in has no check of its own in
 * the documentation; Windows reports the unbalanced count as
 * APC_INDEX_MISMATCH (P1 the routine, P2 the APC state index, 0 for a system
 * thread, P3 the combined APC disable count) when the thread returns to the
 * system; kmhost reports it here, where the bug is.
 */
VOID NTAPI KeLeaveGuardedRegion(VOID)
{
    PKTHREAD t = KiCurrentThread();
    if (t->SpecialApcDisable >= 0)
        KeBugCheckEx(APC_INDEX_MISMATCH, (ULONG_PTR)__builtin_return_address(0), 0,
                     KipCombinedApcDisable(t), 0);
    if (++t->SpecialApcDisable == 0)
        KiCheckForKernelApcDelivery();
}
KM_EXPORT(KeLeaveGuardedRegion);

/* Documented: TRUE inside a critical or a guarded region. */
BOOLEAN NTAPI KeAreApcsDisabled(VOID)
{
    PKTHREAD t = KiCurrentThread();
    return t->KernelApcDisable != 0 || t->SpecialApcDisable != 0;
}
KM_EXPORT(KeAreApcsDisabled);

/* Documented: TRUE inside a guarded region or at IRQL >= APC_LEVEL. */
BOOLEAN NTAPI KeAreAllApcsDisabled(VOID)
{
    return KiCurrentThread()->SpecialApcDisable != 0 || KiCurrentIrql() >= APC_LEVEL;
}
KM_EXPORT(KeAreAllApcsDisabled);
