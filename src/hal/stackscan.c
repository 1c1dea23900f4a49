/*
 * Driver frames on a stack, found by scanning rather than unwinding: driver
 * code has no frame-pointer chain we can trust and kmhost has no unwinder for
 * it yet. A stack word counts as a return address into a driver when it lies
 * in an executable section of a loaded image and the bytes before it decode
 * as a call instruction ending exactly there, which is what a debugger's
 * heuristic stack listing also checks. Stale return addresses can still
 * appear; the scan is bounded and reads only mapped memory.
 */
#include "hal/trap.h"
#include "ldr/pe.h"

#include <string.h>

LDR_IMAGE *(*HalpFindImageHook)(const void *Address);

LDR_IMAGE *HalpImageAt(const void *Address)
{
    LDR_IMAGE *image = LdrFindImageByAddress(Address);
    if (!image && HalpFindImageHook)
        image = HalpFindImageHook(Address);
    return image;
}

/* TRUE when Rva is in an executable section of the image mapped at Base, or
   when the mapped headers cannot be read as a PE (then the whole image counts
   as code). */
static BOOLEAN HalpIsCodeRva(const UCHAR *Base, uint32_t Rva)
{
    uint32_t lfanew, signature;
    IMAGE_FILE_HEADER file;
    uint16_t mz;

    if (HalpSafeRead(&mz, Base, 2) != 2 || mz != IMAGE_DOS_SIGNATURE ||
        HalpSafeRead(&lfanew, Base + 0x3c, 4) != 4 ||
        HalpSafeRead(&signature, Base + lfanew, 4) != 4 || signature != IMAGE_NT_SIGNATURE ||
        HalpSafeRead(&file, Base + lfanew + 4, sizeof(file)) != sizeof(file))
        return TRUE;
    const UCHAR *sections = Base + lfanew + 4 + sizeof(file) + file.SizeOfOptionalHeader;
    for (unsigned i = 0; i < file.NumberOfSections; i++) {
        IMAGE_SECTION_HEADER s;
        if (HalpSafeRead(&s, sections + i * sizeof(s), sizeof(s)) != sizeof(s))
            return TRUE;
        uint32_t size = s.VirtualSize ? s.VirtualSize : s.SizeOfRawData;
        if (Rva >= s.VirtualAddress && Rva - s.VirtualAddress < size)
            return (s.Characteristics & (IMAGE_SCN_MEM_EXECUTE | IMAGE_SCN_CNT_CODE)) != 0;
    }
    return FALSE;
}

/* A call instruction (2 to 7 bytes: call reg, call [mem], call rel32) ends
   exactly at Address. */
static BOOLEAN HalpFollowsCall(const UCHAR *Address)
{
    UCHAR bytes[7];
    HALP_INSN insn;
    if (HalpSafeRead(bytes, Address - sizeof(bytes), sizeof(bytes)) != sizeof(bytes))
        return FALSE;
    for (size_t len = 2; len <= sizeof(bytes); len++) {
        if (HalpDecode(bytes + sizeof(bytes) - len, len, &insn) && insn.Insn.length == len &&
            insn.Insn.mnemonic == ZYDIS_MNEMONIC_CALL)
            return TRUE;
    }
    return FALSE;
}

size_t HalpScanStack(ULONG_PTR Sp, const void **Frames, size_t Max)
{
    ULONG_PTR words[HAL_STACK_SCAN_BYTES / sizeof(ULONG_PTR)];
    size_t bytes = sizeof(words), found = 0;
    uintptr_t low, high;

    Sp &= ~(ULONG_PTR)(sizeof(ULONG_PTR) - 1);
    if (HalpThreadStackBounds(&low, &high) && Sp >= low && Sp < high && high - Sp < bytes)
        bytes = high - Sp;
    bytes = HalpSafeRead(words, (const void *)Sp, bytes);
    for (size_t i = 0; i < bytes / sizeof(ULONG_PTR) && found < Max; i++) {
        const UCHAR *at = (const UCHAR *)words[i];
        LDR_IMAGE *image = HalpImageAt(at);
        if (image && HalpIsCodeRva(image->Base, (uint32_t)(at - image->Base)) &&
            HalpFollowsCall(at))
            Frames[found++] = at;
    }
    return found;
}
