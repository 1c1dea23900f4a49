/*
 * Base relocations (the .reloc directory): a sequence of blocks, each an
 * IMAGE_BASE_RELOCATION header (page RVA, SizeOfBlock including the header)
 * followed by 16-bit entries, type in the high 4 bits and page offset in the
 * low 12. An AMD64 image may use only DIR64, HIGHLOW and the ABSOLUTE padding
 * entry.
 *
 * An image without a relocation directory can move only if it declares
 * IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE and not IMAGE_FILE_RELOCS_STRIPPED.
 *
 * Every block is validated even when the image sits at its preferred base
 * (Delta 0) and nothing is written, so a malformed table is reported the same
 * way wherever the image lands.
 */
#include "ldr/ldr.h"

#include <string.h>

static NTSTATUS LdrpRelocateBlock(uint8_t *Base, const LDR_PE_INFO *Info, uint64_t Delta,
                                  uint32_t BlockRva, const IMAGE_BASE_RELOCATION *Block, char *Why,
                                  size_t WhyLen)
{
    uint32_t count = (Block->SizeOfBlock - sizeof(*Block)) / 2;
    for (uint32_t i = 0; i < count; i++) {
        uint16_t e;
        memcpy(&e, Base + BlockRva + sizeof(*Block) + 2 * i, 2);
        unsigned type = e >> 12;
        uint64_t target = (uint64_t)Block->VirtualAddress + (e & 0xfff);
        unsigned width;
        switch (type) {
        case IMAGE_REL_BASED_ABSOLUTE:
            continue;
        case IMAGE_REL_BASED_HIGHLOW:
            width = 4;
            break;
        case IMAGE_REL_BASED_DIR64:
            width = 8;
            break;
        default:
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "relocation block at RVA 0x%x, entry %u: type %u is not valid in "
                            "an AMD64 image (only DIR64, HIGHLOW and ABSOLUTE are)",
                            BlockRva, i, type);
        }
        if (!LdrpInRange(target, width, Info->SizeOfImage))
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "relocation block at RVA 0x%x, entry %u: target RVA 0x%llx lies "
                            "outside the image (SizeOfImage 0x%x)",
                            BlockRva, i, (unsigned long long)target, Info->SizeOfImage);
        if (!Delta)
            continue;
        if (width == 8) {
            uint64_t v;
            memcpy(&v, Base + target, 8);
            v += Delta;
            memcpy(Base + target, &v, 8);
        } else {
            uint32_t v;
            memcpy(&v, Base + target, 4);
            v += (uint32_t)Delta;
            memcpy(Base + target, &v, 4);
        }
    }
    return STATUS_SUCCESS;
}

NTSTATUS LdrpRelocateImage(uint8_t *Base, const LDR_PE_INFO *Info, uint64_t Delta, char *Why,
                           size_t WhyLen)
{
    const IMAGE_DATA_DIRECTORY *dir = &Info->Directory[IMAGE_DIRECTORY_ENTRY_BASERELOC];
    if (!dir->VirtualAddress || !dir->Size) {
        /* binutils omits .reloc when there is no absolute fixup at all; an
           image that says it is DYNAMIC_BASE then moves with nothing to fix. */
        if (!Delta || ((Info->DllCharacteristics & IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE) &&
                       !(Info->FileCharacteristics & IMAGE_FILE_RELOCS_STRIPPED)))
            return STATUS_SUCCESS;
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "the image cannot be mapped at its preferred base 0x%llx and has no "
                        "base relocations%s; relink it with --dynamicbase (mingw-w64) or "
                        "/DYNAMICBASE so it can be moved",
                        (unsigned long long)Info->ImageBase,
                        (Info->FileCharacteristics & IMAGE_FILE_RELOCS_STRIPPED)
                            ? " (IMAGE_FILE_RELOCS_STRIPPED is set)"
                            : "");
    }
    if (Delta && (Info->FileCharacteristics & IMAGE_FILE_RELOCS_STRIPPED))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "the image cannot be mapped at its preferred base 0x%llx and its "
                        "relocations are stripped (IMAGE_FILE_RELOCS_STRIPPED); relink it "
                        "with --dynamicbase (mingw-w64) or /DYNAMICBASE",
                        (unsigned long long)Info->ImageBase);

    /* The parser proved [VirtualAddress, +Size) lies inside the image. */
    uint32_t end = dir->VirtualAddress + dir->Size;
    uint32_t rva = dir->VirtualAddress;
    while (rva < end) {
        IMAGE_BASE_RELOCATION block;
        if (end - rva < sizeof(block))
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "relocation block header at RVA 0x%x runs past the end of the "
                            "relocation directory (RVA 0x%x)",
                            rva, end);
        memcpy(&block, Base + rva, sizeof(block));
        if (block.SizeOfBlock < sizeof(block))
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "relocation block at RVA 0x%x has SizeOfBlock %u, less than its "
                            "own 8-byte header",
                            rva, block.SizeOfBlock);
        if (block.SizeOfBlock % 2)
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "relocation block at RVA 0x%x has odd SizeOfBlock %u (entries are "
                            "2 bytes)",
                            rva, block.SizeOfBlock);
        if (block.SizeOfBlock > end - rva)
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "relocation block at RVA 0x%x (SizeOfBlock 0x%x) runs past the end "
                            "of the relocation directory (RVA 0x%x)",
                            rva, block.SizeOfBlock, end);
        NTSTATUS st = LdrpRelocateBlock(Base, Info, Delta, rva, &block, Why, WhyLen);
        if (!NT_SUCCESS(st))
            return st;
        rva += block.SizeOfBlock;
    }
    return STATUS_SUCCESS;
}
