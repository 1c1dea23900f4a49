/*
 * Object bodies, headers and reference counts.
 *
 * Invariant: PointerCount counts every reference, and every handle holds one
 * of them, so an object is deleted exactly when PointerCount reaches zero:
 * its type's DeleteProcedure runs, then the memory is freed. A count that
 * would go below zero, or a reference taken on an object whose count already
 * reached zero, is the driver's bug: bug check 0x18 REFERENCE_BY_POINTER
 * (P1 type, P2 object, P3 handle count, P4 pointer count), as Windows does.
 */
#include "ob/ob.h"

#include "vf/vf.h"

#include <stdlib.h>
#include <string.h>

PVOID ObpCreateObject(POBJECT_TYPE Type, size_t BodySize, void *Creator)
{
    /* The body starts a cache line (the header ends one): a KTHREAD's hot
       wait fields then share one line, and no body shares its first line
       with another object's. */
    char *block =
        aligned_alloc(64, (OBP_BODY_PAD + sizeof(OBJECT_HEADER) + BodySize + 63) & ~(size_t)63);
    if (!block)
        return NULL;
    OBJECT_HEADER *h = (OBJECT_HEADER *)(block + OBP_BODY_PAD);
    memset(h, 0, sizeof(OBJECT_HEADER) + BodySize);
    atomic_init(&h->PointerCount, 1);
    atomic_init(&h->HandleCount, 0);
    h->Type = Type;
    h->Magic = OB_HEADER_MAGIC;
    h->Creator = Creator;
    atomic_fetch_add(&Type->TotalNumberOfObjects, 1);
    return h + 1;
}

static KM_SLOWPATH void ObpDeleteObject(OBJECT_HEADER *h)
{
    POBJECT_TYPE type = h->Type;
    if (type->DeleteProcedure)
        type->DeleteProcedure(h + 1);
    atomic_fetch_sub(&type->TotalNumberOfObjects, 1);
    h->Magic = 0;
    if (!VfpQuarantineObject(h, 0)) /* verifier: keeps it when checking objects */
        ObpFreeObjectMemory(h);
}

static KM_NORETURN KM_SLOWPATH void ObpBadReference(OBJECT_HEADER *h, LONG_PTR count)
{
    KeBugCheckEx(0x18 /* REFERENCE_BY_POINTER */, (ULONG_PTR)h->Type, (ULONG_PTR)(h + 1),
                 (ULONG_PTR)atomic_load(&h->HandleCount), (ULONG_PTR)count);
}

LONG_PTR NTAPI ObfReferenceObject(PVOID Object)
{
    OBJECT_HEADER *h = ObpHeader(Object);
    LONG_PTR count = atomic_fetch_add(&h->PointerCount, 1) + 1;
    if (count <= 1) {
        VfpBadReference(Object, 1, __builtin_return_address(0)); /* verifier */
        ObpBadReference(h, count - 1);
    }
    VfpObjectReferenced(Object, __builtin_return_address(0)); /* verifier */
    return count;
}
KM_EXPORT(ObfReferenceObject);

static inline LONG_PTR ObpDereferenceBy(PVOID Object, LONG_PTR Count, const void *Site)
{
    OBJECT_HEADER *h = ObpHeader(Object);
    LONG_PTR count = atomic_fetch_sub(&h->PointerCount, Count) - Count;
    if (count < 0) {
        VfpBadReference(Object, -1, Site); /* verifier */
        ObpBadReference(h, count);
    }
    if (count == 0)
        ObpDeleteObject(h);
    return count;
}

LONG_PTR NTAPI ObfDereferenceObject(PVOID Object)
{
    VfpObjectDereferenced(Object, __builtin_return_address(0)); /* verifier */
    return ObpDereferenceBy(Object, 1, __builtin_return_address(0));
}
KM_EXPORT(ObfDereferenceObject);

KM_SLOWPATH void ObpDereferenceMany(PVOID Object, LONG_PTR Count)
{
    ObpDereferenceBy(Object, Count, __builtin_return_address(0));
}

KM_SLOWPATH void ObpChargeReferences(PVOID Object, LONG_PTR Count)
{
    atomic_fetch_add_explicit(&ObpHeader(Object)->PointerCount, Count, memory_order_relaxed);
}

/* The WDK maps these names to the Obf forms; ntoskrnl exports both. */
VOID NTAPI ObDereferenceObject(PVOID Object)
{
    VfpObjectDereferenced(Object, __builtin_return_address(0)); /* verifier */
    ObfDereferenceObject(Object);
}
KM_EXPORT(ObDereferenceObject);

LONG_PTR NTAPI ObfReferenceObjectWithTag(PVOID Object, ULONG Tag)
{
    (void)Tag;
    return ObfReferenceObject(Object);
}
KM_EXPORT(ObfReferenceObjectWithTag);

LONG_PTR NTAPI ObfDereferenceObjectWithTag(PVOID Object, ULONG Tag)
{
    VfpObjectDereferenced(Object, __builtin_return_address(0)); /* verifier */
    (void)Tag;
    return ObfDereferenceObject(Object);
}
KM_EXPORT(ObfDereferenceObjectWithTag);

VOID NTAPI ObDereferenceObjectDeferDelete(PVOID Object)
{
    VfpObjectDereferenced(Object, __builtin_return_address(0)); /* verifier */
    ObfDereferenceObject(Object);
}
KM_EXPORT(ObDereferenceObjectDeferDelete);

VOID NTAPI ObDereferenceObjectDeferDeleteWithTag(PVOID Object, ULONG Tag)
{
    VfpObjectDereferenced(Object, __builtin_return_address(0)); /* verifier */
    (void)Tag;
    ObfDereferenceObject(Object);
}
KM_EXPORT(ObDereferenceObjectDeferDeleteWithTag);

/* Documented: checks the type (STATUS_OBJECT_TYPE_MISMATCH) and takes a
   reference; access is not checked for KernelMode. */
NTSTATUS NTAPI ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess,
                                          POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode)
{
    (void)DesiredAccess;
    (void)AccessMode;
    if (ObjectType && ObpHeader(Object)->Type != ObjectType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    ObfReferenceObject(Object);
    VfpObjectReferenced(Object, __builtin_return_address(0)); /* verifier */
    return STATUS_SUCCESS;
}
KM_EXPORT(ObReferenceObjectByPointer);

NTSTATUS NTAPI ObReferenceObjectByPointerWithTag(PVOID Object, ACCESS_MASK DesiredAccess,
                                                 POBJECT_TYPE ObjectType,
                                                 KPROCESSOR_MODE AccessMode, ULONG Tag)
{
    (void)Tag;
    return ObReferenceObjectByPointer(Object, DesiredAccess, ObjectType, AccessMode);
}
KM_EXPORT(ObReferenceObjectByPointerWithTag);

NTAPI ACCESS_MASK ObpMapGenericMask(POBJECT_TYPE Type, ACCESS_MASK Access)
{
    const GENERIC_MAPPING *m = &Type->GenericMapping;
    if (Access & GENERIC_READ)
        Access |= m->GenericRead;
    if (Access & GENERIC_WRITE)
        Access |= m->GenericWrite;
    if (Access & GENERIC_EXECUTE)
        Access |= m->GenericExecute;
    if (Access & GENERIC_ALL)
        Access |= m->GenericAll;
    return Access & ~(ACCESS_MASK)(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL);
}
