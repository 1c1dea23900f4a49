/*
 * libFuzzer harness for the loader's pure passes: parse, lay out, relocate,
 * bind, set the cookie and build the symbol table over a heap buffer, as
 * LdrLoadDriverImage does over its mapping. Build and run:
 *   clang -std=gnu17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude -Isrc src/ldr/[a-z]*.c fuzz/ldr/fuzz_ldr.c -o fuzz_ldr -lpthread
 *   ./fuzz_ldr -max_len=65536 CORPUS_DIR   (seed it with .sys files)
 */
#include "ldr/ldr.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size);

/* Something to bind to (and it defines the km_exports section when the
   harness is linked without the rest of the core). */
void NTAPI KmFuzzLdrExport(void)
{
}
KM_EXPORT(KmFuzzLdrExport);

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size)
{
    static LDR_PE_INFO info;
    char why[512];
    if (!NT_SUCCESS(LdrpParseImage(Data, Size, &info, why, sizeof(why))))
        return 0;
    if (info.SizeOfImage > (16u << 20))
        return 0;
    uint8_t *base = calloc(1, info.SizeOfImage);
    if (!base)
        return 0;
    uint64_t actual = info.ImageBase + 0x10000;
    LdrpCopyImage(base, Data, &info);
    if (NT_SUCCESS(LdrpCheckDelayImports(&info, why, sizeof(why))) &&
        NT_SUCCESS(LdrpRelocateImage(base, &info, 0x10000, why, sizeof(why))) &&
        NT_SUCCESS(LdrpBindImports(base, &info, why, sizeof(why))))
        LdrpInitSecurityCookie(base, actual, &info, why, sizeof(why));
    LDR_SYMBOLS syms;
    if (NT_SUCCESS(LdrpBuildSymbols(Data, Size, base, &info, &syms))) {
        for (uint32_t rva = 0; rva < info.SizeOfImage; rva += 0x101)
            LdrpFindSymbol(&syms, rva);
        LdrpFreeSymbols(&syms);
    }
    free(base);
    return 0;
}
