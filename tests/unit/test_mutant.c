/* Mutant objects (ZwCreateMutant) hold a reference on themselves while owned
   (ke/mutex.c, ex/mutant.c): it never leaks and is never dropped twice, over
   every path ownership changes by (release, hand-off, abandonment by the
   owner and at thread exit, WaitAny and WaitAll, recursion, timeouts, a
   failed or OBJ_OPENIF creation with InitialOwner), counted with the type's
   live-object count; and the mutant excludes. */
#include "ke/dispobj.h"
#include "ke/ke.h"
#include "ob/ob.h"
#include "ps/ps.h"

#include "kmtest.h"

#include <stdlib.h>

extern POBJECT_TYPE ExMutantObjectType;
NTSTATUS NTAPI ZwCreateMutant(PHANDLE MutantHandle, ACCESS_MASK DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, BOOLEAN InitialOwner);
NTSTATUS NTAPI ZwReleaseMutant(HANDLE MutantHandle, PLONG PreviousCount);
NTSTATUS NTAPI ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                                    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                                    PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                    PVOID StartContext);

static LONG Live(void)
{
    return atomic_load(&ExMutantObjectType->TotalNumberOfObjects);
}

static PKMUTANT g_m;
static KEVENT g_never, g_always;
static KSEMAPHORE g_sem;
static _Atomic LONG g_owned_by_many;
static _Atomic LONG g_inside;

static HANDLE Start(PKSTART_ROUTINE Fn, PVOID Ctx)
{
    HANDLE h = NULL;
    NTSTATUS st = PsCreateSystemThread(&h, 0x1FFFFF, NULL, NULL, NULL, Fn, Ctx);
    CHECK(st == STATUS_SUCCESS, "PsCreateSystemThread 0x%x", (unsigned)st);
    return h;
}
static void Join(HANDLE h)
{
    ZwWaitForSingleObject(h, FALSE, NULL);
    ZwClose(h);
}

static void Enter(void)
{
    if (atomic_fetch_add(&g_inside, 1) != 0)
        atomic_fetch_add(&g_owned_by_many, 1);
}
static void Leave(void)
{
    atomic_fetch_sub(&g_inside, 1);
}

static VOID NTAPI Hammer(PVOID Ctx)
{
    unsigned seed = (unsigned)(uintptr_t)Ctx;
    LARGE_INTEGER zero = {.QuadPart = 0}, short_ = {.QuadPart = -200};
    for (int i = 0; i < 5000; i++) {
        unsigned r = rand_r(&seed);
        PLARGE_INTEGER to = (r & 3) == 0 ? &zero : (r & 3) == 1 ? &short_ : NULL;
        NTSTATUS st;
        switch ((r >> 2) % 3) {
        case 0:
            st = KeWaitForSingleObject(g_m, Executive, KernelMode, FALSE, to);
            break;
        case 1: {
            PVOID objs[2] = {&g_never, g_m};
            st = KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, to, NULL);
            if (st == STATUS_WAIT_1)
                st = STATUS_SUCCESS;
            else if (st == (NTSTATUS)(STATUS_ABANDONED_WAIT_0 + 1))
                st = STATUS_ABANDONED;
            else
                CHECK(st == STATUS_TIMEOUT, "WaitAny 0x%x", (unsigned)st);
            break;
        }
        default: {
            PVOID objs[3] = {&g_always, g_m, &g_sem};
            st = KeWaitForMultipleObjects(3, objs, WaitAll, Executive, KernelMode, FALSE, to, NULL);
            if (st == STATUS_SUCCESS || st == (NTSTATUS)(STATUS_ABANDONED_WAIT_0 + 1))
                KeReleaseSemaphore(&g_sem, 0, 1, FALSE);
            break;
        }
        }
        if (st == STATUS_SUCCESS || st == STATUS_ABANDONED || st == STATUS_ABANDONED_WAIT_0 + 1) {
            Enter();
            int again = (r >> 8) & 1;
            if (again)
                KeWaitForSingleObject(g_m, Executive, KernelMode, FALSE, NULL);
            Leave();
            if (again)
                KeReleaseMutant(g_m, 0, FALSE, FALSE);
            if ((r >> 9) % 64 == 0) /* abandon (owner) */
                KeReleaseMutant(g_m, 0, TRUE, FALSE);
            else
                KeReleaseMutant(g_m, 0, FALSE, FALSE);
        } else {
            CHECK(st == STATUS_TIMEOUT, "wait 0x%x", (unsigned)st);
        }
    }
}

static VOID NTAPI AcquireAndEnd(PVOID Ctx)
{
    (void)Ctx;
    KeWaitForSingleObject(g_m, Executive, KernelMode, FALSE, NULL);
}

static HANDLE g_h;
static KEVENT g_step, g_next;
static VOID NTAPI OwnClosedEnd(PVOID Ctx)
{
    (void)Ctx;
    ZwCreateMutant(&g_h, 0x1F0001, NULL, TRUE);
    KeSetEvent(&g_step, 0, FALSE);
    KeWaitForSingleObject(&g_next, Executive, KernelMode, FALSE, NULL);
}

int main(void)
{
    PsInitSystem();
    KeInitializeEvent(&g_never, NotificationEvent, FALSE);
    KeInitializeEvent(&g_always, NotificationEvent, TRUE);
    KeInitializeSemaphore(&g_sem, 100, 100);
    LONG base = Live();
    HANDLE h;

    /* 1: InitialOwner, release, close. */
    CHECK(ZwCreateMutant(&h, 0x1F0001, NULL, TRUE) == STATUS_SUCCESS, "create");
    CHECK(ZwReleaseMutant(h, NULL) == STATUS_SUCCESS, "release");
    ZwClose(h);
    CHECK(Live() == base, "1: freed (%d live)", (int)(Live() - base));

    /* 2: InitialOwner, close, release through a pointer. */
    PVOID body;
    CHECK(ZwCreateMutant(&h, 0x1F0001, NULL, TRUE) == STATUS_SUCCESS, "create");
    ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &body, NULL);
    ZwClose(h);
    ObfDereferenceObject(body); /* the owner's reference keeps it */
    CHECK(Live() == base + 1, "2: kept while owned");
    KeReleaseMutant(body, 0, FALSE, FALSE);
    CHECK(Live() == base, "2: freed by the release (%d live)", (int)(Live() - base));

    /* 3: a thread ends owning it after the last handle was closed. */
    KeInitializeEvent(&g_step, NotificationEvent, FALSE);
    KeInitializeEvent(&g_next, NotificationEvent, FALSE);
    HANDLE t = Start(OwnClosedEnd, NULL);
    KeWaitForSingleObject(&g_step, Executive, KernelMode, FALSE, NULL);
    ZwClose(g_h);
    KeSetEvent(&g_next, 0, FALSE);
    Join(t);
    CHECK(Live() == base, "3: freed by the abandonment (%d live)", (int)(Live() - base));

    /* 4: abandon by a non-owner of a free mutant, then abandonment at exit. */
    CHECK(ZwCreateMutant(&h, 0x1F0001, NULL, FALSE) == STATUS_SUCCESS, "create");
    ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &body, NULL);
    g_m = body;
    KeReleaseMutant(g_m, 0, TRUE, FALSE);
    LARGE_INTEGER zero = {.QuadPart = 0};
    CHECK(KeWaitForSingleObject(g_m, Executive, KernelMode, FALSE, &zero) == STATUS_ABANDONED,
          "abandoned");
    KeReleaseMutant(g_m, 0, FALSE, FALSE);
    Join(Start(AcquireAndEnd, NULL));
    CHECK(KeWaitForSingleObject(g_m, Executive, KernelMode, FALSE, &zero) == STATUS_ABANDONED,
          "abandoned at exit");
    KeReleaseMutant(g_m, 0, FALSE, FALSE);

    /* 6: OBJ_OPENIF on an existing name, and a failed insert, with InitialOwner. */
    {
        UNICODE_STRING name;
        static WCHAR buf[] = u"\\BaseNamedObjects\\KmTestMutant";
        name.Buffer = buf;
        name.Length = (USHORT)(sizeof(buf) - 2);
        name.MaximumLength = sizeof(buf);
        OBJECT_ATTRIBUTES oa = {sizeof(oa), NULL, &name, OBJ_KERNEL_HANDLE | OBJ_OPENIF,
                                NULL,       NULL};
        HANDLE a, b;
        CHECK(ZwCreateMutant(&a, 0x1F0001, &oa, FALSE) == STATUS_SUCCESS, "named");
        LONG before = Live();
        NTSTATUS st = ZwCreateMutant(&b, 0x1F0001, &oa, TRUE);
        CHECK(st == STATUS_OBJECT_NAME_EXISTS, "openif 0x%x", (unsigned)st);
        ZwClose(b);
        b = NULL;
        CHECK(Live() == before, "6: the new one freed (%d)", (int)(Live() - before));
        CHECK(KiIsListEmpty(KiOwnedMutants(KiCurrentThread())), "6: owns nothing");
        OBJECT_ATTRIBUTES bad = {sizeof(oa) + 1, NULL, &name, 0, NULL, NULL};
        st = ZwCreateMutant(&b, 0x1F0001, &bad, TRUE);
        CHECK(st == STATUS_INVALID_PARAMETER, "bad 0x%x", (unsigned)st);
        CHECK(Live() == before, "6b: freed (%d)", (int)(Live() - before));
        CHECK(KiIsListEmpty(KiOwnedMutants(KiCurrentThread())), "6b: owns nothing");
        ZwClose(a);
    }

    /* 5: the hammer. */
    HANDLE ts[4];
    for (int i = 0; i < 4; i++)
        ts[i] = Start(Hammer, (PVOID)(uintptr_t)(i + 1));
    for (int i = 0; i < 4; i++)
        Join(ts[i]);
    CHECK(atomic_load(&g_owned_by_many) == 0, "mutual exclusion (%d)", (int)g_owned_by_many);
    CHECK(KeReadStateMutant(g_m) == 1, "free at the end (%d)", (int)KeReadStateMutant(g_m));
    ZwClose(h);
    CHECK(Live() == base + 1, "5: alive while referenced");
    ObfDereferenceObject(g_m);
    CHECK(Live() == base, "5: freed (%d live)", (int)(Live() - base));
    return KMTEST_DONE();
}
