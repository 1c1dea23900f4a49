/*
 * gs: accesses of driver code, emulated, when the GS base is 0 (hal/pcr.c).
 *
 * The loader rewrites the gs: accesses it finds into reads of the KPCR slot
 * (ldr/patch.h); one it could not rewrite (too short to hold a jump, an
 * unusual operand, code it never saw) reads or writes an address below
 * 0x1000, which is never mapped, and faults. This does what the instruction
 * would have done on the KPCR: the loads of usdload.c (mov, movzx, movsx,
 * cmp, test and the ALU forms into a register, SSE loads) and a mov store
 * from a register or an immediate. Anything else, or an offset past the
 * KPCR's page, stays a fault.
 */
#include "hal/trap.h"

#include <string.h>

HALP_EMULATION HalpEmulateGs(ucontext_t *Uc, const HALP_INSN *I)
{
    KPCR *pcr = HalPcr();
    if (!pcr || HalUsesGsBase())
        return HalpNotEmulated; /* a thread with no KPCR, or a real fault */
    const ZydisDecodedOperand *mem = HalpSingleMemoryOperand(I);
    if (!mem || mem->mem.segment != ZYDIS_REGISTER_GS)
        return HalpNotEmulated;
    ULONG64 address = HalpEffectiveAddress(Uc, I, mem); /* adds the KPCR */
    ULONG64 offset = address - (ULONG64)(uintptr_t)pcr;
    ULONG size = mem->size / 8;
    if (size == 0 || size > 16 || offset >= sizeof(KPCR) || offset + size > sizeof(KPCR))
        return HalpNotEmulated;
    UCHAR *at = (UCHAR *)pcr + offset;
    if (mem->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) {
        const ZydisDecodedOperand *src = &I->Ops[1];
        ULONG64 value;
        if (I->Insn.mnemonic != ZYDIS_MNEMONIC_MOV || mem != &I->Ops[0] || size > 8)
            return HalpNotEmulated;
        if (src->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
            value = src->imm.value.u;
        else if (src->type != ZYDIS_OPERAND_TYPE_REGISTER ||
                 !HalpGetGpr(Uc, src->reg.value, &value))
            return HalpNotEmulated;
        memcpy(at, &value, size);
        Uc->uc_mcontext.gregs[REG_RIP] += I->Insn.length;
        return HalpEmulated;
    }
    UCHAR bytes[16];
    memcpy(bytes, at, size);
    return HalpEmulateLoad(Uc, I, mem, bytes, address);
}
