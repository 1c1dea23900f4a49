/*
 * The verifier's two ways to report: a "VERIFIER:" line per finding left
 * behind at unload (counted: `kmhost run` exits with status 4 when any was
 * printed), and a STOP for a violation at call time, preceded by one line
 * that says in words what the driver did and where.
 */
#include "vf/vf.h"

#include "hal/hal.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static _Atomic unsigned VfpReports;

void VfpReport(const char *Format, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, Format);
    int n = vsnprintf(line, sizeof(line) - 1, Format, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    fflush(stdout);
    dprintf(1, "VERIFIER: %.*s\n", n, line);
    atomic_fetch_add(&VfpReports, 1);
}

unsigned VfpReportCount(void)
{
    return atomic_load(&VfpReports);
}

NTAPI bool VfpIsDriverAddress(const void *Address)
{
    return LdrFindImageByAddress(Address) != NULL;
}

const void *VfpDriverSite(const void *Site)
{
    if (Site && VfpIsDriverAddress(Site))
        return Site;
    const void *frame = NULL;
    if (HalpScanStack((ULONG_PTR)__builtin_frame_address(0), &frame, 1) == 1)
        return frame;
    return Site;
}

void VfpStop(const void *Site, ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4,
             const char *Format, ...)
{
    char what[768], where[256];
    va_list ap;
    va_start(ap, Format);
    vsnprintf(what, sizeof(what), Format, ap);
    va_end(ap);
    const void *site = VfpDriverSite(Site);
    fflush(stdout);
    if (site) {
        LdrDescribeAddress(site, where, sizeof(where));
        dprintf(1, "kmhost: verifier: %s (called from %s)\n", what, where);
    } else {
        dprintf(1, "kmhost: verifier: %s\n", what);
    }
    KeBugCheckEx(Code, P1, P2, P3, P4);
}
