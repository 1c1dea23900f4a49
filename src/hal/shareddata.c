/*
 * KUSER_SHARED_DATA: the page Windows maps read-only at 0xFFFFF78000000000,
 * which inline WDK code reads for the time (KeQuerySystemTime,
 * KeQueryTickCount, KeQueryInterruptTime) and the version.
 *
 * kmhost keeps a live copy. Invariants: every field but the time fields is
 * written once, by HalpInitSharedData, before any driver code runs; the time
 * fields are written only under HalpUsdLock, and the time is sampled while
 * it is held, so a later writer never stores an older time. A KSYSTEM_TIME is
 * written High2Time, LowPart, High1Time, so a reader that reads High1Time,
 * LowPart, High2Time and finds the two high parts equal has a consistent
 * value, which is the protocol Windows documents for this page.
 */
#include "hal/trap.h"
#include "ldr/patch.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct _KSYSTEM_TIME {
    ULONG LowPart;
    LONG High1Time;
    LONG High2Time;
} KSYSTEM_TIME;

/* The fields kmhost fills, at their Windows 10 x64 offsets. */
typedef struct _KUSER_SHARED_DATA {
    ULONG TickCountLowDeprecated;        /* 0x000 */
    ULONG TickCountMultiplier;           /* 0x004 */
    volatile KSYSTEM_TIME InterruptTime; /* 0x008 */
    volatile KSYSTEM_TIME SystemTime;    /* 0x014 */
    volatile KSYSTEM_TIME TimeZoneBias;  /* 0x020 */
    USHORT ImageNumberLow;               /* 0x02c */
    USHORT ImageNumberHigh;              /* 0x02e */
    WCHAR NtSystemRoot[260];             /* 0x030 */
    ULONG MaxStackTraceDepth;            /* 0x238 */
    ULONG CryptoExponent;                /* 0x23c */
    ULONG TimeZoneId;                    /* 0x240 */
    ULONG LargePageMinimum;              /* 0x244 */
    ULONG Reserved0[6];                  /* 0x248 */
    ULONG NtBuildNumber;                 /* 0x260 */
    ULONG NtProductType;                 /* 0x264 */
    BOOLEAN ProductTypeIsValid;          /* 0x268 */
    UCHAR Reserved1;                     /* 0x269 */
    USHORT NativeProcessorArchitecture;  /* 0x26a */
    ULONG NtMajorVersion;                /* 0x26c */
    ULONG NtMinorVersion;                /* 0x270 */
    BOOLEAN ProcessorFeatures[64];       /* 0x274 */
    ULONG Reserved2[7];                  /* 0x2b4 */
    ULONG SuiteMask;                     /* 0x2d0 */
    BOOLEAN KdDebuggerEnabled;           /* 0x2d4 */
    UCHAR Reserved3[0x2e8 - 0x2d5];      /* 0x2d5 */
    ULONG NumberOfPhysicalPages;         /* 0x2e8 */
    BOOLEAN SafeBootMode;                /* 0x2ec */
    UCHAR Reserved4[0x300 - 0x2ed];      /* 0x2ed */
    LONGLONG QpcFrequency;               /* 0x300 */
    UCHAR Reserved5[0x320 - 0x308];      /* 0x308 */
    union {
        volatile KSYSTEM_TIME TickCount;
        volatile ULONG64 TickCountQuad;
        ULONG TickCountPad[4];
    };                              /* 0x320 */
    UCHAR Reserved6[0x3c0 - 0x330]; /* 0x330 */
    ULONG ActiveProcessorCount;     /* 0x3c0 */
    UCHAR ActiveGroupCount;         /* 0x3c4 */
    UCHAR Reserved7[0x1000 - 0x3c5];
} KUSER_SHARED_DATA;
_Static_assert(sizeof(KUSER_SHARED_DATA) == 0x1000, "KUSER_SHARED_DATA is one page");
_Static_assert(offsetof(KUSER_SHARED_DATA, TickCountMultiplier) == KM_USD_TICK_COUNT_MULTIPLIER,
               "");
_Static_assert(offsetof(KUSER_SHARED_DATA, InterruptTime) == KM_USD_INTERRUPT_TIME, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, SystemTime) == KM_USD_SYSTEM_TIME, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, TimeZoneBias) == KM_USD_TIME_ZONE_BIAS, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, NtSystemRoot) == 0x30, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, LargePageMinimum) == 0x244, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, NtBuildNumber) == 0x260, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, NtMajorVersion) == KM_USD_NT_MAJOR_VERSION, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, NtMinorVersion) == KM_USD_NT_MINOR_VERSION, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, ProcessorFeatures) == 0x274, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, KdDebuggerEnabled) == 0x2d4, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, NumberOfPhysicalPages) == 0x2e8, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, QpcFrequency) == 0x300, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, TickCount) == KM_USD_TICK_COUNT, "");
_Static_assert(offsetof(KUSER_SHARED_DATA, ActiveProcessorCount) == 0x3c0, "");

/* PF_* indices into ProcessorFeatures (winnt.h). */
enum {
    PfMmx = 3,
    PfXmmi = 6,
    PfRdtsc = 8,
    PfPae = 9,
    PfXmmi64 = 10,
    PfNx = 12,
    PfSse3 = 13,
    PfCompareExchange128 = 14,
    PfXsave = 17,
    PfFastFail = 23,
    PfSsse3 = 36,
    PfSse41 = 37,
    PfSse42 = 38,
    PfAvx = 39,
    PfAvx2 = 40,
    PfAvx512f = 41,
};

#define HALP_NT_BUILD 19045 /* Windows 10 22H2 */

static KUSER_SHARED_DATA HalpUsd __attribute__((aligned(4096)));
static volatile int HalpUsdLock;

static void HalpStoreSystemTime(volatile KSYSTEM_TIME *T, ULONGLONG Value)
{
    __atomic_store_n(&T->High2Time, (LONG)(Value >> 32), __ATOMIC_RELEASE);
    __atomic_store_n(&T->LowPart, (ULONG)Value, __ATOMIC_RELEASE);
    __atomic_store_n(&T->High1Time, (LONG)(Value >> 32), __ATOMIC_RELEASE);
}

void HalpRefreshSharedData(void)
{
    /* A thread that finds the lock held leaves the refresh to its holder,
       whose sample is at least as recent as the moment this call began;
       never spinning keeps this safe inside a signal handler that
       interrupted the holder on the same thread. */
    if (__atomic_exchange_n(&HalpUsdLock, 1, __ATOMIC_ACQUIRE))
        return;
    ULONGLONG interrupt = HalpInterruptTime();
    ULONGLONG system = HalpSystemTime();
    ULONGLONG ticks = interrupt / HAL_TIME_INCREMENT;
    HalpStoreSystemTime(&HalpUsd.InterruptTime, interrupt);
    HalpStoreSystemTime(&HalpUsd.SystemTime, system);
    HalpStoreSystemTime(&HalpUsd.TickCount, ticks);
    __atomic_store_n(&HalpUsd.TickCountLowDeprecated, (ULONG)ticks, __ATOMIC_RELAXED);
    HalpPublishSharedData(); /* the live copy patched code reads */
    __atomic_store_n(&HalpUsdLock, 0, __ATOMIC_RELEASE);
}

const volatile void *HalpSharedDataCopy(void)
{
    return &HalpUsd;
}

/* Copies the part of Source (at page offset At) that overlaps the window
   [Offset, Offset + Length) into Buffer, which holds that window. */
static void HalpOverlay(UCHAR *Buffer, ULONG Offset, ULONG Length, ULONG At, const void *Source,
                        ULONG Size)
{
    ULONG lo = At > Offset ? At : Offset;
    ULONG hi = At + Size < Offset + Length ? At + Size : Offset + Length;
    if (lo < hi)
        memcpy(Buffer + (lo - Offset), (const UCHAR *)Source + (lo - At), hi - lo);
}

BOOLEAN HalpReadSharedData(ULONG Offset, void *Buffer, ULONG Length)
{
    /* The time fields in the result are sampled now rather than copied from
       the live page: one emulated load then sees one consistent instant,
       whatever other threads are refreshing. */
    if (Offset >= sizeof(HalpUsd) || Length > sizeof(HalpUsd) - Offset)
        return FALSE;
    HalpRefreshSharedData();
    memcpy(Buffer, (const UCHAR *)&HalpUsd + Offset, Length);
    ULONGLONG interrupt = HalpInterruptTime();
    ULONGLONG system = HalpSystemTime();
    ULONGLONG ticks = interrupt / HAL_TIME_INCREMENT;
    KSYSTEM_TIME it = {(ULONG)interrupt, (LONG)(interrupt >> 32), (LONG)(interrupt >> 32)};
    KSYSTEM_TIME st = {(ULONG)system, (LONG)(system >> 32), (LONG)(system >> 32)};
    KSYSTEM_TIME tc = {(ULONG)ticks, (LONG)(ticks >> 32), (LONG)(ticks >> 32)};
    ULONG low = (ULONG)ticks;
    HalpOverlay(Buffer, Offset, Length, 0, &low, sizeof(low));
    HalpOverlay(Buffer, Offset, Length, KM_USD_INTERRUPT_TIME, &it, sizeof(it));
    HalpOverlay(Buffer, Offset, Length, KM_USD_SYSTEM_TIME, &st, sizeof(st));
    HalpOverlay(Buffer, Offset, Length, KM_USD_TICK_COUNT, &tc, sizeof(tc));
    return TRUE;
}

static void HalpSetFeatures(BOOLEAN *F)
{
    __builtin_cpu_init();
    F[PfMmx] = __builtin_cpu_supports("mmx") != 0;
    F[PfXmmi] = __builtin_cpu_supports("sse") != 0;
    F[PfRdtsc] = TRUE;
    F[PfPae] = TRUE;
    F[PfXmmi64] = __builtin_cpu_supports("sse2") != 0;
    F[PfNx] = TRUE;
    F[PfSse3] = __builtin_cpu_supports("sse3") != 0;
    F[PfCompareExchange128] = TRUE; /* cmpxchg16b: required by x64 Windows 8.1+ */
    F[PfXsave] = __builtin_cpu_supports("avx") != 0;
    F[PfFastFail] = TRUE;
    F[PfSsse3] = __builtin_cpu_supports("ssse3") != 0;
    F[PfSse41] = __builtin_cpu_supports("sse4.1") != 0;
    F[PfSse42] = __builtin_cpu_supports("sse4.2") != 0;
    F[PfAvx] = __builtin_cpu_supports("avx") != 0;
    F[PfAvx2] = __builtin_cpu_supports("avx2") != 0;
    F[PfAvx512f] = __builtin_cpu_supports("avx512f") != 0;
}

void HalpInitSharedData(ULONG ProcessorCount)
{
    static const char root[] = "C:\\Windows";
    KUSER_SHARED_DATA *u = &HalpUsd;

    memset(u, 0, sizeof(*u));
    /* TickCount * TickCountMultiplier >> 24 is the tick count in ms. */
    u->TickCountMultiplier = (ULONG)(((ULONGLONG)HAL_TIME_INCREMENT << 24) / 10000);
    u->ImageNumberLow = 0x8664; /* IMAGE_FILE_MACHINE_AMD64 */
    u->ImageNumberHigh = 0x8664;
    for (size_t i = 0; i < sizeof(root) - 1; i++)
        u->NtSystemRoot[i] = (WCHAR)root[i];
    u->LargePageMinimum = 2 * 1024 * 1024;
    u->NtBuildNumber = HALP_NT_BUILD;
    u->NtProductType = 1; /* NtProductWinNt */
    u->ProductTypeIsValid = TRUE;
    u->NativeProcessorArchitecture = 9; /* PROCESSOR_ARCHITECTURE_AMD64 */
    u->NtMajorVersion = 10;
    u->NtMinorVersion = 0;
    HalpSetFeatures(u->ProcessorFeatures);
    u->KdDebuggerEnabled = FALSE;
    long pages = sysconf(_SC_PHYS_PAGES);
    u->NumberOfPhysicalPages = pages > 0 && pages < 0xffffffffL ? (ULONG)pages : 0xffffffffu;
    u->QpcFrequency = HAL_PERFORMANCE_FREQUENCY;
    u->ActiveProcessorCount = ProcessorCount;
    u->ActiveGroupCount = 1;

    /* TimeZoneBias = UTC - local time, in 100 ns units. */
    time_t now = time(NULL);
    struct tm local;
    LONGLONG bias = 0;
    if (localtime_r(&now, &local))
        bias = -(LONGLONG)local.tm_gmtoff * 10000000LL;
    HalpStoreSystemTime(&u->TimeZoneBias, (ULONGLONG)bias);
    HalpRefreshSharedData();
}
