/*
 * libFuzzer harness for the HAL's instruction emulation: the bytes of one
 * instruction are decoded (HalpDecode, Zydis) and handed to the two
 * emulators of the trap handler, HalpEmulateCr8 and HalpEmulateSharedData,
 * on a synthetic ucontext. Input: byte 0 picks how the general registers are
 * filled (pointing into KUSER_SHARED_DATA, near its end, or raw input
 * bytes), the next 16 bytes give an offset and an XMM pattern, the rest is
 * the instruction (at most 15 bytes are decoded).
 *
 * Invariants checked: an emulated instruction advances RIP by exactly its
 * length; an emulated `mov cr8` never stores an IRQL above HIGH_LEVEL; the
 * emulators touch only the ucontext and the KPCR (ASan watches the rest).
 */
#include "hal/trap.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size);

static KPCR FuzzPcr;

static const int FuzzGprs[] = {REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI,
                               REG_RBP, REG_RSP, REG_R8,  REG_R9,  REG_R10, REG_R11,
                               REG_R12, REG_R13, REG_R14, REG_R15};

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size)
{
    static int ready;
    if (!ready) {
        HalpInitSharedData(1);
        HalpInitDecoder();
        HalSetCurrentPcr(&FuzzPcr);
        ready = 1;
    }
    if (Size < 18)
        return 0;
    uint8_t mode = Data[0];
    uint64_t offset;
    memcpy(&offset, Data + 1, sizeof(offset));
    const uint8_t *code = Data + 17;
    size_t len = Size - 17;
    if (len > 15)
        len = 15;

    HALP_INSN insn;
    if (!HalpDecode(code, len, &insn))
        return 0;

    ucontext_t uc;
    struct _libc_fpstate fp;
    memset(&uc, 0, sizeof(uc));
    memset(&fp, 0xA5, sizeof(fp));
    uc.uc_mcontext.fpregs = (mode & 0x80) ? NULL : &fp;
    for (size_t i = 0; i < KM_ARRAY_SIZE(FuzzGprs); i++) {
        uint64_t v;
        switch (mode & 3) {
        case 0: /* inside the page: a base register of a real access */
            v = KM_USER_SHARED_DATA + ((offset + i * 8) & 0xFFF);
            break;
        case 1: /* around the end of the page */
            v = KM_USER_SHARED_DATA + 0xFF0 + ((offset >> (i * 4)) & 0x1F);
            break;
        case 2: /* small values: index registers, IRQLs */
            v = (offset >> (i * 4)) & 0x1F;
            break;
        default:
            v = offset * (i + 1);
            break;
        }
        uc.uc_mcontext.gregs[FuzzGprs[i]] = (greg_t)v;
    }
    uint64_t rip = (mode & 0x40) ? KM_USER_SHARED_DATA - 0x100 : 0x140001000u;
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)rip;

    BOOLEAN lowered;
    KIRQL old = 0, new = 0;
    FuzzPcr.Irql = (KIRQL)(offset & 0xF);
    HALP_EMULATION e = HalpEmulateCr8(&uc, &insn, &lowered, &old, &new);
    if (e == HalpEmulated) {
        if ((uint64_t)uc.uc_mcontext.gregs[REG_RIP] != rip + insn.Insn.length)
            abort();
        if (FuzzPcr.Irql > HIGH_LEVEL || (lowered && !(new < old)))
            abort();
        return 0;
    }
    e = HalpEmulateSharedData(&uc, &insn);
    if (e == HalpEmulated && (uint64_t)uc.uc_mcontext.gregs[REG_RIP] != rip + insn.Insn.length)
        abort();
    if (e != HalpEmulated && (uint64_t)uc.uc_mcontext.gregs[REG_RIP] != rip)
        abort(); /* a refused instruction is left for the fault path as it was */
    return 0;
}
