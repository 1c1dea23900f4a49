/*
 * Interlocked lists that drivers import: the ExInterlocked* doubly and singly
 * linked lists guarded by a caller's KSPIN_LOCK, and the x64 SLIST routines.
 *
 * ExInterlocked*: the KSPIN_LOCK word is taken as a plain spin lock on bit 0
 * (the bit Windows' x64 spin locks use), so these interoperate with a driver
 * that takes the same lock word; the dispatcher's KeAcquireSpinLock must use
 * the same bit. The list heads and entries are the driver's LIST_ENTRY and
 * SINGLE_LIST_ENTRY; each routine returns the entry the documentation names,
 * or NULL for an empty list.
 *
 * SLIST_HEADER (16 bytes, 16-aligned) keeps the WDK x64 "HeaderX64" layout:
 * bits 0-15 of the first quadword are Depth (ExQueryDepthSList and inline
 * code read it), bits 16-63 a Sequence; bits 4-63 of the second are the first
 * entry's address shifted right by 4, bits 0-3 flags (HeaderType, Init) that
 * updates keep. Entries must be 16-byte aligned, as
 * documented. Updates are serialised by a small array of locks hashed by
 * header address, so a pop never reads an entry that another pop freed.
 */
#include "ex/ex.h"
#include "rtl.h"

#include <sched.h>
#include <stdio.h>

static void Rtlp_spin_acquire(volatile KSPIN_LOCK *Lock)
{
    while (__atomic_fetch_or(Lock, 1, __ATOMIC_ACQUIRE) & 1) {
        while (__atomic_load_n(Lock, __ATOMIC_RELAXED) & 1)
            sched_yield();
    }
}

static void Rtlp_spin_release(volatile KSPIN_LOCK *Lock)
{
    __atomic_and_fetch(Lock, ~(KSPIN_LOCK)1, __ATOMIC_RELEASE);
}

PLIST_ENTRY NTAPI ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                              PKSPIN_LOCK Lock)
{
    Rtlp_spin_acquire(Lock);
    PLIST_ENTRY first = ListHead->Flink;
    ListEntry->Flink = first;
    ListEntry->Blink = ListHead;
    first->Blink = ListEntry;
    ListHead->Flink = ListEntry;
    Rtlp_spin_release(Lock);
    return first == ListHead ? NULL : first;
}
KM_EXPORT(ExInterlockedInsertHeadList);

PLIST_ENTRY NTAPI ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry,
                                              PKSPIN_LOCK Lock)
{
    Rtlp_spin_acquire(Lock);
    PLIST_ENTRY last = ListHead->Blink;
    ListEntry->Flink = ListHead;
    ListEntry->Blink = last;
    last->Flink = ListEntry;
    ListHead->Blink = ListEntry;
    Rtlp_spin_release(Lock);
    return last == ListHead ? NULL : last;
}
KM_EXPORT(ExInterlockedInsertTailList);

PLIST_ENTRY NTAPI ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    Rtlp_spin_acquire(Lock);
    PLIST_ENTRY first = ListHead->Flink;
    if (first == ListHead) {
        first = NULL;
    } else {
        ListHead->Flink = first->Flink;
        first->Flink->Blink = ListHead;
    }
    Rtlp_spin_release(Lock);
    return first;
}
KM_EXPORT(ExInterlockedRemoveHeadList);

PSINGLE_LIST_ENTRY NTAPI ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead,
                                                    PSINGLE_LIST_ENTRY ListEntry, PKSPIN_LOCK Lock)
{
    Rtlp_spin_acquire(Lock);
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    ListEntry->Next = first;
    ListHead->Next = ListEntry;
    Rtlp_spin_release(Lock);
    return first;
}
KM_EXPORT(ExInterlockedPushEntryList);

PSINGLE_LIST_ENTRY NTAPI ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock)
{
    Rtlp_spin_acquire(Lock);
    PSINGLE_LIST_ENTRY first = ListHead->Next;
    if (first)
        ListHead->Next = first->Next;
    Rtlp_spin_release(Lock);
    return first;
}
KM_EXPORT(ExInterlockedPopEntryList);

ULONG NTAPI ExInterlockedAddUlong(PULONG Addend, ULONG Increment, PKSPIN_LOCK Lock)
{
    Rtlp_spin_acquire(Lock);
    ULONG old = *Addend;
    *Addend = old + Increment;
    Rtlp_spin_release(Lock);
    return old;
}
KM_EXPORT(ExInterlockedAddUlong);

LARGE_INTEGER NTAPI ExInterlockedAddLargeInteger(PLARGE_INTEGER Addend, LARGE_INTEGER Increment,
                                                 PKSPIN_LOCK Lock)
{
    Rtlp_spin_acquire(Lock);
    LARGE_INTEGER old = *Addend;
    Addend->QuadPart = (LONGLONG)((ULONG64)old.QuadPart + (ULONG64)Increment.QuadPart);
    Rtlp_spin_release(Lock);
    return old;
}
KM_EXPORT(ExInterlockedAddLargeInteger);

typedef struct __attribute__((aligned(16))) RTLP_SLIST_HEADER {
    ULONG64 Alignment; /* Depth:16, Sequence:48 */
    ULONG64 Region;    /* HeaderType:1, Reserved:3, NextEntry:60 */
} RTLP_SLIST_HEADER;
typedef struct __attribute__((aligned(16))) RTLP_SLIST_ENTRY {
    struct RTLP_SLIST_ENTRY *Next;
} RTLP_SLIST_ENTRY;

#define RTLP_SLIST_LOCKS 64u
static KSPIN_LOCK Rtlp_slist_locks[RTLP_SLIST_LOCKS];

static PKSPIN_LOCK Rtlp_slist_lock(const RTLP_SLIST_HEADER *H)
{
    return &Rtlp_slist_locks[((uintptr_t)H >> 4) % RTLP_SLIST_LOCKS];
}

static RTLP_SLIST_ENTRY *Rtlp_slist_first(const RTLP_SLIST_HEADER *H)
{
    return (RTLP_SLIST_ENTRY *)(uintptr_t)(__atomic_load_n(&H->Region, __ATOMIC_ACQUIRE) &
                                           ~(ULONG64)0xF);
}

static void Rtlp_slist_set(RTLP_SLIST_HEADER *H, RTLP_SLIST_ENTRY *First, ULONG64 Depth)
{
    ULONG64 seq = (H->Alignment >> 16) + 1;
    __atomic_store_n(&H->Region, (ULONG64)(uintptr_t)First | (H->Region & 0xF), __ATOMIC_RELEASE);
    __atomic_store_n(&H->Alignment, (seq << 16) | (Depth & 0xFFFF), __ATOMIC_RELEASE);
}

static void Rtlp_check_aligned(const void *P, void *Caller)
{
    if ((uintptr_t)P & 0xF) {
        fprintf(stderr, "kmhost: SLIST header or entry %p is not 16-byte aligned\n", P);
        ExpRaiseStatus(STATUS_DATATYPE_MISALIGNMENT, Caller);
    }
}

VOID NTAPI InitializeSListHead(RTLP_SLIST_HEADER *SListHead)
{
    Rtlp_check_aligned(SListHead, __builtin_return_address(0));
    SListHead->Alignment = 0;
    /* HeaderType and Init set: the 16-byte header format, initialised. */
    SListHead->Region = 3;
}
KM_EXPORT(InitializeSListHead);

USHORT NTAPI ExQueryDepthSList(RTLP_SLIST_HEADER *SListHead)
{
    return (USHORT)(__atomic_load_n(&SListHead->Alignment, __ATOMIC_ACQUIRE) & 0xFFFF);
}
KM_EXPORT(ExQueryDepthSList);

RTLP_SLIST_ENTRY *NTAPI ExpInterlockedPushEntrySList(RTLP_SLIST_HEADER *ListHead,
                                                     RTLP_SLIST_ENTRY *ListEntry)
{
    Rtlp_check_aligned(ListEntry, __builtin_return_address(0));
    PKSPIN_LOCK lock = Rtlp_slist_lock(ListHead);
    Rtlp_spin_acquire(lock);
    RTLP_SLIST_ENTRY *first = Rtlp_slist_first(ListHead);
    ListEntry->Next = first;
    Rtlp_slist_set(ListHead, ListEntry, (ListHead->Alignment & 0xFFFF) + 1);
    Rtlp_spin_release(lock);
    return first;
}
KM_EXPORT(ExpInterlockedPushEntrySList);

RTLP_SLIST_ENTRY *NTAPI ExpInterlockedPopEntrySList(RTLP_SLIST_HEADER *ListHead)
{
    PKSPIN_LOCK lock = Rtlp_slist_lock(ListHead);
    Rtlp_spin_acquire(lock);
    RTLP_SLIST_ENTRY *first = Rtlp_slist_first(ListHead);
    if (first)
        Rtlp_slist_set(ListHead, first->Next, (ListHead->Alignment & 0xFFFF) - 1);
    Rtlp_spin_release(lock);
    return first;
}
KM_EXPORT(ExpInterlockedPopEntrySList);

RTLP_SLIST_ENTRY *NTAPI ExpInterlockedFlushSList(RTLP_SLIST_HEADER *ListHead)
{
    PKSPIN_LOCK lock = Rtlp_slist_lock(ListHead);
    Rtlp_spin_acquire(lock);
    RTLP_SLIST_ENTRY *first = Rtlp_slist_first(ListHead);
    if (first)
        Rtlp_slist_set(ListHead, NULL, 0);
    Rtlp_spin_release(lock);
    return first;
}
KM_EXPORT(ExpInterlockedFlushSList);

RTLP_SLIST_ENTRY *NTAPI RtlFirstEntrySList(const RTLP_SLIST_HEADER *ListHead)
{
    return Rtlp_slist_first(ListHead);
}
KM_EXPORT(RtlFirstEntrySList);
