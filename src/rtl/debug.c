/*
 * Debug output: DbgPrint, DbgPrintEx and friends, and the kernel debugger's
 * exported state (no debugger is ever attached to kmhost).
 *
 * Output: each call formats its text (Windows' printf rules, at most 512
 * bytes as DbgPrint documents) and writes it to standard output with one
 * write(2) under Kdp_lock, so calls from different threads never interleave
 * mid-call and nothing waits in a stdio buffer.
 *
 * Filtering: Windows shows DbgPrintEx text when the level is enabled in the
 * component's mask (by default only DPFLTR_ERROR_LEVEL). kmhost shows every
 * level by default, because the drivers it runs print with
 * DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, ...) and expect to see
 * it; KMHOST_DBGPRINT_LEVEL=N shows only levels 0..N (0 error, 1 warning,
 * 2 trace, 3 info). DbgPrint is DbgPrintEx(DPFLTR_DEFAULT_ID,
 * DPFLTR_INFO_LEVEL, ...), as documented. A Level of 32 or more is a bit mask.
 *
 * The recent-output ring: the last KDP_RING_LINES lines, for bug check
 * reports, read by KdGetRecentOutput from a signal handler. Each slot has a
 * sequence number that is odd while its writer (holding Kdp_lock) fills it;
 * the reader takes no lock and skips a slot whose sequence is odd or changed
 * while it copied, so it never blocks on a thread it interrupted.
 *
 * DbgBreakPoint with no debugger would raise STATUS_BREAKPOINT, which kills
 * Windows unless a debugger is attached; kmhost instead prints
 * "kmhost: DbgBreakPoint from <caller> ignored: no kernel debugger attached"
 * and returns, so a driver's debugging aid does not end the run.
 */
#include "rtl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DPFLTR_ERROR_LEVEL 0u
#define DPFLTR_INFO_LEVEL 3u
#define DPFLTR_DEFAULT_ID 101u
#define DPFLTR_MASK 0x80000000u
#define KDP_MAX_OUTPUT 512u
#define KDP_RING_LINES 16u
#define KDP_RING_WIDTH 256u

BOOLEAN KdDebuggerEnabled = FALSE;
KM_EXPORT(KdDebuggerEnabled);
BOOLEAN KdDebuggerNotPresent = TRUE;
KM_EXPORT(KdDebuggerNotPresent);

static pthread_mutex_t Kdp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t Kdp_once = PTHREAD_ONCE_INIT;
static ULONG Kdp_enabled_mask = 0xFFFFFFFFu;

static struct {
    unsigned Seq;
    char Text[KDP_RING_WIDTH];
} Kdp_ring[KDP_RING_LINES];
static unsigned Kdp_ring_head; /* lines ever stored; written under Kdp_lock */
static size_t Kdp_partial;     /* bytes of an unfinished line in the head slot */

static void Kdp_read_env(void)
{
    const char *level = getenv("KMHOST_DBGPRINT_LEVEL");
    if (level && *level) {
        char *end;
        unsigned long n = strtoul(level, &end, 0);
        if (!*end && n < 31)
            Kdp_enabled_mask = (2u << n) - 1;
    }
}

static BOOLEAN Kdp_enabled(ULONG Level)
{
    pthread_once(&Kdp_once, Kdp_read_env);
    ULONG mask = Level >= 32 ? (Level & ~DPFLTR_MASK) : (1u << Level);
    return (mask & Kdp_enabled_mask) != 0;
}

/* Appends Text to the ring, a slot per line; called under Kdp_lock. */
static void Kdp_ring_store(const char *Text, size_t Len)
{
    for (size_t i = 0; i < Len; i++) {
        unsigned slot = Kdp_ring_head % KDP_RING_LINES;
        if (Kdp_partial == 0)
            __atomic_store_n(&Kdp_ring[slot].Seq, Kdp_ring[slot].Seq + 1, __ATOMIC_RELEASE);
        if (Text[i] == '\n') {
            __atomic_store_n(&Kdp_ring[slot].Text[Kdp_partial], 0, __ATOMIC_RELAXED);
            __atomic_store_n(&Kdp_ring[slot].Seq, Kdp_ring[slot].Seq + 1, __ATOMIC_RELEASE);
            Kdp_partial = 0;
            __atomic_store_n(&Kdp_ring_head, Kdp_ring_head + 1, __ATOMIC_RELEASE);
            continue;
        }
        if (Kdp_partial < KDP_RING_WIDTH - 1)
            __atomic_store_n(&Kdp_ring[slot].Text[Kdp_partial++], Text[i], __ATOMIC_RELAXED);
    }
}

size_t KdGetRecentOutput(char *Buf, size_t Len)
{
    size_t out = 0;
    if (!Buf || !Len)
        return 0;
    unsigned head = __atomic_load_n(&Kdp_ring_head, __ATOMIC_ACQUIRE);
    unsigned first = head > KDP_RING_LINES ? head - KDP_RING_LINES : 0;
    for (unsigned n = first; n < head; n++) {
        unsigned slot = n % KDP_RING_LINES;
        char line[KDP_RING_WIDTH];
        unsigned seq = __atomic_load_n(&Kdp_ring[slot].Seq, __ATOMIC_ACQUIRE);
        size_t len = 0;
        while (len < KDP_RING_WIDTH - 1 &&
               (line[len] = __atomic_load_n(&Kdp_ring[slot].Text[len], __ATOMIC_ACQUIRE)))
            len++;
        /* Acquire loads of the text keep the re-read of Seq after them (a
           fence would too, but ThreadSanitizer does not model fences). */
        if ((seq & 1) || seq != __atomic_load_n(&Kdp_ring[slot].Seq, __ATOMIC_RELAXED))
            continue; /* being rewritten: a newer line is taking the slot */
        for (size_t i = 0; i < len && out + 1 < Len; i++)
            Buf[out++] = line[i];
        if (out + 1 < Len)
            Buf[out++] = '\n';
    }
    Buf[out] = 0;
    return out;
}

static void Kdp_write(const char *Text, size_t Len)
{
    pthread_mutex_lock(&Kdp_lock);
    size_t done = 0;
    while (done < Len) {
        ssize_t n = write(1, Text + done, Len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    Kdp_ring_store(Text, Len);
    pthread_mutex_unlock(&Kdp_lock);
}

static ULONG Kdp_print(PCSTR Prefix, ULONG Level, PCSTR Format, __builtin_ms_va_list Args)
{
    char text[KDP_MAX_OUTPUT + 1];
    if (!Kdp_enabled(Level))
        return STATUS_SUCCESS;
    size_t plen = Prefix ? strnlen(Prefix, KDP_MAX_OUTPUT) : 0;
    memcpy(text, Prefix ? Prefix : "", plen);
    RTLP_FORMAT_SINK sink = {text + plen, KDP_MAX_OUTPUT - plen, 0, FALSE};
    RtlpFormatSink(&sink, Format, FALSE, &Args);
    size_t len = plen + (sink.Count < sink.Cap ? sink.Count : sink.Cap);
    Kdp_write(text, len);
    return STATUS_SUCCESS;
}

ULONG NTAPI DbgPrint(PCSTR Format, ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, Format);
    ULONG r = Kdp_print(NULL, DPFLTR_INFO_LEVEL, Format, ap);
    __builtin_ms_va_end(ap);
    return r;
}
KM_EXPORT(DbgPrint);

/* Same as DbgPrint: with no debugger, no one can press Ctrl+C. */
ULONG NTAPI DbgPrintReturnControlC(PCSTR Format, ...)
{
    __builtin_ms_va_list ap;
    __builtin_ms_va_start(ap, Format);
    ULONG r = Kdp_print(NULL, DPFLTR_INFO_LEVEL, Format, ap);
    __builtin_ms_va_end(ap);
    return r;
}
KM_EXPORT(DbgPrintReturnControlC);

ULONG NTAPI DbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format, ...)
{
    __builtin_ms_va_list ap;
    (void)ComponentId;
    __builtin_ms_va_start(ap, Format);
    ULONG r = Kdp_print(NULL, Level, Format, ap);
    __builtin_ms_va_end(ap);
    return r;
}
KM_EXPORT(DbgPrintEx);

ULONG NTAPI vDbgPrintEx(ULONG ComponentId, ULONG Level, PCSTR Format,
                        __builtin_ms_va_list Arguments)
{
    (void)ComponentId;
    return Kdp_print(NULL, Level, Format, Arguments);
}
KM_EXPORT(vDbgPrintEx);

ULONG NTAPI vDbgPrintExWithPrefix(PCSTR Prefix, ULONG ComponentId, ULONG Level, PCSTR Format,
                                  __builtin_ms_va_list Arguments)
{
    (void)ComponentId;
    return Kdp_print(Prefix, Level, Format, Arguments);
}
KM_EXPORT(vDbgPrintExWithPrefix);

/* TRUE (as an NTSTATUS) when DbgPrintEx would show text at this level. */
NTSTATUS NTAPI DbgQueryDebugFilterState(ULONG ComponentId, ULONG Level)
{
    (void)ComponentId;
    return Kdp_enabled(Level) ? TRUE : FALSE;
}
KM_EXPORT(DbgQueryDebugFilterState);

static void Kdp_break(const char *What, void *Caller)
{
    char where[160], line[320];
    LdrDescribeAddress(Caller, where, sizeof(where));
    size_t n = 0;
    for (const char *parts[] = {"kmhost: ", What, " from ", where,
                                " ignored: no kernel debugger attached\n"},
                    **p = parts;
         p < parts + 5; p++) {
        size_t l = strlen(*p);
        if (n + l >= sizeof(line))
            l = sizeof(line) - 1 - n;
        memcpy(line + n, *p, l);
        n += l;
    }
    Kdp_write(line, n);
}

VOID NTAPI DbgBreakPoint(VOID)
{
    Kdp_break("DbgBreakPoint", __builtin_return_address(0));
}
KM_EXPORT(DbgBreakPoint);

VOID NTAPI DbgBreakPointWithStatus(ULONG Status)
{
    (void)Status;
    Kdp_break("DbgBreakPointWithStatus", __builtin_return_address(0));
}
KM_EXPORT(DbgBreakPointWithStatus);

/* No debugger is ever attached: KdDebuggerNotPresent stays TRUE. */
BOOLEAN NTAPI KdRefreshDebuggerNotPresent(VOID)
{
    return KdDebuggerNotPresent;
}
KM_EXPORT(KdRefreshDebuggerNotPresent);
