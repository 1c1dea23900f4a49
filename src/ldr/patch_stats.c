/*
 * Counts of load-time patching: what each pass patched or left, what the
 * patched code's slow path and the trap fallback did at run time. Process-wide
 * totals, updated with relaxed atomic adds (they are statistics, read only to
 * be printed), so every counter here is safe to bump from a signal handler.
 */
#include "ldr/patch.h"

static LDR_PATCH_STATS LdrpStats;

static void LdrpAdd(ULONG64 *Counter, ULONG64 Value)
{
    if (Value)
        __atomic_add_fetch(Counter, Value, __ATOMIC_RELAXED);
}

static ULONG64 LdrpLoad(const ULONG64 *Counter)
{
    return __atomic_load_n(Counter, __ATOMIC_RELAXED);
}

void LdrpPatchAddCounts(const LDR_PATCH_COUNTS *Counts)
{
    LDR_PATCH_COUNTS *t = &LdrpStats.Sites;
    LdrpAdd(&LdrpStats.Images, 1);
    LdrpAdd(&t->Cr8Reads, Counts->Cr8Reads);
    LdrpAdd(&t->Cr8Writes, Counts->Cr8Writes);
    LdrpAdd(&t->SharedDataMoffs, Counts->SharedDataMoffs);
    LdrpAdd(&t->SharedDataImm, Counts->SharedDataImm);
    LdrpAdd(&t->Cr8Left, Counts->Cr8Left);
    LdrpAdd(&t->SharedDataLeft, Counts->SharedDataLeft);
    LdrpAdd(&t->UndecodableBytes, Counts->UndecodableBytes);
    LdrpAdd(&t->Gs, Counts->Gs);
    LdrpAdd(&t->GsLeft, Counts->GsLeft);
}

void LdrpPatchCountSlowPath(void)
{
    LdrpAdd(&LdrpStats.SlowPathCalls, 1);
}

void LdrpPatchCountTrap(LDR_TRAP_KIND Kind)
{
    LdrpAdd(Kind == LdrTrapCr8          ? &LdrpStats.TrapsCr8
            : Kind == LdrTrapSharedData ? &LdrpStats.TrapsSharedData
                                        : &LdrpStats.TrapsGs,
            1);
}

void LdrpPatchStats(LDR_PATCH_STATS *Out)
{
    const LDR_PATCH_COUNTS *t = &LdrpStats.Sites;
    Out->Images = LdrpLoad(&LdrpStats.Images);
    Out->Sites.Cr8Reads = LdrpLoad(&t->Cr8Reads);
    Out->Sites.Cr8Writes = LdrpLoad(&t->Cr8Writes);
    Out->Sites.SharedDataMoffs = LdrpLoad(&t->SharedDataMoffs);
    Out->Sites.SharedDataImm = LdrpLoad(&t->SharedDataImm);
    Out->Sites.Cr8Left = LdrpLoad(&t->Cr8Left);
    Out->Sites.SharedDataLeft = LdrpLoad(&t->SharedDataLeft);
    Out->Sites.UndecodableBytes = LdrpLoad(&t->UndecodableBytes);
    Out->Sites.Gs = LdrpLoad(&t->Gs);
    Out->Sites.GsLeft = LdrpLoad(&t->GsLeft);
    Out->SlowPathCalls = LdrpLoad(&LdrpStats.SlowPathCalls);
    Out->TrapsCr8 = LdrpLoad(&LdrpStats.TrapsCr8);
    Out->TrapsSharedData = LdrpLoad(&LdrpStats.TrapsSharedData);
    Out->TrapsGs = LdrpLoad(&LdrpStats.TrapsGs);
}

void KmPrintPatchStats(FILE *Out)
{
    LDR_PATCH_STATS s;
    LdrpPatchStats(&s);
    const LDR_PATCH_COUNTS *c = &s.Sites;
    fprintf(Out,
            "patch: %llu images; patched: %llu mov reg,cr8, %llu mov cr8,reg, %llu shared-data "
            "loads, %llu shared-data addresses, %llu gs; left to the trap: %llu cr8, %llu "
            "shared-data, %llu gs\n",
            (unsigned long long)s.Images, (unsigned long long)c->Cr8Reads,
            (unsigned long long)c->Cr8Writes, (unsigned long long)c->SharedDataMoffs,
            (unsigned long long)c->SharedDataImm, (unsigned long long)c->Gs,
            (unsigned long long)c->Cr8Left, (unsigned long long)c->SharedDataLeft,
            (unsigned long long)c->GsLeft);
    fprintf(Out,
            "patch: at run time: %llu IRQL slow-path calls; trapped: %llu cr8, %llu shared-data, "
            "%llu gs; GS base %s\n",
            (unsigned long long)s.SlowPathCalls, (unsigned long long)s.TrapsCr8,
            (unsigned long long)s.TrapsSharedData, (unsigned long long)s.TrapsGs,
            HalUsesGsBase() ? "= KPCR" : "0 (gs: patched or emulated)");
}
