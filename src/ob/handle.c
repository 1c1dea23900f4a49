/*
 * The kernel handle table.
 *
 * kmhost runs everything in the System process, whose handle table on
 * Windows is the kernel handle table itself: one table here. A handle is
 * (index + 1) * 4; a handle created with OBJ_KERNEL_HANDLE carries the kernel
 * bits (KERNEL_HANDLE_MASK) as on x64 Windows, and only KernelMode callers
 * may use such a value: for UserMode it is not a handle of theirs
 * (STATUS_INVALID_HANDLE). NtCurrentProcess() and NtCurrentThread() are the
 * pseudo-handles -1 and -2.
 *
 * Invariants:
 *  - Entries live in pages of KM_HT_PAGE entries, reached through a fixed
 *    directory; a page is never moved or freed once published, so a lookup
 *    needs no table lock.
 *  - An entry's Object word is 0 when free; otherwise the object's body in
 *    bits 0-47 (a host address, 16-byte aligned) with bit 0 as the entry
 *    lock, and in bits 48-63 a number of references charged to the object
 *    in advance and not yet handed out (the idea of Windows' EX_FAST_REF).
 *    The object's PointerCount includes the handle's own reference and the
 *    charged ones, so the object lives while the word is non-zero.
 *  - A lookup takes one charged reference with a single compare-exchange of
 *    the word (a KernelMode lookup without HandleInformation, the common
 *    driver call, with the verifier's reference checks off): the object's
 *    count is not touched, so a reference+dereference pair costs two atomic
 *    operations, the minimum. When none is left, it locks the entry, charges
 *    OBP_CHARGE more and unlocks. Other lookups lock the entry, take a
 *    reference and unlock, and read the access and attributes under the
 *    lock. A close locks the entry, clears it, and drops the handle's
 *    reference and the charged ones at once: it can never free the object
 *    under a lookup. Lookups of different handles touch different entries
 *    and scale. With the verifier's reference checks on, nothing is charged,
 *    so PointerCount is exact and an extra dereference reaches zero at once,
 *    as on Windows.
 *  - Free indexes are kept on a stack under the allocation mutex, which only
 *    creating and closing handles take.
 */
#include "ob/directory.h"
#include "ob/ob.h"
#include "vf/vf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KM_HT_PAGE 1024
#define KM_HT_PAGES 16384 /* 16M handles */

/* One cache line per entry: lookups of different handles on different CPUs
   never share a line (a 24-byte entry made two threads' handles contend). */
typedef struct HANDLE_ENTRY {
    _Atomic uintptr_t Object;
    ACCESS_MASK GrantedAccess;
    ULONG Attributes;
    void *Creator;
} __attribute__((aligned(64))) HANDLE_ENTRY;

static HANDLE_ENTRY *_Atomic ObpPages[KM_HT_PAGES];
static pthread_mutex_t ObpAllocLock = PTHREAD_MUTEX_INITIALIZER;
static ULONG *ObpFree;
static size_t ObpFreeCount, ObpFreeCap;
static ULONG ObpNextIndex;
static _Atomic LONG ObpHandleCount;

static inline HANDLE_ENTRY *ObpEntry(ULONG_PTR Index)
{
    if (Index >= (ULONG_PTR)KM_HT_PAGE * KM_HT_PAGES)
        return NULL;
    HANDLE_ENTRY *page = atomic_load_explicit(&ObpPages[Index / KM_HT_PAGE], memory_order_acquire);
    return page ? &page[Index % KM_HT_PAGE] : NULL;
}

static inline bool ObpIsKernelHandleValue(HANDLE Handle)
{
    return ((ULONG_PTR)Handle & KERNEL_HANDLE_MASK) == KERNEL_HANDLE_MASK && (LONG_PTR)Handle < -2;
}

/* Handle value → entry index, or -1 for a value that is not a handle. */
static inline LONG_PTR ObpHandleIndex(HANDLE Handle)
{
    ULONG_PTR v = (ULONG_PTR)Handle;
    if (ObpIsKernelHandleValue(Handle))
        v &= ~KERNEL_HANDLE_MASK;
    if (v == 0 || (v & 3) || v > (ULONG_PTR)KM_HT_PAGE * KM_HT_PAGES * 4)
        return -1;
    return (LONG_PTR)(v / 4 - 1);
}

#define OBP_CHARGE_SHIFT 48
#define OBP_CHARGE_ONE ((uintptr_t)1 << OBP_CHARGE_SHIFT)
#define OBP_CHARGE 0x7fff /* references charged at a time */

static inline PVOID ObpEntryBody(uintptr_t v)
{
    return (PVOID)(v & (OBP_CHARGE_ONE - 2));
}

static inline uintptr_t ObpLockEntry(HANDLE_ENTRY *e)
{
    for (;;) {
        uintptr_t v = atomic_load_explicit(&e->Object, memory_order_acquire);
        if (v == 0)
            return 0;
        if (v & 1) {
            __builtin_ia32_pause();
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&e->Object, &v, v | 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return v;
    }
}

NTSTATUS ObpInsertHandle(PVOID Object, ACCESS_MASK GrantedAccess, ULONG Attributes, bool Reference,
                         PHANDLE Handle)
{
    ULONG index;
    /* The entry keeps charged references above bit 47 (see above): a Linux
       process's addresses are below 2^47 unless it asks mmap for more. */
    if ((uintptr_t)Object >> OBP_CHARGE_SHIFT)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_lock(&ObpAllocLock);
    if (ObpFreeCount) {
        index = ObpFree[--ObpFreeCount];
    } else {
        if (ObpNextIndex >= (ULONG)KM_HT_PAGE * KM_HT_PAGES) {
            pthread_mutex_unlock(&ObpAllocLock);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        index = ObpNextIndex;
        if (!ObpPages[index / KM_HT_PAGE]) {
            HANDLE_ENTRY *page = aligned_alloc(64, KM_HT_PAGE * sizeof(HANDLE_ENTRY));
            if (page)
                memset(page, 0, KM_HT_PAGE * sizeof(HANDLE_ENTRY));
            if (!page) {
                pthread_mutex_unlock(&ObpAllocLock);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            atomic_store_explicit(&ObpPages[index / KM_HT_PAGE], page, memory_order_release);
        }
        ObpNextIndex++;
    }
    pthread_mutex_unlock(&ObpAllocLock);

    HANDLE_ENTRY *e = ObpEntry(index);
    OBJECT_HEADER *h = ObpHeader(Object);
    if (Reference)
        ObfReferenceObject(Object);
    atomic_fetch_add(&h->HandleCount, 1);
    atomic_fetch_add(&h->Type->TotalNumberOfHandles, 1);
    e->GrantedAccess = GrantedAccess;
    e->Attributes = Attributes & (OBJ_INHERIT | OBJ_KERNEL_HANDLE);
    e->Creator = h->Creator;
    atomic_store_explicit(&e->Object, (uintptr_t)Object, memory_order_release);
    atomic_fetch_add(&ObpHandleCount, 1);

    ULONG_PTR value = ((ULONG_PTR)index + 1) * 4;
    if (Attributes & OBJ_KERNEL_HANDLE)
        value |= KERNEL_HANDLE_MASK;
    *Handle = (HANDLE)value;
    return STATUS_SUCCESS;
}

/* One reference to the entry's object, its body (0 for a free entry): a
   charged one if there is one, else OBP_CHARGE more are charged. */
static KM_SLOWPATH uintptr_t ObpRechargeEntry(HANDLE_ENTRY *e)
{
    uintptr_t v = ObpLockEntry(e);
    if (!v)
        return 0;
    uintptr_t charged = v >> OBP_CHARGE_SHIFT;
    if (charged == 0) {
        ObpChargeReferences(ObpEntryBody(v), OBP_CHARGE);
        charged = OBP_CHARGE;
    }
    atomic_store_explicit(&e->Object,
                          (v & (OBP_CHARGE_ONE - 1)) | (charged - 1) << OBP_CHARGE_SHIFT,
                          memory_order_release);
    return (uintptr_t)ObpEntryBody(v);
}

static inline uintptr_t ObpReferenceEntryFast(HANDLE_ENTRY *e)
{
    uintptr_t v = atomic_load_explicit(&e->Object, memory_order_acquire);
    while (v >= OBP_CHARGE_ONE && !(v & 1)) {
        if (atomic_compare_exchange_weak_explicit(&e->Object, &v, v - OBP_CHARGE_ONE,
                                                  memory_order_acquire, memory_order_acquire))
            return (uintptr_t)ObpEntryBody(v);
    }
    return ObpRechargeEntry(e);
}

/* The current thread's and process's bodies, for the pseudo-handles (ps). */
NTAPI PVOID PspCurrentThreadObject(void);
NTAPI PVOID PspCurrentProcessObject(void);

/*
 * Documented rules: KernelMode callers skip the access check; a UserMode
 * caller cannot use a kernel handle (STATUS_INVALID_HANDLE) and needs every
 * access it asks for (STATUS_ACCESS_DENIED); the wrong type gives
 * STATUS_OBJECT_TYPE_MISMATCH; HandleInformation gets the granted access and
 * the handle's attributes.
 */
NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                         POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                         PVOID *Object,
                                         POBJECT_HANDLE_INFORMATION HandleInformation)
{
    PVOID body;
    ACCESS_MASK granted;
    ULONG attributes;

    VfpCheckIrql(VF_DDI_OB_REFERENCE_BY_HANDLE, VfpCurrentIrql(), NULL,
                 __builtin_return_address(0)); /* verifier */
    *Object = NULL;
    if (Handle == NtCurrentThread() || Handle == NtCurrentProcess()) {
        body = Handle == NtCurrentThread() ? PspCurrentThreadObject() : PspCurrentProcessObject();
        if (ObjectType && ObpHeader(body)->Type != ObjectType)
            return STATUS_OBJECT_TYPE_MISMATCH;
        granted = ObpHeader(body)->Type->GenericMapping.GenericAll;
        attributes = 0;
        ObfReferenceObject(body);
    } else {
        if (AccessMode != KernelMode && ObpIsKernelHandleValue(Handle)) {
            VfpCheckReferenceByHandleFailed(Handle, ObjectType, AccessMode, STATUS_INVALID_HANDLE,
                                            __builtin_return_address(0)); /* verifier */
            return STATUS_INVALID_HANDLE;
        }
        LONG_PTR index = ObpHandleIndex(Handle);
        HANDLE_ENTRY *e = index < 0 ? NULL : ObpEntry((ULONG_PTR)index);
        bool fast = AccessMode == KernelMode && !HandleInformation && !VfpEnabled(VF_OBJECTS);
        uintptr_t v = !e ? 0 : fast ? ObpReferenceEntryFast(e) : ObpLockEntry(e);
        if (!v) {
            VfpCheckReferenceByHandleFailed(Handle, ObjectType, AccessMode, STATUS_INVALID_HANDLE,
                                            __builtin_return_address(0)); /* verifier */
            return STATUS_INVALID_HANDLE;
        }
        body = ObpEntryBody(v);
        if (fast) {
            if (ObjectType && ObpHeader(body)->Type != ObjectType) {
                ObpDereferenceMany(body, 1);
                return STATUS_OBJECT_TYPE_MISMATCH;
            }
            VfpObjectReferenced(body, __builtin_return_address(0)); /* verifier */
            *Object = body;
            return STATUS_SUCCESS;
        }
        if (v >= OBP_CHARGE_ONE && VfpEnabled(VF_OBJECTS)) {
            /* Charged while the checks were off (another driver's run): give
               the charge back, so that the count is exact from now on. */
            ObpDereferenceMany(body, (LONG_PTR)(v >> OBP_CHARGE_SHIFT));
            v &= OBP_CHARGE_ONE - 1;
        }
        granted = e->GrantedAccess;
        attributes = e->Attributes & ~(ULONG)OBJ_KERNEL_HANDLE;
        if (ObjectType && ObpHeader(body)->Type != ObjectType) {
            atomic_store_explicit(&e->Object, v, memory_order_release);
            return STATUS_OBJECT_TYPE_MISMATCH;
        }
        if (AccessMode != KernelMode) {
            ACCESS_MASK wanted = ObpMapGenericMask(ObpHeader(body)->Type, DesiredAccess);
            if ((granted & wanted) != wanted) {
                atomic_store_explicit(&e->Object, v, memory_order_release);
                return STATUS_ACCESS_DENIED;
            }
        }
        ObfReferenceObject(body);
        atomic_store_explicit(&e->Object, v, memory_order_release);
    }
    if (HandleInformation) {
        HandleInformation->GrantedAccess = granted;
        HandleInformation->HandleAttributes = attributes;
    }
    VfpObjectReferenced(body, __builtin_return_address(0)); /* verifier */
    *Object = body;
    return STATUS_SUCCESS;
}
KM_EXPORT(ObReferenceObjectByHandle);

NTSTATUS NTAPI ObReferenceObjectByHandleWithTag(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                                POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                                ULONG Tag, PVOID *Object,
                                                POBJECT_HANDLE_INFORMATION HandleInformation)
{
    (void)Tag;
    return ObReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object,
                                     HandleInformation);
}
KM_EXPORT(ObReferenceObjectByHandleWithTag);

/*
 * Closing: a UserMode caller cannot close a kernel handle. An invalid handle
 * closed from KernelMode is bug check 0x93 INVALID_KERNEL_HANDLE (P1 the
 * handle, P2 1: "an invalid handle was closed") when it is a kernel handle
 * value; otherwise the status is STATUS_INVALID_HANDLE.
 */
NTSTATUS NTAPI ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode)
{
    bool kernel_value = ObpIsKernelHandleValue(Handle);
    if (PreviousMode != KernelMode && kernel_value)
        return STATUS_INVALID_HANDLE;
    LONG_PTR index = ObpHandleIndex(Handle);
    HANDLE_ENTRY *e = index < 0 ? NULL : ObpEntry((ULONG_PTR)index);
    uintptr_t v = e ? ObpLockEntry(e) : 0;
    if (!v) {
        if (PreviousMode == KernelMode && kernel_value)
            KeBugCheckEx(0x93 /* INVALID_KERNEL_HANDLE */, (ULONG_PTR)Handle, 1, 0, 0);
        return STATUS_INVALID_HANDLE;
    }
    PVOID body = ObpEntryBody(v);
    LONG_PTR charged = (LONG_PTR)(v >> OBP_CHARGE_SHIFT);
    atomic_store_explicit(&e->Object, 0, memory_order_release);

    OBJECT_HEADER *h = ObpHeader(body);
    LONG_PTR handles = atomic_fetch_sub(&h->HandleCount, 1) - 1;
    atomic_fetch_sub(&h->Type->TotalNumberOfHandles, 1);
    atomic_fetch_sub(&ObpHandleCount, 1);

    pthread_mutex_lock(&ObpAllocLock);
    if (ObpFreeCount == ObpFreeCap) {
        size_t cap = ObpFreeCap ? ObpFreeCap * 2 : 256;
        ULONG *grown = realloc(ObpFree, cap * sizeof(*grown));
        if (grown) {
            ObpFree = grown;
            ObpFreeCap = cap;
        }
    }
    if (ObpFreeCount < ObpFreeCap) /* else the index is leaked, never reused */
        ObpFree[ObpFreeCount++] = (ULONG)index;
    pthread_mutex_unlock(&ObpAllocLock);

    /* A named object leaves the namespace with its last handle, unless it is
       permanent (ob/directory.c); the handle's reference still keeps it. */
    if (handles == 0)
        ObpDeleteNameCheck(body);
    ObpDereferenceMany(body, 1 + charged);
    return STATUS_SUCCESS;
}
KM_EXPORT(ObCloseHandle);

/* ZwClose closes as KernelMode; NtClose as the previous mode, which for a
   system thread is KernelMode. */
NTSTATUS NTAPI ZwClose(HANDLE Handle)
{
    VfpCheckIrql(VF_DDI_ZW_CLOSE, VfpCurrentIrql(), NULL,
                 __builtin_return_address(0)); /* verifier */
    NTSTATUS status = ObCloseHandle(Handle, KernelMode);
    if (status == STATUS_INVALID_HANDLE)
        VfpCheckCloseFailed(Handle, __builtin_return_address(0)); /* verifier */
    return status;
}
KM_EXPORT(ZwClose);

NTSTATUS NTAPI NtClose(HANDLE Handle)
{
    return ObCloseHandle(Handle, KernelMode);
}
KM_EXPORT(NtClose);

LONG ObpOpenHandleCount(void)
{
    return atomic_load(&ObpHandleCount);
}

void ObpForEachHandle(OBP_HANDLE_VISITOR Visit, void *Ctx)
{
    pthread_mutex_lock(&ObpAllocLock);
    ULONG end = ObpNextIndex;
    pthread_mutex_unlock(&ObpAllocLock);
    for (ULONG i = 0; i < end; i++) {
        HANDLE_ENTRY *e = ObpEntry(i);
        uintptr_t v = e ? (uintptr_t)ObpEntryBody(atomic_load(&e->Object)) : 0;
        if (!v)
            continue;
        ULONG_PTR value = ((ULONG_PTR)i + 1) * 4;
        if (e->Attributes & OBJ_KERNEL_HANDLE)
            value |= KERNEL_HANDLE_MASK;
        Visit(Ctx, (HANDLE)value, (PVOID)v, e->Creator);
    }
}

/*
 * Documented: opens a handle to an object the caller holds a pointer to;
 * the type must match (STATUS_OBJECT_TYPE_MISMATCH); the handle takes its
 * own reference. A KernelMode caller is granted the access it asks for.
 */
NTSTATUS NTAPI ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes, PVOID PassedAccessState,
                                     ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                                     KPROCESSOR_MODE AccessMode, PHANDLE Handle)
{
    (void)PassedAccessState;
    (void)AccessMode;
    if (!Object || !Handle)
        return STATUS_INVALID_PARAMETER;
    if (HandleAttributes & ~(ULONG)OBJ_VALID_ATTRIBUTES)
        return STATUS_INVALID_PARAMETER;
    POBJECT_TYPE type = ObpHeader(Object)->Type;
    if (ObjectType && type != ObjectType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    ACCESS_MASK granted = DesiredAccess & MAXIMUM_ALLOWED ? type->GenericMapping.GenericAll
                                                          : ObpMapGenericMask(type, DesiredAccess);
    return ObpInsertHandle(Object, granted, HandleAttributes, true, Handle);
}
KM_EXPORT(ObOpenObjectByPointer);
