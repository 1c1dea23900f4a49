/*
 * Clocks as Windows reports them, all in 100 ns units:
 * - interrupt time: time since boot, from CLOCK_MONOTONIC (the clock relative
 *   waits use, so that a timeout and KeQueryInterruptTime agree). Linux's
 *   CLOCK_MONOTONIC does not count suspend, so the biased and unbiased
 *   interrupt times are the same here;
 * - system time: UTC since 1601-01-01, from CLOCK_REALTIME;
 * - tick count: interrupt time / KeQueryTimeIncrement (156250 = 15.625 ms);
 * - performance counter: 10 MHz, as on current Windows, from CLOCK_MONOTONIC.
 * Every routine here is signal-safe (clock_gettime is).
 */
#include "hal/hal.h"

#include <time.h>

/* 100 ns intervals between 1601-01-01 and 1970-01-01. */
#define HALP_EPOCH_DELTA 116444736000000000ULL

static ULONGLONG HalpClock100ns(clockid_t Clock)
{
    struct timespec ts;
    clock_gettime(Clock, &ts);
    return (ULONGLONG)ts.tv_sec * 10000000ULL + (ULONGLONG)ts.tv_nsec / 100;
}

ULONGLONG HalpInterruptTime(void)
{
    return HalpClock100ns(CLOCK_MONOTONIC);
}

ULONGLONG HalpSystemTime(void)
{
    return HalpClock100ns(CLOCK_REALTIME) + HALP_EPOCH_DELTA;
}

LARGE_INTEGER NTAPI KeQueryPerformanceCounter(PLARGE_INTEGER PerformanceFrequency)
{
    LARGE_INTEGER now;
    if (PerformanceFrequency)
        PerformanceFrequency->QuadPart = HAL_PERFORMANCE_FREQUENCY;
    now.QuadPart = (LONGLONG)HalpInterruptTime();
    return now;
}
KM_EXPORT_HAL(KeQueryPerformanceCounter);

/* Busy-waits at least MicroSeconds, at any IRQL, without yielding. */
VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ULONGLONG end = (ULONGLONG)ts.tv_sec * 1000000000ULL + (ULONGLONG)ts.tv_nsec +
                    (ULONGLONG)MicroSeconds * 1000ULL;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((ULONGLONG)ts.tv_sec * 1000000000ULL + (ULONGLONG)ts.tv_nsec >= end)
            return;
        __builtin_ia32_pause();
    }
}
KM_EXPORT_HAL(KeStallExecutionProcessor);

VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = (LONGLONG)HalpSystemTime();
}
KM_EXPORT(KeQuerySystemTime);

VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
    CurrentTime->QuadPart = (LONGLONG)HalpSystemTime();
}
KM_EXPORT(KeQuerySystemTimePrecise);

ULONGLONG NTAPI KeQueryInterruptTime(VOID)
{
    return HalpInterruptTime();
}
KM_EXPORT(KeQueryInterruptTime);

/* Returns the interrupt time and, in *QpcTimeStamp, the performance counter
   value it was derived from. */
ULONGLONG NTAPI KeQueryInterruptTimePrecise(PULONGLONG QpcTimeStamp)
{
    ULONGLONG now = HalpInterruptTime();
    if (QpcTimeStamp)
        *QpcTimeStamp = now; /* both count 100 ns from the same clock */
    return now;
}
KM_EXPORT(KeQueryInterruptTimePrecise);

ULONGLONG NTAPI KeQueryUnbiasedInterruptTime(VOID)
{
    return HalpInterruptTime();
}
KM_EXPORT(KeQueryUnbiasedInterruptTime);

ULONG NTAPI KeQueryTimeIncrement(VOID)
{
    return HAL_TIME_INCREMENT;
}
KM_EXPORT(KeQueryTimeIncrement);

VOID NTAPI KeQueryTickCount(PLARGE_INTEGER TickCount)
{
    TickCount->QuadPart = (LONGLONG)(HalpInterruptTime() / HAL_TIME_INCREMENT);
}
KM_EXPORT(KeQueryTickCount);
