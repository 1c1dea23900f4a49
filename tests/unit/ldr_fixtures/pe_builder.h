/*
 * Builds small PE32+ AMD64 driver images in memory for the loader tests, laid
 * out the way the PE Format specification describes, so each test can corrupt
 * exactly one field. Fixed layout (SectionAlignment 0x1000, FileAlignment
 * 0x200, every section 0x1000 bytes both in the file and in memory):
 *
 *   file 0x0000  headers: DOS header, e_lfanew = 0x80, NT headers, sections
 *   RVA  0x1000  .text   (r-x) 0x1000: mov eax,42; ret   0x1010: ret (TestFn)
 *                                0x1020: ret (exported LdrTestExported)
 *   RVA  0x2000  .data   (rw-) 0x2000: u64 VA of 0x2010 (DIR64 fixup)
 *                                0x2008: u32 low half of the VA of 0x1010 (HIGHLOW)
 *                                0x2010: u64 0x1122334455667788
 *                                0x2020: u64 /GS cookie, the default value
 *   RVA  0x3000  .idata  (rw-) descriptors 0x3000, lookup tables 0x3200,
 *                                IATs 0x3600, names 0x3a00
 *   RVA  0x4000  .rdata  (r--) export directory 0x4000, load config 0x4100
 *                                (SecurityCookie = VA of 0x2020), .pdata 0x4200
 *   RVA  0x5000  .reloc  (r--) two blocks (0x2000: DIR64, HIGHLOW; 0x4000: DIR64)
 *   file end     COFF symbol table and string table
 */
#ifndef LDR_PE_BUILDER_H
#define LDR_PE_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PEB_LFANEW 0x80u
#define PEB_FILEHDR (PEB_LFANEW + 4)
#define PEB_OPTHDR (PEB_FILEHDR + 20)
#define PEB_DIR(i) (PEB_OPTHDR + 112 + 8 * (i))
#define PEB_SECTION(i) (PEB_OPTHDR + 240 + 40 * (i))
#define PEB_NSECTIONS 5
#define PEB_RAW(rva) (0x400u + ((rva)-0x1000u)) /* file offset of an RVA */
#define PEB_SIZEOFIMAGE 0x6000u
#define PEB_SYMTAB (PEB_RAW(0x6000))
#define PEB_RELOC_SIZE 28u

typedef struct PEB_IMPORT {
    const char *Dll;  /* consecutive entries with the same Dll share a descriptor */
    const char *Name; /* NULL: by ordinal */
    uint16_t Ordinal;
} PEB_IMPORT;

typedef struct PEB_SPEC {
    uint64_t ImageBase;
    const PEB_IMPORT *Imports;
    size_t ImportCount;
    int NoRelocs;       /* no .reloc directory */
    int RelocsStripped; /* also set IMAGE_FILE_RELOCS_STRIPPED */
    int DynamicBase;    /* IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE */
} PEB_SPEC;

typedef struct PEB_IMAGE {
    uint8_t *Data;
    size_t Size;
    uint32_t IatRva[64]; /* IAT slot RVA of each PEB_SPEC.Imports entry */
} PEB_IMAGE;

static inline void peb_w16(uint8_t *p, uint32_t off, uint16_t v)
{
    memcpy(p + off, &v, 2);
}
static inline void peb_w32(uint8_t *p, uint32_t off, uint32_t v)
{
    memcpy(p + off, &v, 4);
}
static inline void peb_w64(uint8_t *p, uint32_t off, uint64_t v)
{
    memcpy(p + off, &v, 8);
}

static inline void peb_section(uint8_t *p, int i, const char *name, uint32_t rva,
                               uint32_t characteristics)
{
    uint32_t h = PEB_SECTION(i);
    memcpy(p + h, name, strlen(name));
    peb_w32(p, h + 8, 0x1000);        /* VirtualSize */
    peb_w32(p, h + 12, rva);          /* VirtualAddress */
    peb_w32(p, h + 16, 0x1000);       /* SizeOfRawData */
    peb_w32(p, h + 20, PEB_RAW(rva)); /* PointerToRawData */
    peb_w32(p, h + 36, characteristics);
}

static inline void peb_imports(uint8_t *p, const PEB_SPEC *s, PEB_IMAGE *img)
{
    uint32_t desc = 0x3000, ilt = 0x3200, iat = 0x3600, names = 0x3a00;
    size_t i = 0;
    while (i < s->ImportCount) {
        const char *dll = s->Imports[i].Dll;
        peb_w32(p, PEB_RAW(desc), ilt);
        peb_w32(p, PEB_RAW(desc + 12), names);
        peb_w32(p, PEB_RAW(desc + 16), iat);
        strcpy((char *)p + PEB_RAW(names), dll);
        names += (uint32_t)strlen(dll) + 2;
        for (; i < s->ImportCount && !strcmp(s->Imports[i].Dll, dll); i++) {
            const PEB_IMPORT *im = &s->Imports[i];
            uint64_t thunk;
            if (im->Name) {
                thunk = names;
                peb_w16(p, PEB_RAW(names), 0); /* hint */
                strcpy((char *)p + PEB_RAW(names + 2), im->Name);
                names += 2 + (uint32_t)strlen(im->Name) + 2;
            } else {
                thunk = 0x8000000000000000ull | im->Ordinal;
            }
            peb_w64(p, PEB_RAW(ilt), thunk);
            peb_w64(p, PEB_RAW(iat), thunk);
            img->IatRva[i] = iat;
            ilt += 8;
            iat += 8;
        }
        ilt += 8; /* zero terminators */
        iat += 8;
        desc += 20;
    }
}

/* COFF symbols: DriverEntry (long name, .text+0), TestFn (short, static,
   .text+0x10), a .file record whose aux record looks like a function "Bogus"
   at .text+0x18 (must be skipped), gData (data, not a function). */
static inline size_t peb_symbols(uint8_t *p)
{
    uint8_t *t = p + PEB_SYMTAB;
    const uint32_t strtab = PEB_SYMTAB + 5 * 18;
    /* 0: DriverEntry, name at string-table offset 4 */
    peb_w32(t, 4, 4);
    peb_w32(t, 8, 0);
    peb_w16(t, 12, 1);
    peb_w16(t, 14, 0x20);
    t[16] = 2;
    /* 1: .file with one aux record */
    memcpy(t + 18, ".file", 5);
    peb_w16(t, 18 + 12, (uint16_t)-2);
    t[18 + 16] = 103;
    t[18 + 17] = 1;
    /* 2: the aux record, shaped like a function symbol */
    memcpy(t + 36, "Bogus", 5);
    peb_w32(t, 36 + 8, 0x18);
    peb_w16(t, 36 + 12, 1);
    peb_w16(t, 36 + 14, 0x20);
    t[36 + 16] = 2;
    /* 3: TestFn */
    memcpy(t + 54, "TestFn", 6);
    peb_w32(t, 54 + 8, 0x10);
    peb_w16(t, 54 + 12, 1);
    peb_w16(t, 54 + 14, 0x20);
    t[54 + 16] = 3;
    /* 4: gData, not a function */
    memcpy(t + 72, "gData", 5);
    peb_w16(t, 72 + 12, 2);
    t[72 + 16] = 2;
    peb_w32(p, strtab, 4 + 12);
    memcpy(p + strtab + 4, "DriverEntry", 12);
    return strtab + 16;
}

static inline PEB_IMAGE peb_build(const PEB_SPEC *s)
{
    PEB_IMAGE img;
    memset(&img, 0, sizeof(img));
    size_t size = PEB_SYMTAB + 5 * 18 + 16;
    uint8_t *p = calloc(1, size);
    uint64_t base = s->ImageBase;
    img.Data = p;
    img.Size = size;

    peb_w16(p, 0, 0x5A4D);
    peb_w32(p, 0x3c, PEB_LFANEW);
    peb_w32(p, PEB_LFANEW, 0x00004550);
    peb_w16(p, PEB_FILEHDR, 0x8664);
    peb_w16(p, PEB_FILEHDR + 2, PEB_NSECTIONS);
    peb_w32(p, PEB_FILEHDR + 8, PEB_SYMTAB);
    peb_w32(p, PEB_FILEHDR + 12, 5);
    peb_w16(p, PEB_FILEHDR + 16, 240);
    peb_w16(p, PEB_FILEHDR + 18, 0x0022 | (s->RelocsStripped ? 1 : 0));

    uint32_t o = PEB_OPTHDR;
    peb_w16(p, o, 0x20b);
    peb_w32(p, o + 16, 0x1000); /* AddressOfEntryPoint */
    peb_w64(p, o + 24, base);
    peb_w32(p, o + 32, 0x1000);
    peb_w32(p, o + 36, 0x200);
    peb_w32(p, o + 56, PEB_SIZEOFIMAGE);
    peb_w32(p, o + 60, 0x400);
    peb_w16(p, o + 68, 1); /* native */
    peb_w16(p, o + 70, s->DynamicBase ? 0x0040 : 0);
    peb_w32(p, o + 108, 16);

    peb_section(p, 0, ".text", 0x1000, 0x60000020);
    peb_section(p, 1, ".data", 0x2000, 0xC0000040);
    peb_section(p, 2, ".idata", 0x3000, 0xC0000040);
    peb_section(p, 3, ".rdata", 0x4000, 0x40000040);
    peb_section(p, 4, ".reloc", 0x5000, 0x42000040);

    static const uint8_t code[] = {0xb8, 0x2a, 0, 0, 0, 0xc3};
    memcpy(p + PEB_RAW(0x1000), code, sizeof(code));
    p[PEB_RAW(0x1010)] = 0xc3;
    p[PEB_RAW(0x1020)] = 0xc3;

    peb_w64(p, PEB_RAW(0x2000), base + 0x2010);
    peb_w32(p, PEB_RAW(0x2008), (uint32_t)(base + 0x1010));
    peb_w64(p, PEB_RAW(0x2010), 0x1122334455667788ull);
    peb_w64(p, PEB_RAW(0x2020), 0x00002B992DDFA232ull);

    if (s->ImportCount) {
        peb_imports(p, s, &img);
        peb_w32(p, PEB_DIR(1), 0x3000);
        peb_w32(p, PEB_DIR(1) + 4, 0x200);
    }

    /* export directory: one function, LdrTestExported at 0x1020 */
    peb_w32(p, PEB_RAW(0x4000) + 12, 0x4040); /* Name */
    peb_w32(p, PEB_RAW(0x4000) + 16, 1);      /* Base */
    peb_w32(p, PEB_RAW(0x4000) + 20, 1);
    peb_w32(p, PEB_RAW(0x4000) + 24, 1);
    peb_w32(p, PEB_RAW(0x4000) + 28, 0x4028);
    peb_w32(p, PEB_RAW(0x4000) + 32, 0x4030);
    peb_w32(p, PEB_RAW(0x4000) + 36, 0x4038);
    peb_w32(p, PEB_RAW(0x4028), 0x1020);
    peb_w32(p, PEB_RAW(0x4030), 0x4050);
    peb_w16(p, PEB_RAW(0x4038), 0);
    strcpy((char *)p + PEB_RAW(0x4040), "ldrtest.sys");
    strcpy((char *)p + PEB_RAW(0x4050), "LdrTestExported");
    peb_w32(p, PEB_DIR(0), 0x4000);
    peb_w32(p, PEB_DIR(0) + 4, 0x70);

    /* load config: Size 0x100, SecurityCookie at +0x58 */
    peb_w32(p, PEB_RAW(0x4100), 0x100);
    peb_w64(p, PEB_RAW(0x4100) + 0x58, base + 0x2020);
    peb_w32(p, PEB_DIR(10), 0x4100);
    peb_w32(p, PEB_DIR(10) + 4, 0x100);

    /* .pdata: one RUNTIME_FUNCTION for the entry point, unwind info at 0x4300 */
    peb_w32(p, PEB_RAW(0x4200), 0x1000);
    peb_w32(p, PEB_RAW(0x4200) + 4, 0x1006);
    peb_w32(p, PEB_RAW(0x4200) + 8, 0x4300);
    p[PEB_RAW(0x4300)] = 1;
    peb_w32(p, PEB_DIR(3), 0x4200);
    peb_w32(p, PEB_DIR(3) + 4, 12);

    if (!s->NoRelocs) {
        uint32_t r = PEB_RAW(0x5000);
        peb_w32(p, r, 0x2000);
        peb_w32(p, r + 4, 16);
        peb_w16(p, r + 8, 0xA000);  /* DIR64 @0x2000 */
        peb_w16(p, r + 10, 0x3008); /* HIGHLOW @0x2008 */
        peb_w16(p, r + 12, 0);      /* ABSOLUTE padding */
        peb_w16(p, r + 14, 0);
        peb_w32(p, r + 16, 0x4000);
        peb_w32(p, r + 20, 12);
        peb_w16(p, r + 24, 0xA158); /* DIR64 @0x4158, the SecurityCookie VA */
        peb_w16(p, r + 26, 0);
        peb_w32(p, PEB_DIR(5), 0x5000);
        peb_w32(p, PEB_DIR(5) + 4, PEB_RELOC_SIZE);
    }
    peb_symbols(p);
    return img;
}

#endif
