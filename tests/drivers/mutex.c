// Conformance: kernel mutexes (KeInitializeMutex, KeWaitForMutexObject,
// KeReleaseMutex, KeReadStateMutex): ownership, recursive acquisition, the
// owner's disabled kernel APCs, and mutants (KeInitializeMutant) abandoned by
// a thread that ends while owning them, and a thread owning several at once
// (acquired at once or handed over by a release, released in any order).
// EXPECT-EXIT: 0
#include "harness.h"

static LARGE_INTEGER g_zero;
static KMUTEX g_mutex;
static KMUTANT g_mutant;
static KEVENT g_owned, g_release;

static VOID NTAPI try_while_owned(PVOID ctx)
{
    is_status(KeWaitForSingleObject(&g_mutex, Executive, KernelMode, FALSE, &g_zero),
              STATUS_TIMEOUT,
              "a mutex owned by another thread is not signalled for this one (zero timeout)");
}

static VOID NTAPI acquire_blocking(PVOID ctx)
{
    NTSTATUS st = KeWaitForMutexObject(&g_mutex, Executive, KernelMode, FALSE, NULL);
    is_status(st, STATUS_SUCCESS, "the waiter acquires the mutex once its owner released it");
    if (st != STATUS_SUCCESS)
        return;
    is_int(KeReadStateMutex(&g_mutex), 0, "the new owner holds the mutex once");
    KeSetEvent(&g_owned, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
    is_int(KeReleaseMutex(&g_mutex, FALSE), 0,
           "KeReleaseMutex returns zero when the mutex becomes signalled");
}

static void test_ownership(void)
{
    PKTHREAD t;

    KeInitializeMutex(&g_mutex, 0);
    is_int(KeReadStateMutex(&g_mutex), 1, "KeInitializeMutex sets the mutex to signalled");
    is_status(KeWaitForSingleObject(&g_mutex, Executive, KernelMode, FALSE, &g_zero),
              STATUS_SUCCESS, "waiting on a signalled mutex acquires it");
    ok(KeReadStateMutex(&g_mutex) != 1, "an owned mutex is not signalled");
    ok(KeAreApcsDisabled(), "owning a mutex disables normal kernel APCs for the owner");

    t = harness_start_thread(try_while_owned, NULL);
    harness_join_thread(t);

    /* Recursive acquisition: the owner's waits are satisfied at once. */
    is_status(KeWaitForMutexObject(&g_mutex, Executive, KernelMode, FALSE, &g_zero), STATUS_SUCCESS,
              "the owner may acquire a mutex it owns again");
    ok(KeReadStateMutex(&g_mutex) != 1, "a recursively owned mutex is not signalled");
    ok(KeReleaseMutex(&g_mutex, FALSE) != 0,
       "the first of two releases does not make the mutex signalled");
    ok(KeReadStateMutex(&g_mutex) != 1, "still owned after one of two releases");
    ok(KeAreApcsDisabled(), "kernel APCs stay disabled while the mutex is still owned");
    is_int(KeReleaseMutex(&g_mutex, FALSE), 0,
           "the last release returns zero: the mutex is signalled");
    is_int(KeReadStateMutex(&g_mutex), 1, "a released mutex is signalled");
    ok(!KeAreApcsDisabled(), "releasing the mutex re-enables normal kernel APCs");

    /* Hand-over: a blocked waiter becomes the owner when the owner releases. */
    KeInitializeEvent(&g_owned, NotificationEvent, FALSE);
    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    KeWaitForSingleObject(&g_mutex, Executive, KernelMode, FALSE, NULL);
    t = harness_start_thread(acquire_blocking, NULL);
    is_int(KeReleaseMutex(&g_mutex, FALSE), 0, "the owner's only release returns zero");
    KeWaitForSingleObject(&g_owned, Executive, KernelMode, FALSE, NULL);
    is_status(KeWaitForSingleObject(&g_mutex, Executive, KernelMode, FALSE, &g_zero),
              STATUS_TIMEOUT, "the former owner cannot take the mutex its waiter now owns");
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    harness_join_thread(t);
    is_int(KeReadStateMutex(&g_mutex), 1, "signalled again after the waiter released it");
}

/* Acquire the mutant and end without releasing it. */
static VOID NTAPI own_and_exit(PVOID ctx)
{
    is_status(KeWaitForSingleObject(ctx, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS,
              "the thread acquires the mutant");
}

static VOID NTAPI own_and_signal(PVOID ctx)
{
    KeWaitForSingleObject(ctx, Executive, KernelMode, FALSE, NULL);
    KeSetEvent(&g_owned, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
}

static void test_abandoned(void)
{
    PKTHREAD t;

    /* Owned when the owner thread ends: the next acquisition is STATUS_ABANDONED. */
    KeInitializeMutant(&g_mutant, FALSE);
    is_int(KeReadStateMutant(&g_mutant), 1, "KeInitializeMutant(FALSE): signalled");
    t = harness_start_thread(own_and_exit, &g_mutant);
    harness_join_thread(t);
    is_int(KeReadStateMutant(&g_mutant), 1, "a mutant abandoned by its ending owner is signalled");
    is_status(KeWaitForSingleObject(&g_mutant, Executive, KernelMode, FALSE, &g_zero),
              STATUS_ABANDONED, "acquiring an abandoned mutant returns STATUS_ABANDONED");
    is_int(KeReadStateMutant(&g_mutant), 0, "the waiter owns the abandoned mutant");
    is_int(KeReleaseMutant(&g_mutant, IO_NO_INCREMENT, FALSE, FALSE), 0,
           "the new owner releases it");
    is_status(KeWaitForSingleObject(&g_mutant, Executive, KernelMode, FALSE, &g_zero),
              STATUS_SUCCESS, "the next acquisition is a normal one");
    KeReleaseMutant(&g_mutant, IO_NO_INCREMENT, FALSE, FALSE);

    /* A waiter blocked when the owner ends gets it, abandoned. */
    KeInitializeEvent(&g_owned, NotificationEvent, FALSE);
    KeInitializeEvent(&g_release, NotificationEvent, FALSE);
    t = harness_start_thread(own_and_signal, &g_mutant);
    KeWaitForSingleObject(&g_owned, Executive, KernelMode, FALSE, NULL);
    KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(&g_mutant, Executive, KernelMode, FALSE, NULL),
              STATUS_ABANDONED, "a blocked waiter gets STATUS_ABANDONED when the owner ends");
    harness_join_thread(t);
    KeReleaseMutant(&g_mutant, IO_NO_INCREMENT, FALSE, FALSE);
    is_int(KeReadStateMutant(&g_mutant), 1, "released: signalled");

    /* KeInitializeMutant(TRUE): the caller owns it. */
    KeInitializeMutant(&g_mutant, TRUE);
    is_int(KeReadStateMutant(&g_mutant), 0, "KeInitializeMutant(TRUE): owned by the caller");
    is_status(KeWaitForSingleObject(&g_mutant, Executive, KernelMode, FALSE, &g_zero),
              STATUS_SUCCESS, "the initial owner may acquire it again");
    ok(KeReleaseMutant(&g_mutant, IO_NO_INCREMENT, FALSE, FALSE) != 0, "first of two releases");
    is_int(KeReleaseMutant(&g_mutant, IO_NO_INCREMENT, FALSE, FALSE), 0, "last release");
}

static KMUTANT g_mutants[3];
static KMUTEX g_mutexes[2];

/* Owns three mutants: the first and third acquired at once, the second
   handed over by the main thread's release; releases the first, out of
   order, and ends owning the other two. */
static VOID NTAPI own_several(PVOID ctx)
{
    is_status(KeWaitForSingleObject(&g_mutants[0], Executive, KernelMode, FALSE, &g_zero),
              STATUS_SUCCESS, "a free mutant is acquired at once");
    KeSetEvent(&g_owned, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(&g_mutants[1], Executive, KernelMode, FALSE, NULL),
              STATUS_SUCCESS, "a mutant its owner releases passes to the blocked waiter");
    is_status(KeWaitForSingleObject(&g_mutants[2], Executive, KernelMode, FALSE, &g_zero),
              STATUS_SUCCESS, "a third mutant is acquired at once");
    is_int(KeReleaseMutant(&g_mutants[0], IO_NO_INCREMENT, FALSE, FALSE), 0,
           "the owner releases the first of its mutants first");
}

/* Two mutexes, the second handed over: each owned mutex disables normal
   kernel APCs until its release (documented for KeWaitForMutexObject). */
static VOID NTAPI own_two_mutexes(PVOID ctx)
{
    KeWaitForSingleObject(&g_mutexes[0], Executive, KernelMode, FALSE, NULL);
    KeSetEvent(&g_owned, IO_NO_INCREMENT, FALSE);
    is_status(KeWaitForSingleObject(&g_mutexes[1], Executive, KernelMode, FALSE, NULL),
              STATUS_SUCCESS, "a released mutex passes to the blocked waiter");
    ok(KeAreApcsDisabled(), "two mutexes owned: normal kernel APCs disabled");
    KeReleaseMutex(&g_mutexes[0], FALSE);
    ok(KeAreApcsDisabled(), "one of two mutexes released: still disabled");
    KeReleaseMutex(&g_mutexes[1], FALSE);
    ok(!KeAreApcsDisabled(), "both released: normal kernel APCs enabled again");
}

static void test_several(void)
{
    PKTHREAD t;

    for (int i = 0; i < 3; i++)
        KeInitializeMutant(&g_mutants[i], FALSE);
    KeInitializeEvent(&g_owned, SynchronizationEvent, FALSE);
    KeWaitForSingleObject(&g_mutants[1], Executive, KernelMode, FALSE, NULL);
    t = harness_start_thread(own_several, NULL);
    KeWaitForSingleObject(&g_owned, Executive, KernelMode, FALSE, NULL);
    KeReleaseMutant(&g_mutants[1], IO_NO_INCREMENT, FALSE, FALSE);
    harness_join_thread(t);
    is_status(KeWaitForSingleObject(&g_mutants[0], Executive, KernelMode, FALSE, &g_zero),
              STATUS_SUCCESS, "the mutant released before the owner ended is not abandoned");
    is_status(KeWaitForSingleObject(&g_mutants[1], Executive, KernelMode, FALSE, &g_zero),
              STATUS_ABANDONED, "the handed-over mutant its owner ended with is abandoned");
    is_status(KeWaitForSingleObject(&g_mutants[2], Executive, KernelMode, FALSE, &g_zero),
              STATUS_ABANDONED, "the last-acquired mutant its owner ended with is abandoned");
    for (int i = 0; i < 3; i++)
        KeReleaseMutant(&g_mutants[i], IO_NO_INCREMENT, FALSE, FALSE);

    KeInitializeMutex(&g_mutexes[0], 0);
    KeInitializeMutex(&g_mutexes[1], 0);
    KeWaitForSingleObject(&g_mutexes[1], Executive, KernelMode, FALSE, NULL);
    t = harness_start_thread(own_two_mutexes, NULL);
    KeWaitForSingleObject(&g_owned, Executive, KernelMode, FALSE, NULL);
    KeReleaseMutex(&g_mutexes[1], FALSE);
    harness_join_thread(t);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT DriverObject)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    DriverObject->DriverUnload = DriverUnload;
    test_ownership();
    test_abandoned();
    test_several();
    return STATUS_SUCCESS;
}
