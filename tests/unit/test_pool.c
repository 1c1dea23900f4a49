/*
 * Executive pool (src/ex/pool.c) through its ms_abi exports: the documented
 * alignment, zeroing by ExAllocatePool2, tags, the live-allocation list, and
 * the bug checks for bad frees (BAD_POOL_CALLER 0xC2 with the parameters of
 * the bug check reference), each caught in a forked child that must exit
 * with status 3 after printing its STOP line.
 */
#include "ex/ex.h"
#include "km.h"
#include "kmtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef PVOID(NTAPI *ALLOC_TAG)(POOL_TYPE, SIZE_T, ULONG);
typedef PVOID(NTAPI *ALLOC2)(POOL_FLAGS, SIZE_T, ULONG);
typedef PVOID(NTAPI *ALLOC)(POOL_TYPE, SIZE_T);
typedef VOID(NTAPI *FREE_TAG)(PVOID, ULONG);
typedef VOID(NTAPI *FREE)(PVOID);
typedef SIZE_T(NTAPI *QUERY)(PVOID, PBOOLEAN);

static ALLOC_TAG alloc_tag;
static ALLOC2 alloc2;
static ALLOC alloc_plain;
static FREE_TAG free_tag;
static FREE free_plain;
static QUERY query_size;

#define TAG_TEST 0x74736554u  /* 'tseT': "Test" */
#define TAG_OTHER 0x72687430u /* "0thr" */

static void *import(const char *name)
{
    const KM_EXPORT_ENTRY *e = KmLookupExport("ntoskrnl.exe", name);
    if (!e) {
        printf("FAIL: ntoskrnl.exe does not export %s\n", name);
        _Exit(1);
    }
    return e->Address;
}

static void test_alignment_and_size(void)
{
    void *p[6];
    SIZE_T sizes[6] = {0, 1, 24, 4095, 4096, 10000};
    for (int i = 0; i < 6; i++) {
        p[i] = alloc_tag(NonPagedPoolNx, sizes[i], TAG_TEST);
        CHECK(p[i] != NULL, "allocation of %zu bytes", (size_t)sizes[i]);
        CHECK(((uintptr_t)p[i] & 15) == 0, "16-byte aligned: %p", p[i]);
        if (sizes[i] >= 4096)
            CHECK(((uintptr_t)p[i] & 4095) == 0, "PAGE_SIZE or more is page aligned: %p", p[i]);
        if (p[i])
            memset(p[i], 0x5A, sizes[i]);
        BOOLEAN quota = TRUE;
        CHECK(p[i] && query_size(p[i], &quota) == sizes[i] && !quota, "ExQueryPoolBlockSize %zu",
              (size_t)sizes[i]);
    }
    CHECK(p[0] != p[1], "a zero-byte allocation is a distinct valid block");
    for (int i = 0; i < 6; i++)
        free_tag(p[i], TAG_TEST);
}

static void test_zeroing(void)
{
    /* Reuse freed memory dirtied with a pattern, so zeroing is observable. */
    for (int round = 0; round < 8; round++) {
        unsigned char *d = alloc_tag(PagedPool, 256, TAG_TEST);
        memset(d, 0xCC, 256);
        free_tag(d, TAG_TEST);
        unsigned char *z = alloc2(POOL_FLAG_PAGED, 256, TAG_TEST);
        int zero = 1;
        for (int i = 0; i < 256; i++)
            zero &= z[i] == 0;
        CHECK(zero, "ExAllocatePool2 zero-initialises");
        free_tag(z, TAG_TEST);
    }
    CHECK(alloc2(POOL_FLAG_NON_PAGED, 16, 0) == NULL, "ExAllocatePool2 tag 0: NULL");
    CHECK(alloc2(POOL_FLAG_NON_PAGED | POOL_FLAG_PAGED, 16, TAG_TEST) == NULL,
          "ExAllocatePool2 two pool kinds: NULL");
    CHECK(alloc2(POOL_FLAG_UNINITIALIZED, 16, TAG_TEST) == NULL,
          "ExAllocatePool2 without a pool kind: NULL");
    void *u = alloc2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, 16, TAG_TEST);
    CHECK(u != NULL, "POOL_FLAG_UNINITIALIZED allocates");
    free_plain(u);
}

struct seen {
    int found_a, found_b, count;
    void *caller_b;
};

static void collect(void *ctx, ULONG tag, SIZE_T size, void *caller)
{
    struct seen *s = ctx;
    s->count++;
    if (tag == TAG_TEST && size == 33)
        s->found_a++;
    if (tag == TAG_OTHER && size == 77) {
        s->found_b++;
        s->caller_b = caller;
    }
}

static __attribute__((noinline)) void *allocate_b(void)
{
    return alloc_tag(PagedPool, 77, TAG_OTHER);
}

static void test_live_list(void)
{
    size_t before = ExpLiveAllocationCount();
    void *a = alloc_tag(PagedPool, 33, TAG_TEST);
    void *b = allocate_b();
    struct seen s = {0};
    size_t n = ExpForEachLiveAllocation(collect, &s);
    CHECK(n == before + 2 && s.count == (int)n, "live count %zu (before %zu)", n, before);
    CHECK(s.found_a == 1 && s.found_b == 1, "both blocks enumerated with tag and size");
    CHECK((char *)s.caller_b >= (char *)allocate_b && (char *)s.caller_b < (char *)allocate_b + 256,
          "caller is the call site in allocate_b: %p vs %p", s.caller_b, (void *)allocate_b);
    free_tag(a, TAG_TEST);
    free_plain(b); /* ExFreePool: no tag check */
    CHECK(ExpLiveAllocationCount() == before, "freed blocks leave the live list");
    void *none = alloc_plain(NonPagedPool, 8);
    s = (struct seen){0};
    ExpForEachLiveAllocation(collect, &s);
    CHECK(none != NULL, "ExAllocatePool");
    free_tag(none, 0x656E6F4E); /* ExAllocatePool's documented tag is 'None' */
    /* The protected-pool bit is ignored when tags are compared. */
    void *p = alloc_tag(PagedPool, 8, TAG_TEST);
    free_tag(p, TAG_TEST | 0x80000000u);
}

/* Runs Fn in a child; returns its exit status and its output. */

static void *victim;

static void wrong_tag(void)
{
    victim = alloc_tag(PagedPool, 40, TAG_TEST);
    printf("victim %p\n", victim);
    fflush(stdout);
    free_tag(victim, TAG_OTHER);
}

static void double_free(void)
{
    victim = alloc_tag(PagedPool, 40, TAG_TEST);
    printf("victim %p\n", victim);
    fflush(stdout);
    free_tag(victim, TAG_TEST);
    free_tag(victim, TAG_TEST);
}

static void never_allocated(void)
{
    static char not_pool[64];
    free_plain(not_pool + 16);
}

static void free_null(void)
{
    free_plain(NULL);
}

static unsigned long long victim_in(const char *out)
{
    unsigned long long v = 0;
    const char *p = strstr(out, "victim ");
    if (p)
        sscanf(p + 7, "%llx", &v);
    return v;
}

static void test_bad_frees(void)
{
    char out[8192], want[160];
    int st = kmtest_run_child(wrong_tag, out, sizeof(out));
    snprintf(want, sizeof(want),
             "*** STOP: 0x000000C2 (0x000000000000000A,0x%016llX,0x%016llX,0x%016llX)",
             victim_in(out), (unsigned long long)TAG_TEST, (unsigned long long)TAG_OTHER);
    CHECK(st == 3 && strstr(out, want), "wrong tag: status %d, want \"%s\" in:\n%s", st, want, out);

    st = kmtest_run_child(double_free, out, sizeof(out));
    snprintf(want, sizeof(want), "*** STOP: 0x000000C2 (0x0000000000000007,");
    char tail[40];
    snprintf(tail, sizeof(tail), ",0x%016llX)", victim_in(out));
    CHECK(st == 3 && strstr(out, want) && strstr(out, tail),
          "double free: status %d, want 0x07 ... address %s in:\n%s", st, tail, out);

    st = kmtest_run_child(never_allocated, out, sizeof(out));
    CHECK(st == 3 && strstr(out, "*** STOP: 0x000000C2 (0x0000000000000099,"),
          "bad pointer: status %d in:\n%s", st, out);

    st = kmtest_run_child(free_null, out, sizeof(out));
    CHECK(st == 3 && strstr(out, "*** STOP: 0x000000C2 (0x0000000000000046,"),
          "NULL: status %d in:\n%s", st, out);
}

/* KMHOST_POOL_FAIL_RATE is read at the first allocation, so these run in a
   fresh copy of this program started with the variable set. */
static char *self_path;

static void injected_failures(void)
{
    if (alloc_tag(PagedPool, 8, TAG_TEST) || alloc2(POOL_FLAG_PAGED, 8, TAG_TEST))
        _exit(1);
    printf("all failed\n");
    fflush(stdout);
    /* A caller that asked for a raise gets STATUS_INSUFFICIENT_RESOURCES; with
       nothing to handle it, that is bug check 0x1E. */
    alloc_tag(PagedPool | POOL_RAISE_IF_ALLOCATION_FAILURE, 8, TAG_TEST);
    _exit(2);
}

static void no_injection(void)
{
    for (int i = 0; i < 100; i++) {
        void *p = alloc_tag(PagedPool, 8, TAG_TEST);
        if (!p)
            _exit(1);
        free_plain(p);
    }
}

static const char *exec_mode, *exec_rate;

static void exec_self(void)
{
    setenv("KMHOST_POOL_FAIL_RATE", exec_rate, 1);
    execl(self_path, self_path, exec_mode, (char *)NULL);
    _exit(127);
}

static void test_injection(void)
{
    char out[8192];
    exec_mode = "inject";
    exec_rate = "1";
    int st = kmtest_run_child(exec_self, out, sizeof(out));
    CHECK(st == 3 && strstr(out, "all failed\n") &&
              strstr(out, "*** STOP: 0x0000001E (0x00000000C000009A,"),
          "KMHOST_POOL_FAIL_RATE=1: status %d in:\n%s", st, out);
    exec_mode = "no-inject";
    exec_rate = "0";
    st = kmtest_run_child(exec_self, out, sizeof(out));
    CHECK(st == 0, "KMHOST_POOL_FAIL_RATE=0: status %d", st);
}

int main(int argc, char **argv)
{
    alloc_tag = (ALLOC_TAG)import("ExAllocatePoolWithTag");
    alloc2 = (ALLOC2)import("ExAllocatePool2");
    alloc_plain = (ALLOC)import("ExAllocatePool");
    free_tag = (FREE_TAG)import("ExFreePoolWithTag");
    free_plain = (FREE)import("ExFreePool");
    query_size = (QUERY)import("ExQueryPoolBlockSize");
    self_path = argv[0];
    if (argc == 2 && strcmp(argv[1], "inject") == 0)
        injected_failures();
    if (argc == 2 && strcmp(argv[1], "no-inject") == 0) {
        no_injection();
        return 0;
    }
    test_alignment_and_size();
    test_zeroing();
    test_live_list();
    test_bad_frees();
    test_injection();
    return KMTEST_DONE();
}
