/*
 * Stubs for patched CR8 moves, and the pages that hold them.
 *
 * A site `mov r64, cr8` or `mov cr8, r64` becomes `jmp rel32` to its stub,
 * which ends with `jmp` to the instruction after the site. The common forms
 * are 4 bytes long, one short of the jump: the stub is then placed where the
 * displacement's most significant byte equals the byte that follows the site,
 * so the jump's fifth byte is that byte, unchanged (patch.h states why). For
 * byte b the stub starts in [site + 5 + (int8)b * 2^24, ... + 2^24): a 16 MiB
 * window within +-2 GiB, in which a page is mapped with MAP_FIXED_NOREPLACE.
 *
 * The stubs (Zydis encodes them; every branch is rel32 so that sizes do not
 * depend on addresses). The KPCR comes from kmhost's TLS slot, `slot` =
 * HalPcrSlotOffset() (hal/pcr.c), so they work whatever the GS base is:
 *   read   mov r64, fs:[slot]
 *          movzx r32, byte [r64+0x50]     ; TPR bits 3:0, upper bits zero,
 *          jmp back                       ;   as mov r64, cr8 leaves them
 *   write  push rax; push rcx; push rdx; push r8
 *          lahf; seto al                  ; (pushfq without LAHF in 64-bit)
 *          mov rcx, r64
 *          mov r8, fs:[slot]
 *          movzx edx, byte [r8+0x50]
 *          cmp rcx, 15; ja slow           ; a reserved CR8 bit: #GP
 *          mov [r8+0x50], cl
 *          cmp cl, dl; jb lower
 *   done:  add al, 0x7f; sahf             ; OF from al, then SF ZF AF PF CF
 *          pop r8; pop rdx; pop rcx; pop rax
 *          jmp back
 *   lower: cmp cl, DISPATCH_LEVEL; jae done
 *          [cmp byte [r8+0x186], 0; je done]   ; UseInterruptRequest
 *   slow:  push qword [site]; call [LdrpPatchSlowThunk]; lea rsp, [rsp+8]
 *          jmp done
 * so no flag and no register but the destination changes, as with the real
 * instructions, and the fast paths make no call.
 *
 * Locking: LdrpStubLock guards the list of sealed stub sets (load and unload
 * run on any thread); a set being built belongs to its one patcher.
 */
#include "ldr/patch.h"

#include <Zydis/Zydis.h>
#include <cpuid.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define LDRP_PAGE 4096u
#define LDRP_WINDOW (1ull << 24)
#define LDRP_PROBE_STEP (64u * 1024)
#define LDRP_MIN_ADDRESS 0x10000ull
#define LDRP_MAX_ADDRESS 0x00007FFFFFFFF000ull
#define LDRP_KPCR_IRQL 0x50
#define LDRP_KPCR_INTERRUPT_REQUEST 0x186

enum { LblDone, LblLower, LblSlow, LblSite, LblThunk, LblCount };

static pthread_mutex_t LdrpStubLock = PTHREAD_MUTEX_INITIALIZER;
static LDRP_STUBS **LdrpSealed;
static size_t LdrpSealedCount, LdrpSealedCapacity;

static BOOLEAN LdrpHaveLahf(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & 1);
}

ZydisEncoderRequest LdrpReq(ZydisMnemonic Mnemonic)
{
    ZydisEncoderRequest r;
    memset(&r, 0, sizeof(r));
    r.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    r.mnemonic = Mnemonic;
    return r;
}

void LdrpOpReg(ZydisEncoderRequest *R, ZydisRegister Reg)
{
    ZydisEncoderOperand *op = &R->operands[R->operand_count++];
    op->type = ZYDIS_OPERAND_TYPE_REGISTER;
    op->reg.value = Reg;
}

static void LdrpOpImm(ZydisEncoderRequest *R, ULONG64 Value)
{
    ZydisEncoderOperand *op = &R->operands[R->operand_count++];
    op->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    op->imm.u = Value;
}

/* [Base + Disp] of Size bytes; Base RIP takes an absolute address, NONE an
   absolute disp32 (with a segment prefix set by the caller). */
void LdrpOpMem(ZydisEncoderRequest *R, ZydisRegister Base, LONGLONG Disp, USHORT Size)
{
    ZydisEncoderOperand *op = &R->operands[R->operand_count++];
    op->type = ZYDIS_OPERAND_TYPE_MEMORY;
    op->mem.base = Base;
    op->mem.index = ZYDIS_REGISTER_NONE;
    op->mem.displacement = Disp;
    op->mem.size = Size;
}

void LdrpEmit(LDRP_ASM *A, ZydisEncoderRequest *R)
{
    ZyanUSize len = sizeof(A->Code) - A->Length;
    if (A->Failed || !ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(
                         R, A->Code + A->Length, &len, A->Address + A->Length))) {
        A->Failed = TRUE;
        return;
    }
    A->Length += len;
}

static void LdrpEmit0(LDRP_ASM *A, ZydisMnemonic Mnemonic)
{
    ZydisEncoderRequest r = LdrpReq(Mnemonic);
    LdrpEmit(A, &r);
}

void LdrpEmitReg(LDRP_ASM *A, ZydisMnemonic Mnemonic, ZydisRegister Reg)
{
    ZydisEncoderRequest r = LdrpReq(Mnemonic);
    LdrpOpReg(&r, Reg);
    LdrpEmit(A, &r);
}

static void LdrpEmitRegReg(LDRP_ASM *A, ZydisMnemonic Mnemonic, ZydisRegister Dst,
                           ZydisRegister Src)
{
    ZydisEncoderRequest r = LdrpReq(Mnemonic);
    LdrpOpReg(&r, Dst);
    LdrpOpReg(&r, Src);
    LdrpEmit(A, &r);
}

static void LdrpEmitRegImm(LDRP_ASM *A, ZydisMnemonic Mnemonic, ZydisRegister Dst, ULONG64 Imm)
{
    ZydisEncoderRequest r = LdrpReq(Mnemonic);
    LdrpOpReg(&r, Dst);
    LdrpOpImm(&r, Imm);
    LdrpEmit(A, &r);
}

void LdrpEmitLoadPcr(LDRP_ASM *A, ZydisRegister Reg64)
{
    ZydisEncoderRequest r = LdrpReq(ZYDIS_MNEMONIC_MOV);
    r.prefixes = ZYDIS_ATTRIB_HAS_SEGMENT_FS;
    LdrpOpReg(&r, Reg64);
    LdrpOpMem(&r, ZYDIS_REGISTER_NONE, HalPcrSlotOffset(), 8);
    LdrpEmit(A, &r);
}

/* movzx Dst, byte [Pcr + Offset] */
static void LdrpEmitLoadPcrByte(LDRP_ASM *A, ZydisRegister Dst, ZydisRegister Pcr, ULONG Offset)
{
    ZydisEncoderRequest r = LdrpReq(ZYDIS_MNEMONIC_MOVZX);
    LdrpOpReg(&r, Dst);
    LdrpOpMem(&r, Pcr, Offset, 1);
    LdrpEmit(A, &r);
}

void LdrpEmitBranch(LDRP_ASM *A, ZydisMnemonic Mnemonic, ULONG64 Target)
{
    ZydisEncoderRequest r = LdrpReq(Mnemonic);
    r.branch_type = ZYDIS_BRANCH_TYPE_NEAR;
    r.branch_width = ZYDIS_BRANCH_WIDTH_32;
    LdrpOpImm(&r, Target);
    LdrpEmit(A, &r);
}

static void LdrpEmitQword(LDRP_ASM *A, ULONG64 Value)
{
    if (A->Failed || sizeof(A->Code) - A->Length < 8) {
        A->Failed = TRUE;
        return;
    }
    memcpy(A->Code + A->Length, &Value, 8);
    A->Length += 8;
}

static ULONG64 LdrpHere(const LDRP_ASM *A)
{
    return A->Address + A->Length;
}

static void LdrpBuildRead(LDRP_ASM *A, ZydisRegister Reg, ULONG64 Back)
{
    ZydisRegister r32 = ZydisRegisterEncode(ZYDIS_REGCLASS_GPR32, (ZyanU8)ZydisRegisterGetId(Reg));
    LdrpEmitLoadPcr(A, Reg);
    LdrpEmitLoadPcrByte(A, r32, Reg, LDRP_KPCR_IRQL);
    LdrpEmitBranch(A, ZYDIS_MNEMONIC_JMP, Back);
}

/* One pass over the write stub: uses the label addresses in In, records the
   ones it reaches in Out. */
static void LdrpBuildWrite(LDRP_ASM *A, ZydisRegister Reg, ULONG64 Site, ULONG64 Back, BOOLEAN Lahf,
                           BOOLEAN UseInterruptRequest, const ULONG64 *In, ULONG64 *Out)
{
    LdrpEmitReg(A, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_RAX);
    LdrpEmitReg(A, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_RCX);
    LdrpEmitReg(A, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_RDX);
    LdrpEmitReg(A, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_R8);
    if (Lahf) {
        LdrpEmit0(A, ZYDIS_MNEMONIC_LAHF);
        LdrpEmitReg(A, ZYDIS_MNEMONIC_SETO, ZYDIS_REGISTER_AL);
    } else {
        LdrpEmit0(A, ZYDIS_MNEMONIC_PUSHFQ);
    }
    if (Reg == ZYDIS_REGISTER_RAX) {
        ZydisEncoderRequest r = LdrpReq(ZYDIS_MNEMONIC_MOV);
        LdrpOpReg(&r, ZYDIS_REGISTER_RCX);
        LdrpOpMem(&r, ZYDIS_REGISTER_RSP, Lahf ? 24 : 32, 8);
        LdrpEmit(A, &r);
    } else if (Reg != ZYDIS_REGISTER_RCX) {
        LdrpEmitRegReg(A, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RCX, Reg);
    }
    LdrpEmitLoadPcr(A, ZYDIS_REGISTER_R8);
    LdrpEmitLoadPcrByte(A, ZYDIS_REGISTER_EDX, ZYDIS_REGISTER_R8, LDRP_KPCR_IRQL);
    LdrpEmitRegImm(A, ZYDIS_MNEMONIC_CMP, ZYDIS_REGISTER_RCX, HIGH_LEVEL);
    LdrpEmitBranch(A, ZYDIS_MNEMONIC_JNBE, In[LblSlow]);
    {
        ZydisEncoderRequest r = LdrpReq(ZYDIS_MNEMONIC_MOV);
        LdrpOpMem(&r, ZYDIS_REGISTER_R8, LDRP_KPCR_IRQL, 1);
        LdrpOpReg(&r, ZYDIS_REGISTER_CL);
        LdrpEmit(A, &r);
    }
    LdrpEmitRegReg(A, ZYDIS_MNEMONIC_CMP, ZYDIS_REGISTER_CL, ZYDIS_REGISTER_DL);
    LdrpEmitBranch(A, ZYDIS_MNEMONIC_JB, In[LblLower]);

    Out[LblDone] = LdrpHere(A);
    if (Lahf) {
        LdrpEmitRegImm(A, ZYDIS_MNEMONIC_ADD, ZYDIS_REGISTER_AL, 0x7f);
        LdrpEmit0(A, ZYDIS_MNEMONIC_SAHF);
    } else {
        LdrpEmit0(A, ZYDIS_MNEMONIC_POPFQ);
    }
    LdrpEmitReg(A, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_R8);
    LdrpEmitReg(A, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_RDX);
    LdrpEmitReg(A, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_RCX);
    LdrpEmitReg(A, ZYDIS_MNEMONIC_POP, ZYDIS_REGISTER_RAX);
    LdrpEmitBranch(A, ZYDIS_MNEMONIC_JMP, Back);

    Out[LblLower] = LdrpHere(A);
    LdrpEmitRegImm(A, ZYDIS_MNEMONIC_CMP, ZYDIS_REGISTER_CL, DISPATCH_LEVEL);
    LdrpEmitBranch(A, ZYDIS_MNEMONIC_JNB, In[LblDone]);
    if (UseInterruptRequest) {
        ZydisEncoderRequest r = LdrpReq(ZYDIS_MNEMONIC_CMP);
        LdrpOpMem(&r, ZYDIS_REGISTER_R8, LDRP_KPCR_INTERRUPT_REQUEST, 1);
        LdrpOpImm(&r, 0);
        LdrpEmit(A, &r);
        LdrpEmitBranch(A, ZYDIS_MNEMONIC_JZ, In[LblDone]);
    }

    Out[LblSlow] = LdrpHere(A);
    {
        ZydisEncoderRequest r = LdrpReq(ZYDIS_MNEMONIC_PUSH);
        LdrpOpMem(&r, ZYDIS_REGISTER_RIP, (LONGLONG)In[LblSite], 8);
        LdrpEmit(A, &r);
    }
    {
        ZydisEncoderRequest r = LdrpReq(ZYDIS_MNEMONIC_CALL);
        r.branch_type = ZYDIS_BRANCH_TYPE_NEAR;
        LdrpOpMem(&r, ZYDIS_REGISTER_RIP, (LONGLONG)In[LblThunk], 8);
        LdrpEmit(A, &r);
    }
    {
        ZydisEncoderRequest r = LdrpReq(ZYDIS_MNEMONIC_LEA);
        LdrpOpReg(&r, ZYDIS_REGISTER_RSP);
        LdrpOpMem(&r, ZYDIS_REGISTER_RSP, 8, 8);
        LdrpEmit(A, &r);
    }
    LdrpEmitBranch(A, ZYDIS_MNEMONIC_JMP, In[LblDone]);
    while (!A->Failed && (A->Length & 7))
        A->Code[A->Length++] = 0xCC;
    Out[LblSite] = LdrpHere(A);
    LdrpEmitQword(A, Site);
    Out[LblThunk] = LdrpHere(A);
    LdrpEmitQword(A, (ULONG64)(uintptr_t)&LdrpPatchSlowThunk);
}

/* Assembles the stub for Address. Label addresses settle in two passes:
   every instruction's size is independent of the addresses. */
static BOOLEAN LdrpBuildStub(LDRP_ASM *A, ULONG64 Address, uint8_t *At, ULONG Length, BOOLEAN Write,
                             ZydisRegister Reg, BOOLEAN UseInterruptRequest)
{
    static int haveLahf = -1; /* a benign race: every thread computes the same */
    int lahf = __atomic_load_n(&haveLahf, __ATOMIC_RELAXED);
    if (lahf < 0) {
        lahf = LdrpHaveLahf();
        __atomic_store_n(&haveLahf, lahf, __ATOMIC_RELAXED);
    }
    ULONG64 site = (ULONG64)(uintptr_t)At, back = site + Length;
    ULONG64 labels[LblCount], found[LblCount];
    for (int i = 0; i < LblCount; i++)
        labels[i] = found[i] = Address;
    for (int pass = 0; pass < 2; pass++) {
        memset(A, 0, sizeof(*A));
        A->Address = Address;
        if (Write)
            LdrpBuildWrite(A, Reg, site, back, lahf != 0, UseInterruptRequest, labels, found);
        else
            LdrpBuildRead(A, Reg, back);
        if (A->Failed)
            return FALSE;
        memcpy(labels, found, sizeof(labels));
    }
    return TRUE;
}

static BOOLEAN LdrpAddPage(LDRP_STUBS *S, uint8_t *Base)
{
    if (S->Count == S->Capacity) {
        size_t cap = S->Capacity ? 2 * S->Capacity : 8;
        LDRP_STUB_PAGE *p = realloc(S->Pages, cap * sizeof(*p));
        if (!p)
            return FALSE;
        S->Pages = p;
        S->Capacity = cap;
    }
    S->Pages[S->Count].Base = Base;
    S->Pages[S->Count].Used = 0;
    S->Count++;
    return TRUE;
}

/* An address A in [Lo, Hi] with room for Size bytes at A, in a stub page
   (a new one if needed); 0 when the window has no free page. */
static ULONG64 LdrpReserve(LDRP_STUBS *S, ULONG64 Lo, ULONG64 Hi, size_t Size)
{
    if (Lo < LDRP_MIN_ADDRESS)
        Lo = LDRP_MIN_ADDRESS;
    if (Hi > LDRP_MAX_ADDRESS - LDRP_PAGE)
        Hi = LDRP_MAX_ADDRESS - LDRP_PAGE;
    if (Lo > Hi)
        return 0;
    ULONG64 lo16 = (Lo + 15) & ~15ull;
    for (size_t i = 0; i < S->Count; i++) {
        ULONG64 base = (ULONG64)(uintptr_t)S->Pages[i].Base;
        ULONG64 a = (base + S->Pages[i].Used + 15) & ~15ull;
        if (a < lo16)
            a = lo16;
        if (a <= Hi && a + Size <= base + LDRP_PAGE) {
            S->Pages[i].Used = a + Size - base;
            return a;
        }
    }
    for (ULONG64 p = (Lo + LDRP_PAGE - 1) & ~(ULONG64)(LDRP_PAGE - 1); p <= Hi;
         p += LDRP_PROBE_STEP) {
        void *m = mmap((void *)(uintptr_t)p, LDRP_PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (m == MAP_FAILED)
            continue;
        if ((ULONG64)(uintptr_t)m != p || !LdrpAddPage(S, m)) {
            /* A kernel without MAP_FIXED_NOREPLACE took the address as a hint. */
            munmap(m, LDRP_PAGE);
            continue;
        }
        S->Pages[S->Count - 1].Used = Size;
        return p;
    }
    return 0;
}

BOOLEAN LdrpPlaceStub(LDRP_STUBS *Stubs, uint8_t *At, ULONG Length, const uint8_t *Limit,
                      LDRP_BUILD Build, const void *Context)
{
    LDRP_ASM a;
    if (Length < 4 || Length > 15)
        return FALSE;
    if (Length == 4 && At + 4 >= Limit)
        return FALSE; /* no byte to pun with */
    /* Sized at the site itself, where every target is in reach. */
    if (!Build(&a, (ULONG64)(uintptr_t)At, Context))
        return FALSE;
    size_t size = a.Length;
    ULONG64 next = (ULONG64)(uintptr_t)At + 5, stub = 0;
    /* Windows tried: the pun byte's only, or, for a site of 5 bytes or more,
       any of the 256, nearest first. */
    for (int k = 0; k < 256 && !stub; k++) {
        int t = (k & 1) ? -((k + 1) / 2) : k / 2;
        if (Length == 4) {
            if (k)
                break;
            t = (int8_t)At[4];
        }
        LONGLONG lo = (LONGLONG)next + (LONGLONG)t * (LONGLONG)LDRP_WINDOW;
        if (lo < 0)
            continue;
        stub = LdrpReserve(Stubs, (ULONG64)lo, (ULONG64)lo + LDRP_WINDOW - 1, size);
    }
    if (!stub || !Build(&a, stub, Context) || a.Length != size)
        return FALSE;
    memcpy((void *)(uintptr_t)stub, a.Code, a.Length);
    LONGLONG rel = (LONGLONG)stub - (LONGLONG)next;
    uint8_t jump[5] = {0xE9, (uint8_t)rel, (uint8_t)(rel >> 8), (uint8_t)(rel >> 16),
                       (uint8_t)(rel >> 24)};
    if (Length == 4 && jump[4] != At[4])
        return FALSE; /* the window arithmetic guarantees it; never write a wrong pun */
    memcpy(At, jump, Length == 4 ? 4 : 5);
    for (ULONG i = 5; i < Length; i++)
        At[i] = 0x90;
    return TRUE;
}

typedef struct LDRP_CR8_SITE {
    uint8_t *At;
    ULONG Length;
    BOOLEAN Write;
    ZydisRegister Reg;
    BOOLEAN UseInterruptRequest;
} LDRP_CR8_SITE;

static BOOLEAN LdrpBuildCr8(LDRP_ASM *A, ULONG64 Address, const void *Context)
{
    const LDRP_CR8_SITE *c = Context;
    return LdrpBuildStub(A, Address, c->At, c->Length, c->Write, c->Reg, c->UseInterruptRequest);
}

BOOLEAN LdrpPatchCr8(LDRP_STUBS *Stubs, uint8_t *At, ULONG Length, BOOLEAN Write, int Reg,
                     const uint8_t *Limit, BOOLEAN UseInterruptRequest)
{
    ZydisRegister reg = (ZydisRegister)Reg;
    if (ZydisRegisterGetClass(reg) != ZYDIS_REGCLASS_GPR64 || reg == ZYDIS_REGISTER_RSP)
        return FALSE;
    LDRP_CR8_SITE site = {At, Length, Write, reg, UseInterruptRequest};
    return LdrpPlaceStub(Stubs, At, Length, Limit, LdrpBuildCr8, &site);
}

void LdrpSealStubs(LDRP_STUBS *Stubs)
{
    for (size_t i = 0; i < Stubs->Count; i++)
        mprotect(Stubs->Pages[i].Base, LDRP_PAGE, PROT_READ | PROT_EXEC);
    if (!Stubs->Count) {
        free(Stubs->Pages);
        free(Stubs);
        return;
    }
    pthread_mutex_lock(&LdrpStubLock);
    if (LdrpSealedCount == LdrpSealedCapacity) {
        size_t cap = LdrpSealedCapacity ? 2 * LdrpSealedCapacity : 16;
        LDRP_STUBS **p = realloc(LdrpSealed, cap * sizeof(*p));
        if (p) {
            LdrpSealed = p;
            LdrpSealedCapacity = cap;
        }
    }
    /* Without room the stubs stay mapped for the process's life: a leak,
       never a dangling jump. */
    if (LdrpSealedCount < LdrpSealedCapacity)
        LdrpSealed[LdrpSealedCount++] = Stubs;
    pthread_mutex_unlock(&LdrpStubLock);
}

void LdrpReleasePatches(const void *Owner)
{
    pthread_mutex_lock(&LdrpStubLock);
    for (size_t i = 0; i < LdrpSealedCount;) {
        LDRP_STUBS *s = LdrpSealed[i];
        if (s->Owner != Owner) {
            i++;
            continue;
        }
        for (size_t j = 0; j < s->Count; j++)
            munmap(s->Pages[j].Base, LDRP_PAGE);
        free(s->Pages);
        free(s);
        LdrpSealed[i] = LdrpSealed[--LdrpSealedCount];
    }
    pthread_mutex_unlock(&LdrpStubLock);
}
