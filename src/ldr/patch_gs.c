/*
 * Stubs for gs: accesses, when the GS base is 0 (hal/pcr.c).
 *
 * A site such as `mov rax, gs:[0x188]` (KeGetCurrentThread) becomes a jump
 * to a stub that does the same access on the KPCR, which it loads from
 * kmhost's TLS slot into a scratch register:
 *
 *   [push S]                       ; unless S is the load's own destination
 *   mov S, fs:[slot]
 *   [lea S, [S + B]]               ; for gs:[B + I*s + disp]
 *   INSN with [S + B*1 + disp] for gs:[B + disp] (or [S + I*s + disp])
 *   [pop S]
 *   jmp back
 *
 * S is a general register the instruction does not name. mov, push and pop
 * change no flag, so the instruction's own flags are what is left, and every
 * other register is as the instruction leaves it. Windows' x64 ABI has no
 * red zone and kernel code runs with none, so the push cannot clobber data.
 * mov, push, pop and lea change no flag. Left to the trap (hal/gsload.c):
 * instructions shorter than 4 bytes, addressing through RSP or RIP, using
 * the stack themselves (push, pop, call), branches, and implicit memory
 * operands.
 */
#include "ldr/patch.h"

#include <string.h>

typedef struct LDRP_GS_SITE {
    ZydisEncoderRequest Insn; /* the instruction on [S + ...], no segment */
    ZydisRegister Scratch;
    ZydisRegister AddBase; /* gs:[B + I*s + d]: lea S, [S + B] first */
    BOOLEAN Push;
    ULONG64 Back;
} LDRP_GS_SITE;

static BOOLEAN LdrpBuildGs(LDRP_ASM *A, ULONG64 Address, const void *Context)
{
    const LDRP_GS_SITE *g = Context;
    ZydisEncoderRequest insn = g->Insn;
    memset(A, 0, sizeof(*A));
    A->Address = Address;
    if (g->Push)
        LdrpEmitReg(A, ZYDIS_MNEMONIC_PUSH, g->Scratch);
    LdrpEmitLoadPcr(A, g->Scratch);
    if (g->AddBase != ZYDIS_REGISTER_NONE) {
        ZydisEncoderRequest lea = LdrpReq(ZYDIS_MNEMONIC_LEA);
        LdrpOpReg(&lea, g->Scratch);
        LdrpOpMem(&lea, g->Scratch, 0, 8);
        lea.operands[1].mem.index = g->AddBase;
        lea.operands[1].mem.scale = 1;
        LdrpEmit(A, &lea);
    }
    LdrpEmit(A, &insn);
    if (g->Push)
        LdrpEmitReg(A, ZYDIS_MNEMONIC_POP, g->Scratch);
    LdrpEmitBranch(A, ZYDIS_MNEMONIC_JMP, g->Back);
    return !A->Failed;
}

static ZydisRegister LdrpFull(ZydisRegister Reg)
{
    return Reg == ZYDIS_REGISTER_NONE
               ? Reg
               : ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, Reg);
}

/* Marks in Used (bit = GPR64 id) the general registers Op names. FALSE when
   it involves RSP or RIP, which the stub cannot offer unchanged. */
static BOOLEAN LdrpNoteRegisters(const ZydisDecodedOperand *Op, uint32_t *Used)
{
    ZydisRegister regs[3] = {ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE};
    if (Op->type == ZYDIS_OPERAND_TYPE_REGISTER)
        regs[0] = Op->reg.value;
    else if (Op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        regs[0] = Op->mem.base;
        regs[1] = Op->mem.index;
    }
    for (int i = 0; i < 3; i++) {
        ZydisRegister r = LdrpFull(regs[i]);
        if (r == ZYDIS_REGISTER_NONE)
            continue;
        if (r == ZYDIS_REGISTER_RSP || r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_ESP)
            return FALSE;
        if (ZydisRegisterGetClass(r) == ZYDIS_REGCLASS_GPR64)
            *Used |= 1u << ZydisRegisterGetId(r);
    }
    return TRUE;
}

BOOLEAN LdrpPatchGs(LDRP_STUBS *Stubs, uint8_t *At, const uint8_t *Limit)
{
    ZydisDecoder decoder;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    size_t avail = (size_t)(Limit - At) < 15 ? (size_t)(Limit - At) : 15;

    ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, At, avail, &insn, ops)) || insn.length < 4 ||
        insn.meta.branch_type != ZYDIS_BRANCH_TYPE_NONE || insn.address_width != 64 ||
        (insn.attributes & ZYDIS_ATTRIB_HAS_SEGMENT_GS) == 0)
        return FALSE;

    int mem = -1;
    uint32_t used = 0;
    for (unsigned i = 0; i < insn.operand_count; i++) {
        const ZydisDecodedOperand *op = &ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
            /* One explicit gs: operand: no implicit or second memory access. */
            if (i >= insn.operand_count_visible || mem >= 0 ||
                op->mem.type != ZYDIS_MEMOP_TYPE_MEM || op->mem.segment != ZYDIS_REGISTER_GS)
                return FALSE;
            mem = (int)i;
        }
        if (!LdrpNoteRegisters(op, &used))
            return FALSE;
    }
    if (mem < 0)
        return FALSE;
    const ZydisDecodedOperand *m = &ops[mem];

    LDRP_GS_SITE g;
    memset(&g, 0, sizeof(g));
    g.Back = (ULONG64)(uintptr_t)At + insn.length;
    if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
            &insn, ops, insn.operand_count_visible, &g.Insn)))
        return FALSE;
    g.Insn.prefixes &= ~(ZyanU64)ZYDIS_ATTRIB_HAS_SEGMENT_GS;

    /* A load into a whole 32- or 64-bit register that the address does not
       use: that register can hold the KPCR, with nothing to save. */
    ZydisRegister dst =
        ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER ? ops[0].reg.value : ZYDIS_REGISTER_NONE;
    ZydisRegisterClass dclass = ZydisRegisterGetClass(dst);
    uint32_t addressing = 0;
    LdrpNoteRegisters(m, &addressing);
    if (mem == 1 && (dclass == ZYDIS_REGCLASS_GPR64 || dclass == ZYDIS_REGCLASS_GPR32) &&
        (insn.mnemonic == ZYDIS_MNEMONIC_MOV || insn.mnemonic == ZYDIS_MNEMONIC_MOVZX ||
         insn.mnemonic == ZYDIS_MNEMONIC_MOVSX || insn.mnemonic == ZYDIS_MNEMONIC_MOVSXD) &&
        !(addressing & (1u << ZydisRegisterGetId(LdrpFull(dst))))) {
        g.Scratch = LdrpFull(dst);
    } else {
        static const ZydisRegister candidates[] = {
            ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RDX, ZYDIS_REGISTER_RBX,
            ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_R8,  ZYDIS_REGISTER_R9,
            ZYDIS_REGISTER_R10, ZYDIS_REGISTER_R11};
        for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && !g.Scratch; i++)
            if (!(used & (1u << ZydisRegisterGetId(candidates[i]))))
                g.Scratch = candidates[i];
        if (!g.Scratch)
            return FALSE;
        g.Push = TRUE;
    }

    ZydisEncoderOperand *op = &g.Insn.operands[mem];
    if (op->type != ZYDIS_OPERAND_TYPE_MEMORY)
        return FALSE;
    /* [S + I*s + d]: a base alone becomes the index; with an index too it is
       added to S first (no encoding adds three registers). */
    ZydisRegister index = m->mem.index;
    ZyanU8 scale = m->mem.scale;
    if (m->mem.base != ZYDIS_REGISTER_NONE && index == ZYDIS_REGISTER_NONE) {
        index = m->mem.base;
        scale = 1;
    } else if (m->mem.base != ZYDIS_REGISTER_NONE) {
        g.AddBase = m->mem.base;
    }
    op->mem.base = g.Scratch;
    op->mem.index = index;
    op->mem.scale = index != ZYDIS_REGISTER_NONE ? scale : 0;
    op->mem.displacement = m->mem.disp.has_displacement ? m->mem.disp.value : 0;
    return LdrpPlaceStub(Stubs, At, insn.length, Limit, LdrpBuildGs, &g);
}
