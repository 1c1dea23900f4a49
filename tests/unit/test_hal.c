/*
 * src/hal and src/ke/irql.c, src/ke/bugcheck.c: real privileged instructions
 * and KUSER_SHARED_DATA loads executed on threads with their own KPCR, and
 * faults in driver-like code, each in a forked child whose output and exit
 * status are checked against what Windows documents.
 *
 * Needs, under AddressSanitizer, ASAN_OPTIONS allow_user_segv_handler=1
 * (GCC 12's default) so that kmhost's SIGSEGV handler is the one installed.
 */
#include "hal/hal.h"
#include "hal/trap.h"
#include "kmtest.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Stand-ins for routines other components provide, used only while those
   are missing from the core: the real ones take precedence at link time. */
__attribute__((weak)) LDR_IMAGE *LdrFindImageByAddress(const void *Address)
{
    (void)Address;
    return NULL;
}
__attribute__((weak)) void LdrDescribeAddress(const void *Address, char *Buf, size_t Len)
{
    snprintf(Buf, Len, "%p", Address);
}
__attribute__((weak)) void PsDescribeThread(struct _KTHREAD *Thread, char *Buf, size_t Len)
{
    snprintf(Buf, Len, "thread %p", (void *)Thread);
}
__attribute__((weak)) size_t KdGetRecentOutput(char *Buf, size_t Len)
{
    (void)Buf;
    (void)Len;
    return 0;
}

#define USD 0xFFFFF78000000000ULL
#define EPOCH_1601 116444736000000000ULL

static KPCR *NewPcr(void)
{
    KPCR *pcr = aligned_alloc(4096, sizeof(KPCR));
    memset(pcr, 0, sizeof(*pcr));
    pcr->Self = pcr;
    return pcr;
}

static ULONG64 Now100ns(clockid_t Clock)
{
    struct timespec ts;
    clock_gettime(Clock, &ts);
    return (ULONG64)ts.tv_sec * 10000000ULL + (ULONG64)ts.tv_nsec / 100;
}

/* ---- CR8 ---- */

static ULONG64 ReadCr8Rax(void)
{
    ULONG64 v;
    __asm__ volatile("mov %%cr8, %%rax" : "=a"(v) : : "memory");
    return v;
}

static ULONG64 ReadCr8R9(void)
{
    ULONG64 v;
    __asm__ volatile("mov $-1, %%r9\n\tmov %%cr8, %%r9\n\tmov %%r9, %0"
                     : "=r"(v)
                     :
                     : "r9", "memory");
    return v;
}

static void WriteCr8Rax(ULONG64 v)
{
    __asm__ volatile("mov %%rax, %%cr8" : : "a"(v) : "memory");
}

static void WriteCr8R10(ULONG64 v)
{
    __asm__ volatile("mov %0, %%r10\n\tmov %%r10, %%cr8" : : "r"(v) : "r10", "memory");
}

static void TestCr8(void)
{
    KPCR *pcr = HalPcr();
    pcr->Irql = PASSIVE_LEVEL;
    CHECK(ReadCr8Rax() == 0, "mov rax, cr8 at PASSIVE_LEVEL gave %llu",
          (unsigned long long)ReadCr8Rax());
    WriteCr8Rax(DISPATCH_LEVEL);
    CHECK(pcr->Irql == DISPATCH_LEVEL, "mov cr8, rax left Irql %u", pcr->Irql);
    CHECK(KeGetCurrentIrql() == DISPATCH_LEVEL, "KeGetCurrentIrql %u", KeGetCurrentIrql());
    /* The whole 64-bit destination is written, zero-extended. */
    CHECK(ReadCr8R9() == DISPATCH_LEVEL, "mov r9, cr8 gave %#llx", (unsigned long long)ReadCr8R9());
    WriteCr8R10(HIGH_LEVEL);
    CHECK(ReadCr8Rax() == HIGH_LEVEL, "after mov cr8, r10: %llu", (unsigned long long)ReadCr8Rax());
    WriteCr8Rax(PASSIVE_LEVEL);
    CHECK(pcr->Irql == PASSIVE_LEVEL, "lowered to %u", pcr->Irql);

    /* The exported routines and the inline instructions share one IRQL. */
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    CHECK(old == PASSIVE_LEVEL && ReadCr8Rax() == APC_LEVEL, "KfRaiseIrql: old %u cr8 %llu", old,
          (unsigned long long)ReadCr8Rax());
    old = KeRaiseIrqlToDpcLevel();
    CHECK(old == APC_LEVEL && ReadCr8Rax() == DISPATCH_LEVEL, "KeRaiseIrqlToDpcLevel: old %u", old);
    old = KeRaiseIrqlToSynchLevel();
    CHECK(old == DISPATCH_LEVEL && KeGetCurrentIrql() == SYNCH_LEVEL,
          "KeRaiseIrqlToSynchLevel: old %u now %u", old, KeGetCurrentIrql());
    KfLowerIrql(PASSIVE_LEVEL);
    CHECK(ReadCr8Rax() == PASSIVE_LEVEL, "KfLowerIrql: cr8 %llu", (unsigned long long)ReadCr8Rax());
}

typedef struct {
    KIRQL Mine;
    pthread_barrier_t *Barrier;
    KPCR *Inherited;
    ULONG64 Seen;
    KIRQL PcrIrql;
} IRQL_THREAD;

static void *IrqlThread(void *Arg)
{
    IRQL_THREAD *t = Arg;
    t->Inherited = HalPcr();
    KPCR *pcr = NewPcr();
    HalInitThreadSignalStack();
    HalSetCurrentPcr(pcr);
    WriteCr8Rax(t->Mine);
    pthread_barrier_wait(t->Barrier); /* both have written before either reads */
    t->Seen = ReadCr8Rax();
    t->PcrIrql = pcr->Irql;
    HalSetCurrentPcr(NULL);
    HalFreeThreadSignalStack();
    free(pcr);
    return NULL;
}

static void TestIrqlPerThread(void)
{
    pthread_barrier_t barrier;
    IRQL_THREAD a = {.Mine = APC_LEVEL, .Barrier = &barrier};
    IRQL_THREAD b = {.Mine = DISPATCH_LEVEL, .Barrier = &barrier};
    pthread_t ta, tb;
    KPCR *mine = HalPcr();

    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&ta, NULL, IrqlThread, &a);
    pthread_create(&tb, NULL, IrqlThread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    CHECK(a.Seen == APC_LEVEL && a.PcrIrql == APC_LEVEL, "thread A saw %llu",
          (unsigned long long)a.Seen);
    CHECK(b.Seen == DISPATCH_LEVEL && b.PcrIrql == DISPATCH_LEVEL, "thread B saw %llu",
          (unsigned long long)b.Seen);
    CHECK(a.Inherited == NULL && mine != NULL,
          "a new pthread has no KPCR until it sets its own (TLS, not the inherited GS base)");
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL, "main thread's IRQL changed to %u",
          KeGetCurrentIrql());
}

/* ---- KUSER_SHARED_DATA ---- */

static ULONG64 LoadMovabsSystemTime(void)
{
    ULONG64 v;
    __asm__ volatile("movabs 0xfffff78000000014, %%rax" : "=a"(v) : : "memory");
    return v;
}

static ULONG64 LoadDispInterruptTime(void)
{
    ULONG64 v;
    __asm__ volatile("mov 0x8(%1), %0" : "=r"(v) : "r"(USD) : "memory");
    return v;
}

static ULONG64 LoadIndexTickCount(void)
{
    ULONG64 v;
    __asm__ volatile("mov (%1,%2,8), %0" : "=r"(v) : "r"(USD), "r"(0x320ULL / 8) : "memory");
    return v;
}

static void TestSharedData(void)
{
    ULONG64 before = Now100ns(CLOCK_REALTIME) + EPOCH_1601;
    ULONG64 system = LoadMovabsSystemTime();
    ULONG64 after = Now100ns(CLOCK_REALTIME) + EPOCH_1601;
    CHECK(system >= before && system <= after, "SystemTime %llu outside [%llu, %llu]",
          (unsigned long long)system, (unsigned long long)before, (unsigned long long)after);

    before = Now100ns(CLOCK_MONOTONIC);
    ULONG64 interrupt = LoadDispInterruptTime();
    ULONG64 tick1 = LoadIndexTickCount();
    after = Now100ns(CLOCK_MONOTONIC);
    CHECK(interrupt >= before && interrupt <= after, "InterruptTime %llu outside [%llu, %llu]",
          (unsigned long long)interrupt, (unsigned long long)before, (unsigned long long)after);
    CHECK(tick1 >= before / 156250 && tick1 <= after / 156250, "TickCount %llu",
          (unsigned long long)tick1);
    ULONG64 tick2 = LoadIndexTickCount();
    CHECK(tick2 >= tick1, "TickCount went back from %llu to %llu", (unsigned long long)tick1,
          (unsigned long long)tick2);

    /* 32-bit loads zero-extend; 8/16-bit loads merge. */
    ULONG64 v = ~0ULL;
    __asm__ volatile("mov 0x26c(%1), %k0" : "+r"(v) : "r"(USD) : "memory");
    CHECK(v == 10, "NtMajorVersion %#llx", (unsigned long long)v);
    v = ~0ULL;
    __asm__ volatile("mov 0x270(%1), %k0" : "+r"(v) : "r"(USD) : "memory");
    CHECK(v == 0, "NtMinorVersion %#llx", (unsigned long long)v);
    v = 0x1122334455667788ULL;
    __asm__ volatile("movw 0x2c(%1), %w0" : "+r"(v) : "r"(USD) : "memory");
    CHECK(v == 0x1122334455668664ULL, "16-bit load merged to %#llx", (unsigned long long)v);
    v = 0x1122334455667788ULL;
    __asm__ volatile("movb 0x26c(%1), %%ah" : "+a"(v) : "b"(USD) : "memory");
    CHECK(v == 0x1122334455660a88ULL, "load into ah gave %#llx", (unsigned long long)v);
    v = ~0ULL;
    __asm__ volatile("movzbl 0x26c(%1), %k0" : "+r"(v) : "r"(USD) : "memory");
    CHECK(v == 10, "movzx byte %#llx", (unsigned long long)v);
    v = ~0ULL;
    __asm__ volatile("movzwl 0x2c(%1), %k0" : "+r"(v) : "r"(USD) : "memory");
    CHECK(v == 0x8664, "movzx word (ImageNumberLow) %#llx", (unsigned long long)v);
    __asm__ volatile("movsbq 0x2d(%1), %0" : "=r"(v) : "r"(USD) : "memory");
    CHECK(v == 0xFFFFFFFFFFFFFF86ULL, "movsx byte %#llx", (unsigned long long)v);
    v = ~0ULL;
    __asm__ volatile("movswl 0x2c(%1), %k0" : "+r"(v) : "r"(USD) : "memory");
    CHECK(v == 0xFFFF8664ULL, "movsx word to 32 bits %#llx", (unsigned long long)v);
    __asm__ volatile("movslq 0x26c(%1), %0" : "=r"(v) : "r"(USD) : "memory");
    CHECK(v == 10, "movsxd %#llx", (unsigned long long)v);

    /* Flags, observed through the conditional instructions that use them. */
    unsigned char eq, below, greater, bit1, nobit0, lessreg;
    __asm__ volatile("cmpl $10, 0x26c(%1)\n\tsete %0" : "=q"(eq) : "r"(USD) : "cc", "memory");
    __asm__ volatile("cmpl $11, 0x26c(%1)\n\tsetb %0" : "=q"(below) : "r"(USD) : "cc", "memory");
    __asm__ volatile("cmpl $9, 0x26c(%1)\n\tsetg %0" : "=q"(greater) : "r"(USD) : "cc", "memory");
    __asm__ volatile("testl $2, 0x26c(%1)\n\tsetnz %0" : "=q"(bit1) : "r"(USD) : "cc", "memory");
    __asm__ volatile("testb $1, 0x26c(%1)\n\tsetz %0" : "=q"(nobit0) : "r"(USD) : "cc", "memory");
    __asm__ volatile("cmp 0x26c(%1), %k2\n\tsetl %0"
                     : "=q"(lessreg)
                     : "r"(USD), "r"(9)
                     : "cc", "memory");
    CHECK(eq == 1, "cmp 10 with NtMajorVersion: ZF clear");
    CHECK(below == 1, "NtMajorVersion below 11: CF clear");
    CHECK(greater == 1, "NtMajorVersion greater than 9: not g");
    CHECK(bit1 == 1, "test bit 1 of 10: ZF set");
    CHECK(nobit0 == 1, "test bit 0 of 10: ZF clear");
    CHECK(lessreg == 1, "cmp reg 9 with 10: not l");

    ULONG64 r = 5;
    __asm__ volatile("add 0x26c(%1), %k0" : "+r"(r) : "r"(USD) : "cc", "memory");
    CHECK(r == 15, "add: %llu", (unsigned long long)r);
    r = 5;
    unsigned char borrow;
    __asm__ volatile("sub 0x26c(%2), %k0\n\tsetc %1"
                     : "+r"(r), "=q"(borrow)
                     : "r"(USD)
                     : "cc", "memory");
    CHECK(r == 0xFFFFFFFBULL && borrow == 1, "sub: %#llx CF %u", (unsigned long long)r, borrow);
    r = 0xff;
    __asm__ volatile("and 0x26c(%1), %k0" : "+r"(r) : "r"(USD) : "cc", "memory");
    CHECK(r == 10, "and: %llu", (unsigned long long)r);
    r = 0x5;
    __asm__ volatile("or 0x26c(%1), %k0" : "+r"(r) : "r"(USD) : "cc", "memory");
    CHECK(r == 15, "or: %llu", (unsigned long long)r);
    r = 10;
    unsigned char zero;
    __asm__ volatile("xor 0x26c(%2), %k0\n\tsetz %1"
                     : "+r"(r), "=q"(zero)
                     : "r"(USD)
                     : "cc", "memory");
    CHECK(r == 0 && zero == 1, "xor: %llu ZF %u", (unsigned long long)r, zero);

    /* SSE loads: NtMajorVersion, NtMinorVersion, then ProcessorFeatures. */
    ULONG64 lo = ~0ULL, hi = ~0ULL;
    __asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tmovq 0x26c(%2), %%xmm0\n\t"
                     "movq %%xmm0, %0\n\tpsrldq $8, %%xmm0\n\tmovq %%xmm0, %1"
                     : "=r"(lo), "=r"(hi)
                     : "r"(USD)
                     : "xmm0", "memory");
    CHECK(lo == 10 && hi == 0, "movq xmm: %#llx %#llx", (unsigned long long)lo,
          (unsigned long long)hi);
    __asm__ volatile("movdqu 0x268(%2), %%xmm1\n\tmovq %%xmm1, %0\n\tpsrldq $8, %%xmm1\n\t"
                     "movq %%xmm1, %1"
                     : "=r"(lo), "=r"(hi)
                     : "r"(USD)
                     : "xmm1", "memory");
    CHECK((lo >> 32) == 10 && (lo & 0xff) == 1 && (hi & 0xffffffff) == 0,
          "movdqu at 0x268: %#llx %#llx", (unsigned long long)lo, (unsigned long long)hi);

    /* The live copy the patcher will use. */
    HalpRefreshSharedData();
    const volatile UCHAR *copy = HalpSharedDataCopy();
    ULONG major, mult;
    LONG h1, h2;
    memcpy(&major, (const void *)(copy + 0x26c), 4);
    memcpy(&mult, (const void *)(copy + 0x4), 4);
    memcpy(&h1, (const void *)(copy + 0x14 + 4), 4);
    memcpy(&h2, (const void *)(copy + 0x14 + 8), 4);
    CHECK(major == 10, "copy NtMajorVersion %u", major);
    CHECK(mult == (156250ULL << 24) / 10000, "TickCountMultiplier %#x", mult);
    CHECK(h1 == h2, "SystemTime High1Time %d High2Time %d", h1, h2);
}

static void TestClockExports(void)
{
    LARGE_INTEGER freq = {0}, t, sys;
    LARGE_INTEGER c1 = KeQueryPerformanceCounter(&freq);
    LARGE_INTEGER c2 = KeQueryPerformanceCounter(NULL);
    CHECK(freq.QuadPart == 10000000, "PerformanceFrequency %lld", (long long)freq.QuadPart);
    CHECK(c2.QuadPart >= c1.QuadPart, "performance counter went back");
    CHECK(KeQueryTimeIncrement() == 156250, "KeQueryTimeIncrement %u", KeQueryTimeIncrement());

    ULONG64 before = Now100ns(CLOCK_REALTIME) + EPOCH_1601;
    KeQuerySystemTime(&sys);
    KeQuerySystemTimePrecise(&t);
    ULONG64 after = Now100ns(CLOCK_REALTIME) + EPOCH_1601;
    CHECK((ULONG64)sys.QuadPart >= before && (ULONG64)t.QuadPart <= after &&
              sys.QuadPart <= t.QuadPart,
          "KeQuerySystemTime %lld, Precise %lld", (long long)sys.QuadPart, (long long)t.QuadPart);

    ULONGLONG qpc = 0;
    ULONGLONG i1 = KeQueryInterruptTime();
    ULONGLONG i2 = KeQueryInterruptTimePrecise(&qpc);
    ULONGLONG i3 = KeQueryUnbiasedInterruptTime();
    CHECK(i1 <= i2 && i2 <= i3 && qpc != 0, "interrupt times %llu %llu %llu",
          (unsigned long long)i1, (unsigned long long)i2, (unsigned long long)i3);
    LARGE_INTEGER ticks;
    KeQueryTickCount(&ticks);
    CHECK((ULONG64)ticks.QuadPart >= i1 / 156250, "KeQueryTickCount %lld",
          (long long)ticks.QuadPart);

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    KeStallExecutionProcessor(2000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long waited = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    CHECK(waited >= 2000000, "KeStallExecutionProcessor(2000) returned after %lld ns", waited);

    PROCESSOR_NUMBER pn = {7, 7, 7};
    HalPcr()->Number = 0;
    CHECK(KeGetCurrentProcessorNumberEx(&pn) == 0 && pn.Group == 0 && pn.Number == 0 &&
              pn.Reserved == 0,
          "processor number %u/%u", pn.Group, pn.Number);
    KAFFINITY mask = 0;
    ULONG count = KeQueryActiveProcessorCount(&mask);
    CHECK(count >= 1 && count <= 64 && (ULONG)KeNumberProcessors == count,
          "KeQueryActiveProcessorCount %u, KeNumberProcessors %d", count, KeNumberProcessors);
    CHECK(mask == KeQueryActiveProcessors() && (ULONG)__builtin_popcountll(mask) == count,
          "active processor mask %#llx", (unsigned long long)mask);
}

/* ---- Bug checks, each in a forked child ---- */

static UCHAR *FakeCode;
static LDR_IMAGE FakeImage = {.Name = "fake.sys"};

static LDR_IMAGE *FindFake(const void *Address)
{
    return (const UCHAR *)Address >= FakeCode && (const UCHAR *)Address < FakeCode + 4096
               ? &FakeImage
               : NULL;
}

/* Copies Code into the fake image's page, runs it as driver code. */
static void RunDriverCode(const UCHAR *Code, size_t Length)
{
    mprotect(FakeCode, 4096, PROT_READ | PROT_WRITE);
    memcpy(FakeCode, Code, Length);
    mprotect(FakeCode, 4096, PROT_READ | PROT_EXEC);
    ((void (*)(void))FakeCode)();
}

static void ExitHook(int Status)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "exit hook called with %d\n", Status);
    if (write(1, line, (size_t)n) < 0)
        _exit(99);
    _exit(Status);
}

typedef void CHILD_BODY(void *Arg);

typedef struct {
    CHILD_BODY *Body;
    void *Arg;
} CHILD;

static void ChildMain(void *Child)
{
    CHILD *c = Child;
    KipBugCheckExitHook = ExitHook;
    c->Body(c->Arg);
}

/* Runs Body in a child; returns its raw wait status and its merged output.
   A bug check never returns: a child whose Body does exits with 100. */
static int RunChild(CHILD_BODY *Body, void *Arg, char *Out, size_t OutLen)
{
    CHILD child = {Body, Arg};
    return kmtest_fork(ChildMain, &child, 100, Out, OutLen);
}

typedef struct {
    const char *What;
    const UCHAR *Code;
    size_t Length;
    KIRQL Irql;
    size_t FaultOffset;
    const char *Stop; /* the expected start of the STOP line, "%p" for the RIP */
} FAULT_CASE;

static void FaultBody(void *Arg)
{
    const FAULT_CASE *c = Arg;
    HalPcr()->Irql = c->Irql;
    RunDriverCode(c->Code, c->Length);
}

static void ExpectBugCheck(const char *What, int Status, const char *Out, const char *Stop)
{
    CHECK(WIFEXITED(Status) && WEXITSTATUS(Status) == 3, "%s: wait status %#x, output:\n%s", What,
          Status, Out);
    CHECK(strstr(Out, Stop) != NULL, "%s: expected \"%s\" in:\n%s", What, Stop, Out);
    CHECK(strstr(Out, "exit hook called with 3") != NULL, "%s: the exit hook was not used", What);
}

static void TestDriverFaults(void)
{
    static const UCHAR read_null[] = {0x48, 0x31, 0xc0, 0x8b, 0x00, 0xc3}; /* mov eax,[rax] */
    static const UCHAR write_null[] = {0x48, 0x31, 0xc0, 0xc6, 0x00, 0x01, 0xc3}; /* mov [rax],1 */
    static const UCHAR write_usd[] = {0x48, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x80, 0xf7, 0xff,
                                      0xff, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc3};
    static const UCHAR divide[] = {0x31, 0xc9, 0x31, 0xc0, 0x31, 0xd2, 0xf7, 0xf1, 0xc3};
    static const UCHAR ud2[] = {0x90, 0x0f, 0x0b, 0xc3};
    static const UCHAR cli[] = {0xfa, 0xc3};
    static const UCHAR int3[] = {0x90, 0xcc, 0xc3};
    static const UCHAR cr8_reserved[] = {0x48, 0xc7, 0xc0, 0x10, 0x00, 0x00, 0x00, /* mov rax,16 */
                                         0x44, 0x0f, 0x22, 0xc0, 0xc3};            /* mov cr8,rax */
    static const FAULT_CASE cases[] = {
        {"NULL read", read_null, sizeof(read_null), PASSIVE_LEVEL, 3,
         "*** STOP: 0x0000007E (0xFFFFFFFFC0000005,0x%016llX,"},
        {"NULL read at DISPATCH_LEVEL", read_null, sizeof(read_null), DISPATCH_LEVEL, 3,
         "*** STOP: 0x000000D1 (0x0000000000000000,0x0000000000000002,0x0000000000000000,"
         "0x%016llX) DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
        {"NULL write at DISPATCH_LEVEL", write_null, sizeof(write_null), DISPATCH_LEVEL, 3,
         "*** STOP: 0x000000D1 (0x0000000000000000,0x0000000000000002,0x0000000000000001,"
         "0x%016llX) DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
        {"write to shared user data", write_usd, sizeof(write_usd), DISPATCH_LEVEL, 10,
         "*** STOP: 0x000000D1 (0xFFFFF78000000000,0x0000000000000002,0x0000000000000001,"
         "0x%016llX) DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
        {"divide by zero", divide, sizeof(divide), PASSIVE_LEVEL, 6,
         "*** STOP: 0x0000007E (0xFFFFFFFFC0000094,0x%016llX,"},
        {"ud2", ud2, sizeof(ud2), PASSIVE_LEVEL, 1,
         "*** STOP: 0x0000007E (0xFFFFFFFFC000001D,0x%016llX,"},
        {"cli", cli, sizeof(cli), PASSIVE_LEVEL, 0,
         "*** STOP: 0x0000007E (0xFFFFFFFFC0000096,0x%016llX,"},
        {"int3", int3, sizeof(int3), PASSIVE_LEVEL, 1,
         "*** STOP: 0x0000007E (0xFFFFFFFF80000003,0x%016llX,"},
        {"mov cr8 with reserved bits", cr8_reserved, sizeof(cr8_reserved), PASSIVE_LEVEL, 7,
         "*** STOP: 0x0000007E (0xFFFFFFFFC0000096,0x%016llX,"},
    };
    char out[16384], stop[256];

    for (size_t i = 0; i < KM_ARRAY_SIZE(cases); i++) {
        int status = RunChild(FaultBody, (void *)&cases[i], out, sizeof(out));
        snprintf(stop, sizeof(stop), cases[i].Stop,
                 (unsigned long long)(uintptr_t)(FakeCode + cases[i].FaultOffset));
        ExpectBugCheck(cases[i].What, status, out, stop);
    }
}

static void *Recurse(void *Arg)
{
    (void)Arg;
    HalInitThreadSignalStack();
    HalSetCurrentPcr(NewPcr());
    HalPcr()->Irql = PASSIVE_LEVEL;
    ((void (*)(void))FakeCode)();
    return NULL;
}

static void OverflowBody(void *Arg)
{
    static const UCHAR recurse[] = {0x50, 0xe8, 0xfa, 0xff, 0xff, 0xff}; /* push rax; call self */
    pthread_attr_t attr;
    pthread_t t;
    (void)Arg;
    mprotect(FakeCode, 4096, PROT_READ | PROT_WRITE);
    memcpy(FakeCode, recurse, sizeof(recurse));
    mprotect(FakeCode, 4096, PROT_READ | PROT_EXEC);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_create(&t, &attr, Recurse, NULL);
    pthread_join(t, NULL);
}

static void BugCheckExBody(void *Arg)
{
    (void)Arg;
    KeBugCheckEx(0xE2, 1, 2, 3, 0xFFFFFFFFFFFFFFFFULL);
}

static void RaiseLowerBody(void *Arg)
{
    HalPcr()->Irql = DISPATCH_LEVEL;
    if (Arg)
        KfRaiseIrql(APC_LEVEL);
    else
        KfLowerIrql(HIGH_LEVEL);
}

static void NoPcrCr8Body(void *Arg)
{
    (void)Arg;
    HalSetCurrentPcr(NULL);
    ReadCr8Rax();
}

static void HostFaultBody(void *Arg)
{
    (void)Arg;
    volatile uintptr_t address = 16;
    HalSetCurrentPcr(NULL);
    *(volatile int *)address = 1;
}

static void TestBugChecks(void)
{
    char out[16384];
    int status = RunChild(OverflowBody, NULL, out, sizeof(out));
    ExpectBugCheck("stack overflow", status, out,
                   "*** STOP: 0x0000007F (0x0000000000000008,0x0000000000000000,"
                   "0x0000000000000000,0x0000000000000000) UNEXPECTED_KERNEL_MODE_TRAP");

    status = RunChild(BugCheckExBody, NULL, out, sizeof(out));
    ExpectBugCheck("KeBugCheckEx", status, out,
                   "*** STOP: 0x000000E2 (0x0000000000000001,0x0000000000000002,"
                   "0x0000000000000003,0xFFFFFFFFFFFFFFFF) MANUALLY_INITIATED_CRASH\n");
    CHECK(strncmp(out, "*** STOP:", 9) == 0, "the STOP line comes first:\n%s", out);
    CHECK(strstr(out, "IRQL: 0 (PASSIVE_LEVEL)") != NULL, "no IRQL line in:\n%s", out);

    status = RunChild(RaiseLowerBody, (void *)1, out, sizeof(out));
    ExpectBugCheck("KfRaiseIrql below the current IRQL", status, out,
                   "*** STOP: 0x00000009 (0x0000000000000002,0x0000000000000001,"
                   "0x0000000000000000,0x0000000000000000) IRQL_NOT_GREATER_OR_EQUAL");
    status = RunChild(RaiseLowerBody, NULL, out, sizeof(out));
    ExpectBugCheck("KfLowerIrql above the current IRQL", status, out,
                   "*** STOP: 0x0000000A (0x0000000000000002,0x000000000000000F,"
                   "0x0000000000000000,0x0000000000000000) IRQL_NOT_LESS_OR_EQUAL");

    /* Faults that are not a driver's are reported as kmhost's and abort. */
    status = RunChild(NoPcrCr8Body, NULL, out, sizeof(out));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "cr8 without a KPCR: status %#x",
          status);
    CHECK(strstr(out, "kmhost internal error: SIGSEGV") && !strstr(out, "*** STOP"),
          "cr8 without a KPCR:\n%s", out);
    status = RunChild(HostFaultBody, NULL, out, sizeof(out));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "host fault: status %#x", status);
    CHECK(strstr(out, "kmhost internal error: SIGSEGV") && strstr(out, "address 0x10") &&
              !strstr(out, "*** STOP"),
          "host fault:\n%s", out);
}

/* A system thread's block: in the thread, GS is the block's KPCR and the
   stack bounds are the block's stack; once the thread ended, the next
   allocation reuses the block, with a zeroed KPCR. */
static KPCR *BlockPcrSeen;
static uintptr_t BlockLow, BlockHigh, BlockSp;
static void *BlockThread(void *Arg)
{
    HAL_THREAD_BLOCK *b = Arg;
    HalEnterThreadBlock(b);
    BlockPcrSeen = HalPcr();
    BlockPcrSeen->Irql = DISPATCH_LEVEL; /* dirty it: the next owner gets it zeroed */
    if (!HalpThreadStackBounds(&BlockLow, &BlockHigh))
        BlockLow = BlockHigh = 0;
    BlockSp = (uintptr_t)__builtin_frame_address(0);
    HalRetireThreadBlock(b);
    return NULL;
}

static void TestThreadBlocks(void)
{
    HAL_THREAD_BLOCK *b = HalAllocateThreadBlock();
    CHECK(b != NULL, "HalAllocateThreadBlock");
    KPCR *pcr = HalThreadBlockPcr(b);
    CHECK(HalStartThreadBlock(b, BlockThread, b) == 0, "HalStartThreadBlock");
    HAL_THREAD_BLOCK *again = NULL;
    for (int i = 0; i < 200 && !again; i++) {
        usleep(5000);
        HAL_THREAD_BLOCK *c = HalAllocateThreadBlock();
        if (HalThreadBlockPcr(c) == pcr)
            again = c;
        else
            HalFreeThreadBlock(c);
    }
    CHECK(BlockPcrSeen == pcr, "the thread's GS base is its block's KPCR");
    CHECK(BlockLow && BlockSp > BlockLow && BlockSp < BlockHigh &&
              BlockHigh - BlockLow == 1024 * 1024 && (uintptr_t)pcr < BlockLow,
          "stack bounds %#lx-%#lx hold the thread's frame %#lx, above the KPCR %p",
          (unsigned long)BlockLow, (unsigned long)BlockHigh, (unsigned long)BlockSp, (void *)pcr);
    CHECK(again != NULL, "an ended thread's block is reused");
    if (again) {
        CHECK(pcr->Irql == 0 && pcr->Self == NULL, "a reused block's KPCR is zeroed");
        HalFreeThreadBlock(again);
    }
}

/* Processor i is the i-th CPU the process may run on; binding a thread to
   a processor runs it on that CPU, and binding to 0 gives back all. */
static void TestProcessorBinding(void)
{
    cpu_set_t start, now;
    int cpus[64], n = 0;
    CHECK(sched_getaffinity(0, sizeof(start), &start) == 0, "sched_getaffinity");
    for (int cpu = 0; cpu < CPU_SETSIZE && n < 64; cpu++)
        if (CPU_ISSET(cpu, &start))
            cpus[n++] = cpu;
    CHECK(HalpProcessorCount() == (ULONG)n, "%lu processors, %d CPUs in the affinity",
          (unsigned long)HalpProcessorCount(), n);
    for (int i = 0; i < n; i++) {
        CHECK(HalpBindThread((KAFFINITY)1 << i), "bind to processor %d", i);
        CHECK(sched_getcpu() == cpus[i], "bound to processor %d: on CPU %d, expected %d", i,
              sched_getcpu(), cpus[i]);
        const void *set;
        size_t size;
        CHECK(HalpThreadIsBound(&set, &size) == (n > 1), "bound flag with %d processors", n);
    }
    CHECK(HalpBindThread(0), "unbind");
    CHECK(sched_getaffinity(0, sizeof(now), &now) == 0 && CPU_EQUAL(&now, &start),
          "binding to 0 restores the starting affinity");
}

int main(void)
{
    HalInitSystem();
    HalInitSystem(); /* idempotent */
    KPCR *pcr = NewPcr();
    HalSetCurrentPcr(pcr);
    CHECK(HalPcr() == pcr, "GS base %p, expected %p", (void *)HalPcr(), (void *)pcr);

    FakeCode = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    FakeImage.Base = FakeCode;
    FakeImage.Size = 4096;
    HalpFindImageHook = FindFake;

    TestCr8();
    TestIrqlPerThread();
    TestSharedData();
    TestClockExports();
    TestDriverFaults();
    TestBugChecks();
    TestProcessorBinding();
    TestThreadBlocks();

    return KMTEST_DONE();
}
