/*
 * Timeouts and parking.
 *
 * A KeWaitXxx Timeout is in 100 ns units: NULL waits forever, zero only tests
 * the objects, a negative value is an interval relative to now and a positive
 * value an absolute system time (100 ns since 1601-01-01 UTC). A relative
 * interval is measured on CLOCK_MONOTONIC, so changing the clock does not
 * stretch it; an absolute time on CLOCK_REALTIME, so it tracks the clock, as
 * Windows' absolute timers do.
 */
#include "ke/ke.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

#define KI_EPOCH_DELTA_100NS 116444736000000000LL /* 1601-01-01 to 1970-01-01 */

/* clock_gettime behind an ms_abi wrapper: the waits' callers stay free of
   xmm6-15 saves (km.h, KM_MSABI). */
static KM_MSABI __attribute__((noinline)) void KipNow(clockid_t Clock, struct timespec *Now)
{
    clock_gettime(Clock, Now);
}

KM_MSABI int64_t KiMonotonicNs(void)
{
    struct timespec now;
    KipNow(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

KM_MSABI void KiComputeDeadline(const LARGE_INTEGER *Timeout, KI_DEADLINE *Deadline)
{
    struct timespec now;
    int64_t t100;

    *Deadline = (KI_DEADLINE){0};
    if (!Timeout) {
        Deadline->Infinite = true;
        return;
    }
    if (Timeout->QuadPart == 0) {
        Deadline->Immediate = true;
        return;
    }
    if (Timeout->QuadPart < 0) {
        KipNow(CLOCK_MONOTONIC, &now);
        /* -QuadPart overflows only for INT64_MIN: treat as the longest interval. */
        t100 = Timeout->QuadPart == INT64_MIN ? INT64_MAX : -Timeout->QuadPart;
        Deadline->Sec = now.tv_sec + t100 / 10000000;
        Deadline->Nsec = now.tv_nsec + (t100 % 10000000) * 100;
    } else {
        Deadline->Realtime = true;
        t100 = Timeout->QuadPart - KI_EPOCH_DELTA_100NS;
        if (t100 < 0) {
            Deadline->Sec = 0;
            Deadline->Nsec = 0;
        } else {
            Deadline->Sec = t100 / 10000000;
            Deadline->Nsec = (t100 % 10000000) * 100;
        }
    }
    if (Deadline->Nsec >= 1000000000) {
        Deadline->Sec++;
        Deadline->Nsec -= 1000000000;
    }
}

KM_MSABI bool KiDeadlinePassed(const KI_DEADLINE *Deadline)
{
    struct timespec now;
    if (Deadline->Infinite)
        return false;
    if (Deadline->Immediate)
        return true;
    KipNow(Deadline->Realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
    return now.tv_sec > Deadline->Sec ||
           (now.tv_sec == Deadline->Sec && now.tv_nsec >= Deadline->Nsec);
}

/* futex(2) by the syscall instruction, not the C library's syscall(): no
   call into sysv code, so the ms_abi waits save no xmm6-15 around it, which
   a thread woken after a long sleep would read back from cold stack lines.
   Returns the result or -errno. */
static inline long KipFutex(_Atomic LONG *Word, int Op, LONG Value, const struct timespec *Timeout,
                            int Value3)
{
    register long r10 __asm__("r10") = (long)Timeout;
    register long r8 __asm__("r8") = 0;
    register long r9 __asm__("r9") = Value3;
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "0"((long)SYS_futex), "D"(Word), "S"((long)Op), "d"((long)Value), "r"(r10),
                       "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return result;
}

KM_MSABI bool KiFutexWait(_Atomic LONG *Word, LONG Value, const KI_DEADLINE *Deadline)
{
    struct timespec ts;
    int op = FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG;

    if (Deadline->Immediate)
        return atomic_load(Word) != Value;
    if (!Deadline->Infinite) {
        ts.tv_sec = Deadline->Sec;
        ts.tv_nsec = Deadline->Nsec;
        if (Deadline->Realtime)
            op |= FUTEX_CLOCK_REALTIME;
    }
    return KipFutex(Word, op, Value, Deadline->Infinite ? NULL : &ts, FUTEX_BITSET_MATCH_ANY) !=
           -ETIMEDOUT;
}

KM_MSABI void KiFutexWake(_Atomic LONG *Word, int Count)
{
    KipFutex(Word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, Count, NULL, 0);
}
