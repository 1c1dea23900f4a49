/*
 * Function symbols for LdrDescribeAddress, gathered once at load so that the
 * signal-safe lookup is a binary search over an immutable sorted array.
 *
 * Sources: the image's export directory (names of exported code) and the COFF
 * symbol table that ld keeps in mingw-w64 images unless they are stripped
 * (function symbols: derived type DTYPE_FUNCTION, storage class EXTERNAL or
 * STATIC, Value relative to its 1-based SectionNumber). Only symbols inside
 * executable sections count. Both tables are optional and unchecked by
 * Windows, so an entry that points anywhere odd is skipped, never an error.
 */
#include "ldr/ldr.h"

#include <stdlib.h>
#include <string.h>

typedef struct LDRP_SYMBUILD {
    LDR_SYMBOLS *Out;
    size_t Capacity;
    size_t NamesLength;
    size_t NamesCapacity;
    int Failed;
} LDRP_SYMBUILD;

/* The executable section containing Rva, or NULL. */
static const LDR_SECTION *LdrpCodeSection(const LDR_PE_INFO *Info, uint64_t Rva)
{
    for (uint32_t i = 0; i < Info->NumberOfSections; i++) {
        const LDR_SECTION *s = &Info->Sections[i];
        if (Rva >= s->VirtualAddress && Rva - s->VirtualAddress < s->VirtualSize)
            return (s->Characteristics & IMAGE_SCN_MEM_EXECUTE) ? s : NULL;
    }
    return NULL;
}

static void LdrpAddSymbol(LDRP_SYMBUILD *b, const LDR_PE_INFO *Info, uint64_t Rva, const char *Name,
                          size_t NameLength, uint32_t Typed)
{
    const LDR_SECTION *s = LdrpCodeSection(Info, Rva);
    if (!s || !NameLength || b->Failed)
        return;
    LDR_SYMBOLS *o = b->Out;
    if (o->Count == b->Capacity) {
        size_t cap = b->Capacity ? 2 * b->Capacity : 64;
        LDR_SYMBOL *p = realloc(o->Symbols, cap * sizeof(*p));
        if (!p) {
            b->Failed = 1;
            return;
        }
        o->Symbols = p;
        b->Capacity = cap;
    }
    if (b->NamesLength + NameLength + 1 > b->NamesCapacity) {
        size_t cap = b->NamesCapacity ? b->NamesCapacity : 1024;
        while (b->NamesLength + NameLength + 1 > cap)
            cap *= 2;
        char *p = realloc(o->Names, cap);
        if (!p || cap > UINT32_MAX) {
            if (p)
                o->Names = p;
            b->Failed = 1;
            return;
        }
        o->Names = p;
        b->NamesCapacity = cap;
    }
    memcpy(o->Names + b->NamesLength, Name, NameLength);
    o->Names[b->NamesLength + NameLength] = 0;
    o->Symbols[o->Count++] = (LDR_SYMBOL){(uint32_t)Rva, s->VirtualAddress + s->VirtualSize,
                                          (uint32_t)b->NamesLength, Typed};
    b->NamesLength += NameLength + 1;
}

static uint32_t LdrpLoad32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void LdrpAddExports(LDRP_SYMBUILD *b, const uint8_t *Base, const LDR_PE_INFO *Info)
{
    const IMAGE_DATA_DIRECTORY *dir = &Info->Directory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    IMAGE_EXPORT_DIRECTORY ed;
    uint32_t size = Info->SizeOfImage;
    if (!dir->VirtualAddress || dir->Size < sizeof(ed))
        return;
    memcpy(&ed, Base + dir->VirtualAddress, sizeof(ed));
    if (!LdrpInRange(ed.AddressOfNames, 4ull * ed.NumberOfNames, size) ||
        !LdrpInRange(ed.AddressOfNameOrdinals, 2ull * ed.NumberOfNames, size) ||
        !LdrpInRange(ed.AddressOfFunctions, 4ull * ed.NumberOfFunctions, size))
        return;
    for (uint32_t i = 0; i < ed.NumberOfNames; i++) {
        uint16_t index;
        memcpy(&index, Base + ed.AddressOfNameOrdinals + 2ull * i, 2);
        uint32_t nameRva = LdrpLoad32(Base + ed.AddressOfNames + 4ull * i);
        if (index >= ed.NumberOfFunctions || nameRva >= size)
            continue;
        uint32_t fn = LdrpLoad32(Base + ed.AddressOfFunctions + 4ull * index);
        /* An RVA inside the export directory is a forwarder string. */
        if (fn >= dir->VirtualAddress && fn - dir->VirtualAddress < dir->Size)
            continue;
        const char *name = (const char *)Base + nameRva;
        const char *nul = memchr(name, 0, size - nameRva);
        if (nul)
            LdrpAddSymbol(b, Info, fn, name, (size_t)(nul - name), 1);
    }
}

static void LdrpAddCoffSymbols(LDRP_SYMBUILD *b, const uint8_t *File, const LDR_PE_INFO *Info)
{
    if (!Info->SymbolTableOffset)
        return;
    const uint8_t *table = File + Info->SymbolTableOffset;
    const uint8_t *strings = table + (uint64_t)Info->NumberOfSymbols * IMAGE_SIZEOF_SYMBOL;
    for (uint64_t i = 0; i < Info->NumberOfSymbols; i++) {
        const uint8_t *sym = table + i * IMAGE_SIZEOF_SYMBOL;
        int16_t section;
        uint16_t type;
        uint8_t storage = sym[16], aux = sym[17];
        memcpy(&section, sym + 12, 2);
        memcpy(&type, sym + 14, 2);
        uint32_t value = LdrpLoad32(sym + 8);
        uint64_t skip = aux;
        /* Functions, and untyped external labels in code: assembly
           routines linked from libgcc or the CRT (___chkstk_ms, which a
           stack overflow usually hits) have no function type. */
        uint32_t typed = ((type >> 4) & 3) == IMAGE_SYM_DTYPE_FUNCTION;
        if ((typed ? storage == IMAGE_SYM_CLASS_EXTERNAL || storage == IMAGE_SYM_CLASS_STATIC
                   : storage == IMAGE_SYM_CLASS_EXTERNAL && type == 0) &&
            section >= 1 && (uint32_t)section <= Info->NumberOfSections) {
            const LDR_SECTION *s = &Info->Sections[section - 1];
            const char *name;
            size_t len;
            if (LdrpLoad32(sym) == 0) {
                uint32_t off = LdrpLoad32(sym + 4);
                if (off < 4 || off >= Info->StringTableSize)
                    goto next;
                name = (const char *)strings + off;
                const char *nul = memchr(name, 0, Info->StringTableSize - off);
                if (!nul)
                    goto next;
                len = (size_t)(nul - name);
            } else {
                name = (const char *)sym;
                for (len = 0; len < 8 && name[len]; len++)
                    ;
            }
            if (value < s->VirtualSize)
                LdrpAddSymbol(b, Info, (uint64_t)s->VirtualAddress + value, name, len, typed);
        }
    next:
        i += skip;
    }
}

/* By address; at one address a typed symbol sorts last, so that the lookup
   (the last symbol at or below an address) names the function rather than
   a label such as ___crt_xc_start__ that the linker put at the same place. */
static int LdrpSymbolCmp(const void *a, const void *b)
{
    const LDR_SYMBOL *x = a, *y = b;
    if (x->Rva != y->Rva)
        return x->Rva < y->Rva ? -1 : 1;
    return (int)x->Typed - (int)y->Typed;
}

NTSTATUS LdrpBuildSymbols(const uint8_t *File, size_t FileSize, const uint8_t *Base,
                          const LDR_PE_INFO *Info, LDR_SYMBOLS *Out)
{
    LDRP_SYMBUILD b = {.Out = Out};
    (void)FileSize; /* LdrpParseImage bounded the symbol and string tables by it */
    memset(Out, 0, sizeof(*Out));
    LdrpAddExports(&b, Base, Info);
    LdrpAddCoffSymbols(&b, File, Info);
    if (b.Failed) {
        LdrpFreeSymbols(Out);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (Out->Count)
        qsort(Out->Symbols, Out->Count, sizeof(*Out->Symbols), LdrpSymbolCmp);
    return STATUS_SUCCESS;
}

void LdrpFreeSymbols(LDR_SYMBOLS *Symbols)
{
    free(Symbols->Symbols);
    free(Symbols->Names);
    memset(Symbols, 0, sizeof(*Symbols));
}

const LDR_SYMBOL *LdrpFindSymbol(const LDR_SYMBOLS *Symbols, uint32_t Rva)
{
    size_t lo = 0, hi = Symbols->Count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (Symbols->Symbols[mid].Rva <= Rva)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo)
        return NULL;
    const LDR_SYMBOL *s = &Symbols->Symbols[lo - 1];
    return Rva < s->End ? s : NULL;
}
