/* Injected failures of host resources (inject.c). */
#ifndef KM_HAL_INJECT_H
#define KM_HAL_INJECT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct KM_FAULT_INJECTION {
    const char *Name; /* "POOL" reads KMHOST_POOL_FAIL_RATE and _SEED */
    _Atomic int Ready;
    double Rate;
    _Atomic uint64_t State;
} KM_FAULT_INJECTION;

#define KM_FAULT_INJECTION_INIT(name)                                                              \
    {                                                                                              \
        .Name = (name)                                                                             \
    }

/* True when this request should fail. */
bool km_inject_failure(KM_FAULT_INJECTION *F);

#endif
