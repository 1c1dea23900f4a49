/*
 * The layout probes of layout.def (and the generated status.def) against
 * kmhost's include/nt headers. Compiled by the host compiler, never run; the
 * same probes compiled against mingw-w64's DDK headers (probe_mingw.c) pin the
 * expected values to the WDK's.
 */
#include <nt/io.h>
#include <nt/ke.h>
#include <nt/ntdef.h>
#include <nt/ntstatus.h>
#include <nt/ob.h>

#include <stddef.h>

#define PROBE_SIZE(T, n) _Static_assert(sizeof(T) == (n), "include/nt: sizeof(" #T ") != " #n);
#define PROBE_OFFSET(T, f, n)                                                                      \
    _Static_assert(offsetof(T, f) == (n), "include/nt: offsetof(" #T ", " #f ") != " #n);
#define PROBE_VALUE(name, v)                                                                       \
    _Static_assert((unsigned long long)(name) == (unsigned long long)(v),                          \
                   "include/nt: " #name " != " #v);
#define PROBE_STATUS(name, v)                                                                      \
    _Static_assert((NTSTATUS)(name) == (NTSTATUS)(v), "include/nt: " #name " != " #v);
#define PROBE_MINGW_SIZE(T, n)
#define PROBE_HOST_SIZE(T, n) PROBE_SIZE(T, n)

#include "layout.def"
#include "status.def"

/* ISO C wants at least one declaration in a translation unit. */
extern int km_abi_probe_host;
