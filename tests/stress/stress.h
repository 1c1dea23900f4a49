/*
 * Sizes of the stress drivers. A CI run (the default) is bounded so that each
 * driver finishes in seconds under ASan; the long mode (STRESS_LONG, the
 * drivers in long/, built but not run by CTest) has the sizes of issue 7:
 * 10,000 threads with 1,000 alive at once, a million waits and signals.
 * Run a long one with: kmhost run build/tests/stress/long/stress_long_threads.sys
 */
#ifndef KM_STRESS_H
#define KM_STRESS_H

#include "harness.h"

#ifdef STRESS_LONG
#define STRESS_THREADS_TOTAL 10000
#define STRESS_THREADS_ALIVE 1000
#define STRESS_PINGPONG 250000 /* round trips: 2 waits + 2 signals each */
#define STRESS_SEMAPHORE_ITEMS 250000
#define STRESS_MUTEX_ROUNDS 60000  /* per thread, 4 threads */
#define STRESS_HANDLE_ROUNDS 50000 /* per thread */
#else
#define STRESS_THREADS_TOTAL 2000
#define STRESS_THREADS_ALIVE 200
#define STRESS_PINGPONG 20000
#define STRESS_SEMAPHORE_ITEMS 20000
#define STRESS_MUTEX_ROUNDS 5000
#define STRESS_HANDLE_ROUNDS 3000
#endif

#endif
