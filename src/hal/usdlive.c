/*
 * The live copy of KUSER_SHARED_DATA that load-time patched code reads
 * instead of trapping on 0xFFFFF78000000000.
 *
 * One memfd page is mapped twice: read-write for the publisher, read-only for
 * drivers, so that a driver's store through a patched address faults as a
 * store to the real page would. Every field but the time fields is copied
 * once from HalpSharedDataCopy when the page is made; the time fields
 * (InterruptTime, SystemTime, TickCount, TickCountLowDeprecated) are copied
 * by HalpPublishSharedData, which a host thread calls every 500 us. That
 * thread runs no driver code (it has no KPCR) and blocks every signal.
 *
 * Invariants: publishers are serialised by HalpLiveLock (a caller that finds
 * it held skips, the holder's copy being at least as recent), and the source
 * only moves forward (HalpRefreshSharedData), so the page never goes back in
 * time. A KSYSTEM_TIME is written High2Time first, then LowPart and High1Time
 * together in one 8-byte store (within one cache line, which x86 performs
 * atomically): a reader that reads High1Time, LowPart, High2Time and finds the
 * high parts equal has a consistent value, as Windows documents, and the
 * 8-byte reads that mingw-w64's inline KeQuerySystemTime/KeQueryInterruptTime/
 * KeQueryTickCount do are never torn either.
 *
 * The page is MAP_SHARED: a forked child (kmhost does not fork) sees the
 * parent's thread keep it current, and starts no thread of its own.
 */
#include "hal/hal.h"
#include "ldr/patch.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HALP_LIVE_SIZE 4096u
#define HALP_LIVE_PERIOD_NS 500000L
#define HALP_READ_TRIES 64

static const ULONG HalpTimeFields[] = {KM_USD_INTERRUPT_TIME, KM_USD_SYSTEM_TIME,
                                       KM_USD_TICK_COUNT};

static pthread_once_t HalpLiveOnce = PTHREAD_ONCE_INIT;
static UCHAR *HalpLiveWrite;               /* set once, before the thread starts */
static const volatile UCHAR *HalpLiveRead; /* NULL: no live copy */
static int HalpLiveLock;

/* One consistent KSYSTEM_TIME from the source page; FALSE when a writer kept
   it changing (then this round is skipped, never waited for). */
static BOOLEAN HalpReadTime(const volatile UCHAR *Page, ULONG Offset, ULONG *Low, LONG *High)
{
    const volatile ULONG *low = (const volatile ULONG *)(Page + Offset);
    const volatile LONG *high1 = (const volatile LONG *)(Page + Offset + 4);
    const volatile LONG *high2 = (const volatile LONG *)(Page + Offset + 8);
    for (int i = 0; i < HALP_READ_TRIES; i++) {
        LONG h1 = __atomic_load_n(high1, __ATOMIC_ACQUIRE);
        ULONG l = __atomic_load_n(low, __ATOMIC_ACQUIRE);
        LONG h2 = __atomic_load_n(high2, __ATOMIC_ACQUIRE);
        if (h1 == h2) {
            *Low = l;
            *High = h1;
            return TRUE;
        }
    }
    return FALSE;
}

static void HalpWriteTime(UCHAR *Page, ULONG Offset, ULONG Low, LONG High)
{
    ULONG64 both = (ULONG64)Low | ((ULONG64)(ULONG)High << 32);
    __atomic_store_n((LONG *)(Page + Offset + 8), High, __ATOMIC_RELEASE);
    /* SystemTime's LowPart is only 4-byte aligned, hence the asm store. */
    __asm__ volatile("movq %1, (%0)" : : "r"(Page + Offset), "r"(both) : "memory");
}

void HalpPublishSharedData(void)
{
    UCHAR *page = __atomic_load_n(&HalpLiveWrite, __ATOMIC_ACQUIRE);
    if (!page || __atomic_exchange_n(&HalpLiveLock, 1, __ATOMIC_ACQUIRE))
        return;
    const volatile UCHAR *src = HalpSharedDataCopy();
    for (size_t i = 0; i < KM_ARRAY_SIZE(HalpTimeFields); i++) {
        ULONG low;
        LONG high;
        if (HalpReadTime(src, HalpTimeFields[i], &low, &high))
            HalpWriteTime(page, HalpTimeFields[i], low, high);
    }
    __atomic_store_n((ULONG *)page, __atomic_load_n((const volatile ULONG *)src, __ATOMIC_RELAXED),
                     __ATOMIC_RELEASE);
    __atomic_store_n(&HalpLiveLock, 0, __ATOMIC_RELEASE);
}

static void *HalpLiveThread(void *Arg)
{
    struct timespec next;
    (void)Arg;
    HalSetCurrentPcr(NULL);
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        next.tv_nsec += HALP_LIVE_PERIOD_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
            ;
        HalpRefreshSharedData();
        HalpPublishSharedData();
        /* After a long stall (a stopped process), restart the schedule from
           now rather than catching up with a burst. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + 1)
            next = now;
    }
    return NULL;
}

static void HalpStartLive(void)
{
    HalInitSystem();
    int fd = memfd_create("kmhost-kuser-shared-data", MFD_CLOEXEC);
    if (fd < 0)
        return;
    void *rw = MAP_FAILED, *ro = MAP_FAILED;
    if (ftruncate(fd, HALP_LIVE_SIZE) == 0) {
        rw = mmap(NULL, HALP_LIVE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ro = mmap(NULL, HALP_LIVE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    }
    close(fd);
    if (rw == MAP_FAILED || ro == MAP_FAILED) {
        if (rw != MAP_FAILED)
            munmap(rw, HALP_LIVE_SIZE);
        if (ro != MAP_FAILED)
            munmap(ro, HALP_LIVE_SIZE);
        return;
    }
    HalpRefreshSharedData();
    const volatile UCHAR *src = HalpSharedDataCopy();
    for (size_t i = 0; i < HALP_LIVE_SIZE; i++)
        ((UCHAR *)rw)[i] = src[i];
    __atomic_store_n(&HalpLiveWrite, (UCHAR *)rw, __ATOMIC_RELEASE);
    HalpPublishSharedData();

    /* The thread inherits a full signal mask: signals meant for the process
       go to the threads that handle them, never to this one. */
    sigset_t all, old;
    pthread_attr_t attr;
    pthread_t thread;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int err = pthread_create(&thread, &attr, HalpLiveThread, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err == 0)
        __atomic_store_n(&HalpLiveRead, (const volatile UCHAR *)ro, __ATOMIC_RELEASE);
}

const volatile void *HalpSharedDataLive(void)
{
    pthread_once(&HalpLiveOnce, HalpStartLive);
    return __atomic_load_n(&HalpLiveRead, __ATOMIC_ACQUIRE);
}
