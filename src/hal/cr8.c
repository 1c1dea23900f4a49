/*
 * CR8 is the task-priority register: on x64 Windows it is the IRQL, and the
 * WDK's inline KeGetCurrentIrql/KeRaiseIrql/KeLowerIrql read and write it
 * directly (`mov reg, cr8` = 44 0f 20 c0+r, `mov cr8, reg` = 44 0f 22 c0+r).
 * In user mode both trap; this emulates them on the thread's KPCR Irql, the
 * same byte that KeGetCurrentIrql and KfRaiseIrql use, so both paths agree.
 */
#include "hal/trap.h"

__attribute__((weak)) KM_SLOWPATH void KiIrqlLowered(KIRQL Old, KIRQL New)
{
    (void)Old;
    (void)New;
}

HALP_EMULATION HalpEmulateCr8(ucontext_t *Uc, const HALP_INSN *I, BOOLEAN *Lowered, KIRQL *Old,
                              KIRQL *New)
{
    const ZydisDecodedOperand *dst = &I->Ops[0], *src = &I->Ops[1];
    KPCR *pcr;
    ULONG64 value;

    *Lowered = FALSE;
    if (I->Insn.mnemonic != ZYDIS_MNEMONIC_MOV || I->Insn.operand_count_visible != 2 ||
        dst->type != ZYDIS_OPERAND_TYPE_REGISTER || src->type != ZYDIS_OPERAND_TYPE_REGISTER)
        return HalpNotEmulated;
    if (dst->reg.value != ZYDIS_REGISTER_CR8 && src->reg.value != ZYDIS_REGISTER_CR8)
        return HalpNotEmulated;
    pcr = HalPcr();
    if (!pcr)
        return HalpNotEmulated; /* not a driver thread: a kmhost bug */

    if (src->reg.value == ZYDIS_REGISTER_CR8) {
        /* The processor zero-extends CR8 into the 64-bit register. */
        if (!HalpSetGpr(Uc, dst->reg.value, pcr->Irql))
            return HalpNotEmulated;
    } else {
        if (!HalpGetGpr(Uc, src->reg.value, &value))
            return HalpNotEmulated;
        /* Bits 63:4 of CR8 are reserved: setting one raises #GP. */
        if (value > HIGH_LEVEL)
            return HalpNotEmulated;
        *Old = pcr->Irql;
        *New = (KIRQL)value;
        pcr->Irql = (KIRQL)value;
        *Lowered = *New < *Old;
    }
    Uc->uc_mcontext.gregs[REG_RIP] += I->Insn.length;
    return HalpEmulated;
}
