/*
 * Executive pool internals (src/ex/pool.c): the routines drivers import and
 * the view the verifier needs of live allocations.
 */
#ifndef KM_EX_EX_H
#define KM_EX_EX_H

#include "km.h"

typedef ULONG POOL_TYPE;
#define NonPagedPool 0u
#define PagedPool 1u
#define NonPagedPoolMustSucceed 2u
#define NonPagedPoolCacheAligned 4u
#define PagedPoolCacheAligned 5u
#define NonPagedPoolCacheAlignedMustS 6u
#define NonPagedPoolNx 512u
#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE 8u
#define POOL_RAISE_IF_ALLOCATION_FAILURE 16u

typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_USE_QUOTA 0x1ull
#define POOL_FLAG_UNINITIALIZED 0x2ull
#define POOL_FLAG_SESSION 0x4ull
#define POOL_FLAG_CACHE_ALIGNED 0x8ull
#define POOL_FLAG_RESERVED1 0x10ull
#define POOL_FLAG_RAISE_ON_FAILURE 0x20ull
#define POOL_FLAG_NON_PAGED 0x40ull
#define POOL_FLAG_NON_PAGED_EXECUTE 0x80ull
#define POOL_FLAG_PAGED 0x100ull
#define POOL_FLAG_REQUIRED_MASK 0xFFFFFFFFull
#define POOL_FLAG_SPECIAL_POOL 0x100000000ull

#define BAD_POOL_CALLER 0xC2u
#define KMODE_EXCEPTION_NOT_HANDLED 0x1Eu

PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes);
PVOID NTAPI ExAllocatePoolWithQuotaTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);
PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
PVOID NTAPI ExAllocatePool3(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag,
                            PVOID ExtendedParameters, ULONG Count);
VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag);
VOID NTAPI ExFreePool(PVOID P);
SIZE_T NTAPI ExQueryPoolBlockSize(PVOID PoolBlock, PBOOLEAN QuotaCharged);

/* Allocation on behalf of Caller (the driver's call site, for reports):
   Rtl routines that allocate for the driver use this. */
PVOID ExpAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag, BOOLEAN Zero,
                      void *Caller);
VOID ExpFreePool(PVOID P, ULONG Tag, void *Caller);

/* Calls Fn for every live allocation, oldest first, under the pool lock (Fn must
   not allocate or free pool); returns the number of live allocations. */
size_t ExpForEachLiveAllocation(void (*Fn)(void *Ctx, ULONG Tag, SIZE_T Size, void *Caller),
                                void *Ctx);
/* Live allocations now, and allocations ever made. */
size_t ExpLiveAllocationCount(void);
size_t ExpTotalAllocationCount(void);

/* Raising an exception needs SEH, which kmhost does not dispatch yet: an
   exception nothing handles is bug check 0x1E, as on Windows. */
KM_NORETURN KM_SLOWPATH void ExpRaiseStatus(NTSTATUS Status, void *Caller);

#endif
