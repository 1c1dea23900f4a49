/*
 * A real mingw-w64 driver image for test_ldr_mingw.c: imports a routine and a
 * data variable by name from ntoskrnl.exe, holds an absolute pointer (a DIR64
 * relocation), keeps its COFF symbol table and .pdata. DriverEntry returns
 * KmTestLdrMingwFunc(KmTestLdrMingwData) + *LdrFixPointer, which the test
 * computes independently.
 */
#include <ntddk.h>

__declspec(dllimport) extern ULONG KmTestLdrMingwData;
ULONG NTAPI KmTestLdrMingwFunc(ULONG Value);

static ULONG LdrFixCounter;
ULONG *volatile LdrFixPointer = &LdrFixCounter;

__declspec(noinline) ULONG LdrFixHelper(ULONG Value)
{
    return KmTestLdrMingwFunc(Value) + *LdrFixPointer;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LdrFixCounter = 1;
    return (NTSTATUS)LdrFixHelper(KmTestLdrMingwData);
}
