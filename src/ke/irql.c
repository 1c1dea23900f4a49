/*
 * IRQL, the exported routines. The IRQL is per thread, in its KPCR at
 * gs:[0x50], the byte that the trapped `mov cr8` of inline WDK code also
 * reads and writes (src/hal/cr8.c), so both paths always agree.
 *
 * The rules are KeRaiseIrql's and KeLowerIrql's documented ones
 * (learn.microsoft.com, wdm.h KeRaiseIrql: "If the new IRQL is less than the
 * current IRQL, a bug check occurs"; KeLowerIrql: "It is a fatal error to call
 * KeLowerIrql using an input NewIrql that was not returned by the immediately
 * preceding call to KeRaiseIrql", and "a call to KeLowerIrql is valid if it
 * specifies NewIrql <= CurrentIrql"). The codes are the ones named for these
 * conditions in the bug check reference: raising to a lower level is
 * 0x9 IRQL_NOT_GREATER_OR_EQUAL, lowering to a higher level is
 * 0xA IRQL_NOT_LESS_OR_EQUAL; both with P1 = the current IRQL, P2 = the
 * requested IRQL. (Driver Verifier reports these as 0xC4 subcodes 0x30/0x31;
 * that is the verifier's job.)
 */
#include "hal/hal.h"
#include "ke/ke.h"
#include "vf/vf.h"

#define IRQL_NOT_LESS_OR_EQUAL 0x0A
#define IRQL_NOT_GREATER_OR_EQUAL 0x09

KM_SLOWPATH void KiIrqlMisuse(KIRQL Current, KIRQL New, bool Raise, const void *Site)
{
    if (Raise) {
        VfpCheckRaiseIrql(Current, New, Site); /* verifier: 0xC4/0x30 */
        if (New < Current)
            KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, Current, New, 0, 0);
    } else {
        VfpCheckLowerIrql(Current, New, Site); /* verifier: 0xC4/0x31 */
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, Current, New, 0, 0);
    }
}

KIRQL NTAPI KeGetCurrentIrql(VOID)
{
    return KiCurrentIrql();
}
KM_EXPORT(KeGetCurrentIrql);

KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql)
{
    return KiRaiseIrql(NewIrql, __builtin_return_address(0));
}
KM_EXPORT(KfRaiseIrql);

VOID NTAPI KfLowerIrql(KIRQL NewIrql)
{
    KiLowerIrql(NewIrql, __builtin_return_address(0));
}
KM_EXPORT(KfLowerIrql);

KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID)
{
    return KfRaiseIrql(DISPATCH_LEVEL);
}
KM_EXPORT(KeRaiseIrqlToDpcLevel);

KIRQL NTAPI KeRaiseIrqlToSynchLevel(VOID)
{
    return KfRaiseIrql(SYNCH_LEVEL);
}
KM_EXPORT(KeRaiseIrqlToSynchLevel);
