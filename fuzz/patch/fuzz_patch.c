/*
 * libFuzzer harness for the load-time patcher's scanner and rewriter
 * (LdrpPatchCode, src/ldr/patch*.h): any bytes as one code region, with
 * function starts taken from the input, placed so that the region ends at a
 * PROT_NONE guard page (Limit = end of region): a read past Limit faults.
 *
 * Input: byte 0 = number of function starts (0..15), then 4 bytes each
 * (any value, as an image's .pdata may hold), then the code.
 *
 * Invariant checked (patch.h): only the bytes of patched instructions
 * change. An instruction is at most 15 bytes (a `mov cr8` may carry
 * redundant prefixes: the whole of it becomes a jmp rel32 and nops), so the
 * number of changed bytes is at most 15 per patched site, and 0 when nothing
 * was patched. (A first version of this harness assumed 8 bytes per site;
 * its "crash" was that assumption, not a patcher bug.) gs: sites count too:
 * they are patched when the GS base is 0 (hal/pcr.c), which KMHOST_GSBASE=0
 * forces; without FSGSBASE it is the default.
 */
#include "ldr/patch.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size);

#define FUZZ_PAGE 4096u
#define FUZZ_MAX_CODE (4 * FUZZ_PAGE)

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size)
{
    if (Size < 1)
        return 0;
    size_t nstarts = Data[0] & 15;
    if (Size < 1 + nstarts * 4)
        return 0;
    uint32_t starts[15];
    memcpy(starts, Data + 1, nstarts * 4);
    const uint8_t *code = Data + 1 + nstarts * 4;
    size_t len = Size - 1 - nstarts * 4;
    if (len == 0 || len > FUZZ_MAX_CODE)
        return 0;

    size_t map = FUZZ_MAX_CODE + FUZZ_PAGE;
    uint8_t *m = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        abort();
    if (mprotect(m + FUZZ_MAX_CODE, FUZZ_PAGE, PROT_NONE) != 0)
        abort();
    uint8_t *at = m + FUZZ_MAX_CODE - len;
    memcpy(at, code, len);

    LDR_PATCH_COUNTS counts;
    memset(&counts, 0, sizeof(counts));
    LdrpPatchCode(m, at, len, at + len, starts, nstarts, &counts);

    size_t changed = 0;
    for (size_t i = 0; i < len; i++)
        changed += at[i] != code[i];
    ULONG64 sites = counts.Cr8Reads + counts.Cr8Writes + counts.SharedDataMoffs +
                    counts.SharedDataImm + counts.Gs;
    if (changed > 15 * sites)
        abort();
    LdrpReleasePatches(m);
    munmap(m, map);
    return 0;
}
