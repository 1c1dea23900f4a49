/*
 * Decoding the faulting instruction, and the register file of a ucontext as
 * x86-64 operands see it.
 *
 * Reading the instruction is safe without a probe when the fault was not the
 * fetch itself: the processor fetched every byte of the instruction before it
 * faulted on a data access or a privilege check, so those bytes are mapped
 * and readable. Only the bytes past its end may not be, hence the decode is
 * first tried on the bytes up to the end of RIP's page.
 */
#include "hal/trap.h"

#include <asm/prctl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define HALP_PAGE 4096u
#define HALP_MAX_INSN 15u

static ZydisDecoder HalpDecoder;
static int HalpDecoderReady;

void HalpInitDecoder(void)
{
    /* Initialising twice writes the same bytes, so a race here is benign;
       HalInitSystem makes the first call before any driver code runs. */
    if (!__atomic_load_n(&HalpDecoderReady, __ATOMIC_ACQUIRE)) {
        ZydisDecoderInit(&HalpDecoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
        __atomic_store_n(&HalpDecoderReady, 1, __ATOMIC_RELEASE);
    }
}

size_t HalpSafeRead(void *Buffer, const void *Address, size_t Length)
{
    size_t done = 0;
    pid_t self = getpid();
    while (done < Length) {
        uintptr_t at = (uintptr_t)Address + done;
        size_t chunk = HALP_PAGE - (at & (HALP_PAGE - 1));
        if (chunk > Length - done)
            chunk = Length - done;
        struct iovec local = {(char *)Buffer + done, chunk};
        struct iovec remote = {(void *)at, chunk};
        ssize_t n = process_vm_readv(self, &local, 1, &remote, 1, 0);
        if (n <= 0)
            break;
        done += (size_t)n;
        if ((size_t)n < chunk)
            break;
    }
    return done;
}

BOOLEAN HalpDecode(const void *Bytes, size_t Length, HALP_INSN *Out)
{
    HalpInitDecoder();
    return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&HalpDecoder, Bytes, Length, &Out->Insn, Out->Ops));
}

BOOLEAN HalpDecodeFaulting(const ucontext_t *Uc, const siginfo_t *Info, HALP_INSN *Out)
{
    uintptr_t rip = (uintptr_t)Uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t addr = (uintptr_t)Info->si_addr;
    uint8_t bytes[HALP_MAX_INSN];
    size_t len;

    HalpInitDecoder();
    if (Info->si_signo == SIGSEGV && addr - rip < HALP_MAX_INSN + 1)
        return FALSE; /* the fetch faulted */
    len = HALP_PAGE - (rip & (HALP_PAGE - 1));
    if (len > HALP_MAX_INSN)
        len = HALP_MAX_INSN;
    memcpy(bytes, (const void *)rip, len);
    ZyanStatus st = ZydisDecoderDecodeFull(&HalpDecoder, bytes, len, &Out->Insn, Out->Ops);
    if (st == ZYDIS_STATUS_NO_MORE_DATA && len < HALP_MAX_INSN) {
        len = HalpSafeRead(bytes, (const void *)rip, HALP_MAX_INSN);
        st = ZydisDecoderDecodeFull(&HalpDecoder, bytes, len, &Out->Insn, Out->Ops);
    }
    return ZYAN_SUCCESS(st);
}

static int HalpGregIndex(ZydisRegister Reg64)
{
    switch (Reg64) {
    case ZYDIS_REGISTER_RAX:
        return REG_RAX;
    case ZYDIS_REGISTER_RCX:
        return REG_RCX;
    case ZYDIS_REGISTER_RDX:
        return REG_RDX;
    case ZYDIS_REGISTER_RBX:
        return REG_RBX;
    case ZYDIS_REGISTER_RSP:
        return REG_RSP;
    case ZYDIS_REGISTER_RBP:
        return REG_RBP;
    case ZYDIS_REGISTER_RSI:
        return REG_RSI;
    case ZYDIS_REGISTER_RDI:
        return REG_RDI;
    case ZYDIS_REGISTER_R8:
        return REG_R8;
    case ZYDIS_REGISTER_R9:
        return REG_R9;
    case ZYDIS_REGISTER_R10:
        return REG_R10;
    case ZYDIS_REGISTER_R11:
        return REG_R11;
    case ZYDIS_REGISTER_R12:
        return REG_R12;
    case ZYDIS_REGISTER_R13:
        return REG_R13;
    case ZYDIS_REGISTER_R14:
        return REG_R14;
    case ZYDIS_REGISTER_R15:
        return REG_R15;
    case ZYDIS_REGISTER_RIP:
        return REG_RIP;
    default:
        return -1;
    }
}

static BOOLEAN HalpIsHighByte(ZydisRegister Reg)
{
    return Reg == ZYDIS_REGISTER_AH || Reg == ZYDIS_REGISTER_CH || Reg == ZYDIS_REGISTER_DH ||
           Reg == ZYDIS_REGISTER_BH;
}

BOOLEAN HalpGetGpr(const ucontext_t *Uc, ZydisRegister Reg, ULONG64 *Value)
{
    ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, Reg);
    int idx = HalpGregIndex(full);
    if (idx < 0)
        return FALSE;
    ULONG64 v = (ULONG64)Uc->uc_mcontext.gregs[idx];
    switch (ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, Reg)) {
    case 8:
        *Value = HalpIsHighByte(Reg) ? (v >> 8) & 0xff : v & 0xff;
        return TRUE;
    case 16:
        *Value = v & 0xffff;
        return TRUE;
    case 32:
        *Value = v & 0xffffffffu;
        return TRUE;
    case 64:
        *Value = v;
        return TRUE;
    default:
        return FALSE;
    }
}

BOOLEAN HalpSetGpr(ucontext_t *Uc, ZydisRegister Reg, ULONG64 Value)
{
    ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, Reg);
    int idx = HalpGregIndex(full);
    if (idx < 0 || idx == REG_RIP)
        return FALSE;
    ULONG64 v = (ULONG64)Uc->uc_mcontext.gregs[idx];
    switch (ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, Reg)) {
    case 8:
        if (HalpIsHighByte(Reg))
            v = (v & ~0xff00ull) | ((Value & 0xff) << 8);
        else
            v = (v & ~0xffull) | (Value & 0xff);
        break;
    case 16:
        v = (v & ~0xffffull) | (Value & 0xffff);
        break;
    case 32:
        v = Value & 0xffffffffu;
        break;
    case 64:
        v = Value;
        break;
    default:
        return FALSE;
    }
    Uc->uc_mcontext.gregs[idx] = (greg_t)v;
    return TRUE;
}

ULONG64 HalpEffectiveAddress(const ucontext_t *Uc, const HALP_INSN *I,
                             const ZydisDecodedOperand *Op)
{
    ULONG64 ea = (ULONG64)Op->mem.disp.value;
    ULONG64 v;

    if (Op->mem.base == ZYDIS_REGISTER_RIP)
        ea += (ULONG64)Uc->uc_mcontext.gregs[REG_RIP] + I->Insn.length;
    else if (Op->mem.base != ZYDIS_REGISTER_NONE && HalpGetGpr(Uc, Op->mem.base, &v))
        ea += v;
    if (Op->mem.index != ZYDIS_REGISTER_NONE && HalpGetGpr(Uc, Op->mem.index, &v))
        ea += v * (Op->mem.scale ? Op->mem.scale : 1);
    if (I->Insn.address_width == 32)
        ea &= 0xffffffffu;
    if (Op->mem.segment == ZYDIS_REGISTER_GS)
        ea += (ULONG64)(uintptr_t)HalPcr();
    else if (Op->mem.segment == ZYDIS_REGISTER_FS) {
        unsigned long fs = 0;
        syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
        ea += fs;
    }
    return ea;
}
