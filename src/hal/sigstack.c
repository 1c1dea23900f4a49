/*
 * Per-thread alternate signal stacks and stack bounds.
 *
 * Faults in driver code are handled on an alternate stack, so that a stack
 * overflow can still be reported. Invariants: a thread's HalpAltStack is the
 * mapping it installed (NULL when none), and HalpPrevAltStack is what was
 * installed before (a sanitizer runtime installs its own per thread), which
 * HalFreeThreadSignalStack restores. HalpStackLow/High bound the thread's
 * own stack as pthread reports it, and are read by the fault handler on the
 * same thread only.
 */
#include "hal/hal.h"
#include "hal/trap.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

/* Large enough for decoding, snprintf-based reports and a sanitizer's own
   handler if it is chained. A guard page sits below it. */
#define HALP_ALTSTACK_SIZE (256 * 1024)

/* Stacks of ended threads, kept for the next ones: a thread's start and end
   then cost no mmap, mprotect or munmap (system threads come and go often). */
#define HALP_STACK_CACHE 64
static pthread_mutex_t HalpStackCacheLock = PTHREAD_MUTEX_INITIALIZER;
static void *HalpStackCache[HALP_STACK_CACHE];
static unsigned HalpStackCacheCount;

static __thread void *HalpAltStack;
static __thread stack_t HalpPrevAltStack;
static __thread uintptr_t HalpStackLow, HalpStackHigh;

void HalInitThreadSignalStack(void)
{
    if (HalpAltStack)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *map = NULL;
    pthread_mutex_lock(&HalpStackCacheLock);
    if (HalpStackCacheCount)
        map = HalpStackCache[--HalpStackCacheCount];
    pthread_mutex_unlock(&HalpStackCacheLock);
    if (!map) {
        map = mmap(NULL, HALP_ALTSTACK_SIZE + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (map == MAP_FAILED)
            return;
        mprotect(map, page, PROT_NONE);
    }
    stack_t ss = {.ss_sp = (char *)map + page, .ss_size = HALP_ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, &HalpPrevAltStack) != 0) {
        munmap(map, HALP_ALTSTACK_SIZE + page);
        return;
    }
    HalpAltStack = map;

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
    if (!HalpAltStack)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    stack_t prev = HalpPrevAltStack;
    if (prev.ss_sp == NULL)
        prev.ss_flags = SS_DISABLE;
    sigaltstack(&prev, NULL);
    pthread_mutex_lock(&HalpStackCacheLock);
    bool kept = HalpStackCacheCount < HALP_STACK_CACHE;
    if (kept)
        HalpStackCache[HalpStackCacheCount++] = HalpAltStack;
    pthread_mutex_unlock(&HalpStackCacheLock);
    if (!kept)
        munmap(HalpAltStack, HALP_ALTSTACK_SIZE + page);
    HalpAltStack = NULL;
    HalpStackLow = HalpStackHigh = 0;
}

BOOLEAN HalpThreadStackBounds(uintptr_t *Low, uintptr_t *High)
{
    if (!HalpStackHigh)
        return FALSE;
    *Low = HalpStackLow;
    *High = HalpStackHigh;
    return TRUE;
}
