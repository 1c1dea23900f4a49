/*
 * EXCEPTION_RECORD and CONTEXT with the exact WDK x64 layout, built from a
 * signal's ucontext for bug check parameters (0x7E P3/P4) and, later, for
 * structured exception dispatch. They belong in include/nt/ once another
 * component needs them; KM_HAVE_EXCEPTION_TYPES guards the move.
 */
#ifndef KM_HAL_CONTEXT_H
#define KM_HAL_CONTEXT_H

#include "km.h"

#include <ucontext.h>

#ifndef KM_HAVE_EXCEPTION_TYPES
#define EXCEPTION_MAXIMUM_PARAMETERS 15
#define EXCEPTION_NONCONTINUABLE 0x1

typedef struct _EXCEPTION_RECORD {
    NTSTATUS ExceptionCode;
    ULONG ExceptionFlags;
    struct _EXCEPTION_RECORD *ExceptionRecord;
    PVOID ExceptionAddress;
    ULONG NumberParameters;
    ULONG_PTR ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD, *PEXCEPTION_RECORD;
_Static_assert(sizeof(EXCEPTION_RECORD) == 0x98, "EXCEPTION_RECORD");
_Static_assert(offsetof(EXCEPTION_RECORD, ExceptionInformation) == 0x20, "ExceptionInformation");

typedef struct __attribute__((aligned(16))) _M128A {
    ULONGLONG Low;
    LONGLONG High;
} M128A;

#define CONTEXT_AMD64 0x00100000
#define CONTEXT_CONTROL (CONTEXT_AMD64 | 0x1)
#define CONTEXT_INTEGER (CONTEXT_AMD64 | 0x2)
#define CONTEXT_SEGMENTS (CONTEXT_AMD64 | 0x4)
#define CONTEXT_FLOATING_POINT (CONTEXT_AMD64 | 0x8)
#define CONTEXT_FULL (CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_FLOATING_POINT)

typedef struct __attribute__((aligned(16))) _CONTEXT {
    ULONG64 P1Home, P2Home, P3Home, P4Home, P5Home, P6Home;
    ULONG ContextFlags;
    ULONG MxCsr;
    USHORT SegCs, SegDs, SegEs, SegFs, SegGs, SegSs;
    ULONG EFlags;
    ULONG64 Dr0, Dr1, Dr2, Dr3, Dr6, Dr7;
    ULONG64 Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi;
    ULONG64 R8, R9, R10, R11, R12, R13, R14, R15;
    ULONG64 Rip;
    UCHAR FltSave[512]; /* XMM_SAVE_AREA32: the FXSAVE image */
    M128A VectorRegister[26];
    ULONG64 VectorControl;
    ULONG64 DebugControl;
    ULONG64 LastBranchToRip, LastBranchFromRip, LastExceptionToRip, LastExceptionFromRip;
} CONTEXT, *PCONTEXT;
_Static_assert(sizeof(CONTEXT) == 0x4d0, "CONTEXT");
_Static_assert(offsetof(CONTEXT, EFlags) == 0x44, "CONTEXT.EFlags");
_Static_assert(offsetof(CONTEXT, Rax) == 0x78, "CONTEXT.Rax");
_Static_assert(offsetof(CONTEXT, Rip) == 0xf8, "CONTEXT.Rip");
_Static_assert(offsetof(CONTEXT, FltSave) == 0x100, "CONTEXT.FltSave");
#endif

/* Fills Context from a signal's ucontext (CONTEXT_FULL | CONTEXT_SEGMENTS).
   Signal-safe. */
void HalpContextFromUcontext(CONTEXT *Context, const ucontext_t *Uc);

#endif
