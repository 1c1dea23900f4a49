/*
 * The loader on a real mingw-w64 image (ldr_fixtures/ldrfix.sys, built by
 * ldr_fixtures/CMakeLists.txt): it loads, binds a routine and a data import,
 * runs DriverEntry, relocates a second copy, and names its functions from the
 * COFF symbol table. Argument 1 overrides the fixture path.
 */
#include "km.h"
#include "ldr/ldr.h"

#include <stdio.h>
#include <string.h>

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

ULONG NTAPI KmTestLdrMingwFunc(ULONG Value)
{
    return Value * 2;
}
KM_EXPORT(KmTestLdrMingwFunc);
ULONG KmTestLdrMingwData = 21;
KM_EXPORT(KmTestLdrMingwData);

typedef NTSTATUS(NTAPI *ENTRY)(void *, void *);

static void check_image(LDR_IMAGE *img)
{
    char buf[256], want[256];
    /* 21 * 2 + *LdrFixPointer (1): only right if the data import slot holds
       &KmTestLdrMingwData and the pointer was relocated to this copy. */
    NTSTATUS r = ((ENTRY)img->EntryPoint)(NULL, NULL);
    CHECK(r == 43, "DriverEntry returned %d at %p", (int)r, img->Base);
    LdrDescribeAddress(img->EntryPoint, buf, sizeof(buf));
    snprintf(want, sizeof(want), "ldrfix.sys+0x%x (DriverEntry)",
             (unsigned)((uint8_t *)img->EntryPoint - img->Base));
    CHECK(!strcmp(buf, want), "describe \"%s\", want \"%s\"", buf, want);
    LdrDescribeAddress((uint8_t *)img->EntryPoint + 5, buf, sizeof(buf));
    CHECK(strstr(buf, " (DriverEntry+0x5)") != NULL, "describe +5 \"%s\"", buf);
    LdrDescribeAddress((uint8_t *)img->EntryPoint - 1, buf, sizeof(buf));
    CHECK(strstr(buf, " (LdrFixHelper+0x") != NULL, "describe -1 \"%s\"", buf);
    ULONG size = 0;
    const void *pdata = LdrpGetExceptionDirectory(img, &size);
    CHECK(pdata && size && size % 12 == 0, ".pdata %p size %u", pdata, size);
    CHECK(LdrFindImageByAddress(img->EntryPoint) == img, "find");
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "unit/ldr_fixtures/ldrfix.sys";
    char why[1024];
    LDR_IMAGE *a = NULL, *b = NULL;
    NTSTATUS st = LdrLoadDriverImage(path, &a, why, sizeof(why));
    if (st == STATUS_OBJECT_NAME_NOT_FOUND) {
        fprintf(stderr,
                "test_ldr_mingw: %s is missing: tests/CMakeLists.txt must "
                "add_subdirectory(unit/ldr_fixtures)\n",
                path);
        return 1;
    }
    CHECK(st == STATUS_SUCCESS, "load: 0x%08x %s", (unsigned)st, why);
    if (a) {
        CHECK(a->ImageBase == 0x140000000ull, "ImageBase 0x%llx", (unsigned long long)a->ImageBase);
        check_image(a);
        st = LdrLoadDriverImage(path, &b, why, sizeof(why));
        CHECK(st == STATUS_SUCCESS, "second load: 0x%08x %s", (unsigned)st, why);
        if (b) {
            CHECK(b->Base != a->Base && (uintptr_t)b->Base != 0x140000000ull,
                  "second copy not moved");
            check_image(b);
            LdrUnloadDriverImage(b);
        }
        LdrUnloadDriverImage(a);
    }
    if (failures) {
        fprintf(stderr, "test_ldr_mingw: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_ldr_mingw: all checks passed\n");
    return 0;
}
