// Conformance: process and thread identity routines (PsInitialSystemProcess,
// PsGetCurrentProcessId, PsGetProcessId, PsGetCurrentThreadId, PsGetThreadId,
// PsGetThreadProcessId, PsIsSystemThread) in DriverEntry and in a system thread.
// EXPECT-EXIT: 0
#include "harness.h"

/* The System process has had process id 4 on every Windows NT since XP. */
#define SYSTEM_PID ((HANDLE)4)

struct ids {
    HANDLE tid, pid, thread_tid, thread_pid;
    BOOLEAN system_thread;
    PEPROCESS process;
};

static void observe(struct ids *o)
{
    PETHREAD self = PsGetCurrentThread();

    o->tid = PsGetCurrentThreadId();
    o->pid = PsGetCurrentProcessId();
    o->thread_tid = PsGetThreadId(self);
    o->thread_pid = PsGetThreadProcessId(self);
    o->system_thread = PsIsSystemThread(self);
    o->process = PsGetCurrentProcess();
}

static void check(const struct ids *o, const char *where)
{
    ok(KM_PsInitialSystemProcess != NULL, "%s: PsInitialSystemProcess is set", where);
    is_ptr(o->process, KM_PsInitialSystemProcess,
           "system threads belong to the initial system process");
    is_ptr(o->pid, PsGetProcessId(KM_PsInitialSystemProcess),
           "PsGetCurrentProcessId is PsGetProcessId of the current (System) process");
    is_ptr(o->pid, SYSTEM_PID, "the System process id is 4");
    is_ptr(o->thread_tid, o->tid, "PsGetThreadId(PsGetCurrentThread()) == PsGetCurrentThreadId()");
    is_ptr(o->thread_pid, o->pid,
           "PsGetThreadProcessId(PsGetCurrentThread()) == PsGetCurrentProcessId()");
    ok(o->tid != NULL, "%s: a thread id is never NULL", where);
    ok(o->system_thread, "%s: PsIsSystemThread is TRUE in a system thread", where);
}

static struct ids g_thread_ids;

static VOID NTAPI thread_main(PVOID ctx)
{
    observe(&g_thread_ids);
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    struct ids o;

    observe(&o);
    check(&o, "DriverUnload");
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    struct ids o;
    PKTHREAD t;

    driver->DriverUnload = DriverUnload;
    observe(&o);
    check(&o, "DriverEntry");
    is_ptr(PsGetProcessId(KM_PsInitialSystemProcess), SYSTEM_PID,
           "PsGetProcessId(PsInitialSystemProcess) is 4");

    t = harness_start_thread(thread_main, NULL);
    if (t) {
        KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
        is_ptr(PsGetThreadId((PETHREAD)t), g_thread_ids.tid,
               "PsGetThreadId of another thread is the id that thread saw for itself");
        is_ptr(PsGetThreadProcessId((PETHREAD)t), SYSTEM_PID,
               "PsGetThreadProcessId of a thread created with ProcessHandle NULL is 4");
        ObDereferenceObject(t);
        check(&g_thread_ids, "system thread");
        ok(g_thread_ids.tid != o.tid, "PsGetCurrentThreadId differs between two live threads");
        is_ptr(g_thread_ids.pid, o.pid, "threads of the System process share its process id");
    }
    return STATUS_SUCCESS;
}
