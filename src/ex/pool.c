/*
 * Executive pool: ExAllocatePool* and ExFreePool*, on the host heap.
 *
 * Every block has a hidden header just before the pointer the driver gets:
 * magic, tag, size, pool type and the driver's call site. Alignment follows
 * the documentation: 16 bytes, page alignment for requests of PAGE_SIZE or
 * more, and no page crossing for smaller ones. Paged and nonpaged pool are the same memory here.
 *
 * Invariants (under Exp_lock): every live block is on Exp_live (oldest first)
 * and in Exp_buckets (by address), with Magic == EXP_MAGIC_LIVE. A freed block
 * leaves both and its address and header go into a ring of recent frees, so a
 * second free of it is told apart from a pointer pool never returned. Only
 * addresses found in the table are ever dereferenced.
 *
 * Bad calls bug check BAD_POOL_CALLER (0xC2) with the documented parameters:
 * 0x07 double free (P3 header contents, P4 address), 0x0A wrong tag (P2
 * address, P3 allocator's tag, P4 tag given), 0x01 a header the driver
 * overwrote (P2 header, P3 its first 8 bytes), 0x46 a NULL address, 0x99 an
 * address pool never returned, 0x9A must-succeed pool.
 *
 * Decisions: a zero-byte request returns a valid, unique block, as Windows
 * does without the verifier; tag 0 is accepted by ExAllocatePoolWithTag (the
 * free kernel accepts it; the verifier may report it) and refused by
 * ExAllocatePool2/3 (documented: returns NULL). A failure that the caller asked
 * to be raised (POOL_RAISE_IF_ALLOCATION_FAILURE, POOL_FLAG_RAISE_ON_FAILURE,
 * quota allocations) raises STATUS_INSUFFICIENT_RESOURCES; with no SEH
 * dispatch yet that is bug check 0x1E, what Windows does when no handler exists.
 * KMHOST_POOL_FAIL_RATE (a fraction, e.g. 0.05) makes that share of requests
 * fail, for robustness tests; KMHOST_POOL_FAIL_SEED seeds the choice.
 */
#include "ex/ex.h"
#include "hal/inject.h"
#include "vf/vf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXP_PAGE_SIZE 4096u
#define EXP_MAGIC_LIVE 0x4C4F4F504D4B4C56ull /* "VLKMPOOL" */
#define EXP_MAGIC_FREE 0x45455246504D4B46ull
#define EXP_BUCKETS 4096u
#define EXP_RECENT_FREES 1024u
#define EXP_POOL_TAG_NONE 0x656E6F4Eu /* 'enoN': "None", ExAllocatePool's tag */
#define EXP_PROTECTED_POOL 0x80000000u

typedef struct EXP_HEADER {
    ULONG64 Magic;
    struct EXP_HEADER *Next, *Prev; /* Exp_live, oldest first */
    struct EXP_HEADER *HashNext;
    void *Base; /* what malloc returned */
    SIZE_T Size;
    void *Caller;
    ULONG Tag;
    POOL_TYPE PoolType;
} EXP_HEADER;
_Static_assert(sizeof(EXP_HEADER) == 64, "pool header keeps 16-byte alignment");

static pthread_mutex_t Exp_lock = PTHREAD_MUTEX_INITIALIZER;
static EXP_HEADER Exp_live = {0, &Exp_live, &Exp_live, NULL, NULL, 0, NULL, 0, 0};
static EXP_HEADER *Exp_buckets[EXP_BUCKETS];
static size_t Exp_live_count, Exp_total_count;
static struct {
    void *Address;
    ULONG64 Contents; /* Tag | PoolType << 32 of the freed block */
} Exp_recent[EXP_RECENT_FREES];
static size_t Exp_recent_next;

static KM_FAULT_INJECTION Exp_fail = KM_FAULT_INJECTION_INIT("POOL");

static size_t Exp_hash(const void *P)
{
    return ((uintptr_t)P >> 4) * 0x9E3779B97F4A7C15ull >> 52 & (EXP_BUCKETS - 1);
}

static EXP_HEADER *Exp_find_locked(const void *P)
{
    for (EXP_HEADER *h = Exp_buckets[Exp_hash(P)]; h; h = h->HashNext) {
        if ((const void *)(h + 1) == P)
            return h;
    }
    return NULL;
}

PVOID ExpAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, BOOLEAN Zero,
                      void *Caller)
{
    POOL_TYPE base_type =
        PoolType & ~(POOL_QUOTA_FAIL_INSTEAD_OF_RAISE | POOL_RAISE_IF_ALLOCATION_FAILURE);
    if (base_type == NonPagedPoolMustSucceed || base_type == NonPagedPoolCacheAlignedMustS)
        KeBugCheckEx(BAD_POOL_CALLER, 0x9A, PoolType, NumberOfBytes, Tag);
    /* Documented: a request of PAGE_SIZE or more is page-aligned, and one of
       PAGE_SIZE or less does not cross a page boundary. Header and block sit
       in one naturally aligned power-of-two region of at most a page, or the
       block starts a page of its own. */
    size_t lead = sizeof(EXP_HEADER), align = 16;
    while (align < lead + NumberOfBytes && align < EXP_PAGE_SIZE)
        align *= 2;
    if (lead + NumberOfBytes > EXP_PAGE_SIZE)
        lead = align = EXP_PAGE_SIZE;
    if (NumberOfBytes > ((size_t)1 << 46) || km_inject_failure(&Exp_fail))
        return NULL;
    void *base = VfpEnabled(VF_SPECIAL_POOL) ? VfpSpecialPoolAllocate(lead + NumberOfBytes, align)
                                             : NULL; /* verifier: guarded block */
    if (!base && posix_memalign(&base, align, lead + NumberOfBytes))
        return NULL;
    uint8_t *user = (uint8_t *)base + lead;
    EXP_HEADER *h = (EXP_HEADER *)user - 1;
    *h = (EXP_HEADER){EXP_MAGIC_LIVE, NULL, NULL, NULL, base, NumberOfBytes, Caller, Tag, PoolType};
    if (Zero)
        memset(user, 0, NumberOfBytes);
    pthread_mutex_lock(&Exp_lock);
    h->Prev = Exp_live.Prev;
    h->Next = &Exp_live;
    Exp_live.Prev->Next = h;
    Exp_live.Prev = h;
    size_t b = Exp_hash(user);
    h->HashNext = Exp_buckets[b];
    Exp_buckets[b] = h;
    Exp_live_count++;
    Exp_total_count++;
    pthread_mutex_unlock(&Exp_lock);
    return user;
}

VOID ExpFreePool(PVOID P, ULONG Tag, void *Caller)
{
    (void)Caller;
    if (!P)
        KeBugCheckEx(BAD_POOL_CALLER, 0x46, 0, 0, 0);
    pthread_mutex_lock(&Exp_lock);
    EXP_HEADER *h = Exp_find_locked(P);
    if (!h) {
        for (size_t i = 0; i < EXP_RECENT_FREES; i++) {
            if (Exp_recent[i].Address == P) {
                ULONG64 contents = Exp_recent[i].Contents;
                pthread_mutex_unlock(&Exp_lock);
                KeBugCheckEx(BAD_POOL_CALLER, 0x07, 0, contents, (ULONG_PTR)P);
            }
        }
        pthread_mutex_unlock(&Exp_lock);
        KeBugCheckEx(BAD_POOL_CALLER, 0x99, (ULONG_PTR)P, 0, 0);
    }
    if (h->Magic != EXP_MAGIC_LIVE) {
        ULONG64 contents = h->Magic;
        pthread_mutex_unlock(&Exp_lock);
        KeBugCheckEx(BAD_POOL_CALLER, 0x01, (ULONG_PTR)h, contents, 0);
    }
    if (Tag != 0 && (Tag & ~EXP_PROTECTED_POOL) != (h->Tag & ~EXP_PROTECTED_POOL)) {
        ULONG alloc_tag = h->Tag;
        pthread_mutex_unlock(&Exp_lock);
        KeBugCheckEx(BAD_POOL_CALLER, 0x0A, (ULONG_PTR)P, alloc_tag, Tag);
    }
    h->Prev->Next = h->Next;
    h->Next->Prev = h->Prev;
    EXP_HEADER **link = &Exp_buckets[Exp_hash(P)];
    while (*link != h)
        link = &(*link)->HashNext;
    *link = h->HashNext;
    Exp_live_count--;
    Exp_recent[Exp_recent_next].Address = P;
    Exp_recent[Exp_recent_next].Contents = h->Tag | (ULONG64)h->PoolType << 32;
    Exp_recent_next = (Exp_recent_next + 1) % EXP_RECENT_FREES;
    h->Magic = EXP_MAGIC_FREE;
    void *base = h->Base;
    pthread_mutex_unlock(&Exp_lock);
    if (!VfpSpecialPoolFree(base)) /* verifier: a guarded block stays unmapped */
        free(base);
}

KM_NORETURN KM_SLOWPATH void ExpRaiseStatus(NTSTATUS Status, void *Caller)
{
    char where[160] = "";
    LdrDescribeAddress(Caller, where, sizeof(where));
    fprintf(stderr,
            "kmhost: exception 0x%08X raised for the caller at %s; structured exception "
            "handling is not dispatched yet, so it is unhandled\n",
            (unsigned)Status, where);
    KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG)Status, (ULONG_PTR)Caller, 0, 0);
}

static PVOID Exp_allocate_or_raise(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                   BOOLEAN Zero, BOOLEAN Raise, void *Caller)
{
    PVOID p = ExpAllocatePool(PoolType, NumberOfBytes, Tag, Zero, Caller);
    if (!p && Raise)
        ExpRaiseStatus(STATUS_INSUFFICIENT_RESOURCES, Caller);
    return p;
}

PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return Exp_allocate_or_raise(PoolType, NumberOfBytes, Tag, FALSE,
                                 (PoolType & POOL_RAISE_IF_ALLOCATION_FAILURE) != 0,
                                 __builtin_return_address(0));
}
KM_EXPORT(ExAllocatePoolWithTag);

PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    return Exp_allocate_or_raise(PoolType, NumberOfBytes, EXP_POOL_TAG_NONE, FALSE,
                                 (PoolType & POOL_RAISE_IF_ALLOCATION_FAILURE) != 0,
                                 __builtin_return_address(0));
}
KM_EXPORT(ExAllocatePool);

/* Quota allocations raise on failure unless POOL_QUOTA_FAIL_INSTEAD_OF_RAISE. */
PVOID NTAPI ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    return Exp_allocate_or_raise(PoolType, NumberOfBytes, Tag, FALSE,
                                 !(PoolType & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE),
                                 __builtin_return_address(0));
}
KM_EXPORT(ExAllocatePoolWithQuotaTag);

PVOID NTAPI ExAllocatePoolWithQuota(POOL_TYPE PoolType, SIZE_T NumberOfBytes)
{
    return Exp_allocate_or_raise(PoolType, NumberOfBytes, EXP_POOL_TAG_NONE, FALSE,
                                 !(PoolType & POOL_QUOTA_FAIL_INSTEAD_OF_RAISE),
                                 __builtin_return_address(0));
}
KM_EXPORT(ExAllocatePoolWithQuota);

/* Priority only matters under memory pressure, which the host heap does not report. */
PVOID NTAPI ExAllocatePoolWithTagPriority(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag,
                                          ULONG Priority)
{
    (void)Priority;
    return Exp_allocate_or_raise(PoolType, NumberOfBytes, Tag, FALSE,
                                 (PoolType & POOL_RAISE_IF_ALLOCATION_FAILURE) != 0,
                                 __builtin_return_address(0));
}
KM_EXPORT(ExAllocatePoolWithTagPriority);

/*
 * POOL_FLAGS: exactly one of NON_PAGED, NON_PAGED_EXECUTE, PAGED; unknown
 * required flags (the low 32 bits) or tag 0 fail the call (NULL, or a raise
 * with POOL_FLAG_RAISE_ON_FAILURE). Memory is zeroed unless
 * POOL_FLAG_UNINITIALIZED. Optional flags (the high 32 bits) are advisory.
 */
static PVOID Exp_allocate2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag, void *Caller)
{
    const POOL_FLAGS known = POOL_FLAG_USE_QUOTA | POOL_FLAG_UNINITIALIZED | POOL_FLAG_SESSION |
                             POOL_FLAG_CACHE_ALIGNED | POOL_FLAG_RAISE_ON_FAILURE |
                             POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED;
    POOL_FLAGS kind = Flags & (POOL_FLAG_NON_PAGED | POOL_FLAG_NON_PAGED_EXECUTE | POOL_FLAG_PAGED);
    BOOLEAN raise = (Flags & POOL_FLAG_RAISE_ON_FAILURE) != 0;
    BOOLEAN valid = Tag != 0 && !(Flags & POOL_FLAG_REQUIRED_MASK & ~known) && kind != 0 &&
                    (kind & (kind - 1)) == 0;
    PVOID p = NULL;
    if (valid) {
        POOL_TYPE type = kind == POOL_FLAG_PAGED       ? PagedPool
                         : kind == POOL_FLAG_NON_PAGED ? NonPagedPoolNx
                                                       : NonPagedPool;
        p = ExpAllocatePool(type, NumberOfBytes, Tag, !(Flags & POOL_FLAG_UNINITIALIZED), Caller);
    }
    if (!p && raise)
        ExpRaiseStatus(STATUS_INSUFFICIENT_RESOURCES, Caller);
    return p;
}

PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)
{
    return Exp_allocate2(Flags, NumberOfBytes, Tag, __builtin_return_address(0));
}
KM_EXPORT(ExAllocatePool2);

/* Extended parameters (priority, secure pool) are accepted and not acted on. */
PVOID NTAPI ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
                            PVOID ExtendedParameters, ULONG Count)
{
    (void)ExtendedParameters;
    (void)Count;
    return Exp_allocate2(Flags, NumberOfBytes, Tag, __builtin_return_address(0));
}
KM_EXPORT(ExAllocatePool3);

/* Tag 0 (what ExFreePool passes) skips the tag check. */
VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag)
{
    ExpFreePool(P, Tag, __builtin_return_address(0));
}
KM_EXPORT(ExFreePoolWithTag);

VOID NTAPI ExFreePool(PVOID P)
{
    ExpFreePool(P, 0, __builtin_return_address(0));
}
KM_EXPORT(ExFreePool);

SIZE_T NTAPI ExQueryPoolBlockSize(PVOID PoolBlock, PBOOLEAN QuotaCharged)
{
    pthread_mutex_lock(&Exp_lock);
    EXP_HEADER *h = Exp_find_locked(PoolBlock);
    SIZE_T size = h ? h->Size : 0;
    POOL_TYPE type = h ? h->PoolType : 0;
    pthread_mutex_unlock(&Exp_lock);
    if (!h)
        KeBugCheckEx(BAD_POOL_CALLER, 0x99, (ULONG_PTR)PoolBlock, 0, 0);
    if (QuotaCharged)
        *QuotaCharged = FALSE;
    (void)type;
    return size;
}
KM_EXPORT(ExQueryPoolBlockSize);

size_t ExpForEachLiveAllocation(void (*Fn)(void *Ctx, ULONG Tag, SIZE_T Size, void *Caller),
                                void *Ctx)
{
    pthread_mutex_lock(&Exp_lock);
    size_t n = Exp_live_count;
    if (Fn) {
        for (EXP_HEADER *h = Exp_live.Next; h != &Exp_live; h = h->Next)
            Fn(Ctx, h->Tag, h->Size, h->Caller);
    }
    pthread_mutex_unlock(&Exp_lock);
    return n;
}

size_t ExpLiveAllocationCount(void)
{
    pthread_mutex_lock(&Exp_lock);
    size_t n = Exp_live_count;
    pthread_mutex_unlock(&Exp_lock);
    return n;
}

size_t ExpTotalAllocationCount(void)
{
    pthread_mutex_lock(&Exp_lock);
    size_t n = Exp_total_count;
    pthread_mutex_unlock(&Exp_lock);
    return n;
}
