/*
 * RtlGetVersion, RtlRandom/RtlRandomEx and RtlAssert.
 *
 * kmhost reports Windows 10 version 22H2: 10.0.19045, VER_PLATFORM_WIN32_NT,
 * a workstation, no service pack.
 *
 * RtlRandom and RtlRandomEx return a value in [0, MAXLONG - 1] and update
 * *Seed, as documented; the same seed gives the same sequence.
 *
 * RtlAssert: on Windows a failed assertion prints the expression, file and
 * line, then breaks into the debugger; with no debugger the breakpoint is an
 * unhandled exception. kmhost prints the same text and bug checks
 * KMODE_EXCEPTION_NOT_HANDLED (0x1E) with STATUS_BREAKPOINT and the address of
 * the driver's call, which is what that unhandled breakpoint becomes.
 */
#include "rtl.h"

#include <stdio.h>
#include <string.h>

typedef struct _RTL_OSVERSIONINFOW {
    ULONG dwOSVersionInfoSize;
    ULONG dwMajorVersion;
    ULONG dwMinorVersion;
    ULONG dwBuildNumber;
    ULONG dwPlatformId;
    WCHAR szCSDVersion[128];
} RTL_OSVERSIONINFOW;
_Static_assert(sizeof(RTL_OSVERSIONINFOW) == 276, "RTL_OSVERSIONINFOW");

typedef struct _RTL_OSVERSIONINFOEXW {
    RTL_OSVERSIONINFOW Base;
    USHORT wServicePackMajor;
    USHORT wServicePackMinor;
    USHORT wSuiteMask;
    UCHAR wProductType;
    UCHAR wReserved;
} RTL_OSVERSIONINFOEXW;
_Static_assert(sizeof(RTL_OSVERSIONINFOEXW) == 284, "RTL_OSVERSIONINFOEXW");

#define VER_PLATFORM_WIN32_NT 2
#define VER_NT_WORKSTATION 1
#define VER_SUITE_SINGLEUSERTS 0x0100

/* Fills the base fields always and the EX fields when the size says EX. */
NTSTATUS NTAPI RtlGetVersion(RTL_OSVERSIONINFOW *lpVersionInformation)
{
    RTL_OSVERSIONINFOW *v = lpVersionInformation;
    v->dwMajorVersion = 10;
    v->dwMinorVersion = 0;
    v->dwBuildNumber = 19045;
    v->dwPlatformId = VER_PLATFORM_WIN32_NT;
    memset(v->szCSDVersion, 0, sizeof(v->szCSDVersion));
    if (v->dwOSVersionInfoSize == sizeof(RTL_OSVERSIONINFOEXW)) {
        RTL_OSVERSIONINFOEXW *x = (RTL_OSVERSIONINFOEXW *)v;
        x->wServicePackMajor = 0;
        x->wServicePackMinor = 0;
        x->wSuiteMask = VER_SUITE_SINGLEUSERTS;
        x->wProductType = VER_NT_WORKSTATION;
        x->wReserved = 0;
    }
    return STATUS_SUCCESS;
}
KM_EXPORT(RtlGetVersion);

#define RTLP_MAXLONG 0x7FFFFFFFu

/* A multiplicative congruential generator modulo 2^31 - 1 (Park and Miller),
   with an increment so that a zero seed does not stick. */
static ULONG Rtlp_next_random(PULONG Seed)
{
    ULONG64 x = ((ULONG64)(*Seed % RTLP_MAXLONG) * 48271u + 11u) % RTLP_MAXLONG;
    *Seed = (ULONG)x;
    return (ULONG)x;
}

ULONG NTAPI RtlRandom(PULONG Seed)
{
    return Rtlp_next_random(Seed);
}
KM_EXPORT(RtlRandom);

ULONG NTAPI RtlRandomEx(PULONG Seed)
{
    return Rtlp_next_random(Seed);
}
KM_EXPORT(RtlRandomEx);

#define STATUS_BREAKPOINT_CODE 0x80000003u

VOID NTAPI RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
                     PCHAR MutableMessage)
{
    char text[1024];
    int n = snprintf(text, sizeof(text),
                     "\n*** Assertion failed: %s%s\n***   Source File: %s, line %u\n\n",
                     MutableMessage ? (const char *)MutableMessage : "",
                     VoidFailedAssertion ? (const char *)VoidFailedAssertion : "(null)",
                     VoidFileName ? (const char *)VoidFileName : "(null)", (unsigned)LineNumber);
    (void)n;
    DbgPrint("%s", text);
    KeBugCheckEx(0x1E, STATUS_BREAKPOINT_CODE, (ULONG_PTR)__builtin_return_address(0), 0, 0);
}
KM_EXPORT(RtlAssert);
