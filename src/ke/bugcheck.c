/*
 * Bug checks: the report, then the end of the process with exit status 3.
 *
 * The first line is the contract of DESIGN.md section 5:
 *   *** STOP: 0x%08X (0x%016llX,0x%016llX,0x%016llX,0x%016llX) NAME
 * then what a developer needs: where (the faulting instruction, or the
 * caller of KeBugCheckEx), the thread, the IRQL, the driver frames on the
 * stack, the last DbgPrint lines.
 *
 * Invariants: exactly one thread reports (KipReporter holds its thread id);
 * a second bug check on another thread waits until the first one exits the
 * process, and one on the reporting thread itself (a fault while reporting)
 * exits at once. The report is built in a static buffer with snprintf: a bug
 * check may run in a signal handler, where malloc is unsafe, and glibc's
 * snprintf does not allocate for the integer and string conversions used
 * here; the buffer is the reporter's alone. It goes to standard output with
 * write(2), like DbgPrint, so that the two interleave in order.
 */
#include "hal/hal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void (*KipBugCheckExitHook)(int Status) = _exit;

static pid_t KipReporter;
static char KipReport[16384];
static size_t KipReportLength;

static const struct {
    ULONG Code;
    const char *Name;
} KipBugCheckNames[] = {
    /* Names as in Microsoft's bug check code reference. */
    {0x01, "APC_INDEX_MISMATCH"},
    {0x02, "DEVICE_QUEUE_NOT_BUSY"},
    {0x03, "INVALID_AFFINITY_SET"},
    {0x04, "INVALID_DATA_ACCESS_TRAP"},
    {0x05, "INVALID_PROCESS_ATTACH_ATTEMPT"},
    {0x06, "INVALID_PROCESS_DETACH_ATTEMPT"},
    {0x07, "INVALID_SOFTWARE_INTERRUPT"},
    {0x08, "IRQL_NOT_DISPATCH_LEVEL"},
    {0x09, "IRQL_NOT_GREATER_OR_EQUAL"},
    {0x0A, "IRQL_NOT_LESS_OR_EQUAL"},
    {0x0B, "NO_EXCEPTION_HANDLING_SUPPORT"},
    {0x0C, "MAXIMUM_WAIT_OBJECTS_EXCEEDED"},
    {0x0D, "MUTEX_LEVEL_NUMBER_VIOLATION"},
    {0x0E, "NO_USER_MODE_CONTEXT"},
    {0x0F, "SPIN_LOCK_ALREADY_OWNED"},
    {0x10, "SPIN_LOCK_NOT_OWNED"},
    {0x11, "THREAD_NOT_MUTEX_OWNER"},
    {0x12, "TRAP_CAUSE_UNKNOWN"},
    {0x13, "EMPTY_THREAD_REAPER_LIST"},
    {0x14, "CREATE_DELETE_LOCK_NOT_LOCKED"},
    {0x15, "LAST_CHANCE_CALLED_FROM_KMODE"},
    {0x16, "CID_HANDLE_CREATION"},
    {0x17, "CID_HANDLE_DELETION"},
    {0x18, "REFERENCE_BY_POINTER"},
    {0x19, "BAD_POOL_HEADER"},
    {0x1A, "MEMORY_MANAGEMENT"},
    {0x1D, "NO_SPIN_LOCK_AVAILABLE"},
    {0x1E, "KMODE_EXCEPTION_NOT_HANDLED"},
    {0x1F, "SHARED_RESOURCE_CONV_ERROR"},
    {0x20, "KERNEL_APC_PENDING_DURING_EXIT"},
    {0x21, "QUOTA_UNDERFLOW"},
    {0x2A, "INCONSISTENT_IRP"},
    {0x30, "SET_OF_INVALID_CONTEXT"},
    {0x35, "NO_MORE_IRP_STACK_LOCATIONS"},
    {0x36, "DEVICE_REFERENCE_COUNT_NOT_ZERO"},
    {0x39, "SYSTEM_EXIT_OWNED_MUTEX"},
    {0x3B, "SYSTEM_SERVICE_EXCEPTION"},
    {0x3F, "NO_MORE_SYSTEM_PTES"},
    {0x44, "MULTIPLE_IRP_COMPLETE_REQUESTS"},
    {0x48, "CANCEL_STATE_IN_COMPLETED_IRP"},
    {0x4A, "IRQL_GT_ZERO_AT_SYSTEM_SERVICE"},
    {0x50, "PAGE_FAULT_IN_NONPAGED_AREA"},
    {0x7E, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED"},
    {0x7F, "UNEXPECTED_KERNEL_MODE_TRAP"},
    {0x8E, "KERNEL_MODE_EXCEPTION_NOT_HANDLED"},
    {0x93, "INVALID_KERNEL_HANDLE"},
    {0x96, "INVALID_WORK_QUEUE_ITEM"},
    {0x9F, "DRIVER_POWER_STATE_FAILURE"},
    {0xB8, "ATTEMPTED_SWITCH_FROM_DPC"},
    {0xBE, "ATTEMPTED_WRITE_TO_READONLY_MEMORY"},
    {0xBF, "MUTEX_ALREADY_OWNED"},
    {0xC1, "SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION"},
    {0xC2, "BAD_POOL_CALLER"},
    {0xC4, "DRIVER_VERIFIER_DETECTED_VIOLATION"},
    {0xC5, "DRIVER_CORRUPTED_EXPOOL"},
    {0xC6, "DRIVER_CAUGHT_MODIFYING_FREED_POOL"},
    {0xC7, "TIMER_OR_DPC_INVALID"},
    {0xC8, "IRQL_UNEXPECTED_VALUE"},
    {0xC9, "DRIVER_VERIFIER_IOMANAGER_VIOLATION"},
    {0xCB, "DRIVER_LEFT_LOCKED_PAGES_IN_PROCESS"},
    {0xCC, "PAGE_FAULT_IN_FREED_SPECIAL_POOL"},
    {0xCD, "PAGE_FAULT_BEYOND_END_OF_ALLOCATION"},
    {0xCE, "DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS"},
    {0xD1, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"},
    {0xD5, "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL"},
    {0xD6, "DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION"},
    {0xDC, "DRIVER_INVALID_STACK_ACCESS"},
    {0xE1, "WORKER_THREAD_RETURNED_AT_BAD_IRQL"},
    {0xE2, "MANUALLY_INITIATED_CRASH"},
    {0xE3, "RESOURCE_NOT_OWNED"},
    {0xE4, "WORKER_INVALID"},
    {0xE6, "DRIVER_VERIFIER_DMA_VIOLATION"},
    {0xE7, "INVALID_FLOATING_POINT_STATE"},
    {0xE9, "ACTIVE_EX_WORKER_THREAD_TERMINATION"},
    {0xEA, "THREAD_STUCK_IN_DEVICE_DRIVER"},
    {0xEF, "CRITICAL_PROCESS_DIED"},
    {0xF4, "CRITICAL_OBJECT_TERMINATION"},
    {0xF5, "FLTMGR_FILE_SYSTEM"},
    {0xF6, "PCI_VERIFIER_DETECTED_VIOLATION"},
    {0xF7, "DRIVER_OVERRAN_STACK_BUFFER"},
    {0xFC, "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY"},
    {0x101, "CLOCK_WATCHDOG_TIMEOUT"},
    {0x102, "DPC_WATCHDOG_TIMEOUT"},
    {0x10D, "WDF_VIOLATION"},
    {0x11F, "INVALID_DRIVER_HANDLE"},
    {0x121, "DRIVER_VIOLATION"},
    {0x133, "DPC_WATCHDOG_VIOLATION"},
    {0x139, "KERNEL_SECURITY_CHECK_FAILURE"},
    {0x13A, "KERNEL_MODE_HEAP_CORRUPTION"},
    {0x153, "KERNEL_LOCK_ENTRY_LEAKED_ON_THREAD_TERMINATION"},
    {0x1000007E, "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M"},
    {0x1000008E, "KERNEL_MODE_EXCEPTION_NOT_HANDLED_M"},
};

static const char *KipBugCheckName(ULONG Code)
{
    for (size_t i = 0; i < KM_ARRAY_SIZE(KipBugCheckNames); i++) {
        if (KipBugCheckNames[i].Code == Code)
            return KipBugCheckNames[i].Name;
    }
    return "UNKNOWN_BUG_CHECK_CODE";
}

static const char *KipIrqlName(KIRQL Irql)
{
    switch (Irql) {
    case PASSIVE_LEVEL:
        return "PASSIVE_LEVEL";
    case APC_LEVEL:
        return "APC_LEVEL";
    case DISPATCH_LEVEL:
        return "DISPATCH_LEVEL";
    case SYNCH_LEVEL:
        return "SYNCH_LEVEL";
    case 13:
        return "CLOCK_LEVEL";
    case 14:
        return "IPI_LEVEL";
    case HIGH_LEVEL:
        return "HIGH_LEVEL";
    default:
        return Irql < SYNCH_LEVEL ? "device IRQL" : "invalid IRQL";
    }
}

__attribute__((format(printf, 1, 2))) static void KipPrint(const char *Format, ...)
{
    va_list ap;
    if (KipReportLength >= sizeof(KipReport) - 1)
        return;
    va_start(ap, Format);
    int n = vsnprintf(KipReport + KipReportLength, sizeof(KipReport) - KipReportLength, Format, ap);
    va_end(ap);
    if (n > 0)
        KipReportLength += (size_t)n;
    if (KipReportLength > sizeof(KipReport) - 1)
        KipReportLength = sizeof(KipReport) - 1;
}

static void KipWriteAll(int Fd, const char *Text, size_t Length)
{
    while (Length) {
        ssize_t n = write(Fd, Text, Length);
        if (n <= 0)
            return;
        Text += n;
        Length -= (size_t)n;
    }
}

KM_NORETURN static void KipExit(void)
{
    KipBugCheckExitHook(KM_BUGCHECK_EXIT_STATUS);
    _exit(KM_BUGCHECK_EXIT_STATUS);
}

static void KipPrintRecentOutput(void)
{
    static char recent[4096];
    size_t n = KdGetRecentOutput(recent, sizeof(recent));
    if (n >= sizeof(recent))
        n = sizeof(recent) - 1;
    recent[n] = 0;
    if (!n)
        return;
    KipPrint("  last DbgPrint output:\n");
    for (char *line = recent; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        KipPrint("    | %.*s\n", (int)len, line);
        line += len + (end ? 1 : 0);
    }
}

/* Whether Ret, an address in kmhost's code, follows a call instruction: a
   return address. The forms the compiler emits: call rel32, call
   [rip+disp32], call reg (with or without a REX prefix). */
static bool KipFollowsCall(uintptr_t Ret)
{
    const uint8_t *p = (const uint8_t *)Ret;
    if (!LdrIsHostCode(p) || !LdrIsHostCode(p - 7))
        return false;
    return p[-5] == 0xE8 || (p[-6] == 0xFF && p[-5] == 0x15) ||
           (p[-2] == 0xFF && (p[-1] & 0xF8) == 0xD0) ||
           (p[-3] == 0x41 && p[-2] == 0xFF && (p[-1] & 0xF8) == 0xD0);
}

/* kmhost's own callers of a faulting kmhost routine, up to the driver's
   call: first the return address on top of the stack when the routine has
   no frame of its own (a leaf, or a fault before its prologue), then the
   frame pointers kmhost is built with. */
static void KipPrintHostCallers(uintptr_t Bp, uintptr_t Sp)
{
    char where[256];
    uintptr_t top = Sp && !(Sp & 7) ? *(const uintptr_t *)Sp : 0;
    bool topShown = KipFollowsCall(top);
    if (topShown) {
        LdrDescribeAddress((const void *)top, where, sizeof(where));
        KipPrint("    called from %s\n", where);
    }
    for (int i = 0; i < 6 && Bp >= Sp && Bp - Sp < (1u << 20) && !(Bp & 7); i++) {
        const uintptr_t *frame = (const uintptr_t *)Bp;
        const void *ret = (const void *)frame[1];
        if (!LdrIsHostCode(ret))
            break;
        if (i > 0 || !topShown || (uintptr_t)ret != top) { /* not the same call again */
            LdrDescribeAddress(ret, where, sizeof(where));
            KipPrint("    called from %s\n", where);
        }
        Sp = Bp;
        Bp = frame[0];
    }
}

KM_NORETURN static void KipBugCheck(ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3,
                                    ULONG_PTR P4, const ucontext_t *Uc, const void *Caller,
                                    ULONG_PTR Sp)
{
    pid_t self = gettid(), owner = 0;
    char where[512];

    if (!__atomic_compare_exchange_n(&KipReporter, &owner, self, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        if (owner == self) {
            static const char nested[] = "*** bug check while writing the bug check report\n";
            KipWriteAll(1, nested, sizeof(nested) - 1);
            KipExit();
        }
        for (;;)
            pause();
    }

    KipReportLength = 0;
    KipPrint("*** STOP: 0x%08X (0x%016llX,0x%016llX,0x%016llX,0x%016llX) %s\n", Code,
             (unsigned long long)P1, (unsigned long long)P2, (unsigned long long)P3,
             (unsigned long long)P4, KipBugCheckName(Code));
    if (Uc) {
        const greg_t *g = Uc->uc_mcontext.gregs;
        LdrDescribeAddress((const void *)g[REG_RIP], where, sizeof(where));
        KipPrint("  faulting instruction: %s\n", where);
        if (LdrIsHostCode((const void *)g[REG_RIP])) {
            KipPrint("  kmhost faulted inside a routine a driver called: an argument the driver "
                     "passed (a pointer, handle or object) is not valid; the call is the "
                     "innermost driver frame below\n");
            KipPrintHostCallers((uintptr_t)g[REG_RBP], (uintptr_t)g[REG_RSP]);
        }
        KipPrint("  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
                 "  rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx\n"
                 "  r8=%016llx r9=%016llx r10=%016llx r11=%016llx\n"
                 "  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
                 "  rip=%016llx efl=%08llx\n",
                 (unsigned long long)g[REG_RAX], (unsigned long long)g[REG_RBX],
                 (unsigned long long)g[REG_RCX], (unsigned long long)g[REG_RDX],
                 (unsigned long long)g[REG_RSI], (unsigned long long)g[REG_RDI],
                 (unsigned long long)g[REG_RBP], (unsigned long long)g[REG_RSP],
                 (unsigned long long)g[REG_R8], (unsigned long long)g[REG_R9],
                 (unsigned long long)g[REG_R10], (unsigned long long)g[REG_R11],
                 (unsigned long long)g[REG_R12], (unsigned long long)g[REG_R13],
                 (unsigned long long)g[REG_R14], (unsigned long long)g[REG_R15],
                 (unsigned long long)g[REG_RIP], (unsigned long long)g[REG_EFL]);
        Sp = (ULONG_PTR)g[REG_RSP];
    } else {
        LdrDescribeAddress(Caller, where, sizeof(where));
        KipPrint("  called from: %s\n", where);
    }

    KPCR *pcr = HalPcr();
    if (pcr && pcr->CurrentThread) {
        PsDescribeThread(pcr->CurrentThread, where, sizeof(where));
        KipPrint("  thread: %s\n", where);
    } else {
        KipPrint("  thread: host thread %d (%s)\n", (int)self,
                 pcr ? "no current KTHREAD" : "no KPCR");
    }
    if (pcr)
        KipPrint("  IRQL: %u (%s)\n", pcr->Irql, KipIrqlName(pcr->Irql));

    const void *frames[8];
    size_t count = HalpScanStack(Sp, frames, KM_ARRAY_SIZE(frames));
    if (count) {
        KipPrint("  driver frames on the stack (scanned, innermost first):\n");
        for (size_t i = 0; i < count; i++) {
            if (i > 0 && frames[i] == frames[i - 1])
                continue; /* a stale copy of the same return address */
            LdrDescribeAddress(frames[i], where, sizeof(where));
            KipPrint("    %s\n", where);
        }
    }
    KipPrintRecentOutput();

    KipWriteAll(1, KipReport, KipReportLength);
    KipExit();
}

KM_NORETURN void KiBugCheckWithContext(ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3,
                                       ULONG_PTR P4, const void *Context)
{
    KipBugCheck(Code, P1, P2, P3, P4, Context, __builtin_return_address(0),
                (ULONG_PTR)__builtin_frame_address(0));
}

KM_NORETURN void NTAPI KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1,
                                    ULONG_PTR BugCheckParameter2, ULONG_PTR BugCheckParameter3,
                                    ULONG_PTR BugCheckParameter4)
{
    KipBugCheck(BugCheckCode, BugCheckParameter1, BugCheckParameter2, BugCheckParameter3,
                BugCheckParameter4, NULL, __builtin_return_address(0),
                (ULONG_PTR)__builtin_frame_address(0));
}
KM_EXPORT(KeBugCheckEx);

KM_NORETURN void NTAPI KeBugCheck(ULONG BugCheckCode)
{
    KipBugCheck(BugCheckCode, 0, 0, 0, 0, NULL, __builtin_return_address(0),
                (ULONG_PTR)__builtin_frame_address(0));
}
KM_EXPORT(KeBugCheck);
