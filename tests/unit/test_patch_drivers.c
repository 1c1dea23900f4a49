/*
 * Load-time patching on real mingw-w64 drivers: every conformance driver
 * (tests/drivers, built into drivers/conf_*.sys next to this test's working
 * directory, or the directory given as argument 1) is loaded, and the sites
 * its inline WDK code has (KeGetCurrentIrql, KeRaiseIrql, KeLowerIrql,
 * KeQuerySystemTime, KeQueryTickCount, KeQueryInterruptTime) must all be
 * patched (in one of up to five loads, see below): mingw-w64 emits only the
 * forms the patcher handles. The test runs with GS base 0 (KMHOST_GSBASE=0),
 * so the gs: reads of inline KeGetCurrentThread and friends are sites too,
 * and must all be patched (conf_pcr.sys has every form compilers emit). The
 * counts per driver are printed for the record.
 */
#include "ldr/patch.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                 \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

static ULONG64 Sum(const LDR_PATCH_COUNTS *C)
{
    return C->Cr8Reads + C->Cr8Writes + C->SharedDataMoffs + C->SharedDataImm;
}

static LDR_PATCH_COUNTS Delta(const LDR_PATCH_STATS *A, const LDR_PATCH_STATS *B)
{
    LDR_PATCH_COUNTS d;
    d.Cr8Reads = B->Sites.Cr8Reads - A->Sites.Cr8Reads;
    d.Cr8Writes = B->Sites.Cr8Writes - A->Sites.Cr8Writes;
    d.SharedDataMoffs = B->Sites.SharedDataMoffs - A->Sites.SharedDataMoffs;
    d.SharedDataImm = B->Sites.SharedDataImm - A->Sites.SharedDataImm;
    d.Cr8Left = B->Sites.Cr8Left - A->Sites.Cr8Left;
    d.SharedDataLeft = B->Sites.SharedDataLeft - A->Sites.SharedDataLeft;
    d.UndecodableBytes = B->Sites.UndecodableBytes - A->Sites.UndecodableBytes;
    d.Gs = B->Sites.Gs - A->Sites.Gs;
    d.GsLeft = B->Sites.GsLeft - A->Sites.GsLeft;
    return d;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "drivers";
    DIR *d = opendir(dir);
    if (!d) {
        printf("FAIL: cannot open %s: build the drivers target (or pass the directory)\n", dir);
        return 1;
    }
    setenv("KMHOST_GSBASE", "0", 1); /* before anything decides it */
    HalInitSystem();
    LdrpPatchSetEnabled(TRUE);
    CHECK(!HalUsesGsBase(), "KMHOST_GSBASE=0 was not followed");
    LDR_PATCH_COUNTS all = {0};
    ULONG64 irqlSites = 0, timeSites = 0, threadGs = 0;
    int images = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 9 || strncmp(e->d_name, "conf_", 5) || strcmp(e->d_name + n - 4, ".sys"))
            continue;
        char path[4096], why[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        LDR_PATCH_STATS before, after;
        LDR_IMAGE *img = NULL;
        LDR_PATCH_COUNTS c;
        NTSTATUS st;
        /* A site whose stub must land in one 16 MiB window (a 4-byte `mov
           cr8` puns the byte after it) stays unpatched, and traps, when that
           window happens to be full, as it may be in a crowded sanitizer
           address space. So a load that left such a site is tried again at
           another base: the image whose site stayed unpatched is kept mapped,
           or the next load would get its address, and the same window, back
           (five tries that unmapped it in between all failed once under
           ASan). A form the patcher handles is patched in one of a few. */
        LDR_IMAGE *retried[8];
        int nretried = 0;
        for (;;) {
            LdrpPatchStats(&before);
            st = LdrLoadDriverImage(path, &img, why, sizeof(why));
            LdrpPatchStats(&after);
            c = Delta(&before, &after);
            if (!NT_SUCCESS(st) || (c.Cr8Left == 0 && c.SharedDataLeft == 0 && c.GsLeft == 0) ||
                nretried == (int)(sizeof(retried) / sizeof(retried[0])))
                break;
            retried[nretried++] = img;
        }
        while (nretried > 0) {
            LDR_IMAGE *old = retried[--nretried];
            LdrUnloadDriverImage(old);
            LdrpReleasePatches(old->Base);
        }
        CHECK(NT_SUCCESS(st), "%s did not load: %#x %s", path, (unsigned)st, why);
        if (!NT_SUCCESS(st))
            continue;
        images++;
        printf("%-28s cr8 read %3llu write %3llu | shared data moffs %3llu imm %3llu | left cr8 "
               "%llu shared data %llu | gs %3llu left %llu | skipped bytes %llu\n",
               e->d_name, (unsigned long long)c.Cr8Reads, (unsigned long long)c.Cr8Writes,
               (unsigned long long)c.SharedDataMoffs, (unsigned long long)c.SharedDataImm,
               (unsigned long long)c.Cr8Left, (unsigned long long)c.SharedDataLeft,
               (unsigned long long)c.Gs, (unsigned long long)c.GsLeft,
               (unsigned long long)c.UndecodableBytes);
        CHECK(c.GsLeft == 0, "%s: %llu gs: sites left", e->d_name, (unsigned long long)c.GsLeft);
        if (!strcmp(e->d_name, "conf_thread.sys"))
            threadGs = c.Gs;
        CHECK(c.Cr8Left == 0 && c.SharedDataLeft == 0, "%s: %llu cr8 and %llu shared-data left",
              e->d_name, (unsigned long long)c.Cr8Left, (unsigned long long)c.SharedDataLeft);
        if (!strcmp(e->d_name, "conf_irql.sys"))
            irqlSites = c.Cr8Reads + c.Cr8Writes;
        if (!strcmp(e->d_name, "conf_time.sys"))
            timeSites = c.SharedDataMoffs + c.SharedDataImm;
        all.Cr8Reads += c.Cr8Reads;
        all.Cr8Writes += c.Cr8Writes;
        all.SharedDataMoffs += c.SharedDataMoffs;
        all.SharedDataImm += c.SharedDataImm;
        all.Cr8Left += c.Cr8Left;
        all.SharedDataLeft += c.SharedDataLeft;
        LdrUnloadDriverImage(img);
        LdrpReleasePatches(img->Base);
    }
    closedir(d);
    CHECK(images > 0, "no conf_*.sys in %s", dir);
    /* irql.c uses KeRaiseIrql/KeLowerIrql/KeGetCurrentIrql, time.c
       KeQuerySystemTime/KeQueryTickCount/KeQueryInterruptTime, all inline. */
    CHECK(irqlSites >= 3, "conf_irql.sys: %llu cr8 sites patched", (unsigned long long)irqlSites);
    CHECK(timeSites >= 2, "conf_time.sys: %llu shared-data sites patched",
          (unsigned long long)timeSites);
    /* thread.c reads KeGetCurrentThread (gs:[0x188]) inline. */
    CHECK(threadGs >= 1, "conf_thread.sys: %llu gs: sites patched", (unsigned long long)threadGs);
    printf("%d images: %llu sites patched, %llu left\n", images, (unsigned long long)Sum(&all),
           (unsigned long long)(all.Cr8Left + all.SharedDataLeft));
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
