// Conformance: the processor control region as drivers read it inline through
// the GS segment on x64. KeGetCurrentThread (gs:[0x188], KPCR.Prcb.CurrentThread)
// is the thread the exported PsGetCurrentThread returns; KeGetPcr (gs:[0x18],
// KPCR.Self) is the KPCR's own linear address; KeGetCurrentProcessorNumber
// (gs:[0x184], Prcb.LegacyNumber) and Prcb.Number (gs:[0x1a4]) are the
// processor KeGetCurrentProcessorNumberEx reports, wherever the thread cannot
// move (DISPATCH_LEVEL); KeGetCurrentIrql (cr8) is the level raised to. Each
// holds in DriverEntry, a system thread, a DPC and a work item, through every
// instruction form compilers emit for a gs: load (register base, base and
// displacement, SIB, 8/16/32-bit loads, movzx, cmp, add, intel syntax), and in
// several threads at once. The driver only reads through gs, never writes.
// EXPECT-EXIT: 0
#include "harness.h"

/* The documented x64 KPCR offsets that WDK inline routines read. */
#define PCR_SELF 0x18            /* KPCR.Self: KeGetPcr */
#define PCR_PRCB 0x180           /* KPCR.Prcb */
#define PCR_LEGACY_NUMBER 0x184  /* KPCR.Prcb.LegacyNumber: KeGetCurrentProcessorNumber */
#define PCR_CURRENT_THREAD 0x188 /* KPCR.Prcb.CurrentThread: KeGetCurrentThread */
#define PCR_NUMBER 0x1a4         /* KPCR.Prcb.Number */

#define CONCURRENT_THREADS 4
#define CONCURRENT_READS 100000
#define MAX_TARGETED 64

#ifndef ALL_PROCESSOR_GROUPS
#define ALL_PROCESSOR_GROUPS 0xffff /* wdm.h; mingw-w64 lacks it */
#endif

typedef PETHREAD(NTAPI *current_thread_fn)(VOID);

/* The exported PsGetCurrentThread (mingw-w64's wdm.h makes the name inline). */
static current_thread_fn g_export_current_thread;
static ULONG g_processors; /* group 0, the processors a KDPC can target */
static ULONG g_all_processors;

/* ok() with the context's name and both values, for checks run in each context. */
#define same_ptr(where, got, expected, rule)                                                       \
    do {                                                                                           \
        const void *got_ = (const void *)(got), *exp_ = (const void *)(expected);                  \
        ok(got_ == exp_, "%s: %s: got %p, expected %p", where, rule, got_, exp_);                  \
    } while (0)
#define same_int(where, got, expected, rule)                                                       \
    do {                                                                                           \
        LONG64 got_ = (LONG64)(got), exp_ = (LONG64)(expected);                                    \
        ok(got_ == exp_, "%s: %s: got %I64d (0x%I64x), expected %I64d (0x%I64x)", where, rule,     \
           got_, got_, exp_, exp_);                                                                \
    } while (0)

/* Keeps the compiler from merging or hoisting mingw-w64's __readgsqword (an
   asm with a memory operand, not volatile) across loop iterations. */
#define reread() __asm__ volatile("" ::: "memory")

/*
 * gs: loads in the instruction forms compilers emit. Each is volatile so that
 * it runs where it is written.
 */

/* A function returning rax (v) after one asm statement: its template and
   operands. GS_READ_OVER_ONES starts rax at all ones, so that a load that
   keeps part of rax shows which part. */
#define GS_READ(name, ...)                                                                         \
    static ULONG64 name(void)                                                                      \
    {                                                                                              \
        ULONG64 v;                                                                                 \
        __asm__ volatile(__VA_ARGS__);                                                             \
        return v;                                                                                  \
    }
#define GS_READ_OVER_ONES(name, ...)                                                               \
    static ULONG64 name(void)                                                                      \
    {                                                                                              \
        ULONG64 v = ~(ULONG64)0;                                                                   \
        __asm__ volatile(__VA_ARGS__);                                                             \
        return v;                                                                                  \
    }

/* mov rax, gs:[rcx] */
static ULONG64 gs_base(ULONG64 offset)
{
    ULONG64 v;
    __asm__ volatile("movq %%gs:(%%rcx), %%rax" : "=a"(v) : "c"(offset));
    return v;
}

/* mov rax, gs:[rcx+disp8] with rcx = 0x180 (KPCR.Prcb): the field at Prcb+disp */
GS_READ(gs_prcb_disp8_thread, "movq %%gs:0x8(%%rcx), %%rax" : "=a"(v) : "c"((ULONG64)PCR_PRCB))

/* mov rax, gs:[rcx+disp32] (0x80 + 0x108 = 0x188) */
GS_READ(gs_disp32_thread, "movq %%gs:0x108(%%rcx), %%rax" : "=a"(v) : "c"((ULONG64)0x80))

/* mov rax, gs:[rcx+rdx*8] (0x180 + 1*8) */
GS_READ(gs_sib_thread, "movq %%gs:(%%rcx,%%rdx,8), %%rax"
        : "=a"(v)
        : "c"((ULONG64)PCR_PRCB), "d"((ULONG64)1))

/* mov rax, gs:[rdx*8+0x100] (no base register: 0x100 + 0x11*8 = 0x188) */
GS_READ(gs_index_only_thread, "movq %%gs:0x100(,%%rdx,8), %%rax" : "=a"(v) : "d"((ULONG64)0x11))

/* mov r11, gs:[r10] (REX.B base, REX.R destination) */
GS_READ(gs_r10_r11_thread, "movq %1, %%r10\n\t"
                           "movq %%gs:(%%r10), %%r11\n\t"
                           "movq %%r11, %0"
        : "=r"(v)
        : "i"(PCR_CURRENT_THREAD)
        : "r10", "r11")

/* mov r11, gs:[0x188] (absolute disp32 through a SIB byte, REX.R destination) */
GS_READ(gs_abs_r11_thread, "movq %%gs:0x188, %%r11\n\t"
                           "movq %%r11, %0"
        : "=r"(v)
        :
        : "r11")

/* mov rax, qword ptr gs:[0x188], written in intel syntax */
GS_READ(gs_intel_thread, ".intel_syntax noprefix\n\t"
                         "mov rax, qword ptr gs:[0x188]\n\t"
                         ".att_syntax prefix"
        : "=a"(v))

/* mov rax, qword ptr gs:[rcx+8], intel syntax, rcx = 0x180 */
GS_READ(gs_intel_base_thread, ".intel_syntax noprefix\n\t"
                              "mov rax, qword ptr gs:[rcx+8]\n\t"
                              ".att_syntax prefix"
        : "=a"(v)
        : "c"((ULONG64)PCR_PRCB))

/* mov rax, gs:[moffs64] (the A1 form with a 64-bit offset) */
GS_READ(gs_moffs_thread, "movabsq %%gs:0x188, %%rax" : "=a"(v))

/* mov eax, gs:[off]: a 32-bit load clears bits 63:32 of rax */
GS_READ_OVER_ONES(gs_load32, "movl %%gs:0x188, %%eax" : "+a"(v))
GS_READ_OVER_ONES(gs_load32_high, "movl %%gs:0x18c, %%eax" : "+a"(v))

/* mov ax, gs:[0x184]: a 16-bit load keeps bits 63:16 of rax */
GS_READ_OVER_ONES(gs_load16_legacy, "movw %%gs:0x184, %%ax" : "+a"(v))

/* mov al, gs:[0x184]: an 8-bit load keeps bits 63:8 of rax */
GS_READ_OVER_ONES(gs_load8_legacy, "movb %%gs:0x184, %%al" : "+a"(v))

/* movzx eax, byte gs:[0x184] */
GS_READ_OVER_ONES(gs_movzb_legacy, "movzbl %%gs:0x184, %%eax" : "+a"(v))

/* movzx eax, byte gs:[rcx+4], rcx = 0x180 */
GS_READ_OVER_ONES(gs_movzb_base_legacy, "movzbl %%gs:0x4(%%rcx), %%eax"
                  : "+a"(v)
                  : "c"((ULONG64)PCR_PRCB))

/* movzx eax, word gs:[0x184] (KeGetCurrentProcessorNumber as the WDK writes it) */
GS_READ_OVER_ONES(gs_movzw_legacy, "movzwl %%gs:0x184, %%eax" : "+a"(v))

/* movzx r9d, word gs:[0x1a4] (Prcb.Number, REX.R destination) */
GS_READ(gs_movzw_number, "movq $-1, %%r9\n\t"
                         "movzwl %%gs:0x1a4, %%r9d\n\t"
                         "movq %%r9, %0"
        : "=r"(v)
        :
        : "r9")

/* cmp qword gs:[0x188], 0; setne al */
static int gs_cmp_imm_thread_nonzero(void)
{
    unsigned char r;
    __asm__ volatile("cmpq $0, %%gs:0x188\n\tsetne %0" : "=q"(r) : : "cc");
    return r;
}

/* cmp rcx, gs:[0x188]; sete al */
static int gs_cmp_reg_thread_equals(ULONG64 value)
{
    unsigned char r;
    __asm__ volatile("cmpq %%gs:0x188, %%rcx\n\tsete %0" : "=q"(r) : "c"(value) : "cc");
    return r;
}

/* add rax, gs:[0x188] */
static ULONG64 gs_add_thread(ULONG64 addend)
{
    ULONG64 v = addend;
    __asm__ volatile("addq %%gs:0x188, %%rax" : "+a"(v) : : "cc");
    return v;
}

/* mov rax, gs:[rcx+0x10], rcx = 8: KPCR.Self */
GS_READ(gs_base_disp_self, "movq %%gs:0x10(%%rcx), %%rax" : "=a"(v) : "c"((ULONG64)8))

/* The thread-pointer forms, for the concurrent loop: all must equal self. */
static int thread_forms_agree(PKTHREAD self, ULONG i)
{
    ULONG64 s = (ULONG64)self;

    switch (i % 6) {
    case 0:
        return (ULONG64)KeGetCurrentThread() == s;
    case 1:
        return gs_base(PCR_CURRENT_THREAD) == s;
    case 2:
        return gs_prcb_disp8_thread() == s;
    case 3:
        return gs_sib_thread() == s;
    case 4:
        return gs_r10_r11_thread() == s;
    default:
        return gs_cmp_reg_thread_equals(s);
    }
}

/*
 * Every instruction form agrees with the plain inline reads. Called at
 * DISPATCH_LEVEL, where the thread stays on its processor.
 */
static void check_forms(const char *where, PKTHREAD self)
{
    ULONG64 t = (ULONG64)self;
    ULONG64 legacy = KeGetCurrentProcessorNumber();
    ULONG index = KeGetCurrentProcessorNumberEx(NULL);

    same_int(where, gs_base(PCR_CURRENT_THREAD), t,
             "mov rax, gs:[rcx] with rcx = 0x188 (Prcb.CurrentThread) reads KeGetCurrentThread");
    same_int(where, gs_prcb_disp8_thread(), t,
             "mov rax, gs:[rcx+8] with rcx = 0x180 (KPCR.Prcb) reads Prcb.CurrentThread");
    same_int(where, gs_disp32_thread(), t,
             "mov rax, gs:[rcx+0x108] with rcx = 0x80 reads gs:[0x188], the current thread");
    same_int(where, gs_sib_thread(), t,
             "mov rax, gs:[rcx+rdx*8] (0x180 + 8) reads gs:[0x188], the current thread");
    same_int(where, gs_index_only_thread(), t,
             "mov rax, gs:[rdx*8+0x100] (0x11*8 + 0x100) reads gs:[0x188], the current thread");
    same_int(where, gs_r10_r11_thread(), t,
             "mov r11, gs:[r10] with r10 = 0x188 reads the current thread");
    same_int(where, gs_abs_r11_thread(), t, "mov r11, gs:[0x188] reads the current thread");
    same_int(where, gs_intel_thread(), t,
             "mov rax, qword ptr gs:[0x188] (intel syntax) reads the current thread");
    same_int(where, gs_intel_base_thread(), t,
             "mov rax, qword ptr gs:[rcx+8] (intel syntax, rcx = 0x180) reads the current thread");
    same_int(where, gs_moffs_thread(), t, "mov rax, gs:[moffs64 0x188] reads the current thread");
    same_int(where, gs_load32(), t & 0xFFFFFFFFULL,
             "mov eax, gs:[0x188] reads the low half of the current thread and clears bits 63:32");
    same_int(where, gs_load32_high(), t >> 32,
             "mov eax, gs:[0x18c] reads the high half of the current thread");
    ok(gs_cmp_imm_thread_nonzero(),
       "%s: cmp qword gs:[0x188], 0 finds the current thread pointer non-zero", where);
    ok(gs_cmp_reg_thread_equals(t),
       "%s: cmp rcx, gs:[0x188] sets ZF when rcx is the current thread", where);
    ok(!gs_cmp_reg_thread_equals(t ^ 0x10),
       "%s: cmp rcx, gs:[0x188] clears ZF when rcx is not the current thread", where);
    same_int(where, gs_add_thread(0x20), t + 0x20,
             "add rax, gs:[0x188] adds the current thread pointer");
    same_int(where, gs_base_disp_self(), (ULONG64)KeGetPcr(),
             "mov rax, gs:[rcx+0x10] with rcx = 8 reads KPCR.Self as KeGetPcr does");

    same_int(where, gs_movzw_legacy(), legacy,
             "movzx eax, word gs:[0x184] reads what KeGetCurrentProcessorNumber returns");
    same_int(where, gs_load16_legacy(), 0xFFFFFFFFFFFF0000ULL | legacy,
             "mov ax, gs:[0x184] loads KeGetCurrentProcessorNumber into ax and keeps bits 63:16");
    if (legacy < 0x100) {
        same_int(where, gs_movzb_legacy(), legacy,
                 "movzx eax, byte gs:[0x184] reads Prcb.LegacyNumber, the processor number");
        same_int(where, gs_movzb_base_legacy(), legacy,
                 "movzx eax, byte gs:[rcx+4] with rcx = 0x180 reads Prcb.LegacyNumber");
        same_int(where, gs_load8_legacy(), 0xFFFFFFFFFFFFFF00ULL | legacy,
                 "mov al, gs:[0x184] loads Prcb.LegacyNumber into al and keeps bits 63:8");
    }
    if (index < 0x10000)
        same_int(where, gs_movzw_number(), index,
                 "movzx r9d, word gs:[0x1a4] reads Prcb.Number, KeGetCurrentProcessorNumberEx");
}

/* The checks that need the thread to stay on its processor: at DISPATCH_LEVEL. */
static void check_at_dispatch(const char *where, PKTHREAD self)
{
    PKPCR pcr = KeGetPcr();
    ULONG index = KeGetCurrentProcessorNumberEx(NULL);

    same_int(where, KeGetCurrentIrql(), DISPATCH_LEVEL,
             "KeGetCurrentIrql (cr8) reads DISPATCH_LEVEL at DISPATCH_LEVEL");
    same_ptr(where, KeGetCurrentThread(), self,
             "KeGetCurrentThread (gs:[0x188]) is still the current thread at DISPATCH_LEVEL");
    ok(pcr != NULL, "%s: KeGetPcr (gs:[0x18], KPCR.Self) is not NULL", where);
    if (pcr) {
        same_ptr(where, pcr->Self, pcr, "KPCR.Self holds the KPCR's own address");
        same_ptr(where, *(PKTHREAD *)((PUCHAR)pcr + PCR_CURRENT_THREAD), self,
                 "the KPCR at KPCR.Self is the one gs: addresses: its Prcb.CurrentThread "
                 "(+0x188) is the current thread");
        same_int(where, *(volatile UCHAR *)((PUCHAR)pcr + PCR_LEGACY_NUMBER),
                 (UCHAR)KeGetCurrentProcessorNumber(),
                 "the KPCR at KPCR.Self is the one gs: addresses: its Prcb.LegacyNumber (+0x184)");
        same_ptr(where, KeGetPcr(), pcr,
                 "KeGetPcr is the same at DISPATCH_LEVEL (the processor does not change)");
    }
    if (index < 64)
        same_int(where, KeGetCurrentProcessorNumber(), index,
                 "KeGetCurrentProcessorNumber (gs:[0x184]) equals the exported "
                 "KeGetCurrentProcessorNumberEx(NULL) at DISPATCH_LEVEL");
    ok(index < g_all_processors,
       "%s: KeGetCurrentProcessorNumberEx(NULL) is below "
       "KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS): %lu",
       where, index);
    check_forms(where, self);
}

/*
 * The checks every context runs. irql is the level the context is documented
 * to run at (PASSIVE_LEVEL: DriverEntry, system threads, work items;
 * DISPATCH_LEVEL: DPCs). Returns KeGetCurrentThread.
 */
static PKTHREAD check_context(const char *where, KIRQL irql)
{
    PKTHREAD self = KeGetCurrentThread();
    KIRQL old;

    ok(self != NULL, "%s: KeGetCurrentThread (gs:[0x188]) is not NULL", where);
    same_int(where, KeGetCurrentIrql(), irql,
             "KeGetCurrentIrql (cr8) reads the IRQL the context is documented to run at");
    if (g_export_current_thread)
        same_ptr(where, g_export_current_thread(), self,
                 "KeGetCurrentThread (gs:[0x188]) is the thread the exported PsGetCurrentThread "
                 "returns");
    same_ptr(where, PsGetThreadId((PETHREAD)self), PsGetCurrentThreadId(),
             "the thread gs:[0x188] names has the id the exported PsGetCurrentThreadId returns");
    if (irql == PASSIVE_LEVEL) {
        PVOID obj = NULL;
        NTSTATUS st = ObReferenceObjectByHandle(NtCurrentThread(), 0, KM_PsThreadType, KernelMode,
                                                &obj, NULL);
        ok(NT_SUCCESS(st), "%s: ObReferenceObjectByHandle(NtCurrentThread()) succeeds: 0x%08lx",
           where, (ULONG)st);
        if (NT_SUCCESS(st)) {
            same_ptr(where, obj, self,
                     "KeGetCurrentThread (gs:[0x188]) is the object NtCurrentThread() refers to");
            ObDereferenceObject(obj);
        }
    }

    if (irql >= DISPATCH_LEVEL) {
        check_at_dispatch(where, self);
        return self;
    }

    KeRaiseIrql(APC_LEVEL, &old);
    same_int(where, KeGetCurrentIrql(), APC_LEVEL,
             "KeGetCurrentIrql (cr8) reads APC_LEVEL after KeRaiseIrql(APC_LEVEL)");
    same_ptr(where, KeGetCurrentThread(), self,
             "KeGetCurrentThread (gs:[0x188]) is unchanged at APC_LEVEL");
    {
        KIRQL apc;
        KeRaiseIrql(DISPATCH_LEVEL, &apc);
        same_int(where, apc, APC_LEVEL, "KeRaiseIrql returns the previous IRQL, APC_LEVEL");
        check_at_dispatch(where, self);
        {
            KIRQL dispatch;
            KeRaiseIrql(HIGH_LEVEL, &dispatch);
            KIRQL high = KeGetCurrentIrql();
            PKTHREAD at_high = KeGetCurrentThread();
            KeLowerIrql(dispatch);
            same_int(where, high, HIGH_LEVEL,
                     "KeGetCurrentIrql (cr8) reads HIGH_LEVEL after KeRaiseIrql(HIGH_LEVEL)");
            same_ptr(where, at_high, self,
                     "KeGetCurrentThread (gs:[0x188]) is unchanged at HIGH_LEVEL");
        }
        same_int(where, KeGetCurrentIrql(), DISPATCH_LEVEL,
                 "KeLowerIrql(DISPATCH_LEVEL) from HIGH_LEVEL restores DISPATCH_LEVEL");
        KeLowerIrql(apc);
    }
    KeLowerIrql(old);
    same_int(where, KeGetCurrentIrql(), irql, "KeLowerIrql restores the IRQL KeRaiseIrql returned");
    same_ptr(where, KeGetCurrentThread(), self,
             "KeGetCurrentThread (gs:[0x188]) is unchanged by raising and lowering the IRQL");
    return self;
}

/* ---- system thread ---- */

static PKTHREAD g_system_self;

static VOID NTAPI system_thread(PVOID context)
{
    UNREFERENCED_PARAMETER(context);
    g_system_self = check_context("system thread", PASSIVE_LEVEL);
}

static void test_system_thread(void)
{
    PKTHREAD t = harness_start_thread(system_thread, NULL);

    if (!t)
        return;
    harness_join_thread(t);
    is_ptr(
        g_system_self, t,
        "in a system thread KeGetCurrentThread (gs:[0x188]) is the object PsCreateSystemThread's "
        "handle refers to");
}

/* ---- DPC ---- */

typedef struct DPC_CHECK {
    KEVENT done;
    const char *where;
    LONG target; /* -1: any processor */
    volatile LONG ran;
    volatile LONG index;
    volatile LONG legacy;
    volatile LONG number;
} DPC_CHECK;

static VOID NTAPI check_dpc(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
    DPC_CHECK *c = context;

    UNREFERENCED_PARAMETER(dpc);
    UNREFERENCED_PARAMETER(arg1);
    UNREFERENCED_PARAMETER(arg2);
    if (c->target < 0)
        check_context(c->where, DISPATCH_LEVEL);
    c->index = (LONG)KeGetCurrentProcessorNumberEx(NULL);
    c->legacy = (LONG)KeGetCurrentProcessorNumber();
    c->number = (LONG)gs_movzw_number();
    c->ran = 1;
    KeSetEvent(&c->done, IO_NO_INCREMENT, FALSE);
}

static void run_dpc(DPC_CHECK *c, const char *where, LONG target)
{
    static KDPC dpc;
    LARGE_INTEGER timeout = {.QuadPart = -10LL * 1000 * 1000 * 10}; /* 10 s */

    RtlZeroMemory(c, sizeof(*c));
    KeInitializeEvent(&c->done, NotificationEvent, FALSE);
    c->where = where;
    c->target = target;
    KeInitializeDpc(&dpc, check_dpc, c);
    if (target >= 0)
        KeSetTargetProcessorDpc(&dpc, (CCHAR)target);
    ok(KeInsertQueueDpc(&dpc, NULL, NULL), "KeInsertQueueDpc queues an idle DPC (returns TRUE)");
    is_status(KeWaitForSingleObject(&c->done, Executive, KernelMode, FALSE, &timeout),
              STATUS_SUCCESS, "a queued DPC runs and sets the event it was given");
    KeFlushQueuedDpcs();
}

static void test_dpc(void)
{
    static DPC_CHECK c;

    run_dpc(&c, "DPC", -1);
    is_int(c.ran, 1, "the DPC routine ran");

    /* Documented: a DPC given a target processor runs on it; there the gs:
       reads name that processor. */
    for (ULONG i = 0; i < g_processors && i < MAX_TARGETED; i++) {
        run_dpc(&c, "targeted DPC", (LONG)i);
        is_int(c.index, i, "a DPC runs on the processor KeSetTargetProcessorDpc named");
        is_int(c.legacy, i,
               "in a DPC KeGetCurrentProcessorNumber (gs:[0x184]) is its target processor");
        is_int(c.number, i, "in a DPC Prcb.Number (gs:[0x1a4]) is its target processor");
    }
}

/* ---- work item ---- */

typedef struct WORK_CHECK {
    WORK_QUEUE_ITEM item;
    KEVENT done;
    PKTHREAD self;
} WORK_CHECK;

static VOID NTAPI work_routine(PVOID parameter)
{
    WORK_CHECK *w = parameter;

    w->self = check_context("work item", PASSIVE_LEVEL);
    KeSetEvent(&w->done, IO_NO_INCREMENT, FALSE);
}

static void test_work_item(void)
{
    static WORK_CHECK w;

    KeInitializeEvent(&w.done, NotificationEvent, FALSE);
    w.self = NULL;
    ExInitializeWorkItem(&w.item, work_routine, &w);
    ExQueueWorkItem(&w.item, DelayedWorkQueue);
    is_status(KeWaitForSingleObject(&w.done, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "an executive work item runs and sets the event it was given");
    ok(w.self != NULL && w.self != KeGetCurrentThread(),
       "a work item runs in a worker thread, whose gs:[0x188] is not the queuing thread");
}

/* ---- many threads at once ---- */

typedef struct READER {
    PKTHREAD self;           /* the exported PsGetCurrentThread, at start */
    volatile LONG wrong;     /* gs:[0x188] reads (in any form) that were not self */
    volatile LONG wrong_pcr; /* DISPATCH_LEVEL samples where KeGetPcr()->Self or +0x188 was off */
    volatile LONG reads;
} READER;

static KEVENT g_start;
static READER g_readers[CONCURRENT_THREADS];

static VOID NTAPI reader_thread(PVOID context)
{
    READER *r = context;
    LARGE_INTEGER tick = {.QuadPart = -1}; /* 100 ns: a short sleep, so threads interleave */
    LONG wrong = 0, wrong_pcr = 0;

    r->self = g_export_current_thread ? (PKTHREAD)g_export_current_thread() : KeGetCurrentThread();
    KeWaitForSingleObject(&g_start, Executive, KernelMode, FALSE, NULL);
    for (ULONG i = 0; i < CONCURRENT_READS; i++) {
        reread();
        if (!thread_forms_agree(r->self, i))
            wrong++;
        if ((i & 255) == 0) {
            KIRQL old;
            KeRaiseIrql(DISPATCH_LEVEL, &old);
            PKPCR pcr = KeGetPcr();
            if (!pcr || pcr->Self != pcr ||
                *(PKTHREAD *)((PUCHAR)pcr + PCR_CURRENT_THREAD) != r->self)
                wrong_pcr++;
            KeLowerIrql(old);
        }
        if ((i & 4095) == 4095)
            KeDelayExecutionThread(KernelMode, FALSE, &tick);
    }
    r->wrong = wrong;
    r->wrong_pcr = wrong_pcr;
    r->reads = CONCURRENT_READS;
}

static void test_concurrent(void)
{
    PKTHREAD t[CONCURRENT_THREADS];
    int distinct = 1;

    KeInitializeEvent(&g_start, NotificationEvent, FALSE);
    for (ULONG i = 0; i < CONCURRENT_THREADS; i++)
        t[i] = harness_start_thread(reader_thread, &g_readers[i]);
    KeSetEvent(&g_start, IO_NO_INCREMENT, FALSE);
    for (ULONG i = 0; i < CONCURRENT_THREADS; i++) {
        if (!t[i])
            continue;
        KeWaitForSingleObject(t[i], Executive, KernelMode, FALSE, NULL);
        is_ptr(g_readers[i].self, t[i],
               "the exported PsGetCurrentThread in a system thread is the object its handle "
               "refers to");
        is_int(g_readers[i].reads, CONCURRENT_READS, "the reader thread ran to the end");
        is_int(g_readers[i].wrong, 0,
               "with 4 threads reading at once, every gs:[0x188] read (plain, base, "
               "base+disp, SIB, r10/r11, cmp) in a thread is that thread");
        is_int(g_readers[i].wrong_pcr, 0,
               "with 4 threads reading at once, at DISPATCH_LEVEL KeGetPcr()->Self is the KPCR "
               "and its Prcb.CurrentThread is the reading thread");
        for (ULONG j = 0; j < i; j++)
            if (t[j] && g_readers[j].self == g_readers[i].self)
                distinct = 0;
    }
    ok(distinct, "threads that exist at the same time have distinct gs:[0x188] thread pointers");
    for (ULONG i = 0; i < CONCURRENT_THREADS; i++)
        if (t[i])
            ObDereferenceObject(t[i]);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    UNREFERENCED_PARAMETER(driver);
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    UNICODE_STRING name;

    UNREFERENCED_PARAMETER(registry_path);
    driver->DriverUnload = DriverUnload;
    g_processors = KeQueryActiveProcessorCount(NULL);
    g_all_processors = KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
    ok(g_processors >= 1 && g_all_processors >= g_processors,
       "KeQueryActiveProcessorCount is at least 1 and at most the count of all groups: %lu, %lu",
       g_processors, g_all_processors);
    RtlInitUnicodeString(&name, L"PsGetCurrentThread");
    g_export_current_thread = (current_thread_fn)MmGetSystemRoutineAddress(&name);
    ok(g_export_current_thread != NULL,
       "MmGetSystemRoutineAddress finds PsGetCurrentThread, an ntoskrnl.exe export");

    check_context("DriverEntry", PASSIVE_LEVEL);
    test_system_thread();
    test_dpc();
    test_work_item();
    test_concurrent();
    return STATUS_SUCCESS;
}
