/*
 * harness.h: checks for conformance drivers, reported through DbgPrint.
 *
 * Every check counts as passed or failed in two interlocked counters, since
 * checks run in DriverEntry and in the system threads it creates. A failed
 * check prints one line "FAIL file:line: message"; a passed check prints
 * nothing, so a run's output is the failures and the final summary line
 * "N passed, M failed" that harness_done() prints from DriverUnload, after
 * every thread the driver created has been waited for.
 *
 * The message of each check names the documented Windows rule it tests, so
 * that a failure says what Windows promises, not only what came back.
 * Formats are DbgPrint's: LLP64, so ULONG/LONG/NTSTATUS print with %lx/%lu/
 * %ld, pointers with %p, 64-bit values with %I64x/%I64d.
 *
 * Include this header instead of <ntddk.h>: it defines POOL_TAGGING so that
 * ExAllocatePoolWithTag stays a real import (mingw-w64 otherwise maps it to
 * ExAllocatePool), includes <ntifs.h> (a superset of <ntddk.h> that declares
 * PsIsSystemThread, ObOpenObjectByPointer, ZwCreateEvent...) and kmfix.h for
 * the exported object types.
 *
 * GCC 12 reports -Warray-bounds on every gs: read that mingw-w64's
 * __readgsqword (KeGetCurrentThread) makes: it takes the small constant
 * offset for a pointer to an empty object. The warning is wrong for segment
 * reads, so it is off in conformance drivers.
 */
#pragma GCC diagnostic ignored "-Warray-bounds"
#ifndef KM_TEST_HARNESS_H
#define KM_TEST_HARNESS_H

#ifndef POOL_TAGGING
#define POOL_TAGGING 1
#endif
#include <ntifs.h>

/* kmfix.h needs the DDK types: keep it after <ntifs.h>. */
#include <kmfix.h>

#ifdef __FILE_NAME__
#define HARNESS_FILE __FILE_NAME__
#else
#define HARNESS_FILE __FILE__
#endif

/* Pool tag for test allocations: the bytes "Test" (MSVC's 'tseT'). */
#define HARNESS_TAG ((ULONG)0x74736554)

static volatile LONG harness_passed;
static volatile LONG harness_failed;

static inline int harness_count(int good)
{
    InterlockedIncrement(good ? &harness_passed : &harness_failed);
    return good;
}

/* ok(cond, "literal format", args...): a failure prints the message. */
#define ok(cond, fmt, ...)                                                                         \
    (harness_count(!!(cond))                                                                       \
         ? 1                                                                                       \
         : (DbgPrint("FAIL %s:%d: " fmt "\n", HARNESS_FILE, __LINE__, ##__VA_ARGS__), 0))

/* is_status(got, expected, "what"): NTSTATUS values compared, both in hex. */
#define is_status(got, expected, what)                                                             \
    harness_is_status((NTSTATUS)(got), (NTSTATUS)(expected), what, HARNESS_FILE, __LINE__)

static inline int harness_is_status(NTSTATUS got, NTSTATUS expected, const char *what,
                                    const char *file, int line)
{
    if (harness_count(got == expected))
        return 1;
    DbgPrint("FAIL %s:%d: %s: got status 0x%08lx, expected 0x%08lx\n", file, line, what, (ULONG)got,
             (ULONG)expected);
    return 0;
}

/* is_ptr(got, expected, "what"): pointers compared, both printed. */
#define is_ptr(got, expected, what)                                                                \
    harness_is_ptr((const void *)(got), (const void *)(expected), what, HARNESS_FILE, __LINE__)

static inline int harness_is_ptr(const void *got, const void *expected, const char *what,
                                 const char *file, int line)
{
    if (harness_count(got == expected))
        return 1;
    DbgPrint("FAIL %s:%d: %s: got %p, expected %p\n", file, line, what, got, expected);
    return 0;
}

/* is_int(got, expected, "what"): integers compared as 64-bit signed values. */
#define is_int(got, expected, what)                                                                \
    harness_is_int((LONG64)(got), (LONG64)(expected), what, HARNESS_FILE, __LINE__)

static inline int harness_is_int(LONG64 got, LONG64 expected, const char *what, const char *file,
                                 int line)
{
    if (harness_count(got == expected))
        return 1;
    DbgPrint("FAIL %s:%d: %s: got %I64d (0x%I64x), expected %I64d (0x%I64x)\n", file, line, what,
             got, got, expected, expected);
    return 0;
}

/* The summary line that the CTest rule "^N passed, 0 failed$" reads. */
static inline void harness_done(void)
{
    DbgPrint("%lu passed, %lu failed\n", (ULONG)harness_passed, (ULONG)harness_failed);
}

/* The DriverUnload of a test driver whose checks all ran before: the summary. */
static inline VOID NTAPI harness_unload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    harness_done();
}

/*
 * Start a system thread with a kernel handle, take a reference to its
 * object and close the handle, so that callers only keep the reference
 * (documented pattern: ObReferenceObjectByHandle, then ZwClose, then
 * KeWaitForSingleObject on the object, then ObDereferenceObject).
 */
static inline PKTHREAD harness_start_thread(PKSTART_ROUTINE routine, PVOID context)
{
    OBJECT_ATTRIBUTES oa;
    HANDLE h;
    PVOID obj = NULL;
    NTSTATUS st;

    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, routine, context);
    if (!is_status(st, STATUS_SUCCESS, "PsCreateSystemThread returns STATUS_SUCCESS"))
        return NULL;
    st = ObReferenceObjectByHandle(h, SYNCHRONIZE, KM_PsThreadType, KernelMode, &obj, NULL);
    is_status(st, STATUS_SUCCESS, "ObReferenceObjectByHandle on a new thread handle");
    ZwClose(h);
    return NT_SUCCESS(st) ? (PKTHREAD)obj : NULL;
}

/* Wait for a thread from harness_start_thread to end, and drop the reference. */
static inline void harness_join_thread(PKTHREAD thread)
{
    NTSTATUS st;

    if (!thread)
        return;
    st = KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, NULL);
    is_status(st, STATUS_SUCCESS, "a thread object is signalled when the thread ends");
    ObDereferenceObject(thread);
}

#endif
