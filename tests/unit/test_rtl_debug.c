/*
 * Debug output (src/rtl/debug.c) through the ms_abi exports: DbgPrint and
 * DbgPrintEx text reaches standard output whole, KMHOST_DBGPRINT_LEVEL
 * filters by level, DbgBreakPoint reports and returns, the kernel debugger
 * data exports say no debugger, and KdGetRecentOutput returns the last lines
 * oldest first. Output is checked in forked children that write to a pipe.
 */
#include "km.h"
#include "kmtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef ULONG(NTAPI *DBGPRINT)(const char *, ...);
typedef ULONG(NTAPI *DBGPRINTEX)(ULONG, ULONG, const char *, ...);
typedef VOID(NTAPI *BREAK)(VOID);
typedef BOOLEAN(NTAPI *REFRESH)(VOID);

static DBGPRINT dbgprint;
static DBGPRINTEX dbgprintex;

static void *import(const char *name)
{
    const KM_EXPORT_ENTRY *e = KmLookupExport("ntoskrnl.exe", name);
    if (!e) {
        printf("FAIL: ntoskrnl.exe does not export %s\n", name);
        _Exit(1);
    }
    return e->Address;
}

static void print_all_levels(void)
{
    UNICODE_STRING name = {8, 8, (PWSTR)u"kmhX"};
    CHECK(dbgprint("hello %d %wZ\n", 42, &name) == STATUS_SUCCESS, "DbgPrint returns success");
    dbgprintex(77, 0, "error-level\n");
    dbgprintex(77, 3, "info-level\n");
    dbgprintex(77, 0x80000000u | 8, "mask-trace\n");
}

static void filtered(void)
{
    setenv("KMHOST_DBGPRINT_LEVEL", "0", 1);
    print_all_levels();
}

static void breakpoint(void)
{
    ((BREAK)import("DbgBreakPoint"))();
    dbgprint("after the breakpoint\n");
}

static void recent(void)
{
    for (int i = 0; i < 20; i++)
        dbgprint("line %d\n", i);
    char buf[4096];
    size_t n = KdGetRecentOutput(buf, sizeof(buf));
    /* Report through stderr's absence: write the ring after a marker. */
    dbgprint("RING[%u]\n", (unsigned)n);
    if (write(1, buf, n) < 0)
        _exit(9);
    char tiny[8];
    n = KdGetRecentOutput(tiny, sizeof(tiny));
    if (n != strlen(tiny) || n >= sizeof(tiny))
        _exit(8);
}

typedef VOID(NTAPI *ASSERT)(PVOID, PVOID, ULONG, PCHAR);

static void failed_assertion(void)
{
    ((ASSERT)import("RtlAssert"))("x == 1", "drv.c", 12, NULL);
    _exit(0);
}

int main(void)
{
    dbgprint = (DBGPRINT)import("DbgPrint");
    dbgprintex = (DBGPRINTEX)import("DbgPrintEx");
    char out[8192];

    int st = kmtest_run_child(print_all_levels, out, sizeof(out));
    CHECK(st == 0 && strcmp(out, "hello 42 kmhX\nerror-level\ninfo-level\nmask-trace\n") == 0,
          "default shows every level, got:\n%s", out);

    st = kmtest_run_child(filtered, out, sizeof(out));
    CHECK(st == 0 && strcmp(out, "error-level\n") == 0,
          "KMHOST_DBGPRINT_LEVEL=0 shows errors only (DbgPrint is info level), got:\n%s", out);

    st = kmtest_run_child(breakpoint, out, sizeof(out));
    CHECK(st == 0 && strstr(out, "kmhost: DbgBreakPoint from ") &&
              strstr(out, " ignored: no kernel debugger attached\nafter the breakpoint\n"),
          "DbgBreakPoint reports and returns, got:\n%s", out);

    st = kmtest_run_child(recent, out, sizeof(out));
    const char *ring = strstr(out, "RING[");
    CHECK(st == 0 && ring, "ring child: %d", st);
    if (ring) {
        ring = strchr(ring, '\n') + 1;
        char want[512] = "";
        for (int i = 4; i < 20; i++)
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "line %d\n", i);
        CHECK(strcmp(ring, want) == 0, "last 16 lines, oldest first, got:\n%s", ring);
    }

    /* A failed assertion with no debugger is an unhandled breakpoint: 0x1E. */
    st = kmtest_run_child(failed_assertion, out, sizeof(out));
    CHECK(st == 3 && strstr(out, "*** Assertion failed: x == 1") &&
              strstr(out, "Source File: drv.c, line 12") &&
              strstr(out, "*** STOP: 0x0000001E (0x0000000080000003,"),
          "RtlAssert: status %d in:\n%s", st, out);

    const KM_EXPORT_ENTRY *enabled = KmLookupExport("ntoskrnl.exe", "KdDebuggerEnabled");
    const KM_EXPORT_ENTRY *absent = KmLookupExport("ntoskrnl.exe", "KdDebuggerNotPresent");
    CHECK(enabled && *(BOOLEAN *)enabled->Address == FALSE, "KdDebuggerEnabled is FALSE");
    CHECK(absent && *(BOOLEAN *)absent->Address == TRUE, "KdDebuggerNotPresent is TRUE");
    CHECK(((REFRESH)import("KdRefreshDebuggerNotPresent"))() == TRUE,
          "KdRefreshDebuggerNotPresent");
    return KMTEST_DONE();
}
