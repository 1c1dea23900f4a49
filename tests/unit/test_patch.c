/*
 * Load-time patching (src/ldr/patch*.c, src/hal/usdlive.c): code buffers
 * with the instruction forms that inline WDK code compiles to are patched
 * and run, and each result is compared with what the same bytes give
 * through the trap handler (the architectural result, as src/hal emulates
 * it): `mov r64, cr8` zero-extends the IRQL of this thread's KPCR, `mov cr8,
 * r64` sets it, changes no flag and no other register, and a value with a
 * reserved bit (above 15) is #GP; shared-data loads return the page's fields.
 * Every run of patched code is checked to raise no signal at all.
 *
 * Needs, under AddressSanitizer, ASAN_OPTIONS allow_user_segv_handler=1
 * (GCC 12's default) so that kmhost's SIGSEGV handler is the one installed.
 */
#include "hal/trap.h"
#include "kmtest.h"
#include "ldr/patch.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define USD 0xFFFFF78000000000ULL
#define CODE_SIZE 8192u

/* ---- Snippets: System V functions, assembled here, run from copies ---- */

#define SNIPPET(name, body)                                                                        \
    __asm__(".pushsection .rodata\n.intel_syntax noprefix\n.globl " #name "_start\n" #name         \
            "_start:\n" body "\n.globl " #name "_end\n" #name "_end:\n.att_syntax prefix\n"        \
            ".popsection\n");                                                                      \
    extern const UCHAR name##_start[], name##_end[]

SNIPPET(ReadRax, "mov rax, -1\n mov rax, cr8\n ret");
SNIPPET(ReadRcx, "mov rcx, -1\n mov rcx, cr8\n mov rax, rcx\n ret");
SNIPPET(ReadR9, "mov r9, -1\n mov r9, cr8\n mov rax, r9\n ret");
SNIPPET(ReadR10, "mov r10, -1\n mov r10, cr8\n mov rax, r10\n ret");
SNIPPET(WriteRax, "mov rax, rdi\n mov cr8, rax\n ret");
SNIPPET(WriteRcx, "mov rcx, rdi\n mov cr8, rcx\n ret");
SNIPPET(WriteR9, "mov r9, rdi\n mov cr8, r9\n ret");
SNIPPET(WriteR10, "mov r10, rdi\n mov cr8, r10\n ret");
/* rdi: the IRQL to write, rsi: the flags to have; returns the flags after. */
SNIPPET(WriteFlags, "push rsi\n popfq\n mov cr8, rdi\n pushfq\n pop rax\n ret");
/* rdi: a 32-qword area, rsi: the IRQL to write. Every register is loaded
   with a distinct value, the write runs, and all of them are stored. */
SNIPPET(WriteRegs, "push rbx\n push rbp\n push r12\n push r13\n push r14\n push r15\n"
                   "mov rax, rsi\n"
                   "mov rbx, 0x1111111111111111\n mov rcx, 0x2222222222222222\n"
                   "mov rdx, 0x3333333333333333\n mov rsi, 0x4444444444444444\n"
                   "mov rbp, 0x5555555555555555\n mov r8, 0x8888888888888888\n"
                   "mov r9, 0x9999999999999999\n mov r10, 0xaaaaaaaaaaaaaaaa\n"
                   "mov r11, 0xbbbbbbbbbbbbbbbb\n mov r12, 0xcccccccccccccccc\n"
                   "mov r13, 0xdddddddddddddddd\n mov r14, 0xeeeeeeeeeeeeeeee\n"
                   "mov r15, 0x0f0f0f0f0f0f0f0f\n"
                   "movq xmm0, rbx\n movq xmm1, rcx\n movq xmm2, rdx\n movq xmm3, rsi\n"
                   "movq xmm4, rbp\n movq xmm5, r8\n movq xmm15, r9\n"
                   "mov cr8, rax\n"
                   "mov [rdi], rax\n mov [rdi+8], rbx\n mov [rdi+16], rcx\n mov [rdi+24], rdx\n"
                   "mov [rdi+32], rsi\n mov [rdi+40], rbp\n mov [rdi+48], r8\n"
                   "mov [rdi+56], r9\n mov [rdi+64], r10\n mov [rdi+72], r11\n"
                   "mov [rdi+80], r12\n mov [rdi+88], r13\n mov [rdi+96], r14\n"
                   "mov [rdi+104], r15\n lea rax, [rsp+48]\n mov [rdi+112], rax\n"
                   "movq [rdi+120], xmm0\n movq [rdi+128], xmm1\n movq [rdi+136], xmm2\n"
                   "movq [rdi+144], xmm3\n movq [rdi+152], xmm4\n movq [rdi+160], xmm5\n"
                   "movq [rdi+168], xmm15\n"
                   "pop r15\n pop r14\n pop r13\n pop r12\n pop rbp\n pop rbx\n ret");
SNIPPET(Moffs8, "xor eax, eax\n movabs al, [0xFFFFF7800000026C]\n ret");
SNIPPET(Moffs16, "xor eax, eax\n movabs ax, [0xFFFFF7800000002C]\n ret");
SNIPPET(Moffs32, "movabs eax, [0xFFFFF78000000260]\n ret");
SNIPPET(Moffs64, "movabs rax, [0xFFFFF78000000008]\n ret");
SNIPPET(Moffs64System, "movabs rax, [0xFFFFF78000000014]\n ret");
SNIPPET(ImmDisp, "movabs rcx, 0xFFFFF78000000000\n mov eax, [rcx+0x26c]\n ret");
SNIPPET(ImmR10, "movabs r10, 0xFFFFF78000000260\n mov eax, [r10]\n ret");
/* Not run: a store, which must stay a fault. */
SNIPPET(StoreMoffs, "movabs [0xFFFFF78000000100], eax\n ret");
/* A branch target right after a cr8 read: rdi == 0 jumps over it. */
SNIPPET(Branch, "xor eax, eax\n test edi, edi\n jz 1f\n mov rax, cr8\n"
                "1: add rax, 0x100\n ret");
/* A RIP-relative instruction right after a cr8 write: returns its own end. */
SNIPPET(RipRel, "mov cr8, rdi\n lea rax, [rip]\n ret");
/* Adjacent sites: reads the IRQL into rax, writes rdi, reads again into rdx. */
SNIPPET(Adjacent, "mov rax, cr8\n mov cr8, rdi\n mov rdx, cr8\n shl rdx, 8\n or rax, rdx\n ret");
/* Never run: rsp cannot be a stub's destination. */
SNIPPET(ReadRsp, "mov rsp, cr8\n ret");

typedef ULONG64 FN0(void);
typedef ULONG64 FN1(ULONG64);
typedef ULONG64 FN2(ULONG64, ULONG64);

typedef struct CODE {
    UCHAR *Base;
    size_t Used;
} CODE;

static void CodeInit(CODE *C)
{
    C->Base = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (C->Base == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(C->Base, 0xCC, CODE_SIZE);
    C->Used = 0;
}

static UCHAR *CodeAdd(CODE *C, const UCHAR *Start, const UCHAR *End)
{
    UCHAR *at = C->Base + C->Used;
    memcpy(at, Start, (size_t)(End - Start));
    C->Used = (C->Used + (size_t)(End - Start) + 31) & ~(size_t)31;
    return at;
}

#define ADD(code, name) CodeAdd(code, name##_start, name##_end)

/* Patches the code (or not) and makes it executable. */
static LDR_PATCH_COUNTS CodeFinish(CODE *C, BOOLEAN Patch)
{
    LDR_PATCH_COUNTS counts = {0};
    if (Patch)
        LdrpPatchCode(C->Base, C->Base, C->Used, C->Base + CODE_SIZE, NULL, 0, &counts);
    mprotect(C->Base, CODE_SIZE, PROT_READ | PROT_EXEC);
    return counts;
}

static void CodeFree(CODE *C)
{
    LdrpReleasePatches(C->Base);
    munmap(C->Base, CODE_SIZE);
}

/* ---- Counting the trap handler's entries ---- */

static volatile ULONG64 Traps;

static void CountingTrap(int Signal, siginfo_t *Info, void *Context)
{
    __atomic_add_fetch(&Traps, 1, __ATOMIC_RELAXED);
    HalpTrap(Signal, Info, Context);
}

static void InstallCountingTrap(void)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = CountingTrap;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
}

static ULONG64 TrapCount(void)
{
    return __atomic_load_n(&Traps, __ATOMIC_RELAXED);
}

static KPCR *NewPcr(void)
{
    KPCR *pcr = aligned_alloc(4096, sizeof(KPCR));
    memset(pcr, 0, sizeof(*pcr));
    pcr->Self = pcr;
    return pcr;
}

static ULONG64 SlowPathCalls(void)
{
    LDR_PATCH_STATS s;
    LdrpPatchStats(&s);
    return s.SlowPathCalls;
}

/* ---- CR8 ---- */

typedef struct FORMS {
    FN0 *Read[4];
    FN1 *Write[4];
    FN2 *Flags;
    FN2 *Regs;
    FN1 *Branch, *RipRel, *Adjacent;
    UCHAR *RipRelAt;
} FORMS;

static LDR_PATCH_COUNTS BuildForms(CODE *C, FORMS *F, BOOLEAN Patch)
{
    CodeInit(C);
    F->Read[0] = (FN0 *)ADD(C, ReadRax);
    F->Read[1] = (FN0 *)ADD(C, ReadRcx);
    F->Read[2] = (FN0 *)ADD(C, ReadR9);
    F->Read[3] = (FN0 *)ADD(C, ReadR10);
    F->Write[0] = (FN1 *)ADD(C, WriteRax);
    F->Write[1] = (FN1 *)ADD(C, WriteRcx);
    F->Write[2] = (FN1 *)ADD(C, WriteR9);
    F->Write[3] = (FN1 *)ADD(C, WriteR10);
    F->Flags = (FN2 *)ADD(C, WriteFlags);
    F->Regs = (FN2 *)ADD(C, WriteRegs);
    F->Branch = (FN1 *)ADD(C, Branch);
    F->RipRelAt = ADD(C, RipRel);
    F->RipRel = (FN1 *)F->RipRelAt;
    F->Adjacent = (FN1 *)ADD(C, Adjacent);
    return CodeFinish(C, Patch);
}

/* Everything observable from the forms, for one KPCR. */
typedef struct OBSERVED {
    ULONG64 Read[4][3];  /* per register, at IRQL 0, 2, 15 */
    KIRQL Written[4][3]; /* per register, after writing 0, 2, 15 */
    ULONG64 Flags[4];
    ULONG64 Regs[2][32]; /* lowering (slow path) and raising */
    ULONG64 Branch[2];
    ULONG64 RipRel; /* offset from the snippet */
    ULONG64 Adjacent;
} OBSERVED;

static void Observe(const FORMS *F, KPCR *Pcr, OBSERVED *O)
{
    static const KIRQL levels[3] = {PASSIVE_LEVEL, DISPATCH_LEVEL, HIGH_LEVEL};
    memset(O, 0, sizeof(*O));
    for (int r = 0; r < 4; r++) {
        for (int l = 0; l < 3; l++) {
            Pcr->Irql = levels[l];
            O->Read[r][l] = F->Read[r]();
            Pcr->Irql = 7;
            F->Write[r](levels[l]);
            O->Written[r][l] = Pcr->Irql;
        }
    }
    Pcr->Irql = PASSIVE_LEVEL;
    /* CF PF AF ZF SF OF all set, then all clear, raising and lowering. */
    O->Flags[0] = F->Flags(DISPATCH_LEVEL, 0x8d7) & 0x8d5;
    O->Flags[1] = F->Flags(PASSIVE_LEVEL, 0x202) & 0x8d5;
    O->Flags[2] = F->Flags(DISPATCH_LEVEL, 0x202) & 0x8d5;
    O->Flags[3] = F->Flags(PASSIVE_LEVEL, 0x8d7) & 0x8d5;
    Pcr->Irql = DISPATCH_LEVEL;
    F->Regs((ULONG64)(uintptr_t)O->Regs[0], PASSIVE_LEVEL);
    F->Regs((ULONG64)(uintptr_t)O->Regs[1], HIGH_LEVEL);
    O->Regs[0][14] -= (ULONG64)(uintptr_t)&O; /* rsp, relative to this frame */
    O->Regs[1][14] -= (ULONG64)(uintptr_t)&O;
    Pcr->Irql = APC_LEVEL;
    O->Branch[0] = F->Branch(0);
    O->Branch[1] = F->Branch(1);
    O->RipRel = F->RipRel(PASSIVE_LEVEL) - (ULONG64)(uintptr_t)F->RipRelAt;
    Pcr->Irql = DISPATCH_LEVEL;
    O->Adjacent = F->Adjacent(HIGH_LEVEL);
    O->Adjacent |= (ULONG64)Pcr->Irql << 16;
    Pcr->Irql = PASSIVE_LEVEL;
}

static void TestCr8Forms(KPCR *Pcr)
{
    CODE patched, trapped;
    FORMS pf, tf;
    OBSERVED po, to;
    LDR_PATCH_COUNTS c = BuildForms(&patched, &pf, TRUE);
    BuildForms(&trapped, &tf, FALSE);

    /* Reads: 4 + Branch + Adjacent 2; writes: 4 + Flags + Regs + RipRel + Adjacent. */
    CHECK(c.Cr8Reads == 7, "patched %llu cr8 reads, expected 7", (unsigned long long)c.Cr8Reads);
    CHECK(c.Cr8Writes == 8, "patched %llu cr8 writes, expected 8", (unsigned long long)c.Cr8Writes);
    CHECK(c.Cr8Left == 0, "%llu cr8 sites left", (unsigned long long)c.Cr8Left);

    ULONG64 before = TrapCount(), slow = SlowPathCalls();
    Observe(&pf, Pcr, &po);
    ULONG64 patchedTraps = TrapCount() - before;
    ULONG64 slowCalls = SlowPathCalls() - slow;
    before = TrapCount();
    Observe(&tf, Pcr, &to);
    ULONG64 trappedTraps = TrapCount() - before;

    CHECK(patchedTraps == 0, "patched code trapped %llu times", (unsigned long long)patchedTraps);
    /* 12 reads, 12 writes, 4 Flags, 2 Regs, 1 Branch (the other jumps over
       the read), 1 RipRel, 3 Adjacent. */
    CHECK(trappedTraps == 35, "unpatched code trapped %llu times, expected 35",
          (unsigned long long)trappedTraps);
    /* Lowerings below DISPATCH_LEVEL: 7->0 per register (not 7->2), 2->0
       twice in Flags and once in Regs, 1->0 in RipRel. */
    CHECK(slowCalls == 8, "%llu slow-path calls, expected 8", (unsigned long long)slowCalls);

    for (int r = 0; r < 4; r++)
        for (int l = 0; l < 3; l++) {
            static const ULONG64 want[3] = {0, 2, 15};
            CHECK(po.Read[r][l] == want[l] && to.Read[r][l] == want[l],
                  "read form %d at %llu: patched %#llx, trapped %#llx", r,
                  (unsigned long long)want[l], (unsigned long long)po.Read[r][l],
                  (unsigned long long)to.Read[r][l]);
            CHECK(po.Written[r][l] == want[l] && to.Written[r][l] == want[l],
                  "write form %d of %llu: patched %u, trapped %u", r, (unsigned long long)want[l],
                  po.Written[r][l], to.Written[r][l]);
        }
    for (int i = 0; i < 4; i++) {
        ULONG64 want = (i == 0 || i == 3) ? 0x8d5 : 0;
        CHECK(po.Flags[i] == want && to.Flags[i] == want,
              "flags case %d: patched %#llx trapped %#llx, want %#llx", i,
              (unsigned long long)po.Flags[i], (unsigned long long)to.Flags[i],
              (unsigned long long)want);
    }
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 22; i++)
            CHECK(po.Regs[k][i] == to.Regs[k][i],
                  "register %d after %s: patched %#llx trapped %#llx", i,
                  k ? "raising" : "lowering", (unsigned long long)po.Regs[k][i],
                  (unsigned long long)to.Regs[k][i]);
    CHECK(po.Regs[0][1] == 0x1111111111111111ull && po.Regs[0][21] == 0x9999999999999999ull,
          "register values %#llx %#llx", (unsigned long long)po.Regs[0][1],
          (unsigned long long)po.Regs[0][21]);
    CHECK(po.Branch[0] == 0x100 && po.Branch[1] == 0x101 && to.Branch[0] == 0x100 &&
              to.Branch[1] == 0x101,
          "branch over the read: patched %#llx %#llx, trapped %#llx %#llx",
          (unsigned long long)po.Branch[0], (unsigned long long)po.Branch[1],
          (unsigned long long)to.Branch[0], (unsigned long long)to.Branch[1]);
    CHECK(po.RipRel == to.RipRel && po.RipRel == (ULONG64)(RipRel_end - RipRel_start) - 1,
          "lea [rip] after the write: patched +%llu, trapped +%llu", (unsigned long long)po.RipRel,
          (unsigned long long)to.RipRel);
    /* old 2 in al, new 15 read back in the next byte, KPCR at 15. */
    CHECK(po.Adjacent == 0xf0f02 && to.Adjacent == 0xf0f02,
          "adjacent sites: patched %#llx, trapped %#llx", (unsigned long long)po.Adjacent,
          (unsigned long long)to.Adjacent);
    CodeFree(&patched);
    CodeFree(&trapped);
}

/* Lowering calls the slow path only below DISPATCH_LEVEL, and with
   UseInterruptRequest only when KPCR.InterruptRequest is set. */
static void TestSlowPathRule(KPCR *Pcr)
{
    static const struct {
        KIRQL From, To;
        UCHAR Request;
        ULONG64 Calls, GatedCalls;
    } cases[] = {
        {PASSIVE_LEVEL, DISPATCH_LEVEL, 0, 0, 0}, {DISPATCH_LEVEL, PASSIVE_LEVEL, 0, 1, 0},
        {DISPATCH_LEVEL, APC_LEVEL, 1, 1, 1},     {HIGH_LEVEL, DISPATCH_LEVEL, 1, 0, 0},
        {APC_LEVEL, PASSIVE_LEVEL, 1, 1, 1},      {DISPATCH_LEVEL, DISPATCH_LEVEL, 1, 0, 0},
    };
    for (int gated = 0; gated < 2; gated++) {
        CODE code;
        CodeInit(&code);
        FN1 *write = (FN1 *)ADD(&code, WriteRax);
        LdrpPatchSetUseInterruptRequest(gated != 0);
        CodeFinish(&code, TRUE);
        LdrpPatchSetUseInterruptRequest(FALSE); /* main's choice for the other tests */
        for (size_t i = 0; i < KM_ARRAY_SIZE(cases); i++) {
            Pcr->Irql = cases[i].From;
            Pcr->InterruptRequest = cases[i].Request;
            ULONG64 before = SlowPathCalls(), traps = TrapCount();
            write(cases[i].To);
            ULONG64 calls = SlowPathCalls() - before;
            ULONG64 want = gated ? cases[i].GatedCalls : cases[i].Calls;
            CHECK(calls == want && Pcr->Irql == cases[i].To && TrapCount() == traps,
                  "%s %u -> %u (request %u): %llu calls (want %llu), IRQL %u",
                  gated ? "gated" : "ungated", cases[i].From, cases[i].To, cases[i].Request,
                  (unsigned long long)calls, (unsigned long long)want, Pcr->Irql);
        }
        Pcr->InterruptRequest = 0;
        Pcr->Irql = PASSIVE_LEVEL;
        CodeFree(&code);
    }
}

/* ---- Per-thread IRQL ---- */

typedef struct THREAD_ARG {
    FN0 *Read;
    FN1 *Write;
    KIRQL Level;
    int Mismatches;
} THREAD_ARG;

static void *IrqlThread(void *Arg)
{
    THREAD_ARG *a = Arg;
    KPCR *pcr = NewPcr();
    HalSetCurrentPcr(pcr);
    for (int i = 0; i < 20000; i++) {
        a->Write(a->Level);
        if (a->Read() != a->Level || pcr->Irql != a->Level)
            a->Mismatches++;
        a->Write(PASSIVE_LEVEL);
        if (a->Read() != PASSIVE_LEVEL)
            a->Mismatches++;
    }
    HalSetCurrentPcr(NULL);
    free(pcr);
    return NULL;
}

static void TestPerThread(void)
{
    CODE code;
    CodeInit(&code);
    FN0 *read = (FN0 *)ADD(&code, ReadR9);
    FN1 *write = (FN1 *)ADD(&code, WriteR10);
    CodeFinish(&code, TRUE);
    THREAD_ARG args[2] = {{read, write, APC_LEVEL, 0}, {read, write, HIGH_LEVEL, 0}};
    pthread_t t[2];
    ULONG64 traps = TrapCount();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, IrqlThread, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(args[0].Mismatches == 0 && args[1].Mismatches == 0,
          "IRQL per thread: %d and %d mismatches", args[0].Mismatches, args[1].Mismatches);
    CHECK(TrapCount() == traps, "threads trapped %llu times",
          (unsigned long long)(TrapCount() - traps));
    CodeFree(&code);
}

/* ---- Shared data ---- */

typedef struct USD_FORMS {
    FN0 *Moffs8, *Moffs16, *Moffs32, *Moffs64, *Moffs64System, *ImmDisp, *ImmR10;
} USD_FORMS;

static LDR_PATCH_COUNTS BuildUsd(CODE *C, USD_FORMS *F, BOOLEAN Patch)
{
    CodeInit(C);
    F->Moffs8 = (FN0 *)ADD(C, Moffs8);
    F->Moffs16 = (FN0 *)ADD(C, Moffs16);
    F->Moffs32 = (FN0 *)ADD(C, Moffs32);
    F->Moffs64 = (FN0 *)ADD(C, Moffs64);
    F->Moffs64System = (FN0 *)ADD(C, Moffs64System);
    F->ImmDisp = (FN0 *)ADD(C, ImmDisp);
    F->ImmR10 = (FN0 *)ADD(C, ImmR10);
    ADD(C, StoreMoffs);
    return CodeFinish(C, Patch);
}

static void TestSharedData(void)
{
    CODE patched, trapped;
    USD_FORMS p, t;
    LDR_PATCH_COUNTS c = BuildUsd(&patched, &p, TRUE);
    BuildUsd(&trapped, &t, FALSE);
    CHECK(c.SharedDataMoffs == 5 && c.SharedDataImm == 2 && c.SharedDataLeft == 1,
          "shared data: %llu moffs, %llu imm, %llu left; expected 5, 2, 1 (the store)",
          (unsigned long long)c.SharedDataMoffs, (unsigned long long)c.SharedDataImm,
          (unsigned long long)c.SharedDataLeft);

    ULONG64 traps = TrapCount();
    /* NtMajorVersion 10, ImageNumberLow 0x8664 (AMD64), NtBuildNumber. */
    ULONG64 v8 = p.Moffs8(), v16 = p.Moffs16(), v32 = p.Moffs32(), imm = p.ImmDisp();
    ULONG64 r10 = p.ImmR10(), it0 = p.Moffs64(), st = p.Moffs64System();
    CHECK(TrapCount() == traps, "patched shared-data loads trapped %llu times",
          (unsigned long long)(TrapCount() - traps));
    CHECK(v8 == t.Moffs8() && v8 == 10, "8-bit load %llu", (unsigned long long)v8);
    CHECK(v16 == t.Moffs16() && v16 == 0x8664, "16-bit load %#llx", (unsigned long long)v16);
    CHECK(v32 == t.Moffs32() && v32 > 0, "32-bit load %llu vs %llu", (unsigned long long)v32,
          (unsigned long long)t.Moffs32());
    CHECK(imm == 10 && r10 == v32, "address constant loads %llu %llu", (unsigned long long)imm,
          (unsigned long long)r10);
    /* The copy is live: InterruptTime never goes back and moves on its own. */
    ULONG64 trappedIt = t.Moffs64();
    CHECK(trappedIt >= it0, "trapped InterruptTime %llu before the live copy's %llu",
          (unsigned long long)trappedIt, (unsigned long long)it0);
    ULONG64 it = it0;
    for (int i = 0; i < 2000 && it == it0; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        it = p.Moffs64();
    }
    CHECK(it > it0, "the live InterruptTime did not move in 2 s: %llu", (unsigned long long)it);
    ULONG64 trappedSt = t.Moffs64System();
    CHECK(st > 116444736000000000ull && st <= trappedSt, "SystemTime %llu, trapped %llu",
          (unsigned long long)st, (unsigned long long)trappedSt);
    CodeFree(&patched);
    CodeFree(&trapped);
}

/* ---- What is left to the trap ---- */

/* Occupies every page the patcher may try for a site whose pun byte is B. */
static size_t BlockWindow(const UCHAR *Site, UCHAR B, void **Blocks, size_t Max)
{
    ULONG64 lo = (ULONG64)(uintptr_t)Site + 5 + (ULONG64)((LONGLONG)(int8_t)B * (1LL << 24));
    size_t n = 0;
    for (ULONG64 p = (lo + 4095) & ~4095ull; p < lo + (1ull << 24) && n < Max; p += 4096) {
        void *m = mmap((void *)(uintptr_t)p, 4096, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (m != MAP_FAILED && m != (void *)(uintptr_t)p) {
            munmap(m, 4096);
            continue;
        }
        if (m != MAP_FAILED)
            Blocks[n++] = m;
    }
    return n;
}

static void TestLeftToTrap(KPCR *Pcr)
{
    enum { MaxBlocks = 4096 };
    void **blocks = calloc(MaxBlocks, sizeof(*blocks));
    CODE code;
    CodeInit(&code);
    FN0 *read = (FN0 *)ADD(&code, ReadRax);
    UCHAR *site = (UCHAR *)read + 7; /* after mov rax, -1 */
    size_t n = BlockWindow(site, site[4], blocks, MaxBlocks);
    ADD(&code, ReadRsp);
    LDR_PATCH_COUNTS c = CodeFinish(&code, TRUE);
    for (size_t i = 0; i < n; i++)
        munmap(blocks[i], 4096);
    free(blocks);
    CHECK(site[0] == 0x44 && site[1] == 0x0f && site[2] == 0x20,
          "a site without room for its stub was changed: %02x %02x %02x", site[0], site[1],
          site[2]);
    CHECK(c.Cr8Left == 2 && c.Cr8Reads == 0, "left %llu, patched %llu: expected 2 left",
          (unsigned long long)c.Cr8Left, (unsigned long long)c.Cr8Reads);
    Pcr->Irql = DISPATCH_LEVEL;
    ULONG64 traps = TrapCount();
    ULONG64 v = read();
    CHECK(v == DISPATCH_LEVEL && TrapCount() == traps + 1, "left site read %llu with %llu traps",
          (unsigned long long)v, (unsigned long long)(TrapCount() - traps));
    Pcr->Irql = PASSIVE_LEVEL;
    CodeFree(&code);

    /* Patching disabled: everything is counted as left, nothing changes. */
    LdrpPatchSetEnabled(FALSE);
    CodeInit(&code);
    UCHAR *w = ADD(&code, WriteR9);
    ADD(&code, Moffs64);
    UCHAR copy[64];
    memcpy(copy, code.Base, sizeof(copy));
    c = CodeFinish(&code, TRUE);
    LdrpPatchSetEnabled(TRUE);
    CHECK(c.Cr8Left == 1 && c.SharedDataLeft == 1 && !memcmp(copy, code.Base, sizeof(copy)),
          "disabled: %llu cr8 and %llu shared-data left", (unsigned long long)c.Cr8Left,
          (unsigned long long)c.SharedDataLeft);
    traps = TrapCount();
    ((FN1 *)w)(APC_LEVEL);
    CHECK(Pcr->Irql == APC_LEVEL && TrapCount() == traps + 1, "trapped write: IRQL %u", Pcr->Irql);
    Pcr->Irql = PASSIVE_LEVEL;
    CodeFree(&code);
}

/* ---- A reserved CR8 bit: the same bug check both ways ---- */

static void ExitHook(int Status)
{
    _exit(Status);
}

static LDR_IMAGE FakeImage = {.Name = "fake.sys"};
static LDR_IMAGE *FindFake(const void *Address)
{
    const UCHAR *a = Address;
    return a >= FakeImage.Base && a < FakeImage.Base + FakeImage.Size ? &FakeImage : NULL;
}

/* The child of RunInvalidWrite: an invalid write through *Write (an FN1 *), which must
   bug check (the child exits 100 if it returns). */
static void WriteChild(void *Write)
{
    KipBugCheckExitHook = ExitHook;
    (*(FN1 **)Write)(16);
}

static int RunInvalidWrite(BOOLEAN Patch, char *Out, size_t OutLen, ULONG64 *Site)
{
    CODE code;
    CodeInit(&code);
    FN1 *write = (FN1 *)ADD(&code, WriteRax);
    *Site = (ULONG64)(uintptr_t)write + 3;
    FakeImage.Base = code.Base;
    FakeImage.Size = CODE_SIZE;
    CodeFinish(&code, Patch);
    int status = kmtest_fork(WriteChild, &write, 100, Out, OutLen);
    CodeFree(&code);
    return status;
}

static void TestInvalidValue(void)
{
    char out[2][8192], want[128];
    ULONG64 site[2];
    LDR_IMAGE *(*saved)(const void *) = HalpFindImageHook;
    HalpFindImageHook = FindFake;
    for (int patch = 0; patch < 2; patch++) {
        int status = RunInvalidWrite(patch != 0, out[patch], sizeof(out[patch]), &site[patch]);
        snprintf(want, sizeof(want), "*** STOP: 0x0000007E (0xFFFFFFFFC0000096,0x%016llX,",
                 (unsigned long long)site[patch]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3 && strstr(out[patch], want),
              "%s mov cr8 of 16: status %#x, expected \"%s\" in:\n%s",
              patch ? "patched" : "trapped", status, want, out[patch]);
    }
    HalpFindImageHook = saved;
}

int main(void)
{
    HalInitSystem();
    InstallCountingTrap();
    /* Independent of KMHOST_PATCH and KMHOST_PATCH_IRQL; TestSlowPathRule
       covers both lowering rules. */
    LdrpPatchSetEnabled(TRUE);
    LdrpPatchSetUseInterruptRequest(FALSE);
    KPCR *pcr = NewPcr();
    HalSetCurrentPcr(pcr);

    TestCr8Forms(pcr);
    TestSlowPathRule(pcr);
    TestPerThread();
    TestSharedData();
    TestLeftToTrap(pcr);
    TestInvalidValue();

    LDR_PATCH_STATS s;
    LdrpPatchStats(&s);
    CHECK(s.Images >= 8 && s.Sites.Cr8Writes >= 8, "totals: %llu images, %llu writes",
          (unsigned long long)s.Images, (unsigned long long)s.Sites.Cr8Writes);
    KmPrintPatchStats(stdout);
    HalSetCurrentPcr(NULL);
    free(pcr);
    return KMTEST_DONE();
}
