/*
 * Object manager internals.
 *
 * Every object the object manager creates has an OBJECT_HEADER in front of
 * its body, as on Windows: pointer count, handle count, type. Drivers only
 * ever see the body.
 */
#ifndef KM_OB_OB_H
#define KM_OB_OB_H

#include "km.h"

#include <stdatomic.h>
#include <stdlib.h>

typedef struct _OBJECT_TYPE {
    const char *Name; /* "Thread", "Process", "Event", ... */
    UNICODE_STRING UnicodeName;
    GENERIC_MAPPING GenericMapping;
    ACCESS_MASK ValidAccessMask;
    /* Called once the last reference and handle are gone, before the memory is freed. */
    void (*DeleteProcedure)(PVOID Body);
    _Atomic LONG TotalNumberOfObjects;
    _Atomic LONG TotalNumberOfHandles;
} OBJECT_TYPE;

#define OB_HEADER_MAGIC 0x6a624f4bu /* "KObj" */

typedef struct _OBJECT_HEADER {
    _Atomic LONG_PTR PointerCount; /* references, including one per handle */
    _Atomic LONG_PTR HandleCount;
    POBJECT_TYPE Type;
    ULONG Magic;
    ULONG Flags;
    void *Creator; /* the driver's return address at creation, for reports */
    void *Reserved;
    /* the body follows, 16-byte aligned, as OBJECT_HEADER.Body at 0x30 */
} OBJECT_HEADER;
_Static_assert(sizeof(OBJECT_HEADER) == 0x30, "OBJECT_HEADER");

/* An object's memory: OBP_BODY_PAD bytes, its header, its body (64-byte
   aligned). Frees the memory of the object whose header is Header. */
#define OBP_BODY_PAD (64 - sizeof(OBJECT_HEADER) % 64)
static inline void ObpFreeObjectMemory(void *Header)
{
    if (Header)
        free((char *)Header - OBP_BODY_PAD);
}

static inline OBJECT_HEADER *ObpHeader(PVOID Body)
{
    return (OBJECT_HEADER *)((char *)Body - sizeof(OBJECT_HEADER));
}

/* Allocates a zeroed object of Type with PointerCount 1 and no handle. */
PVOID ObpCreateObject(POBJECT_TYPE Type, size_t BodySize, void *Creator);

/* Drops Count references at once (a closed handle's own and the ones its
   entry still had charged, handle.c); adds Count references to an object the
   caller holds a reference to. */
KM_SLOWPATH void ObpDereferenceMany(PVOID Object, LONG_PTR Count);
KM_SLOWPATH void ObpChargeReferences(PVOID Object, LONG_PTR Count);

/* Inserts a handle to Object (which must carry a reference the handle takes
   over when Reference is false). Attributes: OBJ_KERNEL_HANDLE, OBJ_INHERIT. */
NTSTATUS ObpInsertHandle(PVOID Object, ACCESS_MASK GrantedAccess, ULONG Attributes, bool Reference,
                         PHANDLE Handle);

/* Maps GENERIC_* bits to the type's specific rights. */
NTAPI ACCESS_MASK ObpMapGenericMask(POBJECT_TYPE Type, ACCESS_MASK Access);

extern POBJECT_TYPE PsThreadType, PsProcessType, ExEventObjectType, ExSemaphoreObjectType,
    IoFileObjectType, CmKeyObjectType, ExMutantObjectType, ExTimerObjectType;

/* Handle-table statistics for the verifier and tests. */
LONG ObpOpenHandleCount(void);
typedef void (*OBP_HANDLE_VISITOR)(void *Ctx, HANDLE Handle, PVOID Object, void *Creator);
void ObpForEachHandle(OBP_HANDLE_VISITOR Visit, void *Ctx);

LONG_PTR NTAPI ObfReferenceObject(PVOID Object);
LONG_PTR NTAPI ObfDereferenceObject(PVOID Object);
NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                         POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                         PVOID *Object,
                                         POBJECT_HANDLE_INFORMATION HandleInformation);
NTSTATUS NTAPI ZwClose(HANDLE Handle);

#endif
