/*
 * Mutant objects by handle: ZwCreateMutant, ZwOpenMutant, ZwReleaseMutant
 * and their Nt forms (what CreateMutex/ReleaseMutex are built on). The body
 * is a KMUTANT initialised by KeInitializeMutant: owning one leaves kernel
 * APCs enabled, and a thread that ends while owning one abandons it (its
 * next owner's wait returns STATUS_ABANDONED). ZwReleaseMutant returns
 * STATUS_MUTANT_NOT_OWNED instead of raising it.
 */
#include "ke/dispobj.h"
#include "ob/directory.h"
#include "vf/vf.h"

#ifndef MUTANT_QUERY_STATE
#define MUTANT_QUERY_STATE 0x0001
#define MUTANT_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | MUTANT_QUERY_STATE)
#endif

/* An owned mutant holds a reference on itself (KmOwnedReference, ke/mutex.c),
   so one is deleted only when free: closing the last handle while a thread
   owns it ends its name at once (as on Windows) and its memory once the
   owner releases it or ends (abandoning it). */
static void ExpDeleteMutant(PVOID Body)
{
    VfpLockDeleted(Body); /* verifier: a new mutant at this address has no lock order */
}

/* ms_abi (KM_SLOWPATH): called from the dispatcher's ms_abi paths, which a
   System V callee would make save xmm6-15 on every call. */
KM_SLOWPATH void ExpReferenceOwnedMutant(PKMUTANT Mutant, bool Reference)
{
    if (Reference)
        ObfReferenceObject(Mutant);
    else
        ObfDereferenceObject(Mutant);
}

static OBJECT_TYPE ExpMutantType = {
    .Name = "Mutant",
    .GenericMapping = {STANDARD_RIGHTS_READ | MUTANT_QUERY_STATE, STANDARD_RIGHTS_WRITE,
                       STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE, MUTANT_ALL_ACCESS},
    .ValidAccessMask = MUTANT_ALL_ACCESS,
    .DeleteProcedure = ExpDeleteMutant,
};
POBJECT_TYPE ExMutantObjectType = &ExpMutantType;
KM_EXPORT(ExMutantObjectType);

static NTSTATUS ExpCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                                POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner,
                                void *Creator)
{
    if (!MutantHandle)
        return STATUS_INVALID_PARAMETER;
    PKMUTANT m = ObpCreateObject(ExMutantObjectType, sizeof(KMUTANT), Creator);
    if (!m)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeMutant(m, FALSE);
    KiMarkObjectMutant(m);
    if (InitialOwner) { /* acquired as a wait would: with the owner's reference */
        LARGE_INTEGER now = {.QuadPart = 0};
        KeWaitForSingleObject(m, Executive, KernelMode, FALSE, &now);
    }
    NTSTATUS status = ObpInsertObject(m, ObjectAttributes, DesiredAccess, MutantHandle);
    /* Not inserted, or OBJ_OPENIF opened an existing mutant of that name
       (documented for CreateMutex: then the caller does not own it): the new
       one is released, which frees it. */
    if (InitialOwner && (!NT_SUCCESS(status) || status == STATUS_OBJECT_NAME_EXISTS)) {
        LONG previous;
        KiReleaseMutant(m, FALSE, &previous);
    }
    return status;
}

/* InitialOwner: the calling thread owns the new mutant (once). */
NTSTATUS NTAPI ZwCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner)
{
    return ExpCreateMutant(MutantHandle, DesiredAccess, ObjectAttributes, InitialOwner,
                           __builtin_return_address(0));
}
KM_EXPORT(ZwCreateMutant);

NTSTATUS NTAPI NtCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner)
{
    return ExpCreateMutant(MutantHandle, DesiredAccess, ObjectAttributes, InitialOwner,
                           __builtin_return_address(0));
}
KM_EXPORT(NtCreateMutant);

NTSTATUS NTAPI ZwOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                            POBJECT_ATTRIBUTES ObjectAttributes)
{
    if (!MutantHandle)
        return STATUS_INVALID_PARAMETER;
    return ObpOpenObjectByName(ObjectAttributes, ExMutantObjectType, DesiredAccess, MutantHandle);
}
KM_EXPORT(ZwOpenMutant);

NTSTATUS NTAPI NtOpenMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                            POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ZwOpenMutant(MutantHandle, DesiredAccess, ObjectAttributes);
}
KM_EXPORT(NtOpenMutant);

/* PreviousCount gets the mutant's state before the release (0: now free). */
static NTSTATUS ExpReleaseMutant(HANDLE Handle, PLONG PreviousCount, KPROCESSOR_MODE Mode)
{
    PKMUTANT m;
    LONG previous = 0;
    NTSTATUS status =
        ObReferenceObjectByHandle(Handle, 0, ExMutantObjectType, Mode, (PVOID *)&m, NULL);
    if (!NT_SUCCESS(status))
        return status;
    status = KiReleaseMutant(m, FALSE, &previous);
    ObfDereferenceObject(m);
    if (NT_SUCCESS(status) && PreviousCount)
        *PreviousCount = previous;
    return status;
}

NTSTATUS NTAPI ZwReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount)
{
    return ExpReleaseMutant(MutantHandle, PreviousCount, KernelMode);
}
KM_EXPORT(ZwReleaseMutant);

NTSTATUS NTAPI NtReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount)
{
    return ExpReleaseMutant(MutantHandle, PreviousCount, KiCurrentThread()->PreviousMode);
}
KM_EXPORT(NtReleaseMutant);
