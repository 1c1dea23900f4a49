/*
 * Finding the sites: a linear sweep with Zydis over a region of code, which
 * restarts at every function start (.pdata) so that bytes that are not code
 * (padding, a table) desynchronise it for one function at most, and steps one
 * byte past whatever does not decode.
 *
 * Shared-data addresses are redirected during the sweep, in place (only the
 * 8-byte address inside the instruction changes). CR8 moves are collected and
 * patched afterwards from the highest address down: a 4-byte site's jump ends
 * on the first byte of the next instruction, which must be final by then, and
 * only a patch of that next instruction would change it.
 */
#include "ldr/patch.h"

#include <Zydis/Zydis.h>
#include <stdlib.h>
#include <string.h>

#define LDRP_USD_SIZE 0x1000ull

typedef struct LDRP_SITE {
    uint8_t *At;
    const uint8_t *Limit;
    ZydisRegister Reg;
    uint8_t Length;
    BOOLEAN Write;
    BOOLEAN Gs; /* a gs: access (patch_gs.c), else a CR8 move */
} LDRP_SITE;

typedef struct LDRP_PATCHER {
    ZydisDecoder Decoder;
    LDRP_STUBS *Stubs;
    LDRP_SITE *Sites;
    size_t SiteCount, SiteCapacity;
    LDR_PATCH_COUNTS Counts;
    BOOLEAN Enabled;
    BOOLEAN GsSites; /* the GS base is 0: gs: accesses are sites too */
    BOOLEAN LiveTried;
    const volatile UCHAR *Live;
} LDRP_PATCHER;

static BOOLEAN LdrpIsSharedData(ULONG64 Address)
{
    return Address - KM_USER_SHARED_DATA < LDRP_USD_SIZE;
}

/* Rewrites the 8-byte address at Field (an immediate or moffs of the
   instruction) to the live copy; FALSE when there is none. */
static BOOLEAN LdrpRedirect(LDRP_PATCHER *P, uint8_t *Field, ULONG64 Address)
{
    if (!P->Enabled)
        return FALSE;
    if (!P->LiveTried) {
        P->Live = HalpSharedDataLive();
        P->LiveTried = TRUE;
    }
    if (!P->Live)
        return FALSE;
    ULONG64 target = (ULONG64)(uintptr_t)P->Live + (Address - KM_USER_SHARED_DATA);
    memcpy(Field, &target, 8);
    return TRUE;
}

static void LdrpAddSite(LDRP_PATCHER *P, const LDRP_SITE *Site)
{
    if (P->SiteCount == P->SiteCapacity) {
        size_t cap = P->SiteCapacity ? 2 * P->SiteCapacity : 32;
        LDRP_SITE *s = realloc(P->Sites, cap * sizeof(*s));
        if (!s) {
            if (Site->Gs)
                P->Counts.GsLeft++;
            else
                P->Counts.Cr8Left++;
            return;
        }
        P->Sites = s;
        P->SiteCapacity = cap;
    }
    P->Sites[P->SiteCount++] = *Site;
}

static void LdrpClassify(LDRP_PATCHER *P, uint8_t *At, const ZydisDecodedInstruction *I,
                         const ZydisDecodedOperand *Ops, const uint8_t *Limit)
{
    if (P->GsSites && (I->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_GS)) {
        LDRP_SITE site = {At, Limit, ZYDIS_REGISTER_NONE, I->length, FALSE, TRUE};
        if (P->Enabled)
            LdrpAddSite(P, &site);
        else
            P->Counts.GsLeft++;
        return;
    }
    if (I->mnemonic != ZYDIS_MNEMONIC_MOV)
        return;
    if (I->operand_count_visible == 2 && Ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
        Ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
        (Ops[0].reg.value == ZYDIS_REGISTER_CR8 || Ops[1].reg.value == ZYDIS_REGISTER_CR8)) {
        BOOLEAN write = Ops[0].reg.value == ZYDIS_REGISTER_CR8;
        LDRP_SITE site = {At,        Limit, write ? Ops[1].reg.value : Ops[0].reg.value,
                          I->length, write, FALSE};
        if (P->Enabled)
            LdrpAddSite(P, &site);
        else
            P->Counts.Cr8Left++;
        return;
    }
    if (I->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
        return;
    /* mov al/ax/eax/rax, [moffs64] (A0, A1) and the stores (A2, A3). */
    if (I->opcode >= 0xA0 && I->opcode <= 0xA3 && I->raw.disp.size == 64 &&
        LdrpIsSharedData(I->raw.disp.value)) {
        if (I->opcode <= 0xA1 && LdrpRedirect(P, At + I->raw.disp.offset, I->raw.disp.value))
            P->Counts.SharedDataMoffs++;
        else
            P->Counts.SharedDataLeft++;
        return;
    }
    /* mov r64, imm64 (REX.W B8+r): an address the code reads through. */
    if (I->opcode >= 0xB8 && I->opcode <= 0xBF && I->raw.imm[0].size == 64 &&
        LdrpIsSharedData(I->raw.imm[0].value.u)) {
        if (LdrpRedirect(P, At + I->raw.imm[0].offset, I->raw.imm[0].value.u))
            P->Counts.SharedDataImm++;
        else
            P->Counts.SharedDataLeft++;
    }
}

static int LdrpCompareOffsets(const void *A, const void *B)
{
    uint32_t a = *(const uint32_t *)A, b = *(const uint32_t *)B;
    return (a > b) - (a < b);
}

static int LdrpCompareSitesDown(const void *A, const void *B)
{
    uintptr_t a = (uintptr_t)((const LDRP_SITE *)A)->At;
    uintptr_t b = (uintptr_t)((const LDRP_SITE *)B)->At;
    return (a < b) - (a > b);
}

/* Sweeps [Code, Code + Length) with the decoder restarting at each of the
   sorted offsets in Starts. */
static void LdrpSweep(LDRP_PATCHER *P, uint8_t *Code, size_t Length, const uint8_t *Limit,
                      const uint32_t *Starts, size_t Count)
{
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    size_t pos = 0, k = 0;
    while (pos < Length) {
        while (k < Count && Starts[k] <= pos) {
            /* An instruction that ran over a function start was not one. */
            pos = Starts[k] > pos ? Starts[k] : pos;
            k++;
        }
        size_t end = k < Count && Starts[k] < Length ? Starts[k] : Length;
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&P->Decoder, Code + pos, end - pos, &insn, ops))) {
            P->Counts.UndecodableBytes++;
            pos++;
            continue;
        }
        LdrpClassify(P, Code + pos, &insn, ops, Limit);
        pos += insn.length;
        if (k < Count && pos > Starts[k])
            pos = Starts[k];
    }
}

void LdrpPatchRegions(const void *Owner, const LDR_PATCH_REGION *Regions, size_t RegionCount,
                      const uint8_t *Limit, LDR_PATCH_COUNTS *Counts)
{
    LDRP_PATCHER p;
    memset(&p, 0, sizeof(p));
    ZydisDecoderInit(&p.Decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    p.Enabled = LdrpPatchEnabled();
    p.GsSites = !HalUsesGsBase();
    p.Stubs = calloc(1, sizeof(*p.Stubs));
    if (!p.Stubs)
        p.Enabled = FALSE;
    else
        p.Stubs->Owner = Owner;

    for (size_t r = 0; r < RegionCount; r++) {
        const LDR_PATCH_REGION *region = &Regions[r];
        size_t count = region->FunctionCount;
        uint32_t *starts = NULL;
        if (count) {
            starts = malloc(count * sizeof(*starts));
            if (starts) {
                memcpy(starts, region->FunctionStarts, count * sizeof(*starts));
                qsort(starts, count, sizeof(*starts), LdrpCompareOffsets);
            } else {
                count = 0;
            }
        }
        LdrpSweep(&p, region->Code, region->Length, Limit, starts, count);
        free(starts);
    }

    if (p.SiteCount) {
        LdrpPatchInitSlowPath();
        qsort(p.Sites, p.SiteCount, sizeof(*p.Sites), LdrpCompareSitesDown);
    }
    BOOLEAN gate = LdrpPatchUsesInterruptRequest();
    for (size_t i = 0; i < p.SiteCount; i++) {
        const LDRP_SITE *s = &p.Sites[i];
        if (s->Gs) {
            if (LdrpPatchGs(p.Stubs, s->At, s->Limit))
                p.Counts.Gs++;
            else
                p.Counts.GsLeft++;
        } else if (!LdrpPatchCr8(p.Stubs, s->At, s->Length, s->Write, s->Reg, s->Limit, gate))
            p.Counts.Cr8Left++;
        else if (s->Write)
            p.Counts.Cr8Writes++;
        else
            p.Counts.Cr8Reads++;
    }
    free(p.Sites);
    if (p.Stubs)
        LdrpSealStubs(p.Stubs);
    LdrpPatchAddCounts(&p.Counts);
    if (Counts) {
        Counts->Cr8Reads += p.Counts.Cr8Reads;
        Counts->Cr8Writes += p.Counts.Cr8Writes;
        Counts->SharedDataMoffs += p.Counts.SharedDataMoffs;
        Counts->SharedDataImm += p.Counts.SharedDataImm;
        Counts->Cr8Left += p.Counts.Cr8Left;
        Counts->SharedDataLeft += p.Counts.SharedDataLeft;
        Counts->UndecodableBytes += p.Counts.UndecodableBytes;
        Counts->Gs += p.Counts.Gs;
        Counts->GsLeft += p.Counts.GsLeft;
    }
}

void LdrpPatchCode(const void *Owner, uint8_t *Code, size_t Length, const uint8_t *Limit,
                   const uint32_t *FunctionStarts, size_t FunctionCount, LDR_PATCH_COUNTS *Counts)
{
    LDR_PATCH_REGION region = {Code, Length, FunctionStarts, FunctionCount};
    LdrpPatchRegions(Owner, &region, 1, Limit, Counts);
}
