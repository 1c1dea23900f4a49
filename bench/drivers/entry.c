/*
 * entry: the time from `kmhost run` to DriverEntry.
 *
 * DriverEntry's first act is to read the performance counter and print it
 * as "BENCH entry_qpc=<ticks> hz=<frequency>". Under kmhost the counter is
 * CLOCK_MONOTONIC at 10 MHz (src/hal/clock.c), so bench/kmbench.c compares
 * it directly with the CLOCK_MONOTONIC it read just before exec.
 */
#include "kbench.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD KbeUnload;

static VOID NTAPI KbeUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LARGE_INTEGER frequency, now = KeQueryPerformanceCounter(&frequency);

    UNREFERENCED_PARAMETER(RegistryPath);
    DbgPrint("BENCH entry_qpc=%I64d hz=%I64d\n", now.QuadPart, frequency.QuadPart);
    DriverObject->DriverUnload = KbeUnload;
    return STATUS_SUCCESS;
}
