/*
 * The object manager's reference accounting (src/ob): an object is deleted
 * exactly once, exactly when its last reference goes, whatever mix of
 * handles and references it had. ObReferenceObjectByHandle's fast path hands
 * out references charged to the handle's entry in advance (handle.c), so
 * these checks run it across several recharges, with the wrong type, after
 * the close, and against closes in another thread; and with the verifier's
 * reference checks on, where nothing is charged and the count is exact.
 */
#include "kmtest.h"
#include "ob/ob.h"
#include "ps/ps.h"
#include "vf/vf.h"

#include <sched.h>
#include <stdatomic.h>

NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                                    PVOID ClientId, PVOID StartRoutine, PVOID StartContext);
NTSTATUS NTAPI ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);

static _Atomic long Deleted, Created;

static void DeleteCounted(PVOID Body)
{
    (void)Body;
    atomic_fetch_add(&Deleted, 1);
}

static OBJECT_TYPE CountedType = {
    .Name = "TestCounted",
    .GenericMapping = {0x1, 0x2, 0x4, 0x1F0007},
    .ValidAccessMask = 0x1F0007,
    .DeleteProcedure = DeleteCounted,
};
static OBJECT_TYPE OtherType = {
    .Name = "TestOther",
    .GenericMapping = {0x1, 0x2, 0x4, 0x1F0007},
    .ValidAccessMask = 0x1F0007,
};

/* A new object of CountedType whose one reference a new kernel handle took. */
static HANDLE NewHandle(PVOID *Body)
{
    HANDLE h = NULL;
    PVOID body = ObpCreateObject(&CountedType, 32, NULL);
    atomic_fetch_add(&Created, 1);
    NTSTATUS st = ObpInsertHandle(body, 0x1F0007, OBJ_KERNEL_HANDLE, false, &h);
    CHECK(st == STATUS_SUCCESS, "ObpInsertHandle: 0x%08x", (unsigned)st);
    if (Body)
        *Body = body;
    return h;
}

static LONG_PTR Count(PVOID Body)
{
    return atomic_load(&ObpHeader(Body)->PointerCount);
}

static void test_lifetime(unsigned Flags)
{
    atomic_store(&VfpFlags, Flags);
    long deleted = atomic_load(&Deleted);
    PVOID body, obj;
    HANDLE h = NewHandle(&body);

    /* More pairs than one charge holds (0x7fff): the entry is recharged. */
    bool all = true;
    for (int i = 0; i < 100000; i++) {
        all &= ObReferenceObjectByHandle(h, 0, &CountedType, KernelMode, &obj, NULL) ==
                   STATUS_SUCCESS &&
               obj == body;
        ObfDereferenceObject(obj);
    }
    CHECK(all, "100000 reference/dereference pairs by handle succeed (flags %#x)", Flags);
    CHECK(atomic_load(&Deleted) == deleted, "the object lives while its handle is open");
    if (Flags & VF_OBJECTS)
        CHECK(Count(body) == 1, "with the verifier's reference checks the count is exact: %ld",
              (long)Count(body));

    /* The wrong type: the documented status, and no reference kept. */
    obj = (PVOID)1;
    CHECK(ObReferenceObjectByHandle(h, 0, &OtherType, KernelMode, &obj, NULL) ==
              STATUS_OBJECT_TYPE_MISMATCH,
          "the wrong type is STATUS_OBJECT_TYPE_MISMATCH");
    CHECK(obj == NULL, "*Object is NULL on failure");

    /* A reference outlives the handle; the object goes with the last one. */
    CHECK(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &obj, NULL) == STATUS_SUCCESS,
          "a reference by handle");
    CHECK(ZwClose(h) == STATUS_SUCCESS, "ZwClose");
    CHECK(atomic_load(&Deleted) == deleted, "a reference keeps the object after the close");
    CHECK(Count(body) == 1, "after the close, the count is the one reference: %ld",
          (long)Count(body));
    CHECK(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &obj, NULL) == STATUS_INVALID_HANDLE,
          "a closed handle is STATUS_INVALID_HANDLE");
    ObfDereferenceObject(body);
    CHECK(atomic_load(&Deleted) == deleted + 1, "the last dereference deletes it, once");

    /* Closed with no reference taken since a recharge: deleted at the close. */
    h = NewHandle(&body);
    CHECK(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &obj, NULL) == STATUS_SUCCESS,
          "a reference by handle");
    ObfDereferenceObject(obj);
    CHECK(ZwClose(h) == STATUS_SUCCESS, "ZwClose");
    CHECK(atomic_load(&Deleted) == deleted + 2, "the close drops the last reference: deleted");
}

/* References charged while the verifier's checks were off are given back at
   the first lookup with them on (a later driver of the same run): from then
   on an extra dereference reaches zero at once. */
static void test_charge_returned(void)
{
    atomic_store(&VfpFlags, 0);
    long deleted = atomic_load(&Deleted);
    PVOID body, obj;
    HANDLE h = NewHandle(&body);
    CHECK(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &obj, NULL) == STATUS_SUCCESS,
          "a reference by handle");
    ObfDereferenceObject(obj);
    CHECK(Count(body) > 1, "with the checks off the entry holds charged references");
    atomic_store(&VfpFlags, VF_DEFAULT);
    CHECK(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &obj, NULL) == STATUS_SUCCESS,
          "a reference by handle with the checks on");
    CHECK(Count(body) == 2, "the charge is given back: the handle's and ours, %ld",
          (long)Count(body));
    ObfDereferenceObject(obj);
    CHECK(ZwClose(h) == STATUS_SUCCESS, "ZwClose");
    CHECK(atomic_load(&Deleted) == deleted + 1, "deleted at the close");
}

/* ---- references racing closes ---- */

enum { SLOTS = 8, ROUNDS = 20000 };
static HANDLE _Atomic Slots[SLOTS];
static _Atomic int Stop, Started;
static _Atomic long Found, Missed, Wrong;

static VOID NTAPI Reader(PVOID Context)
{
    (void)Context;
    unsigned i = 0;
    atomic_fetch_add(&Started, 1);
    while (!atomic_load(&Stop)) {
        HANDLE h = atomic_load(&Slots[i++ % SLOTS]);
        PVOID obj;
        NTSTATUS st = ObReferenceObjectByHandle(h, 0, &CountedType, KernelMode, &obj, NULL);
        if (st == STATUS_SUCCESS) {
            /* The object must be alive here, whatever happened to the handle. */
            if (ObpHeader(obj)->Magic != OB_HEADER_MAGIC || Count(obj) < 1)
                atomic_fetch_add(&Wrong, 1);
            ObfDereferenceObject(obj);
            atomic_fetch_add(&Found, 1);
        } else if (st == STATUS_INVALID_HANDLE) {
            atomic_fetch_add(&Missed, 1);
        } else {
            atomic_fetch_add(&Wrong, 1);
        }
    }
}

static void test_race(void)
{
    atomic_store(&VfpFlags, 0);
    long created = atomic_load(&Created), deleted = atomic_load(&Deleted);
    for (int i = 0; i < SLOTS; i++)
        atomic_store(&Slots[i], NewHandle(NULL));
    HANDLE t[2];
    int n = 0;
    while (n < 2 && PsCreateSystemThread(&t[n], 0x1FFFFF, NULL, NULL, NULL, (PVOID)Reader, NULL) ==
                        STATUS_SUCCESS)
        n++;
    CHECK(n == 2, "PsCreateSystemThread");
    while (atomic_load(&Started) < n)
        sched_yield();
    bool closed = true;
    for (int r = 0; r < ROUNDS; r++) {
        HANDLE old = atomic_exchange(&Slots[r % SLOTS], NewHandle(NULL));
        closed &= ZwClose(old) == STATUS_SUCCESS;
    }
    CHECK(closed, "every replaced handle closes");
    atomic_store(&Stop, 1);
    for (int i = 0; i < n; i++) {
        ZwWaitForSingleObject(t[i], FALSE, NULL);
        ZwClose(t[i]);
    }
    for (int i = 0; i < SLOTS; i++)
        ZwClose(atomic_load(&Slots[i]));
    printf("race: %ld references, %ld closed handles seen\n", atomic_load(&Found),
           atomic_load(&Missed));
    CHECK(atomic_load(&Wrong) == 0, "no reference to a dead object, no other status (%ld)",
          atomic_load(&Wrong));
    CHECK(atomic_load(&Found) > 0, "the readers referenced objects");
    CHECK(atomic_load(&Deleted) - deleted == atomic_load(&Created) - created,
          "every object was deleted once all its handles and references went (%ld of %ld)",
          atomic_load(&Deleted) - deleted, atomic_load(&Created) - created);
}

int main(void)
{
    PsInitSystem();
    test_lifetime(0);
    test_lifetime(VF_DEFAULT);
    test_charge_returned();
    test_race();
    return KMTEST_DONE();
}
