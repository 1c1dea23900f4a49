/*
 * The processors the emulated machine reports: the host's online CPUs, at
 * most 64 (one processor group, so group-aware routines see group 0 only).
 * Invariant: HalpCount and KeNumberProcessors are set once, by
 * HalInitSystem, before driver code runs, and never change. The current
 * processor is the Prcb.Number of the thread's KPCR, the same field the
 * inline KeGetCurrentProcessorNumber reads; ps assigns it.
 */
#include "hal/trap.h"

#include <unistd.h>

#define ALL_PROCESSOR_GROUPS 0xffff
#define HALP_MAX_PROCESSORS 64

static ULONG HalpCount = 1;

/* Data export: drivers read it through their import slot. */
CCHAR KeNumberProcessors = 1;
KM_EXPORT(KeNumberProcessors);

void HalpInitProcessors(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > HALP_MAX_PROCESSORS)
        n = HALP_MAX_PROCESSORS;
    HalpCount = (ULONG)n;
    KeNumberProcessors = (CCHAR)n;
}

ULONG HalpProcessorCount(void)
{
    return HalpCount;
}

static KAFFINITY HalpActiveMask(void)
{
    return HalpCount >= 64 ? ~(KAFFINITY)0 : ((KAFFINITY)1 << HalpCount) - 1;
}

ULONG NTAPI KeGetCurrentProcessorNumberEx(PPROCESSOR_NUMBER ProcNumber)
{
    KPCR *pcr = HalpCurrentPcr();
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
