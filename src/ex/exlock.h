/*
 * Executive locks that drivers allocate, with the WDK x64 layout that
 * mingw-w64's wdm.h gives them: FAST_MUTEX and KGUARDED_MUTEX (0x38 bytes,
 * initialised in part by inline header code), ERESOURCE (0x68 bytes).
 * The routines live in fastmutex.c, resource.c and pushlock.c.
 */
#ifndef KM_EX_EXLOCK_H
#define KM_EX_EXLOCK_H

#include "ke/ke.h"

#define FM_LOCK_BIT 0x1

typedef struct _FAST_MUTEX {
    volatile LONG Count; /* 1 free; 1 - Count threads own it or wait for it */
    PKTHREAD Owner;
    ULONG Contention;
    KEVENT Event; /* synchronization event: one hand-over per contended release */
    ULONG OldIrql;
} FAST_MUTEX, *PFAST_MUTEX;
_Static_assert(sizeof(FAST_MUTEX) == 0x38, "FAST_MUTEX");
_Static_assert(offsetof(FAST_MUTEX, Event) == 0x18, "FAST_MUTEX.Event");
_Static_assert(offsetof(FAST_MUTEX, OldIrql) == 0x30, "FAST_MUTEX.OldIrql");

typedef struct _KGUARDED_MUTEX {
    volatile LONG Count;
    PKTHREAD Owner;
    ULONG Contention;
    KEVENT Gate; /* a KGATE in the WDK: a DISPATCHER_HEADER, used as a sync event */
    union {
        struct {
            SHORT KernelApcDisable;
            SHORT SpecialApcDisable;
        };
        ULONG CombinedApcDisable;
    };
} KGUARDED_MUTEX, *PKGUARDED_MUTEX;
_Static_assert(sizeof(KGUARDED_MUTEX) == 0x38, "KGUARDED_MUTEX");
_Static_assert(offsetof(KGUARDED_MUTEX, Gate) == 0x18, "KGUARDED_MUTEX.Gate");
_Static_assert(offsetof(KGUARDED_MUTEX, KernelApcDisable) == 0x30, "KGUARDED_MUTEX.ApcDisable");

typedef ULONG_PTR ERESOURCE_THREAD, *PERESOURCE_THREAD;

typedef struct _OWNER_ENTRY {
    ERESOURCE_THREAD OwnerThread;
    union {
        struct {
            ULONG IoPriorityBoosted : 1;
            ULONG OwnerReferenced : 1;
            ULONG OwnerCount : 30;
        };
        ULONG TableSize;
    };
} OWNER_ENTRY, *POWNER_ENTRY;
_Static_assert(sizeof(OWNER_ENTRY) == 16, "OWNER_ENTRY");

typedef struct _ERESOURCE {
    LIST_ENTRY SystemResourcesList;
    POWNER_ENTRY OwnerTable; /* shared owners (side allocation, resource.c) */
    SHORT ActiveCount;       /* owning threads (granted, including hand-overs) */
    USHORT Flag;
    PKSEMAPHORE volatile SharedWaiters;
    PKEVENT volatile ExclusiveWaiters;
    OWNER_ENTRY OwnerEntry; /* the exclusive owner */
    ULONG ActiveEntries;    /* entries in use in OwnerTable */
    ULONG ContentionCount;
    ULONG NumberOfSharedWaiters;
    ULONG NumberOfExclusiveWaiters;
    PVOID Reserved2;
    union {
        PVOID Address;
        ULONG_PTR CreatorBackTraceIndex;
    };
    KSPIN_LOCK SpinLock; /* guards every field above (resource.c) */
} ERESOURCE, *PERESOURCE;
_Static_assert(sizeof(ERESOURCE) == 0x68, "ERESOURCE");
_Static_assert(offsetof(ERESOURCE, OwnerEntry) == 0x30, "ERESOURCE.OwnerEntry");
_Static_assert(offsetof(ERESOURCE, NumberOfExclusiveWaiters) == 0x4c, "ERESOURCE.ExWaiters");
_Static_assert(offsetof(ERESOURCE, SpinLock) == 0x60, "ERESOURCE.SpinLock");

#define ResourceNeverExclusive 0x0010
#define ResourceReleaseByOtherThread 0x0020
#define ResourceOwnedExclusive 0x0080

VOID NTAPI ExAcquireFastMutex(PFAST_MUTEX FastMutex);
VOID NTAPI ExReleaseFastMutex(PFAST_MUTEX FastMutex);
VOID NTAPI ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex);
VOID NTAPI ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex);
BOOLEAN NTAPI ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex);

NTSTATUS NTAPI ExInitializeResourceLite(PERESOURCE Resource);
NTSTATUS NTAPI ExDeleteResourceLite(PERESOURCE Resource);
BOOLEAN NTAPI ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait);
BOOLEAN NTAPI ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait);
VOID NTAPI ExReleaseResourceLite(PERESOURCE Resource);

/* alert.c */
VOID NTAPI KeEnterCriticalRegion(VOID);
VOID NTAPI KeLeaveCriticalRegion(VOID);
VOID NTAPI KeEnterGuardedRegion(VOID);
VOID NTAPI KeLeaveGuardedRegion(VOID);
BOOLEAN NTAPI KeAreApcsDisabled(VOID);

#endif
