/*
 * Locks held by threads, and Driver Verifier's deadlock detection.
 *
 * Each thread keeps the locks it holds (acquired through the VfpLock*
 * hooks) in a thread-local stack; mutexes it owns are also on its
 * KTHREAD.MutantListHead, which the dispatcher maintains, so a mutex needs
 * no release hook. Blocking acquisitions of the other kinds enter the held
 * set before they block (a lock-order inversion is then reported even when
 * this very acquisition would deadlock); try-acquisitions are not tracked.
 * Resources released by another thread on the owner's behalf are found at
 * the owner's exit by asking the resource.
 *
 * Deadlock detection records the order in which locks are taken: acquiring
 * L while holding H adds the edge H -> L, with the two acquisition sites.
 * If L -> ... -> H is already recorded, two code paths take the same locks in
 * opposite orders: run at the same time, they can deadlock. That is
 * reported at once, even though this run did not deadlock: bug check 0xC4
 * subcode 0x1001 (P2 the lock whose acquisition closed the cycle), after a
 * line naming both paths' sites. A lock re-initialised (VfpLockDeleted)
 * loses its edges, so memory reused for another lock is not confused with
 * the old one.
 *
 * Invariant: VfpGraphLock protects the graph (nodes, edges, visit marks);
 * it is taken only when a thread acquires a lock while holding another, with
 * deadlock detection on.
 */
#include "vf/vf.h"

#include "ex/exlock.h"
#include "hal/hal.h"
#include "ke/ke.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define VFP_MAX_HELD 64
#define VFP_NODE_BUCKETS 1024u

typedef struct VFP_HELD {
    VF_LOCK_KIND Kind;
    const void *Lock;
    const void *Site;
} VFP_HELD;

static __thread VFP_HELD VfpHeld[VFP_MAX_HELD];
__thread unsigned VfpHeldCount;

struct VFP_NODE;
typedef struct VFP_EDGE {
    struct VFP_NODE *To;
    const void *FromSite; /* where the earlier lock was taken */
    const void *ToSite;   /* where this one was taken while holding it */
} VFP_EDGE;

typedef struct VFP_NODE {
    struct VFP_NODE *HashNext;
    const void *Lock;
    VFP_EDGE *Edges;
    size_t Count, Capacity;
    unsigned Visit;
    const void *LastSite; /* the last site that acquired it */
} VFP_NODE;

static pthread_mutex_t VfpGraphLock = PTHREAD_MUTEX_INITIALIZER;
static VFP_NODE *VfpNodes[VFP_NODE_BUCKETS];
static unsigned VfpVisitStamp;

static const char *VfpLockKindName(VF_LOCK_KIND Kind)
{
    switch (Kind) {
    case VF_LOCK_MUTEX:
        return "mutex";
    case VF_LOCK_FAST_MUTEX:
        return "fast mutex";
    case VF_LOCK_RESOURCE:
        return "resource";
    case VF_LOCK_SPIN:
        return "spin lock";
    case VF_LOCK_GUARDED_MUTEX:
        return "guarded mutex";
    }
    return "lock";
}

static size_t VfpNodeHash(const void *Lock)
{
    return ((uintptr_t)Lock >> 3) * 0x9E3779B97F4A7C15ull >> 54 & (VFP_NODE_BUCKETS - 1);
}

static VFP_NODE *VfpNodeLocked(const void *Lock, bool Create)
{
    VFP_NODE **link = &VfpNodes[VfpNodeHash(Lock)];
    for (; *link; link = &(*link)->HashNext) {
        if ((*link)->Lock == Lock)
            return *link;
    }
    if (!Create)
        return NULL;
    VFP_NODE *n = calloc(1, sizeof(*n));
    if (n) {
        n->Lock = Lock;
        *link = n;
    }
    return n;
}

/* Depth-first search From ⇒ To; on success *First is the first edge of the path. */
static bool VfpPathLocked(VFP_NODE *From, VFP_NODE *To, VFP_EDGE **First)
{
    if (From == To)
        return true;
    if (From->Visit == VfpVisitStamp)
        return false;
    From->Visit = VfpVisitStamp;
    for (size_t i = 0; i < From->Count; i++) {
        VFP_EDGE *dummy;
        if (VfpPathLocked(From->Edges[i].To, To, &dummy)) {
            *First = &From->Edges[i];
            return true;
        }
    }
    return false;
}

/* Holding Held (taken at HeldSite), the thread acquires Lock at Site. */
static void VfpOrderLocked(VFP_NODE *held, VFP_NODE *lock, const void *HeldSite, const void *Site,
                           VF_LOCK_KIND Kind)
{
    for (size_t i = 0; i < held->Count; i++) {
        if (held->Edges[i].To == lock)
            return; /* this order is known */
    }
    VFP_EDGE *first = NULL;
    VfpVisitStamp++;
    if (VfpPathLocked(lock, held, &first)) {
        char a[256], b[256], c[256], d[256];
        LdrDescribeAddress(HeldSite, a, sizeof(a));
        LdrDescribeAddress(Site, b, sizeof(b));
        LdrDescribeAddress(first->FromSite, c, sizeof(c));
        LdrDescribeAddress(first->ToSite, d, sizeof(d));
        pthread_mutex_unlock(&VfpGraphLock);
        VfpStop(Site, 0xC4, 0x1001, (ULONG_PTR)lock->Lock, 0, 0,
                "lock order inversion (a possible deadlock): this thread holds %p (acquired "
                "at %s) and acquires %s %p at %s; another path held %p (acquired at %s) when "
                "it acquired %p at %s. Acquire these locks in one order everywhere",
                held->Lock, a, VfpLockKindName(Kind), lock->Lock, b, lock->Lock, c, first->To->Lock,
                d);
    }
    if (held->Count == held->Capacity) {
        size_t cap = held->Capacity ? held->Capacity * 2 : 4;
        VFP_EDGE *grown = realloc(held->Edges, cap * sizeof(*grown));
        if (!grown)
            return;
        held->Edges = grown;
        held->Capacity = cap;
    }
    held->Edges[held->Count++] = (VFP_EDGE){lock, HeldSite, Site};
}

static void VfpRecordOrder(VF_LOCK_KIND Kind, const void *Lock, const void *Site,
                           const PLIST_ENTRY Mutants)
{
    bool any = VfpHeldCount != 0;
    if (Mutants && !KiIsListEmpty(Mutants))
        any = true;
    pthread_mutex_lock(&VfpGraphLock);
    VFP_NODE *node = VfpNodeLocked(Lock, true);
    if (!node) {
        pthread_mutex_unlock(&VfpGraphLock);
        return;
    }
    node->LastSite = Site;
    if (any) {
        unsigned n = VfpHeldCount < VFP_MAX_HELD ? VfpHeldCount : VFP_MAX_HELD;
        for (unsigned i = 0; i < n; i++) {
            const void *held = VfpHeld[i].Lock;
            VFP_NODE *h = held && held != Lock ? VfpNodeLocked(held, true) : NULL;
            if (h)
                VfpOrderLocked(h, node, VfpHeld[i].Site, Site, Kind);
        }
        if (Mutants) {
            for (PLIST_ENTRY e = Mutants->Flink; e != Mutants; e = e->Flink) {
                PKMUTANT m = CONTAINING_RECORD(e, KMUTANT, MutantListEntry);
                VFP_NODE *h = (const void *)m != Lock ? VfpNodeLocked(m, true) : NULL;
                if (h)
                    VfpOrderLocked(h, node, h->LastSite, Site, Kind);
            }
        }
    }
    pthread_mutex_unlock(&VfpGraphLock);
}

KM_SLOWPATH void VfpLockAcquiredSlow(VF_LOCK_KIND Kind, const void *Lock, const void *Site)
{
    Site = VfpDriverSite(Site); /* kmhost's own wrappers: the driver's call */
    if (VfpEnabled(VF_DEADLOCK)) {
        PKTHREAD t = KiCurrentThread();
        VfpRecordOrder(Kind, Lock, Site, t ? KiOwnedMutants(t) : NULL);
    }
    if (VfpHeldCount < VFP_MAX_HELD)
        VfpHeld[VfpHeldCount] = (VFP_HELD){Kind, Lock, Site};
    VfpHeldCount++;
}

KM_SLOWPATH void VfpLockReleasedSlow(VF_LOCK_KIND Kind, const void *Lock, const void *Site)
{
    (void)Kind;
    (void)Site;
    unsigned n = VfpHeldCount < VFP_MAX_HELD ? VfpHeldCount : VFP_MAX_HELD;
    for (unsigned i = n; i-- > 0;) {
        if (VfpHeld[i].Lock == Lock) {
            for (unsigned j = i; j + 1 < n; j++)
                VfpHeld[j] = VfpHeld[j + 1];
            /* More were held than recorded: the last slot now stands for
               one that was never recorded, so it names no lock. */
            if (VfpHeldCount > VFP_MAX_HELD)
                VfpHeld[n - 1] = (VFP_HELD){0};
            VfpHeldCount--;
            return;
        }
    }
    if (VfpHeldCount > VFP_MAX_HELD)
        VfpHeldCount--;
}

/* A mutex acquired by a wait: the held set is the thread's other mutants
   (its MutantListHead) and its hooked locks. */
KM_SLOWPATH void VfpMutexAcquiredByWait(PVOID Mutex, const void *Site)
{
    if (!VfpEnabled(VF_DEADLOCK))
        return;
    PKTHREAD t = KiCurrentThread();
    PKMUTANT m = Mutex;
    if (!t || m->OwnerThread != (struct _KTHREAD *)t || KiGetSignalState(&m->Header) != 0)
        return; /* not owned, or a recursive acquisition: no new order */
    VfpRecordOrder(VF_LOCK_MUTEX, Mutex, VfpDriverSite(Site), KiOwnedMutants(t));
}

KM_SLOWPATH void VfpWaitDoneSlow(ULONG Count, PVOID Object[], WAIT_TYPE WaitType, NTSTATUS Status,
                                 const void *Site)
{
    ULONG first = 0, last = Count;
    if (WaitType == WaitAny) {
        ULONG i = (ULONG)Status - (ULONG)STATUS_WAIT_0;
        if (i >= Count)
            i = (ULONG)Status - (ULONG)STATUS_ABANDONED_WAIT_0;
        if (i >= Count)
            return;
        first = i, last = i + 1;
    } else if (Status != STATUS_WAIT_0 && (ULONG)Status - (ULONG)STATUS_ABANDONED_WAIT_0 >= Count) {
        return;
    }
    for (ULONG i = first; i < last; i++) {
        const DISPATCHER_HEADER *h = Object[i];
        if ((atomic_load_explicit((_Atomic LONG *)&h->Lock, memory_order_relaxed) & 0x7f) ==
            MutantObject)
            VfpMutexAcquiredByWait(Object[i], Site);
    }
}

void VfpLockDeleted(const void *Lock)
{
    if (!VfpEnabled(VF_DEADLOCK))
        return;
    pthread_mutex_lock(&VfpGraphLock);
    VFP_NODE *gone = VfpNodeLocked(Lock, false);
    if (gone) {
        for (size_t b = 0; b < VFP_NODE_BUCKETS; b++) {
            for (VFP_NODE *n = VfpNodes[b]; n; n = n->HashNext) {
                size_t k = 0;
                for (size_t i = 0; i < n->Count; i++) {
                    if (n->Edges[i].To != gone)
                        n->Edges[k++] = n->Edges[i];
                }
                n->Count = k;
            }
        }
        gone->Count = 0;
    }
    pthread_mutex_unlock(&VfpGraphLock);
}

void VfpLocksReset(void)
{
    pthread_mutex_lock(&VfpGraphLock);
    for (size_t b = 0; b < VFP_NODE_BUCKETS; b++) {
        while (VfpNodes[b]) {
            VFP_NODE *n = VfpNodes[b];
            VfpNodes[b] = n->HashNext;
            free(n->Edges);
            free(n);
        }
    }
    pthread_mutex_unlock(&VfpGraphLock);
    VfpHeldCount = 0;
}

/* Normal kernel APCs are disabled (critical or guarded region) or the IRQL
   is at least APC_LEVEL: what ERESOURCE and the Unsafe fast mutex routines
   require of their callers. */
static bool VfpApcsDisabled(PKTHREAD t, KIRQL Irql)
{
    return Irql >= APC_LEVEL || !t || t->KernelApcDisable != 0 || t->SpecialApcDisable != 0;
}

/* Thread's APC disable counts as KTHREAD.CombinedApcDisable packs them. */
static ULONG_PTR VfpApcDisableCount(PKTHREAD t)
{
    return t ? ((ULONG)(USHORT)t->SpecialApcDisable << 16) | (USHORT)t->KernelApcDisable : 0;
}

/*
 * Documented: callers of ExAcquireResource*Lite and ExReleaseResourceLite
 * run at IRQL <= APC_LEVEL with normal kernel APCs disabled
 * (KeEnterCriticalRegion), or a suspended thread would block every other
 * thread that needs the resource. Driver Verifier checks both: 0xC4/0x37 on
 * acquire, 0x38 on release (P2 the IRQL, P3 the thread's APC disable count,
 * P4 the resource). A correct driver never trips them.
 */
KM_SLOWPATH void VfpResourceAcquiring(const void *Resource, BOOLEAN Wait, const void *Site)
{
    if (!VfpEnabled(VF_LOCKS | VF_DEADLOCK))
        return;
    PKTHREAD t = KiCurrentThread();
    KIRQL irql = VfpCurrentIrql();
    if (VfpEnabled(VF_LOCKS) && !VfpApcsDisabled(t, irql))
        VfpStop(Site, 0xC4, 0x37, irql, VfpApcDisableCount(t), (ULONG_PTR)Resource,
                "ERESOURCE %p acquired with normal kernel APCs enabled: call "
                "KeEnterCriticalRegion before acquiring a resource and KeLeaveCriticalRegion "
                "after releasing it",
                Resource);
    if (Wait)
        VfpLockAcquired(VF_LOCK_RESOURCE, Resource, Site);
}

KM_SLOWPATH void VfpResourceReleasing(const void *Resource, ULONG_PTR Owner, const void *Site)
{
    if (!VfpEnabled(VF_LOCKS | VF_DEADLOCK))
        return;
    PKTHREAD t = KiCurrentThread();
    if (Owner != (ULONG_PTR)t)
        return; /* released on behalf of another thread or an owner pointer */
    KIRQL irql = VfpCurrentIrql();
    if (VfpEnabled(VF_LOCKS) && !VfpApcsDisabled(t, irql))
        VfpStop(Site, 0xC4, 0x38, irql, VfpApcDisableCount(t), (ULONG_PTR)Resource,
                "ERESOURCE %p released with normal kernel APCs enabled: the thread must stay "
                "in its critical region (KeEnterCriticalRegion) until the release",
                Resource);
    VfpLockReleased(VF_LOCK_RESOURCE, Resource, Site);
}

KM_SLOWPATH void VfpSpinLockNotHeld(const void *Lock, const void *Site)
{
    KIRQL irql = VfpCurrentIrql();
    VfpStop(Site, 0xC4, 0x32, irql, (ULONG_PTR)Lock, 0,
            "release of spin lock %p, which is not held (released twice, or never acquired): "
            "every KeReleaseSpinLock pairs with one KeAcquireSpinLock",
            Lock);
}

/*
 * Documented: ExAcquireFastMutex and ExTryToAcquireFastMutex at IRQL <=
 * APC_LEVEL; ExReleaseFastMutex at APC_LEVEL (where the acquire left the
 * thread); the Unsafe routines at APC_LEVEL or inside a critical or guarded
 * region. The 0xC4 subcodes are Driver Verifier's for each.
 */
KM_SLOWPATH void VfpFastMutexMisuse(ULONG Subcode, const void *Mutex, const void *Site)
{
    KIRQL irql = VfpCurrentIrql();
    PKTHREAD t = KiCurrentThread();
    switch (Subcode) {
    case VF_FM_ACQUIRE:
        VfpStop(Site, 0xC4, 0x33, irql, (ULONG_PTR)Mutex, 0,
                "ExAcquireFastMutex(%p) at IRQL %u: a fast mutex is acquired at IRQL <= "
                "APC_LEVEL (a waiting thread must be able to block); use a spin lock at "
                "DISPATCH_LEVEL",
                Mutex, irql);
    case VF_FM_RELEASE:
        VfpStop(Site, 0xC4, 0x34, irql, (ULONG_PTR)Mutex, 0,
                "ExReleaseFastMutex(%p) at IRQL %u: release a fast mutex at APC_LEVEL, the "
                "IRQL ExAcquireFastMutex left the thread at (an unbalanced KeRaiseIrql or "
                "KeLowerIrql in between?)",
                Mutex, irql);
    case VF_FM_ACQUIRE_UNSAFE:
    case VF_FM_RELEASE_UNSAFE:
        if (irql <= APC_LEVEL && VfpApcsDisabled(t, irql))
            return;
        VfpStop(Site, 0xC4, Subcode, irql, VfpApcDisableCount(t), (ULONG_PTR)Mutex,
                "%s(%p) at IRQL %u outside a critical region: the Unsafe routines need "
                "APC_LEVEL or KeEnterCriticalRegion (or use ExAcquireFastMutex)",
                Subcode == VF_FM_ACQUIRE_UNSAFE ? "ExAcquireFastMutexUnsafe"
                                                : "ExReleaseFastMutexUnsafe",
                Mutex, irql);
    }
}

ULONG NTAPI ExIsResourceAcquiredSharedLite(PERESOURCE Resource);

/* Whether the exiting thread still holds h: a resource may have been
   released for it by another thread (ExReleaseResourceForThreadLite), so
   ask the resource; the other kinds are released by their owner only. */
static bool VfpStillHeld(const VFP_HELD *h)
{
    if (!h->Lock) /* a slot standing for a lock that was never recorded */
        return false;
    if (h->Kind == VF_LOCK_RESOURCE)
        return ExIsResourceAcquiredSharedLite((PERESOURCE)h->Lock) != 0;
    return true;
}

/*
 * A thread that ends while it holds a lock leaves it held forever: Driver
 * Verifier stops with 0xC4/0x100A "the terminated thread owns the lock"
 * (P2 the thread, P3 the lock), for spin locks, fast and guarded mutexes,
 * resources and mutexes alike. For a mutex made by KeInitializeMutex the
 * same holds; a mutant (KeInitializeMutant) is documented to be abandoned
 * instead, which is not a bug.
 */
void VfpThreadExiting(void *Thread)
{
    if (!VfpEnabled(VF_LOCKS)) {
        VfpHeldCount = 0;
        return;
    }
    PKTHREAD t = Thread;
    const void *lock = NULL;
    const char *kind = NULL;
    const void *site = NULL;
    unsigned n = VfpHeldCount < VFP_MAX_HELD ? VfpHeldCount : VFP_MAX_HELD;
    for (unsigned i = 0; i < n && !lock; i++) {
        VFP_HELD *h = &VfpHeld[i];
        if (VfpStillHeld(h))
            lock = h->Lock, kind = VfpLockKindName(h->Kind), site = h->Site;
    }
    VfpHeldCount = 0;
    if (!lock) {
        for (PLIST_ENTRY e = KiOwnedMutants(t)->Flink; e != &t->MutantListHead; e = e->Flink) {
            PKMUTANT m = CONTAINING_RECORD(e, KMUTANT, MutantListEntry);
            if (m->ApcDisable) {
                lock = m, kind = "mutex";
                break;
            }
        }
    }
    if (!lock)
        return;
    char who[256], where[256] = "";
    PsDescribeThread(t, who, sizeof(who));
    if (site)
        LdrDescribeAddress(site, where, sizeof(where));
    VfpStop(site, 0xC4, 0x100A, (ULONG_PTR)t, (ULONG_PTR)lock, 0,
            "%s ends while it holds %s %p%s%s: release every lock before the thread returns "
            "or calls PsTerminateSystemThread",
            who, kind, lock, site ? ", acquired at " : "", where);
}
