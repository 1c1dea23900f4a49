/*
 * Host threads and their stacks.
 *
 * Faults in driver code are handled on an alternate signal stack, so that a
 * stack overflow can still be reported, and the fault handler needs the
 * thread's stack bounds to recognise one.
 *
 * A system thread runs on a thread block that kmhost maps for it, in one
 * mapping:
 *
 *     [KPCR][guard][alternate signal stack][guard][stack ............]
 *
 * so its start needs no mapping, no stack-bounds query and no allocation of
 * its KPCR, and its end no unmapping: a block of an ended thread is kept and
 * given to the next thread once the host thread that used it has ended
 * (pthread_tryjoin_np). Other host threads that run driver code (the initial
 * thread, tests) call HalInitThreadSignalStack/HalFreeThreadSignalStack.
 *
 * Invariants:
 *  - A started block is on HalpLive until its thread retires it (its last
 *    act), then on HalpRetired until a new thread takes it; a block is
 *    handed out again only after pthread_tryjoin_np reports its previous
 *    host thread ended, so no thread ever runs on a stack another thread may
 *    still use. Both lists, and HalpExiting, are under HalpBlockLock.
 *  - Host threads are joinable; each is joined exactly once: when its block
 *    is taken again or unmapped, or at exit (HalpJoinRetired, which detaches
 *    the ones still running instead).
 *  - HalpAltStack is the alternate stack this thread installed, and
 *    HalpPrevAltStack what was installed before (a sanitizer runtime
 *    installs its own per thread and unmaps whatever is installed when the
 *    thread ends, so that one is put back first).
 *  - HalpStackLow/High bound this thread's stack; read by the fault handler
 *    on the same thread only.
 */
#include "hal/hal.h"
#include "hal/trap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Large enough for decoding, snprintf-based reports and a sanitizer's own
   handler if it is chained. A guard page sits below it. */
#define HALP_ALTSTACK_SIZE (256 * 1024)
#define HALP_THREAD_STACK_SIZE (1024 * 1024)
#define HALP_PAGE 4096
/* Offsets in a thread block. */
#define HALP_BLOCK_ALTSTACK (2 * HALP_PAGE)
#define HALP_BLOCK_STACK (HALP_BLOCK_ALTSTACK + HALP_ALTSTACK_SIZE + HALP_PAGE)
#define HALP_BLOCK_SIZE (HALP_BLOCK_STACK + HALP_THREAD_STACK_SIZE)
/* Blocks of ended threads kept for reuse; more are unmapped. Their stacks
   keep the pages their threads touched (no madvise at exit, which would
   cost every thread a system call), so few are kept: a thread that creates
   and joins threads in a loop needs two or three. */
#define HALP_RETIRED_MAX 16

struct _HAL_THREAD_BLOCK {
    char *Map; /* HALP_BLOCK_SIZE bytes; the KPCR is its first page */
    pthread_t Thread;
    struct _HAL_THREAD_BLOCK *Next;             /* on HalpRetired */
    struct _HAL_THREAD_BLOCK *Live, **LivePrev; /* on HalpLive while its thread runs */
};

static pthread_mutex_t HalpBlockLock = PTHREAD_MUTEX_INITIALIZER;
static HAL_THREAD_BLOCK *HalpRetired, **HalpRetiredTail = &HalpRetired;
static unsigned HalpRetiredCount;
static HAL_THREAD_BLOCK *HalpLive; /* started, not yet retired */
static BOOLEAN HalpExiting;        /* the process is exiting: threads are detached */

static __thread void *HalpAltStack;
static __thread BOOLEAN HalpAltStackMapped; /* by HalInitThreadSignalStack */
static __thread stack_t HalpPrevAltStack;
static __thread uintptr_t HalpStackLow, HalpStackHigh;

static BOOLEAN HalpInstallAltStack(void *Stack)
{
    stack_t ss = {.ss_sp = Stack, .ss_size = HALP_ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, &HalpPrevAltStack) != 0)
        return FALSE;
    HalpAltStack = Stack;
    return TRUE;
}

/* Puts back what was installed before HalpInstallAltStack, when something
   was: a sanitizer unmaps the installed stack at thread end. With nothing
   before, the kernel forgets ours with the thread. */
static void HalpRestoreAltStack(BOOLEAN Always)
{
    if (!HalpAltStack)
        return;
    stack_t prev = HalpPrevAltStack;
    if (prev.ss_sp == NULL)
        prev.ss_flags = SS_DISABLE;
    if (Always || HalpPrevAltStack.ss_sp)
        sigaltstack(&prev, NULL);
    HalpAltStack = NULL;
    HalpStackLow = HalpStackHigh = 0;
}

void HalInitThreadSignalStack(void)
{
    if (HalpAltStack)
        return;
    char *map = mmap(NULL, HALP_ALTSTACK_SIZE + HALP_PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return;
    mprotect(map, HALP_PAGE, PROT_NONE);
    if (!HalpInstallAltStack(map + HALP_PAGE)) {
        munmap(map, HALP_ALTSTACK_SIZE + HALP_PAGE);
        return;
    }
    HalpAltStackMapped = TRUE;

    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            HalpStackLow = (uintptr_t)addr;
            HalpStackHigh = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
}

void HalFreeThreadSignalStack(void)
{
    if (!HalpAltStack || !HalpAltStackMapped)
        return;
    char *map = (char *)HalpAltStack - HALP_PAGE;
    HalpRestoreAltStack(TRUE);
    HalpAltStackMapped = FALSE;
    munmap(map, HALP_ALTSTACK_SIZE + HALP_PAGE);
}

BOOLEAN HalpThreadStackBounds(uintptr_t *Low, uintptr_t *High)
{
    if (!HalpStackHigh)
        return FALSE;
    *Low = HalpStackLow;
    *High = HalpStackHigh;
    return TRUE;
}

/* ---- Thread blocks ---- */

void HalFreeThreadBlock(HAL_THREAD_BLOCK *Block)
{
    munmap(Block->Map, HALP_BLOCK_SIZE);
    free(Block);
}

/* The oldest retired block whose host thread has ended, taken off the list;
   NULL when there is none. Called with HalpBlockLock held. */
static HAL_THREAD_BLOCK *HalpTakeReapedBlock(void)
{
    HAL_THREAD_BLOCK *b = HalpRetired;
    if (!b || HalpExiting || pthread_tryjoin_np(b->Thread, NULL) != 0)
        return NULL;
    HalpRetired = b->Next;
    if (!HalpRetired)
        HalpRetiredTail = &HalpRetired;
    HalpRetiredCount--;
    return b;
}

/* At exit, the retired threads are joined (they have ended or are ending)
   and the running ones detached: a joinable thread that ends and is never
   joined is a leak (ThreadSanitizer reports it). */
static void HalpJoinRetired(void)
{
    pthread_mutex_lock(&HalpBlockLock);
    HalpExiting = TRUE;
    for (HAL_THREAD_BLOCK *b = HalpRetired; b; b = b->Next)
        pthread_join(b->Thread, NULL);
    for (HAL_THREAD_BLOCK *b = HalpLive; b; b = b->Live)
        pthread_detach(b->Thread);
    /* The lists stay as they are (their blocks are not reused any more). */
    pthread_mutex_unlock(&HalpBlockLock);
}

static void HalpRegisterJoinAtExit(void)
{
    atexit(HalpJoinRetired);
}

HAL_THREAD_BLOCK *HalAllocateThreadBlock(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, HalpRegisterJoinAtExit);
    pthread_mutex_lock(&HalpBlockLock);
    HAL_THREAD_BLOCK *b = HalpTakeReapedBlock();
    pthread_mutex_unlock(&HalpBlockLock);
    if (!b) {
        b = calloc(1, sizeof(*b));
        if (!b)
            return NULL;
        b->Map = mmap(NULL, HALP_BLOCK_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (b->Map == MAP_FAILED) {
            free(b);
            return NULL;
        }
        if (mprotect(b->Map + HALP_PAGE, HALP_PAGE, PROT_NONE) != 0 ||
            mprotect(b->Map + HALP_BLOCK_STACK - HALP_PAGE, HALP_PAGE, PROT_NONE) != 0) {
            HalFreeThreadBlock(b);
            return NULL;
        }
        return b; /* fresh pages are zero */
    }
    memset(b->Map, 0, sizeof(KPCR));
    return b;
}

KPCR *HalThreadBlockPcr(HAL_THREAD_BLOCK *Block)
{
    _Static_assert(sizeof(KPCR) == HALP_PAGE, "the KPCR is the block's first page");
    return (KPCR *)Block->Map;
}

int HalStartThreadBlock(HAL_THREAD_BLOCK *Block, void *(*Start)(void *), void *Arg)
{
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err == 0)
        err = pthread_attr_setstack(&attr, Block->Map + HALP_BLOCK_STACK, HALP_THREAD_STACK_SIZE);
    /* A thread bound to some processors (KeSetSystemAffinityThreadEx) starts
       its children on all of them, as their own affinity says. */
    const void *set;
    size_t setsize;
    if (err == 0 && HalpThreadIsBound(&set, &setsize))
        err = pthread_attr_setaffinity_np(&attr, setsize, set);
    /* Linked before the thread can retire it; the lock also orders the
       write of Block->Thread before any reader. */
    pthread_mutex_lock(&HalpBlockLock);
    if (err == 0)
        err = pthread_create(&Block->Thread, &attr, Start, Arg);
    if (err == 0 && HalpExiting) {
        pthread_detach(Block->Thread);
        Block->LivePrev = NULL;
    } else if (err == 0) {
        Block->Live = HalpLive;
        Block->LivePrev = &HalpLive;
        if (HalpLive)
            HalpLive->LivePrev = &Block->Live;
        HalpLive = Block;
    }
    pthread_mutex_unlock(&HalpBlockLock);
    pthread_attr_destroy(&attr);
    if (err)
        HalFreeThreadBlock(Block);
    return err;
}

void HalEnterThreadBlock(HAL_THREAD_BLOCK *Block)
{
    HalpInstallAltStack(Block->Map + HALP_BLOCK_ALTSTACK);
    HalpStackLow = (uintptr_t)Block->Map + HALP_BLOCK_STACK;
    HalpStackHigh = (uintptr_t)Block->Map + HALP_BLOCK_SIZE;
    HalSetCurrentPcr(HalThreadBlockPcr(Block));
}

void HalRetireThreadBlock(HAL_THREAD_BLOCK *Block)
{
    HAL_THREAD_BLOCK *drop[4];
    unsigned dropped = 0;

    HalSetCurrentPcr(NULL);
    HalpRestoreAltStack(FALSE);
    pthread_mutex_lock(&HalpBlockLock);
    if (HalpExiting) { /* detached: its block goes with the process */
        pthread_mutex_unlock(&HalpBlockLock);
        return;
    }
    *Block->LivePrev = Block->Live;
    if (Block->Live)
        Block->Live->LivePrev = Block->LivePrev;
    Block->Next = NULL;
    *HalpRetiredTail = Block;
    HalpRetiredTail = &Block->Next;
    HalpRetiredCount++;
    /* Over the limit: unmap the oldest whose threads have ended (not this
       one, which still runs on its block). */
    while (HalpRetiredCount > HALP_RETIRED_MAX && dropped < KM_ARRAY_SIZE(drop)) {
        HAL_THREAD_BLOCK *b = HalpTakeReapedBlock();
        if (!b)
            break;
        drop[dropped++] = b;
    }
    pthread_mutex_unlock(&HalpBlockLock);
    while (dropped)
        HalFreeThreadBlock(drop[--dropped]);
}
