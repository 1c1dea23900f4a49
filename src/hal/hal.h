/*
 * HAL and CPU emulation: the interfaces src/hal/ offers to the rest of kmhost
 * beyond HalInitSystem/HalSetCurrentPcr (declared in km.h).
 *
 * Every routine here that says "signal-safe" may be called from a signal
 * handler: it takes no lock that a handler could already hold, does not
 * allocate, and uses only async-signal-safe system calls.
 */
#ifndef KM_HAL_HAL_H
#define KM_HAL_HAL_H

#include "km.h"

#include <signal.h>
#include <ucontext.h>

/* ---- Per-thread CPU state (the KPCR: HalPcr, km.h) ---- */

/* Every host thread that runs driver code and is not a system thread on a
   thread block (below) calls HalInitThreadSignalStack before it does, and
   HalFreeThreadSignalStack before it ends: faults are
   handled on this alternate stack (a stack overflow would otherwise kill the
   process), and the thread's stack bounds are recorded so that an overflow
   is recognised. HalInitSystem does it for the thread that calls it. Both are
   idempotent. */
void HalInitThreadSignalStack(void);
void HalFreeThreadSignalStack(void);

/* The host thread of a system thread runs on a thread block (hal/stacks.c):
   its KPCR, alternate signal stack and 1 MiB stack in one mapping, reused
   once the host thread that used it has ended. HalAllocateThreadBlock
   returns one with a zeroed KPCR (HalThreadBlockPcr), or NULL when memory
   is short. HalStartThreadBlock starts a joinable host thread running
   Start(Arg) on it and returns 0, or an errno value and frees the block. The
   new thread calls HalEnterThreadBlock first (alternate stack, stack bounds,
   GS base = its KPCR) and HalRetireThreadBlock last, after which it runs no
   kmhost code. HalFreeThreadBlock frees a block no thread was started on. */
typedef struct _HAL_THREAD_BLOCK HAL_THREAD_BLOCK;
HAL_THREAD_BLOCK *HalAllocateThreadBlock(void);
void HalFreeThreadBlock(HAL_THREAD_BLOCK *Block);
KPCR *HalThreadBlockPcr(HAL_THREAD_BLOCK *Block);
int HalStartThreadBlock(HAL_THREAD_BLOCK *Block, void *(*Start)(void *), void *Arg);
void HalEnterThreadBlock(HAL_THREAD_BLOCK *Block);
void HalRetireThreadBlock(HAL_THREAD_BLOCK *Block);

/* Called after every lowering of the current thread's IRQL (emulated
   `mov cr8, reg` and KfLowerIrql), with the old and the new level. The default
   is an empty weak definition; the dispatcher overrides it to deliver pending
   DPCs. It may run inside the SIGSEGV handler (the trapped `mov cr8`), so for
   now it must be async-signal-safe; the trap handler has already stepped past
   the instruction and may be re-entered by driver code the hook runs. */
KM_SLOWPATH void KiIrqlLowered(KIRQL Old, KIRQL New);

/* ---- KUSER_SHARED_DATA (0xFFFFF78000000000) ---- */

/* The live user-space copy of the 4 KiB page, for load-time patching. Its
   time fields follow the KSYSTEM_TIME protocol (High2Time, LowPart, then
   High1Time are written; a reader that sees High1Time == High2Time has a
   consistent value) and are current as of the last refresh. */
const volatile void *HalpSharedDataCopy(void);
/* Brings the copy's time fields up to date. Signal-safe; concurrent callers
   never write an older time over a newer one. */
void HalpRefreshSharedData(void);
/* Copies Length bytes at Offset of a freshly refreshed page into Buffer;
   FALSE when the range leaves the page. Signal-safe. */
BOOLEAN HalpReadSharedData(ULONG Offset, void *Buffer, ULONG Length);

/* ---- Clocks (100 ns units) ---- */

ULONGLONG HalpInterruptTime(void); /* CLOCK_MONOTONIC */
ULONGLONG HalpSystemTime(void);    /* CLOCK_REALTIME since 1601-01-01 UTC */
#define HAL_TIME_INCREMENT 156250  /* one clock tick: 15.625 ms */
#define HAL_PERFORMANCE_FREQUENCY 10000000LL

/* ---- Processors ---- */

typedef ULONG_PTR KAFFINITY, *PKAFFINITY;
#ifndef KM_HAVE_PROCESSOR_NUMBER
typedef struct _PROCESSOR_NUMBER {
    USHORT Group;
    UCHAR Number;
    UCHAR Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;
_Static_assert(sizeof(PROCESSOR_NUMBER) == 4, "PROCESSOR_NUMBER");
#endif
/* Processors the emulated machine reports (the CPUs kmhost may run on when
   it starts, at most 64: one group). Fixed by HalInitSystem. */
ULONG HalpProcessorCount(void);
/* Whether the processor has `prefetchw` (ke/event.c's lock-free set). */
BOOLEAN HalpHasPrefetchw(void);
/* Lets the calling host thread run only on the CPUs of the processors in
   Mask (0, or every processor: on all of them again). FALSE when the host
   refused; nothing changed then. Signal-safe (one system call). */
BOOLEAN HalpBindThread(KAFFINITY Mask);
/* TRUE when the calling host thread is bound to fewer CPUs than every
   processor's (its children would inherit that); Set and Size then give the
   set to start them with instead. */
BOOLEAN HalpThreadIsBound(const void **Set, size_t *Size);

/* ---- Exported routines implemented in src/hal and src/ke/irql.c ---- */

KIRQL NTAPI KeGetCurrentIrql(VOID);
KIRQL NTAPI KfRaiseIrql(KIRQL NewIrql);
VOID NTAPI KfLowerIrql(KIRQL NewIrql);
KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID);
KIRQL NTAPI KeRaiseIrqlToSynchLevel(VOID);
LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency);
VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds);
VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime);
VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
ULONGLONG NTAPI KeQueryInterruptTime(VOID);
ULONGLONG NTAPI KeQueryInterruptTimePrecise(PULONGLONG QpcTimeStamp);
ULONGLONG NTAPI KeQueryUnbiasedInterruptTime(VOID);
ULONG NTAPI KeQueryTimeIncrement(VOID);
VOID NTAPI KeQueryTickCount(PLARGE_INTEGER TickCount);
ULONG NTAPI KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber);
ULONG NTAPI KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors);
KAFFINITY NTAPI KeQueryActiveProcessors(VOID);
ULONG NTAPI KeQueryActiveProcessorCountEx(USHORT GroupNumber);
ULONG NTAPI KeQueryMaximumProcessorCount(VOID);
ULONG NTAPI KeQueryMaximumProcessorCountEx(USHORT GroupNumber);
USHORT NTAPI KeQueryActiveGroupCount(VOID);
USHORT NTAPI KeQueryMaximumGroupCount(VOID);
KM_NORETURN void NTAPI KeBugCheck(ULONG BugCheckCode);
extern CCHAR KeNumberProcessors;

/* ---- Faults ---- */

/* The loaded driver image containing Address, or NULL. Consults
   LdrFindImageByAddress and then HalpFindImageHook. Signal-safe. */
LDR_IMAGE *HalpImageAt(const void *Address);
/* Tests set this to make a code buffer of their own count as driver code. */
extern LDR_IMAGE *(*HalpFindImageHook)(const void *Address);

/* Scans the stack words from Sp upward (at most HAL_STACK_SCAN_BYTES, and
   only readable ones) for values inside a loaded driver image, as return
   addresses into driver code; stores up to Max of them, innermost first, and
   returns how many. Signal-safe. */
#define HAL_STACK_SCAN_BYTES 4096
size_t HalpScanStack(ULONG_PTR Sp, const void **Frames, size_t Max);

/* Copies up to Length bytes from Address, stopping at the first unreadable
   byte; returns how many were copied. Signal-safe. */
size_t HalpSafeRead(void *Buffer, const void *Address, size_t Length);

/* ---- Bug checks (src/ke/bugcheck.c) ---- */

/* How a bug check ends the process after its report: _exit by default. A
   test may redirect it; if the hook returns, the process still _exits. */
extern void (*KipBugCheckExitHook)(int Status);
#define KM_BUGCHECK_EXIT_STATUS 3

#endif
