/*
 * Private to src/hal: the pieces of the trap handler (trap.c), which decodes
 * the instruction that faulted, hands it to an emulator (cr8.c, usdload.c),
 * and sends what nobody emulates to the fault classifier (fault.c).
 * Everything here is signal-safe.
 */
#ifndef KM_HAL_TRAP_H
#define KM_HAL_TRAP_H

#include "hal/hal.h"

#include <Zydis/Zydis.h>

typedef struct HALP_INSN {
    ZydisDecodedInstruction Insn;
    ZydisDecodedOperand Ops[ZYDIS_MAX_OPERAND_COUNT];
} HALP_INSN;

typedef enum HALP_EMULATION {
    HalpNotEmulated, /* not ours: a genuine fault */
    HalpEmulated,    /* registers updated and RIP stepped past the instruction */
    HalpBadAccess,   /* ours, but not allowed (a write to shared user data) */
} HALP_EMULATION;

/* Decodes one instruction from Length bytes at Bytes. */
BOOLEAN HalpDecode(const void *Bytes, size_t Length, HALP_INSN *Out);

/* Decodes the instruction at the faulting RIP; FALSE when its bytes cannot be
   read (the fault was the fetch itself) or do not decode. */
BOOLEAN HalpDecodeFaulting(const ucontext_t *Uc, const siginfo_t *Info, HALP_INSN *Out);

/* General registers in the ucontext, by Zydis name and with x86-64 write
   semantics (a 32-bit write zero-extends, 8/16-bit writes merge). FALSE for a
   register that is not a general-purpose one. */
BOOLEAN HalpGetGpr(const ucontext_t *Uc, ZydisRegister Reg, ULONG64 *Value);
BOOLEAN HalpSetGpr(ucontext_t *Uc, ZydisRegister Reg, ULONG64 Value);

/* base + index * scale + displacement (+ segment base), RIP-relative and
   moffs forms included. */
ULONG64 HalpEffectiveAddress(const ucontext_t *Uc, const HALP_INSN *I,
                             const ZydisDecodedOperand *Op);

/* Emulators. HalpEmulateCr8 reports a lowering in Old and New (Lowered TRUE)
   so that the caller runs KiIrqlLowered once the trap state is released. */
HALP_EMULATION HalpEmulateCr8(ucontext_t *Uc, const HALP_INSN *I, BOOLEAN *Lowered, KIRQL *Old,
                              KIRQL *New);
HALP_EMULATION HalpEmulateSharedData(ucontext_t *Uc, const HALP_INSN *I);
/* A gs: access with GS base 0, done on the thread's KPCR (gsload.c). */
HALP_EMULATION HalpEmulateGs(ucontext_t *Uc, const HALP_INSN *I);

/* The instruction's one explicit memory operand, or NULL (none, or two). */
const ZydisDecodedOperand *HalpSingleMemoryOperand(const HALP_INSN *I);
/* Completes a load whose memory operand Mem read Bytes (Mem->size bits) from
   Address, as the instruction would, and steps past it (usdload.c). */
HALP_EMULATION HalpEmulateLoad(ucontext_t *Uc, const HALP_INSN *I, const ZydisDecodedOperand *Mem,
                               const UCHAR *Bytes, ULONG64 Address);

/* The fault is a driver's (bug check) or kmhost's (internal error report and
   abort). Never returns. */
KM_NORETURN void HalpFault(int Signal, siginfo_t *Info, ucontext_t *Uc, BOOLEAN Decoded,
                           const HALP_INSN *I);

/* Reports a fault that is kmhost's own (Why says how that was decided), with
   a backtrace, on stderr, then abort()s. */
KM_NORETURN void HalpInternalError(int Signal, const siginfo_t *Info, const ucontext_t *Uc,
                                   const char *Why);

/* The SA_SIGINFO handler HalInitSystem installs (trap.c). */
void HalpTrap(int Signal, siginfo_t *Info, void *Context);

/* One-time set-up steps of HalInitSystem (processor.c, shareddata.c). */
void HalpInitProcessors(void);
void HalpInitSharedData(ULONG ProcessorCount);

/* Prepares the decoder; HalInitSystem calls it before any trap. */
void HalpInitDecoder(void);

/* The current thread's stack: its thread block's, or as pthread reported it
   at HalInitThreadSignalStack; FALSE when unknown. */
BOOLEAN HalpThreadStackBounds(uintptr_t *Low, uintptr_t *High);

#endif
