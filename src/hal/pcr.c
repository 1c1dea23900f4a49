/*
 * The per-thread KPCR is the thread's GS base, as on a Windows processor.
 *
 * Invariant: a host thread's GS base is either 0 (no KPCR: the thread never
 * runs driver code) or the KPCR that ps gave it (for a system thread, the
 * first page of its thread block, hal/stacks.c). glibc addresses TLS
 * through FS, so GS is ours; the kernel keeps GS base per thread across
 * context switches and signals, and pthread_create copies it to the child,
 * which must therefore set its own before it runs driver code.
 */
#include "hal/hal.h"

#include <asm/prctl.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

/* Set once by the first caller; rdgsbase faults unless the kernel enabled it. */
static int HalpFsgsbase = -1;

static int HalpHaveFsgsbase(void)
{
    int have = __atomic_load_n(&HalpFsgsbase, __ATOMIC_RELAXED);
    if (have < 0) {
        have = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
        __atomic_store_n(&HalpFsgsbase, have, __ATOMIC_RELAXED);
    }
    return have;
}

/* With FSGSBASE enabled (Linux 5.9 and later on CPUs that have it) the base
   is written without a system call; the kernel saves and restores it across
   context switches either way. */
void HalSetCurrentPcr(KPCR *Pcr)
{
    if (HalpHaveFsgsbase())
        __asm__ volatile("wrgsbase %0" : : "r"((unsigned long)Pcr) : "memory");
    else
        syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)Pcr);
}

KPCR *HalpCurrentPcr(void)
{
    unsigned long base = 0;
    if (HalpHaveFsgsbase())
        __asm__ volatile("rdgsbase %0" : "=r"(base));
    else
        syscall(SYS_arch_prctl, ARCH_GET_GS, &base);
    return (KPCR *)base;
}
