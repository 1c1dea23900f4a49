// Conformance: pool allocation (ExAllocatePoolWithTag, ExAllocatePool2,
// ExFreePoolWithTag, ExFreePool): usable size, alignment, zeroing, large
// blocks, many live blocks that do not overlap.
// EXPECT-EXIT: 0
#include "harness.h"

#define NBLOCKS 512

/*
 * ExAllocatePoolWithTag (WDK): a block of PAGE_SIZE or more is page-aligned;
 * a block of PAGE_SIZE or less does not cross a page boundary; a smaller block
 * is aligned on 16 bytes on 64-bit systems.
 */
static void check_alignment(PVOID p, SIZE_T n, const char *what)
{
    ULONG_PTR a = (ULONG_PTR)p;

    if (n >= PAGE_SIZE)
        is_int(a & (PAGE_SIZE - 1), 0, what);
    else
        is_int(a & 15, 0, what);
    if (n <= PAGE_SIZE)
        is_int(a / PAGE_SIZE, (a + n - 1) / PAGE_SIZE,
               "a block of PAGE_SIZE or less does not "
               "cross a page boundary");
}

/* The whole block is writable and keeps what is written. */
static int fill_and_check(PVOID p, SIZE_T n, UCHAR v)
{
    PUCHAR b = p;
    SIZE_T i;

    RtlFillMemory(b, n, v);
    for (i = 0; i < n; i++)
        if (b[i] != v)
            return 0;
    return 1;
}

static void test_with_tag(POOL_TYPE type, const char *name)
{
    static const SIZE_T sizes[] = {1,
                                   8,
                                   15,
                                   16,
                                   17,
                                   100,
                                   1000,
                                   PAGE_SIZE - 16,
                                   PAGE_SIZE,
                                   PAGE_SIZE + 1,
                                   3 * PAGE_SIZE,
                                   1024 * 1024};
    ULONG i;

    for (i = 0; i < ARRAYSIZE(sizes); i++) {
        PVOID p = ExAllocatePoolWithTag(type, sizes[i], HARNESS_TAG);
        if (!ok(p != NULL, "ExAllocatePoolWithTag(%s, %I64u) succeeds", name, (ULONG64)sizes[i]))
            continue;
        check_alignment(p, sizes[i],
                        "x64 pool blocks: 16-byte aligned below PAGE_SIZE, page-aligned from it");
        ok(fill_and_check(p, sizes[i], (UCHAR)(0x11 * (i + 1))),
           "all %I64u requested bytes of a %s block are usable", (ULONG64)sizes[i], name);
        ExFreePoolWithTag(p, HARNESS_TAG);
    }
}

static void test_pool2(void)
{
    const SIZE_T n = 200;
    PUCHAR p, q;
    SIZE_T i;
    int zero = 1;

    /* Dirty a block of the same size first so that zeroing is observable. */
    p = ExAllocatePoolWithTag(NonPagedPoolNx, n, HARNESS_TAG);
    if (p) {
        RtlFillMemory(p, n, 0xA5);
        ExFreePoolWithTag(p, HARNESS_TAG);
    }
    q = ExAllocatePool2(POOL_FLAG_NON_PAGED, n, HARNESS_TAG);
    if (ok(q != NULL, "ExAllocatePool2(POOL_FLAG_NON_PAGED) succeeds")) {
        for (i = 0; i < n; i++)
            zero &= q[i] == 0;
        ok(zero, "ExAllocatePool2 zero-initializes the block unless POOL_FLAG_UNINITIALIZED");
        is_int((ULONG_PTR)q & 15, 0, "an ExAllocatePool2 block is 16-byte aligned on x64");
        ExFreePoolWithTag(q, HARNESS_TAG);
    }
    q = ExAllocatePool2(POOL_FLAG_PAGED, 3 * PAGE_SIZE, HARNESS_TAG);
    if (ok(q != NULL, "ExAllocatePool2(POOL_FLAG_PAGED, 3 pages) succeeds")) {
        for (i = 0, zero = 1; i < 3 * PAGE_SIZE; i++)
            zero &= q[i] == 0;
        ok(zero, "a paged ExAllocatePool2 block is zeroed too");
        is_int((ULONG_PTR)q & (PAGE_SIZE - 1), 0, "a block of PAGE_SIZE or more is page-aligned");
        ExFreePool(q);
    }
    q = ExAllocatePool2(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, 64, HARNESS_TAG);
    if (ok(q != NULL, "ExAllocatePool2(POOL_FLAG_UNINITIALIZED) succeeds"))
        ExFreePoolWithTag(q, HARNESS_TAG);
}

/* Many live blocks: each keeps its own contents, so no two overlap. */
static void test_many(void)
{
    static PULONG blocks[NBLOCKS];
    ULONG i, j, bad = 0, failed = 0;

    for (i = 0; i < NBLOCKS; i++) {
        SIZE_T n = (SIZE_T)(1 + i % 37) * sizeof(ULONG);
        blocks[i] = ExAllocatePoolWithTag(i & 1 ? PagedPool : NonPagedPoolNx, n, HARNESS_TAG);
        if (!blocks[i]) {
            failed++;
            continue;
        }
        for (j = 0; j < 1 + i % 37; j++)
            blocks[i][j] = i;
    }
    is_int(failed, 0, "512 small allocations succeed");
    for (i = 0; i < NBLOCKS; i++) {
        if (!blocks[i])
            continue;
        for (j = 0; j < 1 + i % 37; j++)
            bad += blocks[i][j] != i;
        ExFreePoolWithTag(blocks[i], HARNESS_TAG);
    }
    is_int(bad, 0, "live pool blocks do not overlap: each keeps what was written to it");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    PVOID p;

    driver->DriverUnload = DriverUnload;
    test_with_tag(NonPagedPoolNx, "NonPagedPoolNx");
    test_with_tag(NonPagedPool, "NonPagedPool");
    test_with_tag(PagedPool, "PagedPool");
    test_pool2();
    test_many();
    p = ExAllocatePoolWithTag(PagedPool, 16 * 1024 * 1024, HARNESS_TAG);
    if (ok(p != NULL, "a 16 MB paged allocation succeeds")) {
        check_alignment(p, 16 * 1024 * 1024, "a large block is page-aligned");
        ((volatile UCHAR *)p)[16 * 1024 * 1024 - 1] = 1;
        ExFreePool(p);
    }
    return STATUS_SUCCESS;
}
