/*
 * The export table of our ntoskrnl.exe and hal.dll, built once from the
 * km_exports section that KM_EXPORT entries fill (see km.h).
 *
 * Invariant: after KmExportTableInit (run from a constructor, before main),
 * km_sorted is the section's entries sorted by name and never changes, so
 * lookups need no lock. Imports resolve by name against both modules, because
 * hal.dll forwards to ntoskrnl.exe on current Windows and mingw-w64's import
 * libraries place some routines in either; ordinals are 1 + the position of
 * the name in its module's sorted list.
 */
#include "km.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const KM_EXPORT_ENTRY __start_km_exports[];
extern const KM_EXPORT_ENTRY __stop_km_exports[];

static const KM_EXPORT_ENTRY **km_sorted;
static size_t km_count;

static int km_export_cmp(const void *a, const void *b)
{
    const KM_EXPORT_ENTRY *x = *(const KM_EXPORT_ENTRY *const *)a;
    const KM_EXPORT_ENTRY *y = *(const KM_EXPORT_ENTRY *const *)b;
    int c = strcmp(x->Name, y->Name);
    return c ? c : (int)x->Module - (int)y->Module;
}

__attribute__((constructor)) static void KmExportTableInit(void)
{
    km_count = (size_t)(__stop_km_exports - __start_km_exports);
    km_sorted = malloc((km_count ? km_count : 1) * sizeof(*km_sorted));
    if (!km_sorted)
        abort();
    for (size_t i = 0; i < km_count; i++)
        km_sorted[i] = &__start_km_exports[i];
    qsort(km_sorted, km_count, sizeof(*km_sorted), km_export_cmp);
}

static uintptr_t km_module_of(const char *dll)
{
    if (!strcasecmp(dll, "ntoskrnl.exe") || !strcasecmp(dll, "ntkrnlpa.exe") ||
        !strcasecmp(dll, "ntkrnlmp.exe"))
        return KM_MOD_NTOSKRNL;
    if (!strcasecmp(dll, "hal.dll"))
        return KM_MOD_HAL;
    return 0;
}

const KM_EXPORT_ENTRY *KmLookupExport(const char *DllName, const char *Name)
{
    if (!km_module_of(DllName))
        return NULL;
    size_t lo = 0, hi = km_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(km_sorted[mid]->Name, Name);
        if (c == 0)
            return km_sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const KM_EXPORT_ENTRY *KmLookupExportByOrdinal(const char *DllName, ULONG Ordinal)
{
    uintptr_t module = km_module_of(DllName);
    ULONG n = 0;
    if (!module)
        return NULL;
    for (size_t i = 0; i < km_count; i++) {
        if (km_sorted[i]->Module == module && ++n == Ordinal)
            return km_sorted[i];
    }
    return NULL;
}

size_t KmExportCount(void)
{
    return km_count;
}
