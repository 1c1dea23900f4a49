/*
 * The layout probes of layout.def (and the generated status.def) against
 * mingw-w64's DDK headers, which reproduce the Windows x64 WDK. Compiled, never
 * run: a probe that fails is a compile error that names the type, the member
 * and the expected value.
 */
#include <ntddk.h>

#include <stddef.h>

#define PROBE_SIZE(T, n) _Static_assert(sizeof(T) == (n), "mingw-w64: sizeof(" #T ") != " #n);
#define PROBE_OFFSET(T, f, n)                                                                      \
    _Static_assert(offsetof(T, f) == (n), "mingw-w64: offsetof(" #T ", " #f ") != " #n);
#define PROBE_VALUE(name, v)                                                                       \
    _Static_assert((unsigned long long)(name) == (unsigned long long)(v),                          \
                   "mingw-w64: " #name " != " #v);
#define PROBE_STATUS(name, v)                                                                      \
    _Static_assert((NTSTATUS)(name) == (NTSTATUS)(v), "mingw-w64: " #name " != " #v);
#define PROBE_MINGW_SIZE(T, n) PROBE_SIZE(T, n)
#define PROBE_HOST_SIZE(T, n)

#include "layout.def"
#include "status.def"
