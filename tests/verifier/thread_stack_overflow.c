// A system thread recurses until it runs off the end of its kernel stack.
// Windows: bug check 0x7F UNEXPECTED_KERNEL_MODE_TRAP with P1 8
// (EXCEPTION_DOUBLE_FAULT: the fault on the guard page cannot be delivered
// on the exhausted stack). The system thread's stack lives in a block
// kmhost maps and reuses (hal/stacks.c); this checks that its guard page and
// bounds are right: an overflow, not a random fault. Two threads run the
// same routine one after another: the second may run on the first's block,
// reused once the first ended. A frame over a page makes the compiler
// probe the stack through ___chkstk_ms (libgcc, an untyped assembly
// symbol): the report names it.
// EXPECT-EXIT: 3
// EXPECT-OUTPUT: ^\*\*\* STOP: 0x0000007F \(0x0000000000000008,0x0000000000000000,0x0000000000000000,0x0000000000000000\) UNEXPECTED_KERNEL_MODE_TRAP$
// EXPECT-OUTPUT: faulting instruction: bug_thread_stack_overflow\.sys\+0x[0-9a-f]+ \(___chkstk_ms\+0x[0-9a-f]+\)
// EXPECT-OUTPUT: bug_thread_stack_overflow\.sys\+0x[0-9a-f]+ \(Deeper
#include <ntddk.h>

static ULONG NTAPI Deeper(ULONG Depth, ULONG Limit)
{
    volatile UCHAR frame[6000];
    frame[0] = (UCHAR)Depth;
    frame[sizeof(frame) - 1] = (UCHAR)(Depth >> 8);
    if (Depth == Limit)
        return frame[0];
    return Deeper(Depth + 1, Limit) + frame[sizeof(frame) - 1];
}

static VOID NTAPI Recurse(PVOID Context)
{
    /* Context: how deep; MAXULONG is without end. */
    Deeper(0, (ULONG)(ULONG_PTR)Context);
}

static NTSTATUS RunThread(ULONG Limit)
{
    HANDLE thread;
    PVOID object;
    NTSTATUS status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, Recurse,
                                           (PVOID)(ULONG_PTR)Limit);
    if (!NT_SUCCESS(status))
        return status;
    status = ObReferenceObjectByHandle(thread, SYNCHRONIZE, NULL, KernelMode, &object, NULL);
    ZwClose(thread);
    if (!NT_SUCCESS(status))
        return status;
    KeWaitForSingleObject(object, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(object);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    NTSTATUS status;

    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    status = RunThread(1); /* 12 KiB deep: fits a Windows kernel stack */
    if (!NT_SUCCESS(status))
        return status;
    DbgPrint("thread_stack_overflow: a shallow recursion returned; now one without end\n");
    return RunThread(MAXULONG);
}
