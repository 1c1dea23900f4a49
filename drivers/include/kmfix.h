/*
 * kmfix.h: fixes for building Windows drivers with mingw-w64's DDK headers.
 *
 * mingw-w64's wdm.h declares the exported object types as
 *     extern POBJECT_TYPE NTSYSAPI *PsThreadType;
 * with dllimport, which adds one indirection too many: *PsThreadType then
 * yields the import slot's neighbour, not the type. The import slot itself,
 * __imp_PsThreadType, holds the address of ntoskrnl's variable, so
 * *__imp_PsThreadType is the POBJECT_TYPE a WDK driver gets from
 * *PsThreadType. Include this header after <ntddk.h> or <wdm.h> and use the
 * KM_* names below wherever the WDK documentation says *PsThreadType.
 *
 * It also declares ntoskrnl.exe routines that mingw-w64's headers or import
 * libraries lack; link with libkmextra.a (built from kmextra.def).
 */
#ifndef KMFIX_H
#define KMFIX_H

extern POBJECT_TYPE *__imp_PsThreadType;
extern POBJECT_TYPE *__imp_PsProcessType;
extern POBJECT_TYPE *__imp_ExEventObjectType;
extern POBJECT_TYPE *__imp_ExSemaphoreObjectType;
extern POBJECT_TYPE *__imp_IoFileObjectType;
extern POBJECT_TYPE *__imp_CmKeyObjectType;
extern PEPROCESS *__imp_PsInitialSystemProcess;

#define KM_PsThreadType (*__imp_PsThreadType)
#define KM_PsProcessType (*__imp_PsProcessType)
#define KM_ExEventObjectType (*__imp_ExEventObjectType)
#define KM_ExSemaphoreObjectType (*__imp_ExSemaphoreObjectType)
#define KM_CmKeyObjectType (*__imp_CmKeyObjectType)
#define KM_PsInitialSystemProcess (*__imp_PsInitialSystemProcess)

#ifndef POOL_FLAG_NON_PAGED
typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_REQUIRED_START 0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA 0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_SESSION 0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED 0x0000000000000008ULL
#define POOL_FLAG_RAISE_ON_FAILURE 0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE 0x0000000000000080ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL
NTKERNELAPI PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
#endif

NTKERNELAPI VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
NTKERNELAPI ULONGLONG NTAPI KeQueryInterruptTimePrecise(PULONGLONG QpcTimeStamp);

#endif
