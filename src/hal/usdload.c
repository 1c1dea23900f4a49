/*
 * Loads from KUSER_SHARED_DATA (0xFFFFF78000000000), emulated.
 *
 * Compilers read the page with any instruction that has a memory operand:
 * `movabs rax, [imm64]`, `mov eax, [reg+disp]`, `movzx`, `cmp`/`test` on the
 * value, arithmetic with it, SSE loads. This emulates the loads whose one
 * memory operand falls in the page and whose result is a general or XMM
 * register or RFLAGS: mov, movzx, movsx, movsxd, cmp, test, add, sub, and, or,
 * xor, and the legacy-SSE movd/movq/movdqa/movdqu/movaps/movups/movapd/movupd/
 * lddqu. Flags are those the processor itself computes for the same
 * operation on the same values. A write to the page is a driver bug (the
 * page is read-only on Windows): HalpBadAccess.
 */
#include "hal/trap.h"

#include <string.h>

#define HALP_USD_SIZE 0x1000u
#define HALP_ARITH_FLAGS 0x8d5u /* CF PF AF ZF SF OF */

/* Runs OP on A and B at the operand width of T and captures RFLAGS. The
   stack pointer moves past the red zone first: this code may run in a leaf
   function whose locals live there. */
#define HALP_ALU(OP, T)                                                                            \
    do {                                                                                           \
        T x_ = (T)A, y_ = (T)B;                                                                    \
        __asm__(OP " %[y], %[x]\n\t"                                                               \
                   "lea -128(%%rsp), %%rsp\n\t"                                                    \
                   "pushfq\n\t"                                                                    \
                   "popq %[f]\n\t"                                                                 \
                   "lea 128(%%rsp), %%rsp"                                                         \
                : [x] "+r"(x_), [f] "=&r"(flags)                                                   \
                : [y] "r"(y_)                                                                      \
                : "cc");                                                                           \
        result = (ULONG64)x_;                                                                      \
    } while (0)

#define HALP_ALU_WIDTH(OP)                                                                         \
    do {                                                                                           \
        switch (Bits) {                                                                            \
        case 8:                                                                                    \
            HALP_ALU(OP, uint8_t);                                                                 \
            break;                                                                                 \
        case 16:                                                                                   \
            HALP_ALU(OP, uint16_t);                                                                \
            break;                                                                                 \
        case 32:                                                                                   \
            HALP_ALU(OP, uint32_t);                                                                \
            break;                                                                                 \
        case 64:                                                                                   \
            HALP_ALU(OP, uint64_t);                                                                \
            break;                                                                                 \
        default:                                                                                   \
            return FALSE;                                                                          \
        }                                                                                          \
    } while (0)

static BOOLEAN HalpAlu(ZydisMnemonic Op, unsigned Bits, ULONG64 A, ULONG64 B, ULONG64 *Result,
                       ULONG64 *Flags)
{
    ULONG64 result = 0, flags = 0;
    switch (Op) {
    case ZYDIS_MNEMONIC_CMP:
        HALP_ALU_WIDTH("cmp");
        result = A;
        break;
    case ZYDIS_MNEMONIC_TEST:
        HALP_ALU_WIDTH("test");
        result = A;
        break;
    case ZYDIS_MNEMONIC_ADD:
        HALP_ALU_WIDTH("add");
        break;
    case ZYDIS_MNEMONIC_SUB:
        HALP_ALU_WIDTH("sub");
        break;
    case ZYDIS_MNEMONIC_AND:
        HALP_ALU_WIDTH("and");
        break;
    case ZYDIS_MNEMONIC_OR:
        HALP_ALU_WIDTH("or");
        break;
    case ZYDIS_MNEMONIC_XOR:
        HALP_ALU_WIDTH("xor");
        break;
    default:
        return FALSE;
    }
    *Result = result;
    *Flags = flags;
    return TRUE;
}

static BOOLEAN HalpOperandValue(const ucontext_t *Uc, const ZydisDecodedOperand *Op, ULONG64 Loaded,
                                ULONG64 *Value)
{
    switch (Op->type) {
    case ZYDIS_OPERAND_TYPE_MEMORY:
        *Value = Loaded;
        return TRUE;
    case ZYDIS_OPERAND_TYPE_REGISTER:
        return HalpGetGpr(Uc, Op->reg.value, Value);
    case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        *Value = Op->imm.value.u; /* sign-extended by the decoder when signed */
        return TRUE;
    default:
        return FALSE;
    }
}

static BOOLEAN HalpIsXmm(const ZydisDecodedOperand *Op)
{
    return Op->type == ZYDIS_OPERAND_TYPE_REGISTER && Op->reg.value >= ZYDIS_REGISTER_XMM0 &&
           Op->reg.value <= ZYDIS_REGISTER_XMM15;
}

/* Legacy-SSE loads into an XMM register: the bytes go to the low end, and
   movd/movq zero the rest of the 128 bits (legacy encodings leave bits 255:128
   of the YMM register alone). */
static HALP_EMULATION HalpLoadXmm(ucontext_t *Uc, const HALP_INSN *I, const UCHAR *Bytes,
                                  ULONG Size, ULONG64 Address)
{
    const ZydisDecodedOperand *dst = &I->Ops[0];
    switch (I->Insn.mnemonic) {
    case ZYDIS_MNEMONIC_MOVDQA:
    case ZYDIS_MNEMONIC_MOVAPS:
    case ZYDIS_MNEMONIC_MOVAPD:
        if (Address & 15)
            return HalpBadAccess; /* #GP on a misaligned aligned load */
        break;
    case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_MOVUPS:
    case ZYDIS_MNEMONIC_MOVUPD:
    case ZYDIS_MNEMONIC_LDDQU:
    case ZYDIS_MNEMONIC_MOVD:
    case ZYDIS_MNEMONIC_MOVQ:
        break;
    default:
        return HalpNotEmulated;
    }
    if (I->Insn.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY || !Uc->uc_mcontext.fpregs ||
        Size > 16)
        return HalpNotEmulated;
    UCHAR xmm[16] = {0};
    memcpy(xmm, Bytes, Size);
    memcpy(&Uc->uc_mcontext.fpregs->_xmm[dst->reg.value - ZYDIS_REGISTER_XMM0], xmm, sizeof(xmm));
    return HalpEmulated;
}

const ZydisDecodedOperand *HalpSingleMemoryOperand(const HALP_INSN *I)
{
    const ZydisDecodedOperand *mem = NULL;
    for (unsigned i = 0; i < I->Insn.operand_count_visible; i++) {
        const ZydisDecodedOperand *op = &I->Ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_MEMORY && op->mem.type == ZYDIS_MEMOP_TYPE_MEM) {
            if (mem)
                return NULL;
            mem = op;
        }
    }
    return mem;
}

HALP_EMULATION HalpEmulateLoad(ucontext_t *Uc, const HALP_INSN *I, const ZydisDecodedOperand *Mem,
                               const UCHAR *Bytes, ULONG64 Address)
{
    const ZydisDecodedOperand *dst = &I->Ops[0];
    ULONG size = Mem->size / 8;
    ULONG64 loaded = 0, a, b, result, flags;
    HALP_EMULATION done = HalpEmulated;
    memcpy(&loaded, Bytes, size <= 8 ? size : 8);

    if (HalpIsXmm(dst)) {
        done = HalpLoadXmm(Uc, I, Bytes, size, Address);
    } else {
        switch (I->Insn.mnemonic) {
        case ZYDIS_MNEMONIC_MOV:
        case ZYDIS_MNEMONIC_MOVZX:
        case ZYDIS_MNEMONIC_MOVD:
        case ZYDIS_MNEMONIC_MOVQ:
            if (dst == Mem || size > 8 || !HalpSetGpr(Uc, dst->reg.value, loaded))
                return HalpNotEmulated;
            break;
        case ZYDIS_MNEMONIC_MOVSX:
        case ZYDIS_MNEMONIC_MOVSXD: {
            unsigned shift = 64 - 8 * size;
            ULONG64 extended = (ULONG64)((int64_t)(loaded << shift) >> shift);
            if (dst == Mem || !HalpSetGpr(Uc, dst->reg.value, extended))
                return HalpNotEmulated;
            break;
        }
        case ZYDIS_MNEMONIC_CMP:
        case ZYDIS_MNEMONIC_TEST:
        case ZYDIS_MNEMONIC_ADD:
        case ZYDIS_MNEMONIC_SUB:
        case ZYDIS_MNEMONIC_AND:
        case ZYDIS_MNEMONIC_OR:
        case ZYDIS_MNEMONIC_XOR:
            /* Only the forms whose result goes to a register or nowhere. */
            if (I->Insn.mnemonic != ZYDIS_MNEMONIC_CMP && I->Insn.mnemonic != ZYDIS_MNEMONIC_TEST &&
                dst == Mem)
                return HalpNotEmulated;
            if (!HalpOperandValue(Uc, &I->Ops[0], loaded, &a) ||
                !HalpOperandValue(Uc, &I->Ops[1], loaded, &b) ||
                !HalpAlu(I->Insn.mnemonic, I->Ops[0].size, a, b, &result, &flags))
                return HalpNotEmulated;
            if (I->Insn.mnemonic != ZYDIS_MNEMONIC_CMP && I->Insn.mnemonic != ZYDIS_MNEMONIC_TEST &&
                !HalpSetGpr(Uc, dst->reg.value, result))
                return HalpNotEmulated;
            Uc->uc_mcontext.gregs[REG_EFL] =
                (greg_t)(((ULONG64)Uc->uc_mcontext.gregs[REG_EFL] & ~(ULONG64)HALP_ARITH_FLAGS) |
                         (flags & HALP_ARITH_FLAGS));
            break;
        default:
            return HalpNotEmulated;
        }
    }
    if (done == HalpEmulated)
        Uc->uc_mcontext.gregs[REG_RIP] += I->Insn.length;
    return done;
}

HALP_EMULATION HalpEmulateSharedData(ucontext_t *Uc, const HALP_INSN *I)
{
    const ZydisDecodedOperand *mem = HalpSingleMemoryOperand(I);
    if (!mem)
        return HalpNotEmulated;
    ULONG64 address = HalpEffectiveAddress(Uc, I, mem);
    if (address - KM_USER_SHARED_DATA >= HALP_USD_SIZE)
        return HalpNotEmulated;
    ULONG offset = (ULONG)(address - KM_USER_SHARED_DATA);
    ULONG size = mem->size / 8;
    UCHAR bytes[16] = {0};
    if (mem->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)
        return HalpBadAccess;
    if (size == 0 || size > sizeof(bytes) || !HalpReadSharedData(offset, bytes, size))
        return HalpBadAccess; /* runs past the page, into an unmapped one */
    return HalpEmulateLoad(Uc, I, mem, bytes, address);
}
