/*
 * Driver lifetime checks at unload.
 *
 * After DriverUnload returned and no thread of the driver still runs
 * (io/driver.c stops with 0xCE otherwise):
 *  - a timer still set or a DPC still queued whose object or routine lies in
 *    the image is bug check 0xC7 TIMER_OR_DPC_INVALID (P1 0 timer, 1 DPC
 *    object, 2 DPC routine; P2 its address; P3, P4 the image's range), and a
 *    work item still pending with its routine in the image is 0xCE, as
 *    Windows raises when the unloaded code would run;
 *  - then every leak is one VERIFIER: line naming the driver's call site:
 *    handles whose object the driver created, references the driver's call
 *    sites took and never dropped (refs.c), pool blocks allocated from the
 *    image (Driver Verifier's pool tracking stops with 0xC4/0x62 instead:
 *    P2 the driver's name, P4 the number of blocks).
 * An IRQL left raised by DriverEntry or DriverUnload is reported when the
 * routine returns.
 */
#include "vf/vf.h"

#include "ex/ex.h"
#include "ke/dpc.h"
#include "ke/ke.h"
#include "ob/ob.h"

#include <stdio.h>

__attribute__((weak)) bool KiTimerPendingInRange(const void *Base, size_t Size, void **Timer,
                                                 void **Routine)
{
    (void)Base, (void)Size, (void)Timer, (void)Routine;
    return false;
}

__attribute__((weak)) bool KiDpcQueuedInRange(const void *Base, size_t Size, void **Dpc,
                                              void **Routine)
{
    (void)Base, (void)Size, (void)Dpc, (void)Routine;
    return false;
}

__attribute__((weak)) bool ExpWorkItemPendingInRange(const void *Base, size_t Size, void **Item,
                                                     void **Routine)
{
    (void)Base, (void)Size, (void)Item, (void)Routine;
    return false;
}

static bool VfpInRange(const void *Address, const void *Start, const void *End)
{
    return (uintptr_t)Address >= (uintptr_t)Start && (uintptr_t)Address < (uintptr_t)End;
}

static const char *VfpImageName(const void *Start)
{
    const LDR_IMAGE *image = LdrFindImageByAddress(Start);
    return image ? image->Name : "the unloading image";
}

/* Windows finds these when the image's memory is freed and stops with 0xC7
   TIMER_OR_DPC_INVALID; the same parameters as ke/timer.c and ke/dpc.c give,
   after a line naming the routine that would have run in unloaded code. */
void VfpPendingTimer(const KTIMER *Timer, const void *Start, const void *End)
{
    if (!VfpEnabled(VF_PENDING))
        return;
    const KDPC *dpc = Timer->Dpc;
    const void *routine = dpc ? dpc->DeferredRoutine : NULL;
    ULONG_PTR p1, p2;
    if (VfpInRange(Timer, Start, End))
        p1 = 0, p2 = (ULONG_PTR)Timer;
    else if (dpc && VfpInRange(dpc, Start, End))
        p1 = 1, p2 = (ULONG_PTR)dpc;
    else if (routine && VfpInRange(routine, Start, End))
        p1 = 2, p2 = (ULONG_PTR)routine;
    else
        return;
    char timer[256], what[256] = "none";
    LdrDescribeAddress(Timer, timer, sizeof(timer));
    if (routine)
        LdrDescribeAddress(routine, what, sizeof(what));
    printf("kmhost: %s unloaded with timer %p (%s) still set, its DPC routine %s: cancel "
           "every timer (KeCancelTimer) and wait for its DPC (KeFlushQueuedDpcs) before "
           "DriverUnload returns\n",
           VfpImageName(Start), (const void *)Timer, timer, what);
    fflush(stdout);
    KeBugCheckEx(0xC7 /* TIMER_OR_DPC_INVALID */, p1, p2, (ULONG_PTR)Start, (ULONG_PTR)End);
}

void VfpQueuedDpc(const KDPC *Dpc, const void *Start, const void *End)
{
    if (!VfpEnabled(VF_PENDING))
        return;
    const void *routine = Dpc->DeferredRoutine;
    ULONG_PTR p1, p2;
    if (VfpInRange(Dpc, Start, End))
        p1 = 1, p2 = (ULONG_PTR)Dpc;
    else if (VfpInRange(routine, Start, End))
        p1 = 2, p2 = (ULONG_PTR)routine;
    else
        return;
    char dpc[256], what[256];
    LdrDescribeAddress(Dpc, dpc, sizeof(dpc));
    LdrDescribeAddress(routine, what, sizeof(what));
    printf("kmhost: %s unloaded with DPC %p (%s) still queued, routine %s: remove it "
           "(KeRemoveQueueDpc) or wait for it (KeFlushQueuedDpcs) before DriverUnload returns\n",
           VfpImageName(Start), (const void *)Dpc, dpc, what);
    fflush(stdout);
    KeBugCheckEx(0xC7 /* TIMER_OR_DPC_INVALID */, p1, p2, (ULONG_PTR)Start, (ULONG_PTR)End);
}

static const char *VfpRoutineName(VF_ROUTINE Routine)
{
    return Routine == VF_ROUTINE_DRIVER_ENTRY ? "DriverEntry" : "DriverUnload";
}

void VfpDriverLoading(LDR_IMAGE *Image)
{
    (void)Image;
}

void VfpDriverRoutineReturned(VF_ROUTINE Routine, LDR_IMAGE *Image)
{
    KIRQL irql = KiCurrentIrql();
    if (irql == PASSIVE_LEVEL || !VfpEnabled(VF_LEAKS))
        return;
    VfpReport("%s of %s returned at IRQL %u, not at PASSIVE_LEVEL where the I/O manager called "
              "it: a KeRaiseIrql or KeAcquireSpinLock without its KeLowerIrql or "
              "KeReleaseSpinLock",
              VfpRoutineName(Routine), Image->Name, irql);
}

static bool VfpInImage(const void *Address, const LDR_IMAGE *Image)
{
    return (uintptr_t)Address >= (uintptr_t)Image->Base &&
           (uintptr_t)Address - (uintptr_t)Image->Base < Image->Size;
}

static void VfpCheckPending(LDR_IMAGE *Image)
{
    void *object = NULL, *routine = NULL;
    char where[256];
    ULONG_PTR start = (ULONG_PTR)Image->Base, end = start + Image->Size;

    if (KiTimerPendingInRange(Image->Base, Image->Size, &object, &routine)) {
        LdrDescribeAddress(VfpInImage(object, Image) ? object : routine, where, sizeof(where));
        printf("kmhost: %s unloaded with timer %p (%s) still set: cancel every timer "
               "(KeCancelTimer) before DriverUnload returns\n",
               Image->Name, object, where);
        fflush(stdout);
        KeBugCheckEx(0xC7 /* TIMER_OR_DPC_INVALID */, 0, (ULONG_PTR)object, start, end);
    }
    if (KiDpcQueuedInRange(Image->Base, Image->Size, &object, &routine)) {
        bool in = VfpInImage(object, Image);
        LdrDescribeAddress(in ? object : routine, where, sizeof(where));
        printf("kmhost: %s unloaded with DPC %p (%s) still queued: remove it "
               "(KeRemoveQueueDpc) or wait for it (KeFlushQueuedDpcs) before DriverUnload "
               "returns\n",
               Image->Name, object, where);
        fflush(stdout);
        KeBugCheckEx(0xC7, in ? 1 : 2, (ULONG_PTR)(in ? object : routine), start, end);
    }
    if (ExpWorkItemPendingInRange(Image->Base, Image->Size, &object, &routine)) {
        LdrDescribeAddress(routine, where, sizeof(where));
        printf("kmhost: %s unloaded with work item %p (routine %s) still pending: wait for "
               "every work item to run before DriverUnload returns\n",
               Image->Name, object, where);
        fflush(stdout);
        KeBugCheckEx(0xCE /* DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS */,
                     (ULONG_PTR)routine, 8, (ULONG_PTR)object, 0);
    }
}

typedef struct VFP_LEAKS {
    LDR_IMAGE *Image;
    size_t Count;
} VFP_LEAKS;

static const char *VfpTypeName(PVOID Object)
{
    OBJECT_HEADER *h = ObpHeader(Object);
    return h->Type && h->Type->Name ? h->Type->Name : "unknown";
}

static void VfpLeakedHandle(void *Ctx, HANDLE Handle, PVOID Object, void *Creator)
{
    VFP_LEAKS *l = Ctx;
    char where[256];
    if (!Creator || !VfpInImage(Creator, l->Image))
        return;
    LdrDescribeAddress(Creator, where, sizeof(where));
    VfpReport("leaked handle 0x%llx to %s object %p, created at %s: close every handle "
              "(ZwClose) before DriverUnload returns",
              (unsigned long long)(ULONG_PTR)Handle, VfpTypeName(Object), Object, where);
    l->Count++;
}

static void VfpLeakedReference(void *Ctx, PVOID Object, LONG_PTR Count, const void *Site)
{
    VFP_LEAKS *l = Ctx;
    char where[256];
    LdrDescribeAddress(Site, where, sizeof(where));
    VfpReport("leaked reference: %lld reference%s to %s object %p, last taken at %s, never "
              "released: every ObReferenceObject* needs its ObDereferenceObject",
              (long long)Count, Count == 1 ? "" : "s", VfpTypeName(Object), Object, where);
    l->Count++;
}

static void VfpCountPool(void *Ctx, ULONG Tag, SIZE_T Size, void *Caller)
{
    VFP_LEAKS *l = Ctx;
    (void)Tag, (void)Size;
    if (Caller && VfpInImage(Caller, l->Image))
        l->Count++;
}

typedef struct VFP_POOL_LEAKS {
    LDR_IMAGE *Image;
    size_t Total;
} VFP_POOL_LEAKS;

static void VfpLeakedPool(void *Ctx, ULONG Tag, SIZE_T Size, void *Caller)
{
    VFP_POOL_LEAKS *p = Ctx;
    char where[256], tag[5];
    if (!Caller || !VfpInImage(Caller, p->Image))
        return;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(Tag >> (8 * i));
        tag[i] = c >= 0x20 && c < 0x7f ? (char)c : '.';
    }
    tag[4] = 0;
    LdrDescribeAddress(Caller, where, sizeof(where));
    VfpReport("leaked pool: %llu bytes, tag '%s', allocated at %s, never freed (Driver "
              "Verifier's pool tracking stops with 0xC4 (0x62, driver name, 0, %zu) "
              "\"driver unloading without freeing pool\")",
              (unsigned long long)Size, tag, where, p->Total);
}

void VfpDriverUnloaded(LDR_IMAGE *Image)
{
    if (VfpEnabled(VF_PENDING))
        VfpCheckPending(Image);
    if (!VfpEnabled(VF_LEAKS))
        return;
    VFP_LEAKS leaks = {Image, 0};
    ObpForEachHandle(VfpLeakedHandle, &leaks);
    VfpForEachDriverReference(Image, VfpLeakedReference, &leaks);
    VFP_LEAKS pool = {Image, 0};
    ExpForEachLiveAllocation(VfpCountPool, &pool);
    if (pool.Count) {
        VFP_POOL_LEAKS p = {Image, pool.Count};
        ExpForEachLiveAllocation(VfpLeakedPool, &p);
    }
}
