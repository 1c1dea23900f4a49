/*
 * A fault nobody emulates: whose is it?
 *
 * - The faulting instruction is in a driver image, or the thread has a KPCR
 *   and a driver frame is on its stack (kmhost code called by the driver,
 *   e.g. with a bad pointer, as ntoskrnl would fault on Windows): it is the
 *   driver's, and it becomes the bug check Windows would raise for an
 *   exception that no handler takes:
 *     access violation at IRQL >= DISPATCH_LEVEL: 0xD1 DRIVER_IRQL_NOT_LESS_
 *       OR_EQUAL when the instruction is a driver's, else 0x0A IRQL_NOT_LESS_
 *       OR_EQUAL (address, IRQL, 0 read / 1 write / 8 execute, RIP);
 *     kernel stack overflow: 0x7F UNEXPECTED_KERNEL_MODE_TRAP with
 *       P1 = 8 (EXCEPTION_DOUBLE_FAULT), as x64 Windows reports it;
 *     anything else: 0x7E SYSTEM_THREAD_EXCEPTION_NOT_HANDLED (exception
 *       code, exception address, EXCEPTION_RECORD, CONTEXT); system threads
 *       and DriverEntry both run in system threads on Windows.
 * - Otherwise it is a kmhost bug: a report that says so, a backtrace, abort().
 */
#include "hal/context.h"
#include "hal/trap.h"
#include "vf/vf.h"

#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#define STATUS_FLOAT_INEXACT_RESULT ((NTSTATUS)0xC000008F)
#define STATUS_FLOAT_INVALID_OPERATION ((NTSTATUS)0xC0000090)
#define STATUS_FLOAT_OVERFLOW ((NTSTATUS)0xC0000091)
#define STATUS_FLOAT_UNDERFLOW ((NTSTATUS)0xC0000093)

#define EXCEPTION_DOUBLE_FAULT 8
#define HALP_STACK_OVERFLOW_SLACK (64 * 1024)

/* The records 0x7E points at, per thread so that simultaneous faults do not
   share them; they stay valid until the process exits. */
static __thread EXCEPTION_RECORD HalpExceptionRecord;
static __thread CONTEXT HalpContext;

static void HalpWrite(int Fd, const char *Text, size_t Length)
{
    while (Length) {
        ssize_t n = write(Fd, Text, Length);
        if (n <= 0)
            return;
        Text += n;
        Length -= (size_t)n;
    }
}

static const char *HalpSignalName(int Signal)
{
    switch (Signal) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGILL:
        return "SIGILL";
    case SIGFPE:
        return "SIGFPE";
    case SIGTRAP:
        return "SIGTRAP";
    default:
        return "signal";
    }
}

typedef struct HALP_BACKTRACE {
    void **Frames;
    int Count; /* -1 until the first frame, HalpBacktrace's own, is skipped */
    int Size;
    _Unwind_Word Cfa;
} HALP_BACKTRACE;

static _Unwind_Reason_Code HalpBacktraceFrame(struct _Unwind_Context *Context, void *Arg)
{
    HALP_BACKTRACE *t = Arg;
    if (t->Count != -1) {
        t->Frames[t->Count] = (void *)_Unwind_GetIP(Context);
        /* No progress (the same frame again): the end. */
        _Unwind_Word cfa = _Unwind_GetCFA(Context);
        if (t->Count > 0 && t->Frames[t->Count - 1] == t->Frames[t->Count] && cfa == t->Cfa)
            return _URC_END_OF_STACK;
        t->Cfa = cfa;
    }
    return ++t->Count == t->Size ? _URC_END_OF_STACK : _URC_NO_REASON;
}

/* backtrace(3), the same frames, with the unwinder linked into kmhost
   (-static-libgcc) rather than glibc's, which loads libgcc_s with dlopen on
   its first call: that allocates, so start-up had to make the first call
   before any signal handler could, about 0.2 ms of every kmhost run. This
   one allocates nothing: it finds each frame's unwind table through
   _dl_find_object. */
static __attribute__((noinline)) int HalpBacktrace(void **Frames, int Size)
{
    HALP_BACKTRACE t = {Frames, -1, Size, 0};
    if (Size <= 0)
        return 0;
    _Unwind_Backtrace(HalpBacktraceFrame, &t);
    if (t.Count > 1 && Frames[t.Count - 1] == NULL) /* _start's "return address" */
        t.Count--;
    return t.Count != -1 ? t.Count : 0;
}

KM_NORETURN void HalpInternalError(int Signal, const siginfo_t *Info, const ucontext_t *Uc,
                                   const char *Why)
{
    /* snprintf into a stack buffer: glibc's snprintf without floating-point
       conversions does not allocate, and the process is about to abort. */
    char line[512];
    void *frames[64];
    int n = snprintf(line, sizeof(line),
                     "kmhost internal error: %s (si_code %d) at address %p, rip %p, thread %d\n"
                     "  %s\n"
                     "  This is a bug in kmhost, not in the driver. Backtrace:\n",
                     HalpSignalName(Signal), Info->si_code, Info->si_addr,
                     (void *)Uc->uc_mcontext.gregs[REG_RIP], (int)gettid(), Why);
    HalpWrite(2, line, n > 0 && (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    int depth = HalpBacktrace(frames, (int)KM_ARRAY_SIZE(frames));
    backtrace_symbols_fd(frames, depth, 2);
    abort();
}

/* CPL-0 instructions, and the IOPL-sensitive ones that are privileged for
   user mode (cli, sti, in, out and the string forms). */
static BOOLEAN HalpIsPrivileged(const HALP_INSN *I)
{
    switch (I->Insn.mnemonic) {
    case ZYDIS_MNEMONIC_CLI:
    case ZYDIS_MNEMONIC_STI:
    case ZYDIS_MNEMONIC_IN:
    case ZYDIS_MNEMONIC_OUT:
    case ZYDIS_MNEMONIC_INSB:
    case ZYDIS_MNEMONIC_INSW:
    case ZYDIS_MNEMONIC_INSD:
    case ZYDIS_MNEMONIC_OUTSB:
    case ZYDIS_MNEMONIC_OUTSW:
    case ZYDIS_MNEMONIC_OUTSD:
        return TRUE;
    default:
        return (I->Insn.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED) != 0;
    }
}

/* A fault just below the thread's stack (its guard area), or a push/call that
   hit unmapped memory right under RSP. */
static BOOLEAN HalpIsStackOverflow(uintptr_t Address, uintptr_t Rsp)
{
    uintptr_t low, high;
    if (HalpThreadStackBounds(&low, &high))
        return Address < low + 4096 && Address + HALP_STACK_OVERFLOW_SLACK >= low &&
               Rsp < low + HALP_STACK_OVERFLOW_SLACK;
    return Address <= Rsp && Rsp - Address <= 256;
}

KM_NORETURN void HalpFault(int Signal, siginfo_t *Info, ucontext_t *Uc, BOOLEAN Decoded,
                           const HALP_INSN *I)
{
    uintptr_t rip = (uintptr_t)Uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t rsp = (uintptr_t)Uc->uc_mcontext.gregs[REG_RSP];
    NTSTATUS code = STATUS_ACCESS_VIOLATION;
    ULONG_PTR address = 0, access = 0;
    ULONG params = 0;
    BOOLEAN overflow = FALSE;

    switch (Signal) {
    case SIGSEGV:
        if (Info->si_code == SI_KERNEL) {
            /* #GP: a privileged instruction, or a non-canonical address,
               which Windows reports as an access violation at ~0. */
            if (Decoded && HalpIsPrivileged(I)) {
                code = STATUS_PRIVILEGED_INSTRUCTION;
            } else {
                address = ~(ULONG_PTR)0;
                params = 2;
            }
        } else {
            /* The page-fault error code: bit 1 write, bit 4 instruction fetch. */
            ULONG64 err = (ULONG64)Uc->uc_mcontext.gregs[REG_ERR];
            address = (ULONG_PTR)Info->si_addr;
            access = (err & 0x10) ? 8 : (err & 0x2) ? 1 : 0;
            params = 2;
            overflow = HalpIsStackOverflow(address, rsp);
        }
        break;
    case SIGBUS:
        code = Info->si_code == BUS_ADRALN ? STATUS_DATATYPE_MISALIGNMENT : STATUS_IN_PAGE_ERROR;
        address = (ULONG_PTR)Info->si_addr;
        break;
    case SIGILL:
        code = Info->si_code == ILL_PRVOPC || Info->si_code == ILL_PRVREG
                   ? STATUS_PRIVILEGED_INSTRUCTION
                   : STATUS_ILLEGAL_INSTRUCTION;
        break;
    case SIGFPE:
        switch (Info->si_code) {
        case FPE_INTDIV:
            code = STATUS_INTEGER_DIVIDE_BY_ZERO;
            break;
        case FPE_INTOVF:
            code = STATUS_INTEGER_OVERFLOW;
            break;
        case FPE_FLTDIV:
            code = STATUS_FLOAT_DIVIDE_BY_ZERO;
            break;
        case FPE_FLTOVF:
            code = STATUS_FLOAT_OVERFLOW;
            break;
        case FPE_FLTUND:
            code = STATUS_FLOAT_UNDERFLOW;
            break;
        case FPE_FLTRES:
            code = STATUS_FLOAT_INEXACT_RESULT;
            break;
        default:
            code = STATUS_FLOAT_INVALID_OPERATION;
            break;
        }
        break;
    case SIGTRAP:
        code = Info->si_code == TRAP_TRACE ? STATUS_SINGLE_STEP : STATUS_BREAKPOINT;
        /* int3 traps after the instruction; Windows reports its address. */
        if (Info->si_code == SI_KERNEL)
            rip -= 1;
        break;
    default:
        break;
    }

    LDR_IMAGE *image = HalpImageAt((const void *)rip);
    KPCR *pcr = HalPcr();
    const void *caller;
    if (!image && !(pcr && HalpScanStack(rsp, &caller, 1)))
        HalpInternalError(Signal, Info, Uc,
                          "The fault is outside every driver image, on a "
                          "thread that is not running driver code.");

    KIRQL irql = pcr ? pcr->Irql : PASSIVE_LEVEL;
    EXCEPTION_RECORD *rec = &HalpExceptionRecord;
    memset(rec, 0, sizeof(*rec));
    rec->ExceptionCode = code;
    rec->ExceptionFlags = EXCEPTION_NONCONTINUABLE;
    rec->ExceptionAddress = (PVOID)rip;
    rec->NumberParameters = params;
    rec->ExceptionInformation[0] = access;
    rec->ExceptionInformation[1] = address;
    HalpContextFromUcontext(&HalpContext, Uc);
    HalpContext.Rip = rip;

    if (overflow)
        KiBugCheckWithContext(0x7F, EXCEPTION_DOUBLE_FAULT, 0, 0, 0, Uc);
    if (code == STATUS_ACCESS_VIOLATION) /* a guard page of special pool: 0xD5/0xD6 */
        VfpSpecialPoolFault(address, access, rip, Uc);
    if (code == STATUS_ACCESS_VIOLATION && irql >= DISPATCH_LEVEL)
        KiBugCheckWithContext(image ? 0xD1 : 0x0A, address, irql, access, rip, Uc);
    KiBugCheckWithContext(0x7E, (ULONG_PTR)(LONG_PTR)code, rip, (ULONG_PTR)rec,
                          (ULONG_PTR)&HalpContext, Uc);
}
