/*
 * The loader's internal interface: the pure PE parser and the passes over a
 * mapped image, split so that unit tests and a fuzzer can run each of them on
 * a plain byte buffer, and the accessors other components need (.pdata for
 * exception dispatch).
 *
 * Every Ldrp pass that takes an image buffer takes the LDR_PE_INFO that
 * LdrpParseImage produced from the same file: the parser has already proved
 * that the headers, the sections and the data directories lie inside the
 * file and inside SizeOfImage, so the passes only check what they read
 * through an RVA found in the image itself.
 */
#ifndef KM_LDR_LDR_H
#define KM_LDR_LDR_H

#include "km.h"
#include "ldr/pe.h"

/* The Windows loader refuses more sections than this (PE Format spec). */
#define LDR_MAX_SECTIONS 96
/* A driver file larger than this is refused before it is read. */
#define LDR_MAX_FILE_SIZE (512u << 20)

typedef struct LDR_SECTION {
    char Name[9];            /* printable, NUL-terminated */
    uint32_t VirtualAddress; /* RVA */
    uint32_t VirtualSize;    /* extent in the image (VirtualSize, or SizeOfRawData if 0) */
    uint32_t RawOffset;      /* file offset */
    uint32_t CopySize;       /* bytes copied from the file: min(SizeOfRawData, VirtualSize) */
    uint32_t Characteristics;
} LDR_SECTION;

typedef struct LDR_PE_INFO {
    uint64_t ImageBase;
    uint32_t SizeOfImage;
    uint32_t SizeOfHeaders;
    uint32_t SectionAlignment;
    uint32_t FileAlignment;
    uint32_t EntryRva; /* 0: none */
    uint16_t FileCharacteristics;
    uint16_t DllCharacteristics;
    uint32_t SymbolTableOffset; /* 0 when absent or unusable */
    uint32_t NumberOfSymbols;
    uint32_t StringTableSize; /* bytes after the symbols, including its own size field */
    IMAGE_DATA_DIRECTORY Directory[IMAGE_NUMBEROF_DIRECTORY_ENTRIES]; /* absent ones are 0 */
    uint32_t NumberOfSections;
    LDR_SECTION Sections[LDR_MAX_SECTIONS];
} LDR_PE_INFO;

/* Validates File as a PE32+ AMD64 image. STATUS_INVALID_IMAGE_NOT_MZ or
   STATUS_INVALID_IMAGE_FORMAT with the reason in Why. Pure: no allocation. */
NTSTATUS LdrpParseImage(const uint8_t *File, size_t FileSize, LDR_PE_INFO *Info, char *Why,
                        size_t WhyLen);
/* Lays the file out in Base (SizeOfImage bytes, already zeroed). */
void LdrpCopyImage(uint8_t *Base, const uint8_t *File, const LDR_PE_INFO *Info);
/* Validates every relocation block and, when Delta != 0, applies them. */
NTSTATUS LdrpRelocateImage(uint8_t *Base, const LDR_PE_INFO *Info, uint64_t Delta, char *Why,
                           size_t WhyLen);
/* Binds every IAT slot against KmLookupExport/KmLookupExportByOrdinal. */
NTSTATUS LdrpBindImports(uint8_t *Base, const LDR_PE_INFO *Info, char *Why, size_t WhyLen);
/* Refuses a delay-load import directory (drivers cannot have one). */
NTSTATUS LdrpCheckDelayImports(const LDR_PE_INFO *Info, char *Why, size_t WhyLen);
/* Replaces the /GS cookie named by the load-config directory. Base is the
   image as mapped at ActualBase (relocations applied). */
NTSTATUS LdrpInitSecurityCookie(uint8_t *Base, uint64_t ActualBase, const LDR_PE_INFO *Info,
                                char *Why, size_t WhyLen);
/* The load-time patching hook, run after binding and before protection. */
NTSTATUS LdrpPatchImage(uint8_t *Base, const LDR_PE_INFO *Info, char *Why, size_t WhyLen);

/* Function symbols of an image, sorted by RVA, for LdrDescribeAddress. */
typedef struct LDR_SYMBOL {
    uint32_t Rva;
    uint32_t End;        /* end of the symbol's section: no match past it */
    uint32_t NameOffset; /* into LDR_SYMBOLS.Names */
    uint32_t Typed;      /* 1: an export or a function; 0: an untyped code label */
} LDR_SYMBOL;
typedef struct LDR_SYMBOLS {
    LDR_SYMBOL *Symbols;
    size_t Count;
    char *Names;
} LDR_SYMBOLS;
/* From the export directory (in Base) and the COFF symbol table (in File).
   A malformed table is skipped, not an error: Windows never reads it. */
NTSTATUS LdrpBuildSymbols(const uint8_t *File, size_t FileSize, const uint8_t *Base,
                          const LDR_PE_INFO *Info, LDR_SYMBOLS *Out);
void LdrpFreeSymbols(LDR_SYMBOLS *Symbols);
/* The symbol at or before Rva in the same section, or NULL. Signal-safe. */
const LDR_SYMBOL *LdrpFindSymbol(const LDR_SYMBOLS *Symbols, uint32_t Rva);

/* What LDR_IMAGE.Private points to. Immutable once the image is published,
   except Live. */
typedef struct LDR_PRIVATE {
    int Live;              /* 1 while registered; read with __atomic_load_n */
    size_t MapSize;        /* SizeOfImage rounded to pages */
    uint32_t ExceptionRva; /* .pdata: RUNTIME_FUNCTION[ExceptionSize / 12] */
    uint32_t ExceptionSize;
    LDR_SYMBOLS Symbols;
    LDR_IMAGE *Retired; /* next on the retired list */
} LDR_PRIVATE;

/* The image's RUNTIME_FUNCTION table (12-byte entries) and its size in
   bytes, or NULL when it has none. Signal-safe. */
const void *LdrpGetExceptionDirectory(const LDR_IMAGE *Image, ULONG *Size);

/* The registry of loaded images (registry.c). */
void LdrpRegisterImage(LDR_IMAGE *Image);
/* Returns 0 when Image was not registered (already unloaded). */
int LdrpUnregisterImage(LDR_IMAGE *Image);

/* snprintf into Why when there is room; returns Status. */
NTSTATUS LdrpFail(NTSTATUS Status, char *Why, size_t WhyLen, const char *Format, ...)
    __attribute__((format(printf, 4, 5)));

/* Bounds checks that cannot overflow: [Offset, Offset+Length) within Size. */
static inline int LdrpInRange(uint64_t Offset, uint64_t Length, uint64_t Size)
{
    return Offset <= Size && Length <= Size - Offset;
}

#endif
