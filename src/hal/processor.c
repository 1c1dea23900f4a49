/*
 * The processors the emulated machine reports: the CPUs kmhost may run on
 * when it starts (its affinity, what `nproc` counts; under `taskset -c 0`
 * the machine has one processor), at most 64 (one processor group, so
 * group-aware routines see group 0 only). Processor i is the i-th of those
 * host CPUs, and a thread bound to processors (KeSetSystemAffinityThreadEx)
 * runs only on theirs.
 * Invariant: HalpCount, HalpHostCpu, HalpPrefetchw and KeNumberProcessors are set once, by
 * HalInitSystem, before driver code runs, and never change. The current
 * processor is the Prcb.Number of the thread's KPCR, the same field the
 * inline KeGetCurrentProcessorNumber reads; ps assigns it, and the affinity
 * routines (ke/affinity.c) change it.
 */
#include "hal/trap.h"

#include <cpuid.h>
#include <sched.h>
#include <unistd.h>

#define ALL_PROCESSOR_GROUPS 0xffff
#define HALP_MAX_PROCESSORS 64

static ULONG HalpCount = 1;
static BOOLEAN HalpPrefetchw; /* the processor has `prefetchw` */
static int HalpHostCpu[HALP_MAX_PROCESSORS];
static cpu_set_t HalpStartSet;     /* every processor's CPU: a thread's user affinity */
static __thread BOOLEAN HalpBound; /* this host thread runs on fewer CPUs than that */

/* Data export: drivers read it through their import slot. */
CCHAR KeNumberProcessors = 1;
KM_EXPORT(KeNumberProcessors);

void HalpInitProcessors(void)
{
    ULONG n = 0;
    CPU_ZERO(&HalpStartSet);
    if (sched_getaffinity(0, sizeof(HalpStartSet), &HalpStartSet) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE && n < HALP_MAX_PROCESSORS; cpu++)
            if (CPU_ISSET(cpu, &HalpStartSet))
                HalpHostCpu[n++] = cpu;
    }
    if (n == 0) { /* unknown: one processor, not bound to any CPU */
        HalpHostCpu[0] = -1;
        n = 1;
    }
    HalpCount = n;
    KeNumberProcessors = (CCHAR)n;
    unsigned a, b, c, d; /* CPUID 0x80000001, ECX bit 8: PRFCHW */
    HalpPrefetchw = __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 8));
}

BOOLEAN HalpBindThread(KAFFINITY Mask)
{
    cpu_set_t set;
    BOOLEAN all = TRUE;
    CPU_ZERO(&set);
    for (ULONG i = 0; i < HalpCount; i++) {
        if (HalpHostCpu[i] < 0)
            return FALSE;
        if (Mask & ((KAFFINITY)1 << i))
            CPU_SET(HalpHostCpu[i], &set);
        else
            all = FALSE;
    }
    if (Mask == 0 || all)
        set = HalpStartSet;
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        return FALSE;
    HalpBound = !(Mask == 0 || all);
    return TRUE;
}

BOOLEAN HalpThreadIsBound(const void **Set, size_t *Size)
{
    *Set = &HalpStartSet;
    *Size = sizeof(HalpStartSet);
    return HalpBound;
}

ULONG HalpProcessorCount(void)
{
    return HalpCount;
}

BOOLEAN HalpHasPrefetchw(void)
{
    return HalpPrefetchw;
}

static KAFFINITY HalpActiveMask(void)
{
    return HalpCount >= 64 ? ~(KAFFINITY)0 : ((KAFFINITY)1 << HalpCount) - 1;
}

ULONG NTAPI KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
    KPCR *pcr = HalPcr();
    ULONG number = pcr ? pcr->Number : 0;
    if (ProcNumber) {
        ProcNumber->Group = 0;
        ProcNumber->Number = (UCHAR)number;
        ProcNumber->Reserved = 0;
    }
    return number;
}
KM_EXPORT(KeGetCurrentProcessorNumberEx);

ULONG NTAPI KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
    if (ActiveProcessors)
        *ActiveProcessors = HalpActiveMask();
    return HalpCount;
}
KM_EXPORT(KeQueryActiveProcessorCount);

KAFFINITY NTAPI KeQueryActiveProcessors(VOID)
{
    return HalpActiveMask();
}
KM_EXPORT(KeQueryActiveProcessors);

/* GroupNumber is 0 or ALL_PROCESSOR_GROUPS; other groups have no processors. */
ULONG NTAPI KeQueryActiveProcessorCountEx(USHORT GroupNumber)
{
    return GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS ? HalpCount : 0;
}
KM_EXPORT(KeQueryActiveProcessorCountEx);

ULONG NTAPI KeQueryMaximumProcessorCount(VOID)
{
    return HalpCount;
}
KM_EXPORT(KeQueryMaximumProcessorCount);

ULONG NTAPI KeQueryMaximumProcessorCountEx(USHORT GroupNumber)
{
    return GroupNumber == 0 || GroupNumber == ALL_PROCESSOR_GROUPS ? HalpCount : 0;
}
KM_EXPORT(KeQueryMaximumProcessorCountEx);

USHORT NTAPI KeQueryActiveGroupCount(VOID)
{
    return 1;
}
KM_EXPORT(KeQueryActiveGroupCount);

USHORT NTAPI KeQueryMaximumGroupCount(VOID)
{
    return 1;
}
KM_EXPORT(KeQueryMaximumGroupCount);
