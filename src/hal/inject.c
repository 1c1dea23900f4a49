/*
 * Injected failures of the host's own resources, for robustness tests:
 * KMHOST_<NAME>_FAIL_RATE (a fraction between 0 and 1) makes that share of
 * requests fail, as an exhausted system would; KMHOST_<NAME>_FAIL_SEED seeds
 * the choice, so a failing run can be repeated. The variables are read once.
 */
#include "hal/inject.h"

#include <stdio.h>
#include <stdlib.h>

static void km_read_fail_rate(KM_FAULT_INJECTION *F)
{
    char name[64];
    snprintf(name, sizeof(name), "KMHOST_%s_FAIL_RATE", F->Name);
    const char *rate = getenv(name);
    if (rate && *rate) {
        char *end;
        double r = strtod(rate, &end);
        if (*end || r < 0 || r > 1)
            fprintf(stderr, "kmhost: %s=%s ignored: give a fraction between 0 and 1\n", name, rate);
        else
            F->Rate = r;
    }
    snprintf(name, sizeof(name), "KMHOST_%s_FAIL_SEED", F->Name);
    const char *seed = getenv(name);
    atomic_store(&F->State, seed && *seed ? strtoull(seed, NULL, 0) | 1 : 0x9E3779B97F4A7C15ull);
}

bool km_inject_failure(KM_FAULT_INJECTION *F)
{
    int state = atomic_load_explicit(&F->Ready, memory_order_acquire);
    if (state != 2) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&F->Ready, &expected, 1)) {
            km_read_fail_rate(F);
            atomic_store_explicit(&F->Ready, 2, memory_order_release);
        } else {
            while (atomic_load_explicit(&F->Ready, memory_order_acquire) != 2)
                ;
        }
    }
    if (F->Rate <= 0)
        return false;
    uint64_t x = atomic_load(&F->State), n;
    do { /* xorshift64 */
        n = x;
        n ^= n << 13;
        n ^= n >> 7;
        n ^= n << 17;
    } while (!atomic_compare_exchange_weak(&F->State, &x, n));
    return (double)(n >> 11) / (double)(1ull << 53) < F->Rate;
}
