/*
 * Object references taken by drivers, and the object quarantine.
 *
 * Leak tracking: for every object a driver referenced (ObfReferenceObject,
 * ObReferenceObjectByHandle, ObReferenceObjectByPointer called from a
 * driver image), VfpRefs holds the references the driver's call sites took
 * minus those they dropped, and the last site that took one. At unload an
 * entry with a positive count whose site lies in the unloading image is a
 * leaked reference. A dereference without a recorded reference is not
 * counted (the count never goes below zero), so a reference the kernel gave
 * the driver (PsCreateSystemThread's handle, a returned referenced object)
 * never makes a false report; a deleted object leaves the table.
 *
 * Quarantine (VF_OBJECTS): a deleted object's memory is kept, with
 * PointerCount 0, in a ring of the last VFP_QUARANTINE deletions, so that a
 * reference or dereference that comes too late finds a zero count (0xC4/0x3F)
 * instead of freed memory.
 *
 * VfpRefsLock protects the table and the ring; it is taken only for objects
 * drivers reference and on deletion.
 */
#include "vf/vf.h"

#include "ob/ob.h"

#include <pthread.h>
#include <stdlib.h>

#define VFP_REF_BUCKETS 1024u
#define VFP_QUARANTINE 256u

typedef struct VFP_REF {
    struct VFP_REF *Next;
    PVOID Object;
    LONG_PTR Count;
    const void *Site;
} VFP_REF;

static pthread_mutex_t VfpRefsLock = PTHREAD_MUTEX_INITIALIZER;
static VFP_REF *VfpRefs[VFP_REF_BUCKETS];
static void *VfpQuarantine[VFP_QUARANTINE];
static size_t VfpQuarantineNext;

static size_t VfpRefHash(const void *P)
{
    return ((uintptr_t)P >> 4) * 0x9E3779B97F4A7C15ull >> 54 & (VFP_REF_BUCKETS - 1);
}

static VFP_REF **VfpFindRefLocked(const void *Object)
{
    VFP_REF **link = &VfpRefs[VfpRefHash(Object)];
    while (*link && (*link)->Object != Object)
        link = &(*link)->Next;
    return link;
}

KM_SLOWPATH void VfpObjectReferencedSlow(PVOID Object, const void *Site)
{
    pthread_mutex_lock(&VfpRefsLock);
    VFP_REF **link = VfpFindRefLocked(Object);
    if (!*link) {
        VFP_REF *r = calloc(1, sizeof(*r));
        if (r) {
            r->Object = Object;
            *link = r;
        }
    }
    if (*link) {
        (*link)->Count++;
        (*link)->Site = Site;
    }
    pthread_mutex_unlock(&VfpRefsLock);
}

KM_SLOWPATH void VfpObjectDereferencedSlow(PVOID Object, const void *Site)
{
    (void)Site;
    pthread_mutex_lock(&VfpRefsLock);
    VFP_REF **link = VfpFindRefLocked(Object);
    VFP_REF *r = *link;
    if (r && --r->Count <= 0) {
        *link = r->Next;
        free(r);
    }
    pthread_mutex_unlock(&VfpRefsLock);
}

KM_SLOWPATH void VfpBadReference(PVOID Object, LONG_PTR NewCount, const void *Site)
{
    if (!VfpEnabled(VF_OBJECTS))
        return;
    OBJECT_HEADER *h = ObpHeader(Object);
    const char *type = h->Type ? h->Type->Name : "unknown";
    /* 0x3F: P2 the object, P3 the new count: 1 for a reference, -1 for a
       dereference. The caller of the Ob routine is the driver. */
    VfpStop(Site, 0xC4, 0x3F, (ULONG_PTR)Object, (ULONG_PTR)NewCount, 0,
            "%s of %s object %p whose reference count is already zero: the object was "
            "deleted; the driver dropped one reference too many (or uses a pointer it no "
            "longer holds a reference for)",
            NewCount > 0 ? "reference" : "dereference", type, Object);
}

bool VfpQuarantineObject(void *Header, size_t Size)
{
    (void)Size;
    PVOID body = (OBJECT_HEADER *)Header + 1;
    void *evicted = NULL;
    bool keep = VfpEnabled(VF_OBJECTS);
    pthread_mutex_lock(&VfpRefsLock);
    VFP_REF **link = VfpFindRefLocked(body);
    VFP_REF *r = *link;
    if (r)
        *link = r->Next;
    if (keep) {
        evicted = VfpQuarantine[VfpQuarantineNext];
        VfpQuarantine[VfpQuarantineNext] = Header;
        VfpQuarantineNext = (VfpQuarantineNext + 1) % VFP_QUARANTINE;
    }
    pthread_mutex_unlock(&VfpRefsLock);
    free(r);
    ObpFreeObjectMemory(evicted);
    return keep;
}

void VfpForEachDriverReference(LDR_IMAGE *Image, VFP_REF_VISITOR Visit, void *Ctx)
{
    pthread_mutex_lock(&VfpRefsLock);
    for (size_t b = 0; b < VFP_REF_BUCKETS; b++) {
        for (VFP_REF *r = VfpRefs[b]; r; r = r->Next) {
            if (r->Count > 0 && LdrFindImageByAddress(r->Site) == Image)
                Visit(Ctx, r->Object, r->Count, r->Site);
        }
    }
    pthread_mutex_unlock(&VfpRefsLock);
}
