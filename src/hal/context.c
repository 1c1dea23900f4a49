/*
 * A Windows CONTEXT from a Linux signal ucontext: the general registers, the
 * flags, and the FXSAVE image (which has the same 512-byte layout on both
 * systems, as both use the processor's own format).
 */
#include "hal/context.h"

#include <string.h>

void HalpContextFromUcontext(CONTEXT *Context, const ucontext_t *Uc)
{
    const greg_t *g = Uc->uc_mcontext.gregs;

    memset(Context, 0, sizeof(*Context));
    Context->ContextFlags = CONTEXT_FULL | CONTEXT_SEGMENTS;
    Context->Rax = (ULONG64)g[REG_RAX];
    Context->Rcx = (ULONG64)g[REG_RCX];
    Context->Rdx = (ULONG64)g[REG_RDX];
    Context->Rbx = (ULONG64)g[REG_RBX];
    Context->Rsp = (ULONG64)g[REG_RSP];
    Context->Rbp = (ULONG64)g[REG_RBP];
    Context->Rsi = (ULONG64)g[REG_RSI];
    Context->Rdi = (ULONG64)g[REG_RDI];
    Context->R8 = (ULONG64)g[REG_R8];
    Context->R9 = (ULONG64)g[REG_R9];
    Context->R10 = (ULONG64)g[REG_R10];
    Context->R11 = (ULONG64)g[REG_R11];
    Context->R12 = (ULONG64)g[REG_R12];
    Context->R13 = (ULONG64)g[REG_R13];
    Context->R14 = (ULONG64)g[REG_R14];
    Context->R15 = (ULONG64)g[REG_R15];
    Context->Rip = (ULONG64)g[REG_RIP];
    Context->EFlags = (ULONG)g[REG_EFL];
    /* REG_CSGSFS packs cs, gs, fs and ss (ss since Linux 4.8) as 16-bit fields. */
    ULONG64 seg = (ULONG64)g[REG_CSGSFS];
    Context->SegCs = (USHORT)seg;
    Context->SegGs = (USHORT)(seg >> 16);
    Context->SegFs = (USHORT)(seg >> 32);
    Context->SegSs = (USHORT)(seg >> 48);
    if (Uc->uc_mcontext.fpregs) {
        memcpy(Context->FltSave, Uc->uc_mcontext.fpregs, sizeof(Context->FltSave));
        Context->MxCsr = Uc->uc_mcontext.fpregs->mxcsr;
    }
}
