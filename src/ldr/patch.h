/*
 * Load-time patching of the instructions that would trap in user mode.
 *
 * LdrpPatchImage (patch.c) decodes every executable section and rewrites:
 *   - shared-data loads: the 64-bit address in `mov al/ax/eax/rax, [moffs64]`
 *     and in `mov r64, imm64` that lies in KUSER_SHARED_DATA
 *     (0xFFFFF78000000000, one page) is replaced, in place, by the same
 *     offset in the HAL's live read-only copy (src/hal/usdlive.c);
 *   - `mov r64, cr8` and `mov cr8, r64`: the instruction becomes a `jmp rel32`
 *     to a stub within +-2 GiB that does the same on the KPCR's Irql and
 *     jumps back (patch_stub.c); the stub finds the KPCR in kmhost's TLS
 *     slot (`mov reg, fs:[HalPcrSlotOffset()]`), so it works whatever the
 *     GS base is;
 *   - when the GS base is 0 (HalUsesGsBase, hal/pcr.c), every instruction
 *     with a gs: memory operand (KeGetCurrentThread's gs:[0x188], ...): it
 *     becomes a jump to a stub that loads the KPCR from the TLS slot into a
 *     scratch register and runs the same instruction on [scratch + the
 *     operand's own base or index + displacement] (patch_gs.c).
 * What cannot be patched keeps trapping into the HAL's emulation; the counts
 * of both are kept (patch_stats.c).
 *
 * Invariant of every patched site: no byte outside the patched instruction
 * changes, so any branch into the code after it, from anywhere (jump tables,
 * exception handlers, function pointers), still lands on the original
 * instruction. A 4-byte `mov cr8` is one byte short of a `jmp rel32`: the
 * stub is placed so that the displacement's top byte equals the byte that
 * follows the instruction ("instruction punning": the jump's last byte is the
 * next instruction's first one, unchanged).
 */
#ifndef KM_LDR_PATCH_H
#define KM_LDR_PATCH_H

#include "ldr/ldr.h"

#include <Zydis/Zydis.h>
#include <stdio.h>

/* What one patching pass found. Sites "left" keep trapping. */
typedef struct LDR_PATCH_COUNTS {
    ULONG64 Cr8Reads;         /* mov r64, cr8 patched */
    ULONG64 Cr8Writes;        /* mov cr8, r64 patched */
    ULONG64 SharedDataMoffs;  /* mov acc, [moffs64] loads redirected */
    ULONG64 SharedDataImm;    /* mov r64, imm64 address constants redirected */
    ULONG64 Cr8Left;          /* cr8 moves left to the trap */
    ULONG64 SharedDataLeft;   /* shared-data accesses left (stores, no live copy) */
    ULONG64 UndecodableBytes; /* bytes skipped to resynchronise the sweep */
    ULONG64 Gs;               /* gs: accesses rewritten (GS base 0 only) */
    ULONG64 GsLeft;           /* gs: accesses left to the trap (GS base 0 only) */
} LDR_PATCH_COUNTS;

/* Process-wide totals since start-up: every image patched, plus what ran. */
typedef struct LDR_PATCH_STATS {
    ULONG64 Images; /* images (or code buffers) scanned */
    LDR_PATCH_COUNTS Sites;
    ULONG64 SlowPathCalls;   /* patched cr8 writes that called LdrpPatchIrqlSlowPath */
    ULONG64 TrapsCr8;        /* cr8 moves emulated by the trap handler */
    ULONG64 TrapsSharedData; /* shared-data loads emulated by the trap handler */
    ULONG64 TrapsGs;         /* gs: accesses emulated by the trap handler */
} LDR_PATCH_STATS;

void LdrpPatchStats(LDR_PATCH_STATS *Out);
/* Prints the totals in two lines starting "patch:" (for `kmhost run --stats`). */
void KmPrintPatchStats(FILE *Out);

/* The HAL's trap handler calls this after each emulated instruction so that
   the fallbacks are counted. Signal-safe. */
typedef enum LDR_TRAP_KIND { LdrTrapCr8, LdrTrapSharedData, LdrTrapGs } LDR_TRAP_KIND;
void LdrpPatchCountTrap(LDR_TRAP_KIND Kind);

/* Options, read when an image is patched (set them before loading).
   Enabled: TRUE unless the environment has KMHOST_PATCH=0.
   UseInterruptRequest (TRUE unless KMHOST_PATCH_IRQL=always): a patched
   lowering below DISPATCH_LEVEL calls KiIrqlLowered only when
   KPCR.InterruptRequest (gs:[0x186]) is non-zero, so the dispatcher sets that
   byte whenever it wants to see the next such lowering (DPCs queued for the
   thread's processor; a DPC routine running, for the verifier's check) and
   KiIrqlLowered clears it. With FALSE every lowering below DISPATCH_LEVEL
   calls it (about 0.2 us instead of 1 ns). */
void LdrpPatchSetEnabled(BOOLEAN Enabled);
void LdrpPatchSetUseInterruptRequest(BOOLEAN UseInterruptRequest);

/* Patches Length bytes of code at Code, as one executable region whose
   function starts (offsets from Code, any order) resynchronise the decoder.
   Bytes up to Limit (> Code + Length or equal) are mapped and may be read.
   The stubs are owned by Owner (an image base) until LdrpReleasePatches.
   Adds what it found to Counts (and to the process totals). Never fails:
   what cannot be patched is left as it was. The code must be writable. */
void LdrpPatchCode(const void *Owner, uint8_t *Code, size_t Length, const uint8_t *Limit,
                   const uint32_t *FunctionStarts, size_t FunctionCount, LDR_PATCH_COUNTS *Counts);

/* The same over several regions of one image (its executable sections),
   patched as one: Limit bounds them all. FunctionStarts are offsets from
   each region's Code. */
typedef struct LDR_PATCH_REGION {
    uint8_t *Code;
    size_t Length;
    const uint32_t *FunctionStarts;
    size_t FunctionCount;
} LDR_PATCH_REGION;
void LdrpPatchRegions(const void *Owner, const LDR_PATCH_REGION *Regions, size_t RegionCount,
                      const uint8_t *Limit, LDR_PATCH_COUNTS *Counts);

/* Unmaps the stubs made for Owner's code. Call it when the code is unmapped
   and no thread can run it any more (LdrUnloadDriverImage). */
void LdrpReleasePatches(const void *Owner);

/* The one slow path of a patched `mov cr8, reg`, run with every register of
   the driver saved (patch_slow.c): NewValue is the full 64-bit source, Old the
   IRQL before the write, Site the address of the patched instruction. A value
   above HIGH_LEVEL (a reserved CR8 bit: #GP on a processor) is a bug check;
   otherwise the IRQL has already been lowered and KiIrqlLowered runs. IRQL
   checks of the verifier belong here. */
void LdrpPatchIrqlSlowPath(ULONG64 NewValue, ULONG Old, ULONG_PTR Site);

/* ---- Private to src/ldr/patch*.c ---- */

/* The stub pages made for one owner's code (patch_stub.c). */
typedef struct LDRP_STUB_PAGE {
    uint8_t *Base;
    size_t Used;
} LDRP_STUB_PAGE;
typedef struct LDRP_STUBS {
    const void *Owner;
    LDRP_STUB_PAGE *Pages;
    size_t Count, Capacity;
} LDRP_STUBS;

/* Replaces the Length-byte `mov cr8, Reg` (Write) or `mov Reg, cr8` at At by
   a jump to a new stub; bytes below Limit may be read. FALSE (nothing
   changed) when it cannot. Reg is a ZydisRegister. */
BOOLEAN LdrpPatchCr8(LDRP_STUBS *Stubs, uint8_t *At, ULONG Length, BOOLEAN Write, int Reg,
                     const uint8_t *Limit, BOOLEAN UseInterruptRequest);
/* Replaces the instruction with a gs: memory operand at At by a jump to a
   stub that runs it on the KPCR from the TLS slot (patch_gs.c); bytes below
   Limit may be read. FALSE (nothing changed) when it cannot. */
BOOLEAN LdrpPatchGs(LDRP_STUBS *Stubs, uint8_t *At, const uint8_t *Limit);

/* Assembling a stub (patch_stub.c). Code holds the bytes for Address. */
#define LDRP_MAX_STUB 160u
typedef struct LDRP_ASM {
    uint8_t Code[LDRP_MAX_STUB];
    size_t Length;
    ULONG64 Address; /* where Code[0] will run */
    BOOLEAN Failed;
} LDRP_ASM;
ZydisEncoderRequest LdrpReq(ZydisMnemonic Mnemonic);
void LdrpOpReg(ZydisEncoderRequest *R, ZydisRegister Reg);
/* [Base + Disp] of Size bytes (no index); Base RIP takes an absolute
   address, NONE an absolute disp32. */
void LdrpOpMem(ZydisEncoderRequest *R, ZydisRegister Base, LONGLONG Disp, USHORT Size);
void LdrpEmit(LDRP_ASM *A, ZydisEncoderRequest *R);
void LdrpEmitReg(LDRP_ASM *A, ZydisMnemonic Mnemonic, ZydisRegister Reg);
void LdrpEmitBranch(LDRP_ASM *A, ZydisMnemonic Mnemonic, ULONG64 Target);
/* mov Reg64, fs:[HalPcrSlotOffset()]: the current thread's KPCR. */
void LdrpEmitLoadPcr(LDRP_ASM *A, ZydisRegister Reg64);
/* Builds the stub as it would run at Address, into A; the same size for
   every address. FALSE when it cannot be encoded. */
typedef BOOLEAN (*LDRP_BUILD)(LDRP_ASM *A, ULONG64 Address, const void *Context);
/* Places the stub Build makes in reach of the Length-byte site at At (a
   4-byte site by punning its jump's last byte, patch.h) and replaces the
   site by a jump to it. FALSE (nothing changed) when it cannot. */
BOOLEAN LdrpPlaceStub(LDRP_STUBS *Stubs, uint8_t *At, ULONG Length, const uint8_t *Limit,
                      LDRP_BUILD Build, const void *Context);

/* Makes the stub pages executable and read-only and records them under
   their owner for LdrpReleasePatches; an empty set is freed. */
void LdrpSealStubs(LDRP_STUBS *Stubs);

BOOLEAN LdrpPatchEnabled(void);
BOOLEAN LdrpPatchUsesInterruptRequest(void);

void LdrpPatchAddCounts(const LDR_PATCH_COUNTS *Counts);
void LdrpPatchCountSlowPath(void);
/* The assembly entry of the slow path (patch_slow.c): called by a stub with
   the raw value in rcx, the old IRQL in dl and the site address pushed just
   before the call; preserves every register and flag. */
void LdrpPatchSlowThunk(void);
/* Prepares what LdrpPatchSlowThunk needs (the extended-state save area's
   size and mask). Idempotent. */
void LdrpPatchInitSlowPath(void);

/* ---- Provided by src/hal/usdlive.c (to move to hal/hal.h) ---- */

/* The live read-only copy of KUSER_SHARED_DATA that patched code reads: a
   page whose time fields a host thread refreshes at least every millisecond,
   published in the KSYSTEM_TIME order. Started on first call (it calls
   HalInitSystem). NULL when no live copy can be kept. */
const volatile void *HalpSharedDataLive(void);
/* Copies the time fields of HalpSharedDataCopy into the live page.
   Signal-safe; does nothing before the live page exists. */
void HalpPublishSharedData(void);

#endif
