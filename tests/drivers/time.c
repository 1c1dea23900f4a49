// Conformance: clocks: KeQueryPerformanceCounter, KeQuerySystemTime(Precise),
// KeQueryTickCount, KeQueryTimeIncrement, KeQueryInterruptTime(Precise).
// EXPECT-EXIT: 0
#include "harness.h"

#define MS(n) ((LONGLONG)(n)*10 * 1000)
/* 2020-01-01T00:00:00Z in 100 ns units since 1601-01-01. */
#define YEAR_2020 132223104000000000LL

static void delay_ms(LONG ms)
{
    LARGE_INTEGER d = {.QuadPart = -MS(ms)};
    KeDelayExecutionThread(KernelMode, FALSE, &d);
}

static void test_performance_counter(void)
{
    LARGE_INTEGER freq = {.QuadPart = 0}, freq2, prev, c;
    int i, monotonic = 1;

    prev = KeQueryPerformanceCounter(&freq);
    ok(freq.QuadPart > 0, "KeQueryPerformanceCounter returns a nonzero frequency (%I64d)",
       freq.QuadPart);
    for (i = 0; i < 1000; i++) {
        c = KeQueryPerformanceCounter(NULL);
        if (c.QuadPart < prev.QuadPart)
            monotonic = 0;
        prev = c;
    }
    ok(monotonic, "KeQueryPerformanceCounter never goes backwards (PerformanceFrequency NULL)");
    KeQueryPerformanceCounter(&freq2);
    is_int(freq2.QuadPart, freq.QuadPart,
           "the performance counter frequency is fixed at boot and does not change");
    delay_ms(20);
    c = KeQueryPerformanceCounter(NULL);
    ok(c.QuadPart > prev.QuadPart, "the performance counter advances across a 20 ms delay");
}

static void test_system_time(void)
{
    LONGLONG tick = KeQueryTimeIncrement();
    LARGE_INTEGER coarse1, precise, coarse2;

    KeQuerySystemTime(&coarse1);
    KeQuerySystemTimePrecise(&precise);
    KeQuerySystemTime(&coarse2);
    ok(coarse1.QuadPart > YEAR_2020,
       "system time counts 100 ns units since 1601-01-01 (later than 2020): %I64d",
       coarse1.QuadPart);
    ok(coarse1.QuadPart <= precise.QuadPart + tick,
       "KeQuerySystemTime, accurate to the latest tick, is not ahead of the precise time");
    ok(precise.QuadPart <= coarse2.QuadPart + tick,
       "KeQuerySystemTimePrecise is within one clock tick of KeQuerySystemTime");
    ok(coarse2.QuadPart >= coarse1.QuadPart, "system time does not go backwards here");
}

static void test_ticks(void)
{
    ULONG inc = KeQueryTimeIncrement();
    LARGE_INTEGER t0, t1;
    ULONGLONG i0, i1, ip, qpc = 0;

    ok(inc != 0, "KeQueryTimeIncrement returns the nonzero clock tick in 100 ns units");
    is_int(KeQueryTimeIncrement(), inc, "the time increment stays constant until restart");
    KeQueryTickCount(&t0);
    i0 = KeQueryInterruptTime();
    delay_ms(100);
    KeQueryTickCount(&t1);
    i1 = KeQueryInterruptTime();
    ok(t1.QuadPart > t0.QuadPart,
       "the tick count increases at each clock interrupt: %I64d then %I64d over 100 ms",
       t0.QuadPart, t1.QuadPart);
    ok(i1 > i0, "the interrupt time advances across a 100 ms delay");
    ok((LONGLONG)(i1 - i0) >= MS(100) - (LONGLONG)inc,
       "the interrupt time (100 ns since boot) advanced by at least the delay less one tick: "
       "%I64d",
       (LONGLONG)(i1 - i0));
    ip = KeQueryInterruptTimePrecise(&qpc);
    ok(ip + inc >= i1, "KeQueryInterruptTimePrecise is not behind KeQueryInterruptTime");
    ok(qpc != 0, "KeQueryInterruptTimePrecise returns the performance counter it used");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_performance_counter();
    test_system_time();
    test_ticks();
    return STATUS_SUCCESS;
}
