/*
 * The per-thread KPCR.
 *
 * Every host thread that runs driver code has a KPCR; driver code reaches it
 * through the GS segment (gs:[0x188] is the current thread, gs:[0x50] the
 * IRQL that patched `mov cr8` uses), kmhost's own code through a TLS slot,
 * HalCurrentPcrSlot, at a fixed offset from FS (glibc's thread pointer).
 *
 * Two ways to give driver code its GS, chosen once per process:
 *  - GS base = the KPCR (HalUsesGsBase). Where the kernel enabled FSGSBASE,
 *    the base is written with wrgsbase and a context switch restores it
 *    with no extra cost. Without FSGSBASE every switch to a thread whose GS
 *    base is not 0 costs an MSR write, and setting it a system call; under
 *    a hypervisor that traps MSR writes (measured on a PVM guest: 3 us a
 *    switch, 9.5 us an arch_prctl) that doubles the cost of every sleep and
 *    wake of a system thread.
 *  - GS base 0 (the default without FSGSBASE): the loader rewrites the gs:
 *    accesses in driver code into reads of the TLS slot (ldr/patch.h), and
 *    one it could not rewrite faults on the unmapped first page and is
 *    emulated on the KPCR (hal/gsload.c). Threads then switch like any
 *    other thread of the process.
 * KMHOST_GSBASE=1 or =0 forces one or the other (the tests run both).
 *
 * Invariant: HalCurrentPcrSlot is NULL or the KPCR ps gave the thread (for a
 * system thread, the first page of its thread block, hal/stacks.c); with GS
 * base in use the GS base always equals it. pthread_create copies the GS
 * base but not TLS, so a new thread sets its own before it runs driver code.
 */
#include "hal/hal.h"

#include <asm/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

__thread KPCR *HalCurrentPcrSlot __attribute__((tls_model("initial-exec")));

/* -1 until decided; then 0 (GS base 0) or 1 (GS base = KPCR), and whether
   wrgsbase may be used. Decided before the first thread runs driver code
   (HalInitSystem) and never changed. */
static int HalpGsBase = -1;
static int HalpFsgsbase;

static void HalpDecideGsBase(void)
{
    int fsgsbase = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
    int use = fsgsbase;
    const char *force = getenv("KMHOST_GSBASE");
    if (force && (strcmp(force, "0") == 0 || strcmp(force, "1") == 0))
        use = force[0] == '1';
    HalpFsgsbase = fsgsbase;
    __atomic_store_n(&HalpGsBase, use, __ATOMIC_RELEASE);
}

BOOLEAN HalUsesGsBase(void)
{
    int use = __atomic_load_n(&HalpGsBase, __ATOMIC_ACQUIRE);
    if (use < 0) {
        HalpDecideGsBase();
        use = HalpGsBase;
    }
    return use != 0;
}

void HalSetCurrentPcr(KPCR *Pcr)
{
    HalCurrentPcrSlot = Pcr;
    if (!HalUsesGsBase())
        return;
    if (HalpFsgsbase)
        __asm__ volatile("wrgsbase %0" : : "r"((unsigned long)Pcr) : "memory");
    else
        syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)Pcr);
}

LONG HalPcrSlotOffset(void)
{
    uintptr_t tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp)); /* the TCB's self pointer (x86-64 TLS ABI) */
    return (LONG)((intptr_t)(uintptr_t)&HalCurrentPcrSlot - (intptr_t)tp);
}
