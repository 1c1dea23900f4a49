/*
 * Loader unit tests: valid and malformed PE32+ images built in memory
 * (ldr_fixtures/pe_builder.h), loaded through LdrLoadDriverImage from a
 * temporary file. Each malformed variant corrupts one field and must give the
 * documented status and a reason that names the problem.
 */
#include "km.h"
#include "ldr/ldr.h"
#include "ldr_fixtures/pe_builder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Our own exports, so the test images have something to bind to. */
void NTAPI KmTestLdrExport1(void)
{
}
KM_EXPORT(KmTestLdrExport1);
ULONG KmTestLdrData1 = 0x5a5a;
KM_EXPORT(KmTestLdrData1);
void NTAPI KmTestLdrHal1(void)
{
}
KM_EXPORT_HAL(KmTestLdrHal1);

#define BASE_A 0x30000000ull /* free in a plain and in an ASan process */
#define BASE_B 0x31000000ull

static char tmpdir[64];
static char why[4096];

static uint16_t hal_ordinal(void)
{
    for (ULONG o = 1; o < 65536; o++) {
        const KM_EXPORT_ENTRY *e = KmLookupExportByOrdinal("hal.dll", o);
        if (!e)
            break;
        if (e->Address == (void *)&KmTestLdrHal1)
            return (uint16_t)o;
    }
    return 0;
}

static NTSTATUS load_bytes(const uint8_t *data, size_t size, LDR_IMAGE **img)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/ldrtest.sys", tmpdir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        perror(path);
        exit(1);
    }
    fclose(f);
    why[0] = 0;
    return LdrLoadDriverImage(path, img, why, sizeof(why));
}

static PEB_IMPORT default_imports[3];
static PEB_SPEC default_spec(uint64_t base)
{
    default_imports[0] = (PEB_IMPORT){"ntoskrnl.exe", "KmTestLdrExport1", 0};
    default_imports[1] = (PEB_IMPORT){"ntoskrnl.exe", "KmTestLdrData1", 0};
    default_imports[2] = (PEB_IMPORT){"HAL.DLL", NULL, hal_ordinal()};
    return (PEB_SPEC){.ImageBase = base, .Imports = default_imports, .ImportCount = 3};
}

/* Loads `img` after `corrupt` changed it; expects failure with status and a
   reason containing `text`. */
#define EXPECT_FAIL(img, status, text)                                                             \
    do {                                                                                           \
        LDR_IMAGE *li_ = NULL;                                                                     \
        NTSTATUS st_ = load_bytes((img).Data, (img).Size, &li_);                                   \
        CHECK(st_ == (NTSTATUS)(status), "status 0x%08x, want 0x%08x (%s)", (unsigned)st_,         \
              (unsigned)(status), why);                                                            \
        CHECK(strstr(why, text) != NULL, "reason \"%s\" lacks \"%s\"", why, text);                 \
        CHECK(li_ == NULL, "image returned on failure");                                           \
        if (li_)                                                                                   \
            LdrUnloadDriverImage(li_);                                                             \
    } while (0)

static uint32_t r32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t r64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The permissions column of /proc/self/maps for the mapping holding p. */
static void perms_of(const void *p, char out[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    strcpy(out, "????");
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (uintptr_t)p >= lo &&
            (uintptr_t)p < hi) {
            memcpy(out, perms, 4);
            out[4] = 0;
            break;
        }
    }
    if (f)
        fclose(f);
}

static void describe_is(const void *addr, const char *want)
{
    char buf[256];
    LdrDescribeAddress(addr, buf, sizeof(buf));
    CHECK(!strcmp(buf, want), "describe: \"%s\", want \"%s\"", buf, want);
}

static void test_valid_and_relocated(void)
{
    PEB_SPEC spec = default_spec(BASE_A);
    PEB_IMAGE pe = peb_build(&spec);
    LDR_IMAGE *a = NULL, *b = NULL;
    NTSTATUS st = load_bytes(pe.Data, pe.Size, &a);
    CHECK(st == STATUS_SUCCESS, "valid image: 0x%08x %s", (unsigned)st, why);
    if (!a)
        return;
    CHECK(!strcmp(a->Name, "ldrtest.sys"), "Name %s", a->Name);
    CHECK(strstr(a->Path, "/ldrtest.sys") != NULL, "Path %s", a->Path);
    CHECK((uintptr_t)a->Base == BASE_A, "first copy at %p, want its preferred base", a->Base);
    CHECK(a->Size == PEB_SIZEOFIMAGE && a->ImageBase == BASE_A, "Size/ImageBase");
    CHECK(a->EntryPoint == a->Base + 0x1000, "EntryPoint");
    CHECK(((int(NTAPI *)(void))a->EntryPoint)() == 42, "entry point did not run");

    /* imports by name (code and data) and by ordinal */
    CHECK(r64(a->Base + pe.IatRva[0]) == (uintptr_t)&KmTestLdrExport1, "IAT[0]");
    CHECK(r64(a->Base + pe.IatRva[1]) == (uintptr_t)&KmTestLdrData1, "IAT[1] (data)");
    CHECK(r64(a->Base + pe.IatRva[2]) == (uintptr_t)&KmTestLdrHal1, "IAT[2] (ordinal)");

    /* at its base nothing moves; the cookie is replaced */
    CHECK(r64(a->Base + 0x2000) == BASE_A + 0x2010, "DIR64 at preferred base");
    uint64_t cookie = r64(a->Base + 0x2020);
    CHECK(cookie != 0x00002B992DDFA232ull && cookie != 0, "cookie not initialised");
    CHECK(cookie >> 48 == 0, "cookie top 16 bits set: 0x%llx", (unsigned long long)cookie);

    char p[5];
    perms_of(a->Base, p);
    CHECK(!strncmp(p, "r--", 3), "headers %s", p);
    perms_of(a->Base + 0x1000, p);
    CHECK(!strncmp(p, "r-x", 3), ".text %s", p);
    perms_of(a->Base + 0x2000, p);
    CHECK(!strncmp(p, "rw-", 3), ".data %s", p);
    perms_of(a->Base + 0x4000, p);
    CHECK(!strncmp(p, "r--", 3), ".rdata %s", p);

    CHECK(LdrFindImageByAddress(a->Base + 0x1234) == a, "find inside");
    CHECK(LdrFindImageByAddress(a->Base + PEB_SIZEOFIMAGE) == NULL, "find one past end");
    describe_is(a->Base + 0x1003, "ldrtest.sys+0x1003 (DriverEntry+0x3)");
    describe_is(a->Base + 0x1012, "ldrtest.sys+0x1012 (TestFn+0x2)");
    describe_is(a->Base + 0x1018, "ldrtest.sys+0x1018 (TestFn+0x8)"); /* aux record skipped */
    describe_is(a->Base + 0x1020, "ldrtest.sys+0x1020 (LdrTestExported)");
    describe_is(a->Base + 0x2004, "ldrtest.sys+0x2004"); /* data: no function */
    char small[8];
    LdrDescribeAddress(a->Base + 0x1003, small, sizeof(small));
    CHECK(!strcmp(small, "ldrtest"), "truncated describe \"%s\"", small);

    ULONG exSize = 0;
    const void *ex = LdrpGetExceptionDirectory(a, &exSize);
    CHECK(ex == a->Base + 0x4200 && exSize == 12, "exception directory %p/%u", ex, exSize);

    /* the second copy cannot have the preferred base: it is relocated */
    st = load_bytes(pe.Data, pe.Size, &b);
    CHECK(st == STATUS_SUCCESS, "second copy: 0x%08x %s", (unsigned)st, why);
    if (b) {
        uintptr_t base = (uintptr_t)b->Base;
        CHECK(base != BASE_A, "second copy at the same base");
        CHECK(r64(b->Base + 0x2000) == base + 0x2010, "DIR64 fixup 0x%llx",
              (unsigned long long)r64(b->Base + 0x2000));
        CHECK(r32(b->Base + 0x2008) == (uint32_t)(base + 0x1010), "HIGHLOW fixup");
        CHECK(r64(b->Base + 0x2010) == 0x1122334455667788ull, "data not relocated");
        CHECK(r64(b->Base + 0x4158) == base + 0x2020, "cookie pointer relocated");
        CHECK(r64(b->Base + 0x2020) != 0x00002B992DDFA232ull, "relocated cookie");
        CHECK(LdrFindImageByAddress(b->Base + 0x10) == b, "find second");
        LdrUnloadDriverImage(b);
        CHECK(LdrFindImageByAddress((void *)(base + 0x10)) == NULL, "found after unload");
    }
    CHECK(LdrFindImageByAddress(a->Base + 0x10) == a, "first copy lost");
    uint8_t *abase = a->Base;
    LdrUnloadDriverImage(a);
    LdrUnloadDriverImage(a); /* a second unload is harmless */
    CHECK(LdrFindImageByAddress(abase + 0x1003) == NULL, "found after unload");
    char buf[64], want[64];
    snprintf(want, sizeof(want), "0x%016llx", (unsigned long long)(uintptr_t)(abase + 0x1003));
    LdrDescribeAddress(abase + 0x1003, buf, sizeof(buf));
    CHECK(!strcmp(buf, want), "unloaded describe \"%s\", want \"%s\"", buf, want);
    free(pe.Data);
}

static void test_no_relocations(void)
{
    PEB_SPEC spec = default_spec(BASE_B);
    spec.NoRelocs = 1;
    PEB_IMAGE pe = peb_build(&spec);
    LDR_IMAGE *a = NULL;
    NTSTATUS st = load_bytes(pe.Data, pe.Size, &a);
    CHECK(st == STATUS_SUCCESS, "no .reloc at preferred base: 0x%08x %s", (unsigned)st, why);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "has no base relocations");
    free(pe.Data);

    /* no .reloc but DYNAMIC_BASE: binutils' output for code without absolute
       fixups; it moves (here its .data pointer stays stale, as nothing says
       to fix it) */
    spec.DynamicBase = 1;
    pe = peb_build(&spec);
    peb_w64(pe.Data, PEB_RAW(0x4100) + 0x58, 0); /* an absolute VA needs a fixup */
    LDR_IMAGE *b = NULL;
    st = load_bytes(pe.Data, pe.Size, &b);
    CHECK(st == STATUS_SUCCESS, "DYNAMIC_BASE without .reloc moved: 0x%08x %s", (unsigned)st, why);
    if (b) {
        CHECK(!a || b->Base != a->Base, "same base twice");
        LdrUnloadDriverImage(b);
    }
    spec.RelocsStripped = 1;
    free(pe.Data);
    pe = peb_build(&spec);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT,
                "has no base relocations (IMAGE_FILE_RELOCS_STRIPPED is set)");
    free(pe.Data);

    spec.NoRelocs = 0;
    pe = peb_build(&spec);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "relocations are stripped");
    free(pe.Data);
    if (a)
        LdrUnloadDriverImage(a);
}

static PEB_IMAGE fresh(void)
{
    PEB_SPEC spec = default_spec(BASE_A);
    return peb_build(&spec);
}

static void test_headers(void)
{
    PEB_IMAGE pe;
    char want[160];

    pe = fresh();
    pe.Data[0] = 'X';
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_NOT_MZ, "\"MZ\"");
    pe.Size = 1;
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_NOT_MZ, "\"MZ\"");
    pe.Data[0] = 'M';
    pe.Size = 40;
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "too small for a DOS header");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, 0x3c, 0x100000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "e_lfanew 0x100000");
    peb_w32(pe.Data, 0x3c, 0xfffffffc); /* offset + header size would wrap 32 bits */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "e_lfanew 0xfffffffc");
    free(pe.Data);

    pe = fresh();
    pe.Data[PEB_LFANEW + 1] = 'X';
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "NT signature");
    free(pe.Data);

    pe = fresh();
    peb_w16(pe.Data, PEB_FILEHDR, 0x014c);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "Machine is 0x014c (i386)");
    free(pe.Data);

    pe = fresh();
    peb_w16(pe.Data, PEB_OPTHDR, 0x10b);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "PE32, a 32-bit image");
    free(pe.Data);

    pe = fresh();
    peb_w16(pe.Data, PEB_FILEHDR + 16, 96);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "SizeOfOptionalHeader 96 is smaller");
    peb_w16(pe.Data, PEB_FILEHDR + 16, 200); /* too small for 16 directories */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "cannot hold NumberOfRvaAndSizes (16)");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_OPTHDR + 108, 17);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "NumberOfRvaAndSizes is 17");
    free(pe.Data);

    pe = fresh();
    peb_w16(pe.Data, PEB_FILEHDR + 2, 0xffff);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "NumberOfSections is 65535");
    peb_w16(pe.Data, PEB_FILEHDR + 2, 0);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "NumberOfSections is 0");
    free(pe.Data);

    pe = fresh();
    pe.Size = PEB_SECTION(2) + 10; /* the section table is cut off */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "the section table (5 sections at 0x188)");
    free(pe.Data);

    pe = fresh();
    peb_w16(pe.Data, PEB_FILEHDR + 2, 20); /* table fits the file but not SizeOfHeaders */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "SizeOfHeaders 0x400 must cover");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_OPTHDR + 32, 0x1001);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "must be powers of two");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_OPTHDR + 36, 0x100);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "FileAlignment 0x100 does not suit");
    free(pe.Data);

    pe = fresh();
    peb_w64(pe.Data, PEB_OPTHDR + 24, BASE_A + 0x1000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "not a multiple of 64K");
    peb_w64(pe.Data, PEB_OPTHDR + 24, 0xffffffffffff0000ull);
    peb_w32(pe.Data, PEB_OPTHDR + 56, 0x20000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "wraps around");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_OPTHDR + 56, 0);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "SizeOfImage 0x0");
    peb_w32(pe.Data, PEB_OPTHDR + 56, 0x5800);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "SizeOfImage 0x5800 must be");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_OPTHDR + 16, 0x9000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "AddressOfEntryPoint 0x9000 is not inside");
    peb_w32(pe.Data, PEB_OPTHDR + 16, 0x2000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "in section .data, which is not executable");
    free(pe.Data);

    /* sections */
    pe = fresh();
    peb_w32(pe.Data, PEB_SECTION(0) + 16, 0x8000);
    snprintf(want, sizeof(want),
             "section .text raw data (0x400+0x8000) runs past the end of the file (0x%zx "
             "bytes)",
             pe.Size);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, want);
    peb_w32(pe.Data, PEB_SECTION(0) + 16, 0x1000);
    peb_w32(pe.Data, PEB_SECTION(0) + 20, 0xfffff800); /* offset + size wraps 32 bits */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "section .text raw data (0xfffff800+0x1000)");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_SECTION(1) + 8, 0xfffff000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT,
                "section .data virtual range (0x2000+0xfffff000) runs past SizeOfImage (0x6000)");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_SECTION(0) + 8, 0x1800); /* .text now overlaps .data */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "section .data (RVA 0x2000) overlaps .text");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_SECTION(0) + 12, 0); /* .text over the headers */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "overlaps the headers");
    peb_w32(pe.Data, PEB_SECTION(0) + 12, 0x1100);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "VirtualAddress 0x1100 is not a multiple");
    free(pe.Data);

    /* data directories */
    pe = fresh();
    peb_w32(pe.Data, PEB_DIR(1), 0x100000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT,
                "import directory (RVA 0x100000, size 0x200) lies outside the image");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_DIR(5) + 4, 0xfffffff0); /* RVA + size wraps 32 bits */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "base relocation directory (RVA 0x5000");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_DIR(4), 0x5000);
    peb_w32(pe.Data, PEB_DIR(4) + 4, 0x10000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "security directory (file offset 0x5000");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_DIR(13), 0x4400);
    peb_w32(pe.Data, PEB_DIR(13) + 4, 0x40);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "delay-load import directory");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_DIR(3) + 4, 13);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "exception directory size 0xd");
    free(pe.Data);
}

static void test_imports(void)
{
    PEB_IMAGE pe;

    /* a descriptor table with no terminator before the end of the image */
    pe = fresh();
    memset(pe.Data + PEB_RAW(0x5f00), 'A', 0x100);
    peb_w32(pe.Data, PEB_DIR(1), 0x5ff0);
    peb_w32(pe.Data, PEB_DIR(1) + 4, 0x10);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "import descriptor 0 at RVA 0x5ff0 runs past");
    free(pe.Data);

    /* a DLL name that runs to the end of the image without a NUL */
    pe = fresh();
    memset(pe.Data + PEB_RAW(0x5f00), 'A', 0x100);
    peb_w32(pe.Data, PEB_RAW(0x3000) + 12, 0x5f80);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "DLL name at RVA 0x5f80");
    peb_w32(pe.Data, PEB_RAW(0x3000) + 12, 0x7000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "DLL name at RVA 0x7000");
    free(pe.Data);

    /* an import name that is not terminated inside the image */
    pe = fresh();
    memset(pe.Data + PEB_RAW(0x5f00), 'A', 0x100);
    peb_w64(pe.Data, PEB_RAW(0x3200), 0x5f00);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "hint/name entry at RVA 0x5f00");
    peb_w64(pe.Data, PEB_RAW(0x3200), 0x80000000ull); /* bits 31-62 are reserved */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "name thunk 0x80000000 has reserved bits");
    peb_w64(pe.Data, PEB_RAW(0x3200), 0x8000000000010001ull);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "ordinal thunk 0x8000000000010001");
    free(pe.Data);

    /* a thunk table that never ends: one valid thunk in the last 8 bytes */
    pe = fresh();
    peb_w64(pe.Data, PEB_RAW(0x5ff8), r64(pe.Data + PEB_RAW(0x3200)));
    peb_w32(pe.Data, PEB_RAW(0x3000), 0x5ff8);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "without a terminating zero entry");
    free(pe.Data);

    /* every missing import is listed, by name and by ordinal */
    PEB_IMPORT missing[] = {
        {"ntoskrnl.exe", "KmTestLdrMissingA", 0}, {"ntoskrnl.exe", "KmTestLdrExport1", 0},
        {"ntoskrnl.exe", "KmTestLdrMissingB", 0}, {"hal.dll", NULL, 60000},
        {"hal.dll", NULL, hal_ordinal()},
    };
    PEB_SPEC spec = {.ImageBase = BASE_A, .Imports = missing, .ImportCount = 5};
    pe = peb_build(&spec);
    EXPECT_FAIL(pe, STATUS_PROCEDURE_NOT_FOUND,
                "3 imports are not implemented by kmhost: ntoskrnl.exe!KmTestLdrMissingA, "
                "ntoskrnl.exe!KmTestLdrMissingB, hal.dll!#60000");
    free(pe.Data);

    /* imports from a module we do not provide */
    PEB_IMPORT other[] = {
        {"ntoskrnl.exe", "KmTestLdrMissingA", 0},
        {"ndis.sys", "NdisAllocateMemoryWithTag", 0},
        {"ndis.sys", NULL, 7},
        {"fltmgr.sys", "FltRegisterFilter", 0},
    };
    spec = (PEB_SPEC){.ImageBase = BASE_A, .Imports = other, .ImportCount = 4};
    pe = peb_build(&spec);
    EXPECT_FAIL(pe, STATUS_DLL_NOT_FOUND,
                "2 modules that kmhost does not provide (only ntoskrnl.exe and hal.dll "
                "exist): ndis.sys (NdisAllocateMemoryWithTag, #7); fltmgr.sys "
                "(FltRegisterFilter)");
    free(pe.Data);
}

static void test_relocations(void)
{
    PEB_IMAGE pe;
    uint32_t r = PEB_RAW(0x5000);

    pe = fresh();
    peb_w32(pe.Data, r + 4, 0);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "has SizeOfBlock 0, less than");
    peb_w32(pe.Data, r + 4, 13);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "has odd SizeOfBlock 13");
    peb_w32(pe.Data, r + 4, 0x100);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT,
                "relocation block at RVA 0x5000 (SizeOfBlock 0x100) runs past the end");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, PEB_DIR(5) + 4, PEB_RELOC_SIZE + 4); /* a truncated block header */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "block header at RVA 0x501c runs past");
    free(pe.Data);

    pe = fresh();
    peb_w16(pe.Data, r + 10, 0x4008); /* HIGHADJ: valid on x86 only */
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "entry 1: type 4 is not valid");
    free(pe.Data);

    pe = fresh();
    peb_w32(pe.Data, r, 0x5ff8); /* DIR64 at 0x5ff8 fits, HIGHLOW at 0x6000 does not */
    peb_w16(pe.Data, r + 8, 0xA000);
    peb_w16(pe.Data, r + 10, 0x3008);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "entry 1: target RVA 0x6000 lies outside");
    free(pe.Data);
}

/* The cookie pointer must land inside the image. */
static void test_cookie(void)
{
    PEB_IMAGE pe = fresh();
    peb_w64(pe.Data, PEB_RAW(0x4100) + 0x58, BASE_A + 0x10000);
    EXPECT_FAIL(pe, STATUS_INVALID_IMAGE_FORMAT, "SecurityCookie VA");
    free(pe.Data);

    /* a load config too old to have the field is fine */
    pe = fresh();
    peb_w32(pe.Data, PEB_RAW(0x4100), 0x40);
    LDR_IMAGE *img = NULL;
    NTSTATUS st = load_bytes(pe.Data, pe.Size, &img);
    CHECK(st == STATUS_SUCCESS, "short load config: 0x%08x %s", (unsigned)st, why);
    if (img) {
        CHECK(r64(img->Base + 0x2020) == 0x00002B992DDFA232ull, "cookie changed anyway");
        LdrUnloadDriverImage(img);
    }
    free(pe.Data);
}

static void test_files(void)
{
    LDR_IMAGE *img = (LDR_IMAGE *)1;
    char small[16];
    NTSTATUS st = LdrLoadDriverImage("/nonexistent/x.sys", &img, why, sizeof(why));
    CHECK(st == STATUS_OBJECT_NAME_NOT_FOUND && img == NULL, "missing file 0x%08x", (unsigned)st);
    CHECK(strstr(why, "/nonexistent/x.sys") != NULL, "reason %s", why);
    st = LdrLoadDriverImage(tmpdir, &img, why, sizeof(why));
    CHECK(st == STATUS_INVALID_PARAMETER, "directory 0x%08x", (unsigned)st);
    /* a reason longer than the buffer is cut and says so */
    st = LdrLoadDriverImage("/nonexistent/a-rather-long-name.sys", &img, small, sizeof(small));
    CHECK(st == STATUS_OBJECT_NAME_NOT_FOUND && strlen(small) == 15 && !strcmp(small + 12, "..."),
          "short Why \"%s\"", small);
}

/* Every prefix and many single-byte corruptions of a valid image go through
   the parser and the passes over a heap copy without a crash (ASan checks
   the bounds). */
static void test_robustness(void)
{
    PEB_SPEC spec = default_spec(BASE_A);
    PEB_IMAGE pe = peb_build(&spec);
    static LDR_PE_INFO info;
    unsigned ok = 0;
    for (size_t n = 0; n < PEB_SYMTAB; n += (n < 0x600 ? 1 : 0x3f)) {
        if (NT_SUCCESS(LdrpParseImage(pe.Data, n, &info, why, sizeof(why))))
            ok++;
    }
    CHECK(ok == 0, "%u images cut inside their sections parsed", ok);
    /* Windows ignores the COFF symbol table: cut off, it is dropped, not fatal */
    NTSTATUS st = LdrpParseImage(pe.Data, PEB_SYMTAB + 20, &info, why, sizeof(why));
    CHECK(st == STATUS_SUCCESS && info.SymbolTableOffset == 0 && info.NumberOfSymbols == 0,
          "cut symbol table: 0x%08x %s", (unsigned)st, why);
    st = LdrpParseImage(pe.Data, pe.Size, &info, why, sizeof(why));
    CHECK(st == STATUS_SUCCESS && info.SymbolTableOffset == PEB_SYMTAB && info.NumberOfSymbols == 5,
          "symbol table: 0x%08x", (unsigned)st);
    uint32_t seed = 12345;
    uint8_t *copy = malloc(pe.Size);
    for (int i = 0; i < 20000; i++) {
        memcpy(copy, pe.Data, pe.Size);
        for (int k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1103515245 + 12345;
            size_t at = (seed >> 8) % (i % 2 ? 0x400 : pe.Size);
            seed = seed * 1103515245 + 12345;
            copy[at] = (uint8_t)(seed >> 16);
        }
        if (!NT_SUCCESS(LdrpParseImage(copy, pe.Size, &info, why, sizeof(why))))
            continue;
        uint8_t *base = calloc(1, info.SizeOfImage);
        LDR_SYMBOLS syms;
        LdrpCopyImage(base, copy, &info);
        if (NT_SUCCESS(LdrpRelocateImage(base, &info, 0x10000, why, sizeof(why))) &&
            NT_SUCCESS(LdrpBindImports(base, &info, why, sizeof(why))))
            LdrpInitSecurityCookie(base, info.ImageBase + 0x10000, &info, why, sizeof(why));
        if (NT_SUCCESS(LdrpBuildSymbols(copy, pe.Size, base, &info, &syms)))
            LdrpFreeSymbols(&syms);
        free(base);
    }
    free(copy);
    free(pe.Data);
}

int main(void)
{
    strcpy(tmpdir, "/tmp/test_ldr.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK(hal_ordinal() != 0, "KmTestLdrHal1 has no hal.dll ordinal");
    test_valid_and_relocated();
    test_no_relocations();
    test_headers();
    test_imports();
    test_relocations();
    test_cookie();
    test_files();
    test_robustness();

    char path[128];
    snprintf(path, sizeof(path), "%s/ldrtest.sys", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    if (failures) {
        fprintf(stderr, "test_ldr: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_ldr: all checks passed\n");
    return 0;
}
