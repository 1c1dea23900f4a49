/*
 * The native equivalents: for each kmhost figure, the best plain-Linux way
 * to do the same thing, with the same counts and loop shapes as the
 * drivers in bench/drivers/. Each function returns the median of KB_RUNS
 * timed runs after one warm-up run, in ns per operation.
 *
 *   event          three-state futex word (0 clear, 1 set, 2 clear with a
 *                  sleeper): set wakes only when someone sleeps, as
 *                  KeSetEvent makes no system call without a waiter; a
 *                  waiter spins a while first, as a kmhost wait does; the
 *                  ping-pong's two words on one cache line
 *   WaitAny        a 64-bit word of pending objects plus one such event: the
 *                  waiter claims the lowest pending bit (poll()-style)
 *   mutex          a FIFO ticket lock on futex words that spins a while
 *                  before it sleeps: hands off, as KMUTEX; both sides count
 *                  the acquisitions that were hand-offs
 *   reference      no target, shown under the figure it explains: WaitAny
 *                  over 64 event words on separate cache lines
 *   semaphore      sem_t
 *   wake 1000      FUTEX_WAKE of every waiter on one generation word
 *   spin lock      pthread_spin_lock + pthread_spin_unlock (the driver calls
 *                  exported routines too)
 *   reference      two atomic read-modify-writes (lock xadd) on a counter
 *   IRQL, time     plain loads (and stores) of volatile memory
 */
#include "kmbench.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Same counts as the drivers. */
enum {
    TRIPS = 2000,       /* pingpong.c, waits.c */
    LIFECYCLES = 200,   /* pingpong.c */
    HANDOFFS = 20000,   /* waits.c: per thread */
    ITEMS = 50000,      /* waits.c */
    SLOTS = 16,         /* waits.c */
    WAITERS = 1000,     /* waits.c, memory.c */
    PAIRS = 1000000,    /* locks.c */
    TARGET_NS = 5000000 /* locks.c: one inline run lasts about 5 ms */
};

static int futex(atomic_int *Word, int Op, int Value)
{
    return (int)syscall(SYS_futex, Word, Op, Value, NULL, NULL, 0);
}

static double median_of_runs(double *Ns)
{
    return kb_median(Ns + 1, KB_RUNS); /* [0] is the warm-up */
}

/* ---- auto-reset event on one futex word ---- */

static void event_set(atomic_int *E)
{
    if (atomic_exchange_explicit(E, 1, memory_order_release) == 2)
        futex(E, FUTEX_WAKE_PRIVATE, 1);
}

/* A waiter spins this many pauses (about 50 us) before it sleeps, the most
   a kmhost wait spins (its budget adapts up to that): the best plain-Linux
   way to wait for another CPU that answers fast, and long enough to outlast
   a sleeping partner's wake-up on a virtual machine (20-45 us here), so that
   two threads answering each other do not both end up asleep for good. */
enum { WAIT_SPINS = 2048 };

/* No spinning when the process may run on one CPU only (kmhost's waits do
   the same): nobody else could answer meanwhile. Set by kb_probe from the
   process's affinity, before any thread is bound to a CPU. */
static int wait_spin_limit = WAIT_SPINS;

/* One waiter per event: consumes the signal, as a satisfied wait on a
   SynchronizationEvent does. */
static void event_wait(atomic_int *E)
{
    for (int spins = 0, limit = wait_spin_limit; spins < limit; spins++) {
        int c = 1;
        if (atomic_load_explicit(E, memory_order_relaxed) == 1 &&
            atomic_compare_exchange_strong_explicit(E, &c, 0, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
        __builtin_ia32_pause();
    }
    for (;;) {
        int c = 1;
        if (atomic_compare_exchange_strong_explicit(E, &c, 0, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
        if (c == 0) {
            if (!atomic_compare_exchange_strong(E, &c, 2))
                continue; /* set meanwhile */
        }
        futex(E, FUTEX_WAIT_PRIVATE, 2);
    }
}

static int start_thread(pthread_t *T, void *(*Fn)(void *), void *Arg, int Cpu)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (Cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(Cpu, &set);
        pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    }
    int rc = pthread_create(T, &attr, Fn, Arg);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        fprintf(stderr, "kmbench: pthread_create: %s\n", strerror(rc));
    return rc;
}

/* The CPU of seat Seat (modulo their number) among those this process
   may use, or -1 when it may use only one: the native side of
   KbBindToProcessor, so that the two threads of a two-CPU figure run on
   two CPUs here too. */
static int cpu_for_seat(int Seat)
{
    cpu_set_t set;
    int cpus[CPU_SETSIZE], n = 0;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set))
            cpus[n++] = cpu;
    return n >= 2 ? cpus[Seat % n] : -1;
}

/* Binds the calling thread to seat Seat's CPU, saving its affinity in Old;
   unbind() puts it back. */
static void bind_self(int Seat, cpu_set_t *Old)
{
    int cpu = cpu_for_seat(Seat);
    pthread_getaffinity_np(pthread_self(), sizeof(*Old), Old);
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
}

static void unbind(const cpu_set_t *Old)
{
    pthread_setaffinity_np(pthread_self(), sizeof(*Old), Old);
}

/* Two threads meet before a figure, both awake (KbMeet in kbench.h). */
static atomic_int meet_arrived;

static void meet(void)
{
    atomic_fetch_add(&meet_arrived, 1);
    while (atomic_load(&meet_arrived) < 2)
        __builtin_ia32_pause();
}

/* ---- event ping-pong ---- */

/* Both words on one cache line: this protocol's best layout (a set and a
   take are one instruction each, so one line moving is all a hand-off
   costs; on lines of their own the trip took 79-116 ns against 67-69 where
   a line moves in about 35 ns, about the same where it moves in 220). */
static struct {
    atomic_int ping, pong;
} __attribute__((aligned(64))) pp;
static double pingpong_ns[KB_RUNS + 1];

static void *ponger(void *Arg)
{
    (void)Arg;
    meet();
    for (long i = 0; i < (long)(KB_RUNS + 1) * TRIPS; i++) {
        event_wait(&pp.ping);
        event_set(&pp.pong);
    }
    return NULL;
}

static void *pinger(void *Arg)
{
    (void)Arg;
    meet();
    for (int run = 0; run <= KB_RUNS; run++) {
        double start = kb_now_ns();
        for (int i = 0; i < TRIPS; i++) {
            event_set(&pp.ping);
            event_wait(&pp.pong);
        }
        pingpong_ns[run] = (kb_now_ns() - start) / TRIPS;
    }
    return NULL;
}

double kb_native_pingpong(int Cpu)
{
    pthread_t a, b;
    atomic_store(&pp.ping, 0);
    atomic_store(&pp.pong, 0);
    atomic_store(&meet_arrived, 0);
    if (start_thread(&a, ponger, NULL, Cpu >= 0 ? Cpu : cpu_for_seat(0)))
        return -1;
    if (start_thread(&b, pinger, NULL, Cpu >= 0 ? Cpu : cpu_for_seat(1))) {
        meet();
        for (long i = 0; i < (long)(KB_RUNS + 1) * TRIPS; i++) {
            event_set(&pp.ping);
            event_wait(&pp.pong);
        }
        pthread_join(a, NULL);
        return -1;
    }
    pthread_join(b, NULL);
    pthread_join(a, NULL);
    return median_of_runs(pingpong_ns);
}

/* ---- thread lifecycle ---- */

static void *empty(void *Arg)
{
    return Arg;
}

double kb_native_lifecycle(void)
{
    double ns[KB_RUNS + 1];
    for (int run = 0; run <= KB_RUNS; run++) {
        double start = kb_now_ns();
        for (int i = 0; i < LIFECYCLES; i++) {
            pthread_t t;
            if (start_thread(&t, empty, NULL, -1))
                return -1;
            pthread_join(t, NULL);
        }
        ns[run] = (kb_now_ns() - start) / LIFECYCLES;
    }
    return median_of_runs(ns);
}

/* ---- WaitAny ---- */

/* The pending bits, the waiter's event and the acknowledgement on one cache
   line: the best layout for this protocol (a claim and the acknowledgement
   then move one line). */
static struct {
    _Atomic uint64_t pending; /* bit i: object i signalled */
    atomic_int event, ack;
} __attribute__((aligned(64))) any_words;
static int any_count;

/* The reference beside it (kmbench's "vs" rows, no target): what waiting on
   independent objects costs natively, each an auto-reset event word on a
   cache line of its own (as the driver lays out its KEVENTs), the waiter
   scanning them for the lowest signalled one and claiming it, and sleeping
   on its event between signals. */
typedef struct line_object {
    _Alignas(64) atomic_int state;
} line_object;
static line_object any_objects[64];
static int any_separate; /* any_wait and any_set use any_objects */

static int any_claim_separate(void)
{
    for (int i = 0; i < any_count; i++)
        if (atomic_load_explicit(&any_objects[i].state, memory_order_relaxed) &&
            atomic_exchange_explicit(&any_objects[i].state, 0, memory_order_acquire))
            return i;
    return -1;
}

static atomic_int any_wrong;

static int any_wait(void)
{
    for (;;) {
        if (any_separate) {
            int index = any_claim_separate();
            if (index >= 0)
                return index;
            event_wait(&any_words.event);
            continue;
        }
        uint64_t m = atomic_load_explicit(&any_words.pending, memory_order_acquire);
        if (m) {
            uint64_t bit = m & -m;
            if (atomic_fetch_and(&any_words.pending, ~bit) & bit)
                return __builtin_ctzll(bit);
            continue;
        }
        event_wait(&any_words.event);
    }
}

static void any_set(int Index)
{
    if (any_separate)
        atomic_store_explicit(&any_objects[Index].state, 1, memory_order_release);
    else
        atomic_fetch_or(&any_words.pending, (uint64_t)1 << Index);
    event_set(&any_words.event);
}

static void *any_waiter(void *Arg)
{
    (void)Arg;
    meet();
    for (long i = 0; i < (long)(KB_RUNS + 1) * TRIPS; i++) {
        if (any_wait() != (int)((i * 7) % any_count))
            atomic_fetch_add(&any_wrong, 1);
        event_set(&any_words.ack);
    }
    return NULL;
}

double kb_native_waitany(int Count)
{
    double ns[KB_RUNS + 1];
    pthread_t t;

    any_count = Count;
    atomic_store(&any_words.pending, 0);
    atomic_store(&any_words.event, 0);
    atomic_store(&any_words.ack, 0);
    atomic_store(&any_wrong, 0);
    atomic_store(&meet_arrived, 0);
    if (start_thread(&t, any_waiter, NULL, cpu_for_seat(0)))
        return -1;
    cpu_set_t old;
    bind_self(1, &old); /* the signaller */
    meet();
    for (int run = 0; run <= KB_RUNS; run++) {
        double start = kb_now_ns();
        for (int i = 0; i < TRIPS; i++) {
            long n = (long)run * TRIPS + i;
            any_set((int)((n * 7) % Count));
            event_wait(&any_words.ack);
        }
        ns[run] = (kb_now_ns() - start) / TRIPS;
    }
    unbind(&old);
    pthread_join(t, NULL);
    if (atomic_load(&any_wrong)) {
        fprintf(stderr, "kmbench: native WaitAny returned the wrong index\n");
        return -1;
    }
    return median_of_runs(ns);
}

double kb_native_waitany_separate(int Count)
{
    for (int i = 0; i < Count; i++)
        atomic_store(&any_objects[i].state, 0);
    any_separate = 1;
    double ns = kb_native_waitany(Count);
    any_separate = 0;
    return ns;
}

/* ---- two threads released together (KB_PAIR in kbench.h) ---- */

typedef struct pair {
    atomic_int ready, go, arrived, left;
    double start, end;
    void *(*fn)(void *);
} pair;

static pair the_pair;

static void pair_begin(void)
{
    atomic_fetch_add(&the_pair.ready, 1);
    while (!atomic_load(&the_pair.go))
        futex(&the_pair.go, FUTEX_WAIT_PRIVATE, 0);
    atomic_fetch_add(&the_pair.arrived, 1);
    while (atomic_load(&the_pair.arrived) < 2) /* the loops overlap from the start */
        __builtin_ia32_pause();
}

static void pair_end(void)
{
    double now = kb_now_ns();
    if (atomic_fetch_sub(&the_pair.left, 1) == 1)
        the_pair.end = now;
}

/* Returns the ns between releasing both threads and the last finish. */
static double pair_run(void *(*Fn)(void *), void *Arg0, void *Arg1)
{
    pthread_t t[2];
    atomic_store(&the_pair.ready, 0);
    atomic_store(&the_pair.go, 0);
    atomic_store(&the_pair.arrived, 0);
    atomic_store(&the_pair.left, 2);
    if (start_thread(&t[0], Fn, Arg0, cpu_for_seat(0)))
        return -1;
    if (start_thread(&t[1], Fn, Arg1, cpu_for_seat(1))) {
        atomic_store(&the_pair.go, 1);
        futex(&the_pair.go, FUTEX_WAKE_PRIVATE, INT_MAX);
        pthread_join(t[0], NULL);
        return -1;
    }
    while (atomic_load(&the_pair.ready) < 2)
        sched_yield();
    usleep(5000); /* both reach their futex wait, as in KbPairRun */
    the_pair.start = kb_now_ns();
    atomic_store(&the_pair.go, 1);
    futex(&the_pair.go, FUTEX_WAKE_PRIVATE, INT_MAX);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    return the_pair.end - the_pair.start;
}

/* ---- mutex: FIFO hand-off, as KMUTEX ---- */

/* A ticket lock on futex words: unlock passes the lock to the longest
   waiter, as releasing a KMUTEX satisfies the first waiter's wait. A
   pthread_mutex_t lets the releasing thread take the lock straight back.
   A waiter spins a while before it sleeps, and says so (sleepers) before it
   does: unlock makes a system call only for a sleeper, as KeReleaseMutex
   wakes only a parked waiter. With both threads on their own CPU a hand-off
   then costs cache-line transfers, not system calls (a wake call at every
   unlock would let the other thread run alone meanwhile, and measure no
   hand-off at all). */
static struct {
    _Alignas(64) atomic_int next, serving, sleepers;
    int last_owner;         /* 1 or 2: the seat of the thread that owned it last */
    volatile long count;    /* changed only by the owner */
    volatile long handoffs; /* acquisitions by the thread that did not own it last */
} ticket;                   /* one cache line, as the driver's KMUTEX and counters */

static void mutex_lock(void)
{
    int mine = atomic_fetch_add(&ticket.next, 1);
    for (int spins = 0, limit = wait_spin_limit; spins < limit; spins++) {
        if (atomic_load_explicit(&ticket.serving, memory_order_acquire) == mine)
            return;
        __builtin_ia32_pause();
    }
    atomic_fetch_add(&ticket.sleepers, 1);
    for (;;) {
        int now = atomic_load(&ticket.serving);
        if (now == mine)
            break;
        futex(&ticket.serving, FUTEX_WAIT_PRIVATE, now);
    }
    atomic_fetch_sub(&ticket.sleepers, 1);
}

static void mutex_unlock(void)
{
    atomic_fetch_add(&ticket.serving, 1);
    if (atomic_load(&ticket.sleepers))
        futex(&ticket.serving, FUTEX_WAKE_PRIVATE, INT_MAX);
}

static void *mutex_loop(void *Arg)
{
    int seat = (int)(intptr_t)Arg;
    pair_begin();
    for (int i = 0; i < HANDOFFS; i++) {
        mutex_lock();
        ticket.count++;
        if (ticket.last_owner != seat) { /* as the driver counts them */
            ticket.last_owner = seat;
            ticket.handoffs++;
        }
        mutex_unlock();
    }
    pair_end();
    return NULL;
}

static double mutex_handoff_percent = -1; /* of the last kb_native_mutex */

double kb_native_mutex(void)
{
    double ns[KB_RUNS + 1];
    long handoffs = 0; /* over the timed runs */
    ticket.last_owner = 0;
    for (int run = 0; run <= KB_RUNS; run++) {
        ticket.count = 0;
        ticket.handoffs = 0;
        double t = pair_run(mutex_loop, (void *)1, (void *)2);
        if (t < 0 || ticket.count != 2L * HANDOFFS)
            return -1;
        ns[run] = t / (2.0 * HANDOFFS);
        if (run > 0)
            handoffs += ticket.handoffs;
    }
    mutex_handoff_percent = 100.0 * (double)handoffs / (2.0 * HANDOFFS * KB_RUNS);
    return median_of_runs(ns);
}

/* The percentage of hand-offs among the acquisitions kb_native_mutex just
   measured: most, for a FIFO ticket lock (not all: a thread that unlocks
   may take its next ticket before the other thread took its own). */
static double native_mutex_handoffs(void)
{
    return mutex_handoff_percent;
}

/* ---- semaphore producer/consumer ---- */

static sem_t items, free_slots;
static unsigned buffer[SLOTS];
static volatile long sum;

static void *producer_consumer(void *Producer)
{
    pair_begin();
    for (int i = 0; i < ITEMS; i++) {
        if (Producer) {
            while (sem_wait(&free_slots) != 0)
                ;
            buffer[i % SLOTS] = 1;
            sem_post(&items);
        } else {
            while (sem_wait(&items) != 0)
                ;
            sum += buffer[i % SLOTS];
            sem_post(&free_slots);
        }
    }
    pair_end();
    return NULL;
}

double kb_native_semaphore(void)
{
    double ns[KB_RUNS + 1];
    for (int run = 0; run <= KB_RUNS; run++) {
        sem_init(&items, 0, 0);
        sem_init(&free_slots, 0, SLOTS);
        sum = 0;
        double t = pair_run(producer_consumer, (void *)1, NULL);
        sem_destroy(&items);
        sem_destroy(&free_slots);
        if (t < 0 || sum != ITEMS)
            return -1;
        ns[run] = t / ITEMS;
    }
    return median_of_runs(ns);
}

/* ---- one word waking 1000 threads ---- */

static atomic_int wake_generation, wake_ready, wake_woken;

static void *wake_waiter(void *Arg)
{
    (void)Arg;
    for (int run = 0; run <= KB_RUNS; run++) {
        atomic_fetch_add(&wake_ready, 1);
        while (atomic_load(&wake_generation) == run)
            futex(&wake_generation, FUTEX_WAIT_PRIVATE, run);
        atomic_fetch_add(&wake_woken, 1);
    }
    return NULL;
}

double kb_native_wake1000(void)
{
    double ns[KB_RUNS + 1];
    pthread_t *t = calloc(WAITERS, sizeof(*t));
    int started = 0, ok = 1;

    if (!t)
        return -1;
    atomic_store(&wake_generation, 0);
    atomic_store(&wake_ready, 0);
    atomic_store(&wake_woken, 0);
    for (; started < WAITERS; started++)
        if (start_thread(&t[started], wake_waiter, NULL, -1)) {
            ok = 0;
            break;
        }
    for (int run = 0; run <= KB_RUNS && ok; run++) {
        int target = WAITERS * (run + 1);
        while (atomic_load(&wake_ready) < target)
            usleep(1000);
        usleep(20000); /* as in waits.c */
        double start = kb_now_ns();
        atomic_store(&wake_generation, run + 1);
        futex(&wake_generation, FUTEX_WAKE_PRIVATE, INT_MAX);
        while (atomic_load(&wake_woken) < target)
            __builtin_ia32_pause();
        ns[run] = kb_now_ns() - start;
    }
    /* Whatever happened, release every started thread for good. */
    atomic_store(&wake_generation, INT_MAX);
    futex(&wake_generation, FUTEX_WAKE_PRIVATE, INT_MAX);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    return ok ? median_of_runs(ns) : -1;
}

/* ---- spin lock ---- */

/* A driver calls KeAcquireSpinLock/KeReleaseSpinLock, routines exported by
   the kernel; the native equivalent calls the C library's spin lock
   routines the same way. (An inline test-and-set pair, which no call can
   match, costs about 2.2 ns on the machine of docs/performance.md.) */
static pthread_spinlock_t spin_lock;
static volatile long spin_counter;

static void spin_init(void)
{
    pthread_spin_init(&spin_lock, PTHREAD_PROCESS_PRIVATE);
}

static double spin_loop(int Pairs)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, spin_init);
    double start = kb_now_ns();
    for (int i = 0; i < Pairs; i++) {
        pthread_spin_lock(&spin_lock);
        spin_counter++;
        pthread_spin_unlock(&spin_lock);
    }
    return kb_now_ns() - start;
}

static void *spin_thread(void *Arg)
{
    (void)Arg;
    pair_begin();
    spin_loop(PAIRS / 2);
    pair_end();
    return NULL;
}

double kb_native_spin1(void)
{
    double ns[KB_RUNS + 1];
    for (int run = 0; run <= KB_RUNS; run++)
        ns[run] = spin_loop(PAIRS) / PAIRS;
    return median_of_runs(ns);
}

double kb_native_spin2(void)
{
    double ns[KB_RUNS + 1];
    for (int run = 0; run <= KB_RUNS; run++) {
        spin_counter = 0;
        double t = pair_run(spin_thread, NULL, NULL);
        if (t < 0 || spin_counter != PAIRS)
            return -1;
        ns[run] = t / PAIRS;
    }
    return median_of_runs(ns);
}

/* ---- reference/dereference: two atomic operations ---- */

typedef struct {
    _Alignas(64) atomic_long count;
} padded_count;
static padded_count ref_counts[2];

static double ref_loop(atomic_long *Count)
{
    double start = kb_now_ns();
    for (int i = 0; i < PAIRS; i++) {
        atomic_fetch_add(Count, 1);
        atomic_fetch_sub(Count, 1);
    }
    return kb_now_ns() - start;
}

static void *ref_thread(void *Count)
{
    pair_begin();
    ref_loop(Count);
    pair_end();
    return NULL;
}

double kb_native_ref1(void)
{
    double ns[KB_RUNS + 1];
    for (int run = 0; run <= KB_RUNS; run++)
        ns[run] = ref_loop(&ref_counts[0].count) / PAIRS;
    return median_of_runs(ns);
}

double kb_native_ref2(void)
{
    double ns[KB_RUNS + 1];
    for (int run = 0; run <= KB_RUNS; run++) {
        double t = pair_run(ref_thread, &ref_counts[0].count, &ref_counts[1].count);
        if (t < 0)
            return -1;
        ns[run] = t / PAIRS;
    }
    return median_of_runs(ns);
}

/* ---- plain loads: the cost inline IRQL and shared-data reads should have ---- */

static volatile uint8_t irql_cell;
static volatile uint64_t time_cell;
static volatile uint64_t sink;

/* Times Count iterations of BODY, which folds into `acc`. */
#define TIME_LOOP(Count, BODY)                                                                     \
    ({                                                                                             \
        uint64_t acc = 0;                                                                          \
        double start_ = kb_now_ns();                                                               \
        for (long i_ = 0; i_ < (Count); i_++) {                                                    \
            BODY;                                                                                  \
        }                                                                                          \
        sink += acc;                                                                               \
        kb_now_ns() - start_;                                                                      \
    })

/* Each run lasts about TARGET_NS, as in locks.c's KBL_INLINE. */
#define INLINE_FIGURE(BODY)                                                                        \
    ({                                                                                             \
        double ns_[KB_RUNS + 1];                                                                   \
        long count_ = 1000;                                                                        \
        double probe_ = TIME_LOOP(count_, BODY);                                                   \
        while (probe_ < TARGET_NS / 10 && count_ < 100000000) {                                    \
            count_ *= 10;                                                                          \
            probe_ = TIME_LOOP(count_, BODY);                                                      \
        }                                                                                          \
        if (probe_ > 0 && probe_ < TARGET_NS)                                                      \
            count_ = (long)(count_ * (TARGET_NS / probe_));                                        \
        for (int run_ = 0; run_ <= KB_RUNS; run_++)                                                \
            ns_[run_] = TIME_LOOP(count_, BODY) / count_;                                          \
        median_of_runs(ns_);                                                                       \
    })

double kb_native_load(void)
{
    return INLINE_FIGURE(acc += irql_cell);
}

double kb_native_loadstore(void)
{
    return INLINE_FIGURE({
        uint8_t old = irql_cell;
        irql_cell = 2;
        irql_cell = old;
        acc += old;
    });
}

double kb_native_load64(void)
{
    return INLINE_FIGURE(acc += time_cell);
}

/* ---- probes: executed as `kmbench --probe NAME` ---- */

static atomic_int probe_ready, probe_stop;

static void *probe_idle(void *Arg)
{
    (void)Arg;
    atomic_fetch_add(&probe_ready, 1);
    while (!atomic_load(&probe_stop))
        futex(&probe_stop, FUTEX_WAIT_PRIVATE, 0);
    return NULL;
}

static void *probe_worker(void *Arg)
{
    printf("probe: worker %ld ran\n", (long)(intptr_t)Arg);
    return NULL;
}

/* memory.c's marks, with pthreads blocked on a futex. */
static int probe_memory(void)
{
    static pthread_t t[WAITERS];
    int started = 0;
    const int marks[] = {0, 1, WAITERS};

    for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
        for (; started < marks[m]; started++)
            if (start_thread(&t[started], probe_idle, NULL, -1))
                break;
        if (started < marks[m])
            break;
        while (atomic_load(&probe_ready) < marks[m])
            usleep(1000);
        usleep(10000);
        printf("BENCH mem_mark=%d\n", marks[m]);
        usleep(300000);
    }
    atomic_store(&probe_stop, 1);
    futex(&probe_stop, FUTEX_WAKE_PRIVATE, INT_MAX);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    return started == WAITERS ? 0 : 1;
}

/* ---- a driver's figures, natively, in a process of their own ----
   The same figures in the same order as bench_<name>.sys measures them, so
   that both sides start from a fresh process and meet the machine in the
   same state (on a virtual machine an idle virtual CPU can take tens of
   microseconds to wake, and how idle the CPUs are depends on what ran just
   before). Printed as the driver prints them: "BENCH <name>_ns=<value>". */

static double pingpong_here(void)
{
    /* Not pinned when the process may use every CPU; pinned to its CPU when
       kmbench restricted it to one (the one-CPU figure). */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1)
        return kb_native_pingpong(kb_first_cpu());
    return kb_native_pingpong(-1);
}
static double waitany3(void)
{
    return kb_native_waitany(3);
}
static double waitany64(void)
{
    return kb_native_waitany(64);
}
static double waitany3_separate(void)
{
    return kb_native_waitany_separate(3);
}
static double waitany64_separate(void)
{
    return kb_native_waitany_separate(64);
}

typedef struct group_spec {
    const char *name; /* the driver's: bench_<name>.sys */
    struct {
        const char *key; /* as the driver prints it */
        double (*measure)(void);
        const char *unit; /* the BENCH line's suffix: NULL "ns", or "pct" */
    } figs[10];
} group_spec;

static const group_spec groups[] = {
    {"pingpong", {{"pingpong", pingpong_here, NULL}, {"lifecycle", kb_native_lifecycle, NULL}}},
    {"waits",
     {{"waitany3", waitany3, NULL},
      {"waitany3_nt", waitany3_separate, NULL},
      {"waitany64", waitany64, NULL},
      {"mutex", kb_native_mutex, NULL},
      {"mutex_handoffs", native_mutex_handoffs, "pct"},
      {"semaphore", kb_native_semaphore, NULL},
      {"wake1000", kb_native_wake1000, NULL},
      {"waitany64_nt", waitany64_separate, NULL}}},
    {"locks",
     {{"irql_get", kb_native_load, NULL},
      {"irql_raise", kb_native_loadstore, NULL},
      {"systime", kb_native_load64, NULL},
      {"spin1", kb_native_spin1, NULL},
      {"spin2", kb_native_spin2, NULL},
      {"obref1", kb_native_ref1, NULL},
      {"obref2", kb_native_ref2, NULL}}},
};

static int probe_group(const group_spec *G)
{
    int failed = 0;
    for (int i = 0; i < 10 && G->figs[i].key; i++) {
        double ns = G->figs[i].measure();
        if (ns < 0) {
            printf("BENCH error: native %s failed\n", G->figs[i].key);
            failed = 1;
            continue;
        }
        printf("BENCH %s_%s=%.2f\n", G->figs[i].key, G->figs[i].unit ? G->figs[i].unit : "ns", ns);
    }
    return failed;
}

int kb_probe(const char *Name)
{
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) < 2)
        wait_spin_limit = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(Name, "entry") == 0) {
        /* The native "DriverEntry": main() of a dynamically linked program
           that then starts and joins 4 threads, as the sample does. */
        long long ticks = (long long)ts.tv_sec * 10000000LL + ts.tv_nsec / 100;
        printf("BENCH entry_qpc=%lld hz=10000000\n", ticks);
        pthread_t t[4];
        for (long i = 0; i < 4; i++)
            if (start_thread(&t[i], probe_worker, (void *)(intptr_t)i, -1))
                return 1;
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        return 0;
    }
    if (strcmp(Name, "memory") == 0)
        return probe_memory();
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (strcmp(Name, groups[i].name) == 0)
            return probe_group(&groups[i]);
    fprintf(stderr, "kmbench: unknown probe '%s' (entry, memory, pingpong, waits, locks)\n", Name);
    return 2;
}
