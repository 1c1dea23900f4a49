/*
 * Special pool (`--verifier=special_pool`): guarded pool blocks, in the spirit
 * of Driver Verifier's special pool.
 *
 * Each block gets pages of its own: the block ends at the end of its last
 * page (rounded to 16 bytes, the pool's alignment; a block of a page or
 * more starts a page instead, as its alignment requires), and the page after
 * it is PROT_NONE, so a read or write past the end faults at once. A freed
 * block's pages become PROT_NONE and stay mapped for the next
 * VFP_SP_QUARANTINE frees, so a use after free faults too. The fault
 * handler asks VfpSpecialPoolFault, which names the fault as Windows does:
 * 0xD5 DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL / 0xD6
 * DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION for a driver's access (0xCC /
 * 0xCD for kmhost's own), P1 the address, P2 0 read / 1 write, P3 the
 * faulting instruction.
 *
 * Invariants: a slot describes one mapping; Map is published last on
 * allocation (release) and cleared first on unmapping, so the fault handler
 * reads slots without the lock and never follows a pointer into them. The
 * lock guards the slot allocator, the hash of block addresses (VfpBuckets,
 * chained through the slots) and the quarantine ring.
 */
#include "vf/vf.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>

#define VFP_SP_PAGE 4096u
#define VFP_SP_SLOTS 65536u
#define VFP_SP_QUARANTINE 4096u
#define VFP_SP_BUCKETS 16384u

enum { VFP_SP_LIVE = 1, VFP_SP_FREED = 2 };

typedef struct VFP_SP_SLOT {
    _Atomic uintptr_t Map; /* 0: slot unused */
    size_t Length;         /* mapped bytes, the guard page excluded */
    uintptr_t End;         /* end of the block */
    _Atomic int State;
    uintptr_t Base; /* the block, as returned */
    ULONG HashNext; /* slot + 1 of the next block in the bucket, 0 at the end */
} VFP_SP_SLOT;

static ULONG VfpBuckets[VFP_SP_BUCKETS]; /* slot + 1, 0 for none */

static VFP_SP_SLOT VfpSlots[VFP_SP_SLOTS];
static ULONG VfpFreeSlots[VFP_SP_SLOTS];
static size_t VfpFreeSlotCount;
static ULONG VfpNextSlot;
static ULONG VfpQuarantined[VFP_SP_QUARANTINE];
static size_t VfpQuarantineHead, VfpQuarantineCount;
static pthread_mutex_t VfpSpLock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool VfpSpUsed;

static ULONG *VfpBucket(uintptr_t Base)
{
    return &VfpBuckets[(Base >> 4) * 0x9E3779B97F4A7C15ull >> 50 & (VFP_SP_BUCKETS - 1)];
}

static void VfpUnmapSlotLocked(ULONG Slot)
{
    VFP_SP_SLOT *s = &VfpSlots[Slot];
    ULONG *link = VfpBucket(s->Base);
    while (*link != Slot + 1)
        link = &VfpSlots[*link - 1].HashNext;
    *link = s->HashNext;
    uintptr_t map = atomic_exchange(&s->Map, 0);
    munmap((void *)map, s->Length + VFP_SP_PAGE);
    VfpFreeSlots[VfpFreeSlotCount++] = Slot;
}

void *VfpSpecialPoolAllocate(size_t Size, size_t Align)
{
    size_t length = (Size + 15 + VFP_SP_PAGE - 1) & ~(size_t)(VFP_SP_PAGE - 1);
    if (!length)
        length = VFP_SP_PAGE;
    uint8_t *map = mmap(NULL, length + VFP_SP_PAGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map + length, VFP_SP_PAGE, PROT_NONE)) {
        munmap(map, length + VFP_SP_PAGE);
        return NULL;
    }
    uint8_t *base = Align >= VFP_SP_PAGE ? map : map + length - ((Size + 15) & ~(size_t)15);

    pthread_mutex_lock(&VfpSpLock);
    ULONG slot;
    if (VfpFreeSlotCount) {
        slot = VfpFreeSlots[--VfpFreeSlotCount];
    } else if (VfpNextSlot < VFP_SP_SLOTS) {
        slot = VfpNextSlot++;
    } else {
        pthread_mutex_unlock(&VfpSpLock);
        munmap(map, length + VFP_SP_PAGE);
        return NULL; /* the caller falls back to ordinary pool */
    }
    VFP_SP_SLOT *s = &VfpSlots[slot];
    s->Length = length;
    s->End = (uintptr_t)base + Size;
    s->Base = (uintptr_t)base;
    ULONG *bucket = VfpBucket(s->Base);
    s->HashNext = *bucket;
    *bucket = slot + 1;
    atomic_store(&s->State, VFP_SP_LIVE);
    atomic_store_explicit(&s->Map, (uintptr_t)map, memory_order_release);
    pthread_mutex_unlock(&VfpSpLock);

    atomic_store(&VfpSpUsed, true);
    return base;
}

bool VfpSpecialPoolFree(void *Base)
{
    if (!atomic_load_explicit(&VfpSpUsed, memory_order_relaxed))
        return false;
    uintptr_t b = (uintptr_t)Base;
    pthread_mutex_lock(&VfpSpLock);
    bool found = false;
    for (ULONG link = *VfpBucket(b); link && !found; link = VfpSlots[link - 1].HashNext) {
        ULONG i = link - 1;
        VFP_SP_SLOT *s = &VfpSlots[i];
        uintptr_t map = atomic_load(&s->Map);
        if (s->Base != b || atomic_load(&s->State) != VFP_SP_LIVE)
            continue;
        found = true;
        mprotect((void *)map, s->Length, PROT_NONE);
        atomic_store(&s->State, VFP_SP_FREED);
        if (VfpQuarantineCount == VFP_SP_QUARANTINE) {
            VfpUnmapSlotLocked(VfpQuarantined[VfpQuarantineHead]);
            VfpQuarantineHead = (VfpQuarantineHead + 1) % VFP_SP_QUARANTINE;
            VfpQuarantineCount--;
        }
        VfpQuarantined[(VfpQuarantineHead + VfpQuarantineCount++) % VFP_SP_QUARANTINE] = i;
    }
    pthread_mutex_unlock(&VfpSpLock);
    return found;
}

void VfpSpecialPoolFault(ULONG_PTR Address, ULONG_PTR Access, ULONG_PTR Rip, const void *Uc)
{
    if (!atomic_load_explicit(&VfpSpUsed, memory_order_relaxed))
        return;
    ULONG n = __atomic_load_n(&VfpNextSlot, __ATOMIC_ACQUIRE);
    for (ULONG i = 0; i < n; i++) {
        VFP_SP_SLOT *s = &VfpSlots[i];
        uintptr_t map = atomic_load_explicit(&s->Map, memory_order_acquire);
        if (!map || Address < map || Address >= map + s->Length + VFP_SP_PAGE)
            continue;
        bool driver = LdrFindImageByAddress((const void *)Rip) != NULL;
        int state = atomic_load(&s->State);
        ULONG code;
        if (state == VFP_SP_FREED)
            code = driver ? 0xD5 : 0xCC;
        else if (Address >= s->End)
            code = driver ? 0xD6 : 0xCD;
        else
            return; /* inside a live block: not the special pool's fault */
        KiBugCheckWithContext(code, Address, Access & 1, Rip, 0, Uc);
    }
}
