/*
 * PE32+ header validation: a pure function over the bytes of a file.
 *
 * Invariant on success: the headers, the section table and every section's
 * raw data lie inside the file; every section's virtual range and every data
 * directory (except the security directory, which is a file range) lie inside
 * SizeOfImage; sections are in ascending, non-overlapping order above the
 * headers. All arithmetic on file values is done in 64 bits after each value
 * was bounded, so nothing overflows. The rules are those of Microsoft's "PE
 * Format" specification; where it says "should", kmhost follows what the
 * Windows loader enforces.
 */
#include "ldr/ldr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LDR_MAX_IMAGE_SIZE (1u << 30)

static const char *const LdrpDirectoryNames[IMAGE_NUMBEROF_DIRECTORY_ENTRIES] = {
    "export",
    "import",
    "resource",
    "exception",
    "security",
    "base relocation",
    "debug",
    "architecture",
    "global pointer",
    "TLS",
    "load configuration",
    "bound import",
    "import address table",
    "delay import",
    "CLR runtime header",
    "reserved",
};

NTSTATUS LdrpFail(NTSTATUS Status, char *Why, size_t WhyLen, const char *Format, ...)
{
    if (Why && WhyLen) {
        va_list ap;
        va_start(ap, Format);
        int n = vsnprintf(Why, WhyLen, Format, ap);
        va_end(ap);
        /* A cut message says so rather than ending mid-word. */
        if (n >= 0 && (size_t)n >= WhyLen && WhyLen > 4)
            memcpy(Why + WhyLen - 4, "...", 4);
    }
    return Status;
}

static int LdrpIsPowerOfTwo(uint32_t v)
{
    return v && !(v & (v - 1));
}

static uint16_t LdrpRead16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint32_t LdrpRead32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void LdrpSectionName(char Out[9], const uint8_t In[8])
{
    size_t i;
    for (i = 0; i < 8 && In[i]; i++)
        Out[i] = (In[i] >= 0x20 && In[i] < 0x7f) ? (char)In[i] : '?';
    Out[i] = 0;
}

static const char *LdrpMachineName(uint16_t Machine)
{
    switch (Machine) {
    case 0x014c:
        return "i386";
    case 0x01c4:
        return "ARMv7";
    case 0xaa64:
        return "ARM64";
    case 0x0200:
        return "IA-64";
    default:
        return "unknown";
    }
}

static NTSTATUS LdrpParseSections(const uint8_t *File, size_t FileSize, uint64_t TableOffset,
                                  LDR_PE_INFO *Info, char *Why, size_t WhyLen)
{
    uint64_t prevEnd = Info->SizeOfHeaders;
    const char *prevName = "the headers";
    for (uint32_t i = 0; i < Info->NumberOfSections; i++) {
        IMAGE_SECTION_HEADER sh;
        LDR_SECTION *s = &Info->Sections[i];
        memcpy(&sh, File + TableOffset + (uint64_t)i * sizeof(sh), sizeof(sh));
        LdrpSectionName(s->Name, sh.Name);
        uint64_t extent = sh.VirtualSize ? sh.VirtualSize : sh.SizeOfRawData;
        if (sh.VirtualAddress % Info->SectionAlignment)
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "section %s VirtualAddress 0x%x is not a multiple of "
                            "SectionAlignment (0x%x)",
                            s->Name, sh.VirtualAddress, Info->SectionAlignment);
        if (!LdrpInRange(sh.VirtualAddress, extent, Info->SizeOfImage))
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "section %s virtual range (0x%x+0x%llx) runs past SizeOfImage "
                            "(0x%x)",
                            s->Name, sh.VirtualAddress, (unsigned long long)extent,
                            Info->SizeOfImage);
        if (sh.VirtualAddress < prevEnd)
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "section %s (RVA 0x%x) overlaps %s (which end at RVA 0x%llx); "
                            "sections must be in ascending order without overlap",
                            s->Name, sh.VirtualAddress, prevName, (unsigned long long)prevEnd);
        if (sh.SizeOfRawData && !LdrpInRange(sh.PointerToRawData, sh.SizeOfRawData, FileSize))
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "section %s raw data (0x%x+0x%x) runs past the end of the file "
                            "(0x%zx bytes)",
                            s->Name, sh.PointerToRawData, sh.SizeOfRawData, FileSize);
        s->VirtualAddress = sh.VirtualAddress;
        s->VirtualSize = (uint32_t)extent;
        s->RawOffset = sh.PointerToRawData;
        s->CopySize = sh.SizeOfRawData < extent ? sh.SizeOfRawData : (uint32_t)extent;
        s->Characteristics = sh.Characteristics;
        if (extent) {
            prevEnd = (uint64_t)sh.VirtualAddress + extent;
            prevName = s->Name;
        }
    }
    return STATUS_SUCCESS;
}

static NTSTATUS LdrpParseDirectories(const IMAGE_OPTIONAL_HEADER64 *Opt, size_t FileSize,
                                     LDR_PE_INFO *Info, char *Why, size_t WhyLen)
{
    memset(Info->Directory, 0, sizeof(Info->Directory));
    for (uint32_t i = 0; i < Opt->NumberOfRvaAndSizes; i++) {
        IMAGE_DATA_DIRECTORY d = Opt->DataDirectory[i];
        if (!d.VirtualAddress)
            continue;
        if (i == IMAGE_DIRECTORY_ENTRY_SECURITY) {
            if (!LdrpInRange(d.VirtualAddress, d.Size, FileSize))
                return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                                "security directory (file offset 0x%x, size 0x%x) runs past "
                                "the end of the file (0x%zx bytes)",
                                d.VirtualAddress, d.Size, FileSize);
        } else if (!LdrpInRange(d.VirtualAddress, d.Size, Info->SizeOfImage)) {
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "%s directory (RVA 0x%x, size 0x%x) lies outside the image "
                            "(SizeOfImage 0x%x)",
                            LdrpDirectoryNames[i], d.VirtualAddress, d.Size, Info->SizeOfImage);
        }
        Info->Directory[i] = d;
    }
    return STATUS_SUCCESS;
}

static NTSTATUS LdrpCheckEntryPoint(const LDR_PE_INFO *Info, char *Why, size_t WhyLen)
{
    if (!Info->EntryRva)
        return STATUS_SUCCESS;
    for (uint32_t i = 0; i < Info->NumberOfSections; i++) {
        const LDR_SECTION *s = &Info->Sections[i];
        if (Info->EntryRva >= s->VirtualAddress &&
            Info->EntryRva - s->VirtualAddress < s->VirtualSize) {
            if (!(s->Characteristics & IMAGE_SCN_MEM_EXECUTE))
                return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                                "AddressOfEntryPoint 0x%x is in section %s, which is not "
                                "executable",
                                Info->EntryRva, s->Name);
            return STATUS_SUCCESS;
        }
    }
    return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                    "AddressOfEntryPoint 0x%x is not inside any section", Info->EntryRva);
}

/* The COFF symbol table is optional and Windows ignores it: keep it only
   when it and its string table lie wholly inside the file. */
static void LdrpParseSymbolTable(const uint8_t *File, size_t FileSize, const IMAGE_FILE_HEADER *Fh,
                                 LDR_PE_INFO *Info)
{
    uint64_t symBytes = (uint64_t)Fh->NumberOfSymbols * IMAGE_SIZEOF_SYMBOL;
    Info->SymbolTableOffset = 0;
    Info->NumberOfSymbols = 0;
    Info->StringTableSize = 0;
    if (!Fh->PointerToSymbolTable || !Fh->NumberOfSymbols ||
        !LdrpInRange(Fh->PointerToSymbolTable, symBytes + 4, FileSize))
        return;
    uint64_t strOff = Fh->PointerToSymbolTable + symBytes;
    uint32_t strSize = LdrpRead32(File + strOff);
    if (strSize < 4 || !LdrpInRange(strOff, strSize, FileSize))
        return;
    Info->SymbolTableOffset = Fh->PointerToSymbolTable;
    Info->NumberOfSymbols = Fh->NumberOfSymbols;
    Info->StringTableSize = strSize;
}

NTSTATUS LdrpParseImage(const uint8_t *File, size_t FileSize, LDR_PE_INFO *Info, char *Why,
                        size_t WhyLen)
{
    memset(Info, 0, sizeof(*Info));
    if (FileSize < 2 || LdrpRead16(File) != IMAGE_DOS_SIGNATURE)
        return LdrpFail(STATUS_INVALID_IMAGE_NOT_MZ, Why, WhyLen,
                        "the file does not start with \"MZ\": it is not a PE image "
                        "(a .sys driver built for Windows x64)");
    if (FileSize < 64)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "the file is 0x%zx bytes, too small for a DOS header (0x40 bytes)",
                        FileSize);

    uint32_t lfanew = LdrpRead32(File + 0x3c);
    if (!LdrpInRange(lfanew, 4 + sizeof(IMAGE_FILE_HEADER), FileSize))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "e_lfanew 0x%x puts the NT headers (0x18 bytes) past the end of the "
                        "file (0x%zx bytes)",
                        lfanew, FileSize);
    uint32_t sig = LdrpRead32(File + lfanew);
    if (sig != IMAGE_NT_SIGNATURE)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "NT signature at e_lfanew 0x%x is 0x%08x, not \"PE\\0\\0\" "
                        "(0x00004550)",
                        lfanew, sig);

    IMAGE_FILE_HEADER fh;
    memcpy(&fh, File + lfanew + 4, sizeof(fh));
    if (fh.Machine != IMAGE_FILE_MACHINE_AMD64)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "FILE_HEADER.Machine is 0x%04x (%s); kmhost runs only AMD64 (0x8664) "
                        "drivers",
                        fh.Machine, LdrpMachineName(fh.Machine));
    if (fh.NumberOfSections == 0 || fh.NumberOfSections > LDR_MAX_SECTIONS)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "FILE_HEADER.NumberOfSections is %u; it must be 1 to %u",
                        fh.NumberOfSections, LDR_MAX_SECTIONS);

    uint64_t optOff = (uint64_t)lfanew + 4 + sizeof(fh);
    if (fh.SizeOfOptionalHeader < 2 || !LdrpInRange(optOff, 2, FileSize))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "SizeOfOptionalHeader is %u: the image has no optional header",
                        fh.SizeOfOptionalHeader);
    uint16_t magic = LdrpRead16(File + optOff);
    if (magic == IMAGE_NT_OPTIONAL_HDR32_MAGIC)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "optional header magic is 0x10b (PE32, a 32-bit image); kmhost needs "
                        "PE32+ (0x20b)");
    if (magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "optional header magic is 0x%x, not PE32+ (0x20b)", magic);
    if (fh.SizeOfOptionalHeader < LDR_OPTIONAL_HEADER64_FIXED)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "SizeOfOptionalHeader %u is smaller than the PE32+ optional header "
                        "(%u bytes before the data directories)",
                        fh.SizeOfOptionalHeader, LDR_OPTIONAL_HEADER64_FIXED);
    if (!LdrpInRange(optOff, fh.SizeOfOptionalHeader, FileSize))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "the optional header (0x%llx+0x%x) runs past the end of the file "
                        "(0x%zx bytes)",
                        (unsigned long long)optOff, fh.SizeOfOptionalHeader, FileSize);

    IMAGE_OPTIONAL_HEADER64 opt;
    memset(&opt, 0, sizeof(opt));
    memcpy(&opt, File + optOff,
           fh.SizeOfOptionalHeader < sizeof(opt) ? fh.SizeOfOptionalHeader : sizeof(opt));
    if (opt.NumberOfRvaAndSizes > IMAGE_NUMBEROF_DIRECTORY_ENTRIES)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "NumberOfRvaAndSizes is %u; at most %u data directories exist",
                        opt.NumberOfRvaAndSizes, IMAGE_NUMBEROF_DIRECTORY_ENTRIES);
    if (fh.SizeOfOptionalHeader <
        LDR_OPTIONAL_HEADER64_FIXED + opt.NumberOfRvaAndSizes * sizeof(IMAGE_DATA_DIRECTORY))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "SizeOfOptionalHeader %u cannot hold NumberOfRvaAndSizes (%u) data "
                        "directories (needs %zu bytes)",
                        fh.SizeOfOptionalHeader, opt.NumberOfRvaAndSizes,
                        LDR_OPTIONAL_HEADER64_FIXED +
                            opt.NumberOfRvaAndSizes * sizeof(IMAGE_DATA_DIRECTORY));

    uint64_t tableOff = optOff + fh.SizeOfOptionalHeader;
    uint64_t tableLen = (uint64_t)fh.NumberOfSections * sizeof(IMAGE_SECTION_HEADER);
    if (!LdrpInRange(tableOff, tableLen, FileSize))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "the section table (%u sections at 0x%llx) runs past the end of the "
                        "file (0x%zx bytes)",
                        fh.NumberOfSections, (unsigned long long)tableOff, FileSize);

    uint32_t sa = opt.SectionAlignment, fa = opt.FileAlignment;
    if (!LdrpIsPowerOfTwo(sa) || !LdrpIsPowerOfTwo(fa))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "SectionAlignment 0x%x and FileAlignment 0x%x must be powers of two", sa,
                        fa);
    if (sa < 0x1000 ? fa != sa : (fa < 0x200 || fa > 0x10000 || fa > sa))
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "FileAlignment 0x%x does not suit SectionAlignment 0x%x (it must be "
                        "0x200 to 0x10000 and at most SectionAlignment, or equal to a "
                        "SectionAlignment below the page size)",
                        fa, sa);
    if (opt.ImageBase % 0x10000 || opt.ImageBase + opt.SizeOfImage < opt.ImageBase)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "ImageBase 0x%llx is not a multiple of 64K or the image wraps around "
                        "the address space",
                        (unsigned long long)opt.ImageBase);
    if (!opt.SizeOfImage || opt.SizeOfImage % sa || opt.SizeOfImage > LDR_MAX_IMAGE_SIZE)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "SizeOfImage 0x%x must be a non-zero multiple of SectionAlignment "
                        "(0x%x) no larger than 0x%x",
                        opt.SizeOfImage, sa, LDR_MAX_IMAGE_SIZE);
    if (opt.SizeOfHeaders < tableOff + tableLen || opt.SizeOfHeaders > FileSize ||
        opt.SizeOfHeaders > opt.SizeOfImage)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "SizeOfHeaders 0x%x must cover the section table (ends at 0x%llx) and "
                        "fit in the file (0x%zx bytes) and in SizeOfImage (0x%x)",
                        opt.SizeOfHeaders, (unsigned long long)(tableOff + tableLen), FileSize,
                        opt.SizeOfImage);

    Info->ImageBase = opt.ImageBase;
    Info->SizeOfImage = opt.SizeOfImage;
    Info->SizeOfHeaders = opt.SizeOfHeaders;
    Info->SectionAlignment = sa;
    Info->FileAlignment = fa;
    Info->EntryRva = opt.AddressOfEntryPoint;
    Info->FileCharacteristics = fh.Characteristics;
    Info->DllCharacteristics = opt.DllCharacteristics;
    Info->NumberOfSections = fh.NumberOfSections;

    NTSTATUS st = LdrpParseSections(File, FileSize, tableOff, Info, Why, WhyLen);
    if (!NT_SUCCESS(st))
        return st;
    st = LdrpParseDirectories(&opt, FileSize, Info, Why, WhyLen);
    if (!NT_SUCCESS(st))
        return st;
    st = LdrpCheckEntryPoint(Info, Why, WhyLen);
    if (!NT_SUCCESS(st))
        return st;
    LdrpParseSymbolTable(File, FileSize, &fh, Info);
    return STATUS_SUCCESS;
}

void LdrpCopyImage(uint8_t *Base, const uint8_t *File, const LDR_PE_INFO *Info)
{
    memcpy(Base, File, Info->SizeOfHeaders);
    for (uint32_t i = 0; i < Info->NumberOfSections; i++) {
        const LDR_SECTION *s = &Info->Sections[i];
        if (s->CopySize)
            memcpy(Base + s->VirtualAddress, File + s->RawOffset, s->CopySize);
    }
}
