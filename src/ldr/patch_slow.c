/*
 * The slow path of a patched `mov cr8, reg`: the IRQL went below
 * DISPATCH_LEVEL (KiIrqlLowered must run, it delivers what waited for the
 * IRQL to drop) or the value had a reserved bit set (#GP on a processor).
 *
 * The stub may be anywhere in driver code, with any register live, so the
 * thunk treats the call like an interrupt: it saves every general register
 * the C code may change, the flags (DF is cleared for the C code, as both
 * ABIs require), and the whole x87/SSE/AVX/AVX-512 state with xsave (fxsave
 * without OSXSAVE), on a 64-byte aligned area below the driver's stack
 * pointer (x64 Windows code keeps no red zone), and restores all of it.
 * Everything the verifier may check about IRQL goes into
 * LdrpPatchIrqlSlowPath, the one C function the thunk calls.
 */
#include "ldr/patch.h"

#include "hal/hal.h"

#include <cpuid.h>
#include <pthread.h>

#define SYSTEM_THREAD_EXCEPTION_NOT_HANDLED 0x7E
/* x87, SSE, AVX, AVX-512 opmask/ZMM_Hi256/Hi16_ZMM: registers compiled code
   may use. MPX, PKRU and AMX tile state are neither used nor saved. */
#define LDRP_XSTATE_MASK 0xE7ull
#define LDRP_FXSAVE_SIZE 512u
#define LDRP_XSAVE_HEADER_END 576u

/* Read by the thunk; written once by LdrpPatchInitSlowPath before any stub
   exists. LdrpXsaveUse: 0 fxsave, 1 xsave. */
UCHAR LdrpXsaveUse;
ULONG LdrpXsaveSize = LDRP_FXSAVE_SIZE;
ULONG64 LdrpXsaveMask;

static pthread_once_t LdrpSlowOnce = PTHREAD_ONCE_INIT;

static void LdrpInitSlowOnce(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
        return;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    ULONG64 mask = (((ULONG64)hi << 32) | lo) & LDRP_XSTATE_MASK;
    ULONG size = LDRP_XSAVE_HEADER_END;
    /* Standard (non-compacted) format: component i lives at the offset
       CPUID.(0Dh, i).EBX, with size CPUID.(0Dh, i).EAX. */
    for (unsigned i = 2; i < 64; i++) {
        if (!(mask & (1ull << i)))
            continue;
        __cpuid_count(0xD, i, a, b, c, d);
        if (a + b > size)
            size = a + b;
    }
    /* CPUID.(0Dh, 0).EBX: the size for all of XCR0, a bound kept in case a
       component's offset above was not reported. */
    __cpuid_count(0xD, 0, a, b, c, d);
    if (b > size)
        size = b;
    LdrpXsaveMask = mask;
    LdrpXsaveSize = (size + 63) & ~63u;
    LdrpXsaveUse = 1;
}

void LdrpPatchInitSlowPath(void)
{
    pthread_once(&LdrpSlowOnce, LdrpInitSlowOnce);
}

void LdrpPatchIrqlSlowPath(ULONG64 NewValue, ULONG Old, ULONG_PTR Site)
{
    LdrpPatchCountSlowPath();
    /* The report a trapped `mov cr8` with a reserved bit would give (fault.c):
       an unhandled STATUS_PRIVILEGED_INSTRUCTION at the instruction. */
    if (NewValue > HIGH_LEVEL)
        KeBugCheckEx(SYSTEM_THREAD_EXCEPTION_NOT_HANDLED,
                     (ULONG_PTR)(LONG_PTR)STATUS_PRIVILEGED_INSTRUCTION, Site, 0, 0);
    KiIrqlLowered((KIRQL)Old, (KIRQL)NewValue);
}

/* Frame, from %rbp up: saved rbp, r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax,
   rflags, the return address into the stub, the site address it pushed. */
__asm__(".text\n"
        ".globl LdrpPatchSlowThunk\n"
        ".type LdrpPatchSlowThunk, @function\n"
        ".p2align 4\n"
        "LdrpPatchSlowThunk:\n"
        ".cfi_startproc\n"
        "  pushfq\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %rax\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %rcx\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %rdx\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %rsi\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %rdi\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %r8\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %r9\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %r10\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %r11\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  push %rbp\n"
        ".cfi_adjust_cfa_offset 8\n"
        "  mov %rsp, %rbp\n"
        ".cfi_def_cfa %rbp, 96\n"
        ".cfi_offset %rbp, -96\n"
        "  cld\n"
        "  mov LdrpXsaveSize(%rip), %eax\n"
        "  sub %rax, %rsp\n"
        "  and $-64, %rsp\n"
        "  xor %eax, %eax\n"
        "  mov %rax, 512(%rsp)\n"
        "  mov %rax, 520(%rsp)\n"
        "  mov %rax, 528(%rsp)\n"
        "  mov %rax, 536(%rsp)\n"
        "  mov %rax, 544(%rsp)\n"
        "  mov %rax, 552(%rsp)\n"
        "  mov %rax, 560(%rsp)\n"
        "  mov %rax, 568(%rsp)\n"
        "  cmpb $0, LdrpXsaveUse(%rip)\n"
        "  je 1f\n"
        "  mov LdrpXsaveMask(%rip), %eax\n"
        "  mov LdrpXsaveMask+4(%rip), %edx\n"
        "  xsave64 (%rsp)\n"
        "  jmp 2f\n"
        "1:fxsave64 (%rsp)\n"
        "2:mov 64(%rbp), %rdi\n"
        "  movzbl 56(%rbp), %esi\n"
        "  mov 96(%rbp), %rdx\n"
        "  call LdrpPatchIrqlSlowPath\n"
        "  cmpb $0, LdrpXsaveUse(%rip)\n"
        "  je 3f\n"
        "  mov LdrpXsaveMask(%rip), %eax\n"
        "  mov LdrpXsaveMask+4(%rip), %edx\n"
        "  xrstor64 (%rsp)\n"
        "  jmp 4f\n"
        "3:fxrstor64 (%rsp)\n"
        "4:mov %rbp, %rsp\n"
        "  pop %rbp\n"
        ".cfi_def_cfa %rsp, 88\n"
        "  pop %r11\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  pop %r10\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  pop %r9\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  pop %r8\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  pop %rdi\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  pop %rsi\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  pop %rdx\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  pop %rcx\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  pop %rax\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  popfq\n"
        ".cfi_adjust_cfa_offset -8\n"
        "  ret\n"
        ".cfi_endproc\n"
        ".size LdrpPatchSlowThunk, .-LdrpPatchSlowThunk\n");
