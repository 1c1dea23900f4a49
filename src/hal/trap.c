/*
 * The trap handler: SIGSEGV, SIGILL, SIGFPE, SIGBUS and SIGTRAP from any
 * thread. Emulable instructions (CR8 moves, shared-user-data loads) are
 * emulated and the thread resumes after them; every other fault goes to the
 * classifier, which ends the process.
 *
 * Invariant: HalpTrapDepth is non-zero exactly while this thread is inside
 * the handler's own code; a fault then is a fault of the handler (or of the
 * bug check report it is writing), reported as a kmhost error rather than
 * recursing. The KiIrqlLowered hook runs after the depth drops, because it
 * may run driver code that traps again.
 */
#include "hal/trap.h"
#include "ldr/patch.h"

#include <errno.h>

static __thread int HalpTrapDepth;

void HalpTrap(int Signal, siginfo_t *Info, void *Context)
{
    ucontext_t *uc = Context;
    int saved_errno = errno;
    HALP_INSN insn;
    BOOLEAN decoded = FALSE, lowered = FALSE;
    KIRQL old = 0, new = 0;

    if (HalpTrapDepth++ > 0)
        HalpInternalError(Signal, Info, uc, "The fault happened inside kmhost's trap handler.");

    if (Signal == SIGSEGV || Signal == SIGILL) {
        decoded = HalpDecodeFaulting(uc, Info, &insn);
        if (decoded) {
            LDR_TRAP_KIND kind = LdrTrapCr8;
            HALP_EMULATION done = HalpEmulateCr8(uc, &insn, &lowered, &old, &new);
            if (done == HalpNotEmulated && Signal == SIGSEGV) {
                kind = LdrTrapSharedData;
                done = HalpEmulateSharedData(uc, &insn);
            }
            if (done == HalpNotEmulated && Signal == SIGSEGV) {
                kind = LdrTrapGs;
                done = HalpEmulateGs(uc, &insn);
            }
            if (done == HalpEmulated) {
                LdrpPatchCountTrap(kind); /* what load-time patching left to the trap */
                HalpTrapDepth--;
                if (lowered)
                    KiIrqlLowered(old, new);
                errno = saved_errno;
                return;
            }
        }
    }
    HalpFault(Signal, Info, uc, decoded, &insn);
}
