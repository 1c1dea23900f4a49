/*
 * The load-time patching hook. LdrLoadDriverImage calls it once per image,
 * after relocation, import binding and the /GS cookie and before the section
 * protections are applied, so the whole image is still writable here.
 *
 * Every section mapped executable is one region for the sweep (patch_scan.c);
 * the BeginAddress of every RUNTIME_FUNCTION in .pdata that lies in it is a
 * point where decoding restarts. Patching never refuses an image: a site that
 * cannot be patched keeps trapping into the HAL's emulation.
 */
#include "ldr/patch.h"

#include <stdlib.h>
#include <string.h>

#define LDRP_DEFAULT_USE_INTERRUPT_REQUEST 1

typedef struct LDRP_RUNTIME_FUNCTION {
    uint32_t BeginAddress;
    uint32_t EndAddress;
    uint32_t UnwindData;
} LDRP_RUNTIME_FUNCTION;

static int LdrpEnabled = -1;             /* -1: not decided, read KMHOST_PATCH */
static int LdrpUseInterruptRequest = -1; /* -1: not decided, read KMHOST_PATCH_IRQL */

void LdrpPatchSetEnabled(BOOLEAN Enabled)
{
    __atomic_store_n(&LdrpEnabled, Enabled ? 1 : 0, __ATOMIC_RELAXED);
}

void LdrpPatchSetUseInterruptRequest(BOOLEAN UseInterruptRequest)
{
    __atomic_store_n(&LdrpUseInterruptRequest, UseInterruptRequest ? 1 : 0, __ATOMIC_RELAXED);
}

BOOLEAN LdrpPatchEnabled(void)
{
    int on = __atomic_load_n(&LdrpEnabled, __ATOMIC_RELAXED);
    if (on < 0) {
        const char *env = getenv("KMHOST_PATCH");
        on = !(env && strcmp(env, "0") == 0);
        __atomic_store_n(&LdrpEnabled, on, __ATOMIC_RELAXED);
    }
    return on != 0;
}

BOOLEAN LdrpPatchUsesInterruptRequest(void)
{
    int on = __atomic_load_n(&LdrpUseInterruptRequest, __ATOMIC_RELAXED);
    if (on < 0) {
        const char *env = getenv("KMHOST_PATCH_IRQL");
        on = LDRP_DEFAULT_USE_INTERRUPT_REQUEST;
        if (env && strcmp(env, "always") == 0)
            on = 0;
        else if (env && strcmp(env, "request") == 0)
            on = 1;
        __atomic_store_n(&LdrpUseInterruptRequest, on, __ATOMIC_RELAXED);
    }
    return on != 0;
}

/* The function starts in [Rva, Rva + Size), as offsets from Rva. */
static size_t LdrpFunctionStarts(const uint8_t *Base, const LDR_PE_INFO *Info, uint32_t Rva,
                                 uint32_t Size, uint32_t *Out, size_t Max)
{
    const IMAGE_DATA_DIRECTORY *dir = &Info->Directory[IMAGE_DIRECTORY_ENTRY_EXCEPTION];
    size_t n = 0;
    if (!dir->Size || !LdrpInRange(dir->VirtualAddress, dir->Size, Info->SizeOfImage))
        return 0;
    const uint8_t *table = Base + dir->VirtualAddress;
    for (uint32_t i = 0; i < dir->Size / sizeof(LDRP_RUNTIME_FUNCTION); i++) {
        LDRP_RUNTIME_FUNCTION f;
        memcpy(&f, table + i * sizeof(f), sizeof(f));
        if (n < Max && f.BeginAddress >= Rva && f.BeginAddress - Rva < Size)
            Out[n++] = f.BeginAddress - Rva;
    }
    return n;
}

NTSTATUS LdrpPatchImage(uint8_t *Base, const LDR_PE_INFO *Info, char *Why, size_t WhyLen)
{
    (void)Why;
    (void)WhyLen;
    LDR_PATCH_REGION regions[LDR_MAX_SECTIONS];
    size_t count = 0;
    size_t functions =
        Info->Directory[IMAGE_DIRECTORY_ENTRY_EXCEPTION].Size / sizeof(LDRP_RUNTIME_FUNCTION);
    uint32_t *starts = functions ? malloc(functions * sizeof(*starts)) : NULL;
    size_t used = 0;

    for (uint32_t i = 0; i < Info->NumberOfSections; i++) {
        const LDR_SECTION *s = &Info->Sections[i];
        if (!(s->Characteristics & IMAGE_SCN_MEM_EXECUTE) || !s->VirtualSize ||
            !LdrpInRange(s->VirtualAddress, s->VirtualSize, Info->SizeOfImage))
            continue;
        LDR_PATCH_REGION *r = &regions[count++];
        r->Code = Base + s->VirtualAddress;
        r->Length = s->VirtualSize;
        r->FunctionStarts = starts ? starts + used : NULL;
        r->FunctionCount = starts
                               ? LdrpFunctionStarts(Base, Info, s->VirtualAddress, s->VirtualSize,
                                                    starts + used, functions - used)
                               : 0;
        used += r->FunctionCount;
    }
    /* Without memory for the starts, the sweep simply does not resynchronise. */
    LdrpPatchRegions(Base, regions, count, Base + Info->SizeOfImage, NULL);
    free(starts);
    return STATUS_SUCCESS;
}
