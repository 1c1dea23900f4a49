/*
 * kmhost's internal conventions, shared by every component.
 *
 * Exports: a routine or variable that drivers import is declared next to its
 * definition with KM_EXPORT(name) (ntoskrnl.exe) or KM_EXPORT_HAL(name)
 * (hal.dll). The entries land in the "km_exports" ELF section; the loader's
 * export table (src/ldr/exports.c) is built from that section at start-up, so
 * no central list has to be edited when a routine is added.
 *
 * Names: exported routines keep their NT names; private helpers take their
 * component's prefix (Kip, Obp, Psp, Iop, Exp, Cmp, Vfp, Ldrp, Halp, Rtlp);
 * code that talks to Linux rather than to a driver is km_*.
 */
#ifndef KM_KM_H
#define KM_KM_H

#include <nt/ke.h>
#include <nt/ntdef.h>
#include <nt/ntstatus.h>
#include <nt/ob.h>

#define KM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KM_NORETURN __attribute__((noreturn))
#define KM_UNUSED __attribute__((unused))
/* A slow path (checks, reports, contention) called from an exported routine.
   ms_abi like the export, so that the export need not save xmm6-xmm15 in
   its prologue (a System V callee may clobber them; an ms_abi one may not):
   without it every ObfReferenceObject paid ten 16-byte stores. */
#define KM_SLOWPATH __attribute__((ms_abi, cold, noinline))
/* The same for an internal routine on an export's hot path (the dispatcher's
   object lock, wait test, futex calls): an ms_abi callee costs the export
   nothing; the ms_abi routine saves xmm6-15 itself only around what it
   calls in System V code (libc, a system call). */
#define KM_MSABI __attribute__((ms_abi))

/* A WCHAR that may sit at an odd address: drivers may pass names and
   buffers that are not 2-byte aligned, which Windows reads and writes as
   they are for KernelMode callers. Read strings a caller passed through a
   pointer to this type (x64 loads it as it would a WCHAR). */
typedef WCHAR KM_UNALIGNED_WCHAR __attribute__((aligned(1)));

enum { KM_MOD_NTOSKRNL = 1, KM_MOD_HAL = 2 };

typedef struct KM_EXPORT_ENTRY {
    const char *Name;
    void *Address;
    uintptr_t Module; /* KM_MOD_* */
} KM_EXPORT_ENTRY;

#define KM_EXPORT_AS_(sym, mod)                                                                    \
    static const KM_EXPORT_ENTRY km_export_##sym                                                   \
        __attribute__((used, section("km_exports"), aligned(8))) = {#sym, (void *)&sym, (mod)}
#define KM_EXPORT(sym) KM_EXPORT_AS_(sym, KM_MOD_NTOSKRNL)
#define KM_EXPORT_HAL(sym) KM_EXPORT_AS_(sym, KM_MOD_HAL)

/* src/ldr/exports.c */
const KM_EXPORT_ENTRY *KmLookupExport(const char *DllName, const char *Name);
const KM_EXPORT_ENTRY *KmLookupExportByOrdinal(const char *DllName, ULONG Ordinal);
/* Ordinals are 1 + the index of the name in the module's sorted export list. */
size_t KmExportCount(void);

/* ---- Interfaces between components (each implemented in the folder named) ---- */

/* ldr: a mapped, relocated and bound driver image. */
typedef struct LDR_IMAGE {
    char Name[256];      /* base name, "kthreads.sys" */
    char Path[4096];     /* as given */
    uint8_t *Base;       /* where it is mapped */
    size_t Size;         /* SizeOfImage */
    void *EntryPoint;    /* DriverEntry */
    ULONG_PTR ImageBase; /* preferred base from the optional header */
    struct LDR_IMAGE *Next;
    void *Private; /* the loader's own data */
} LDR_IMAGE;
/* Loads a driver image. On failure returns the NTSTATUS and writes the reason
   (for missing imports: every missing import, in one message) into Why. */
NTSTATUS LdrLoadDriverImage(const char *Path, LDR_IMAGE **Image, char *Why, size_t WhyLen);
/* The same from the file's bytes already read (File[0..Size), the bytes the
   signature check checked); Path only names the image. */
NTSTATUS LdrLoadDriverImageFromBytes(const char *Path, const uint8_t *File, size_t Size,
                                     LDR_IMAGE **Image, char *Why, size_t WhyLen);
void LdrUnloadDriverImage(LDR_IMAGE *Image);
/* The loaded image that contains Address, or NULL. Safe from a signal handler. */
LDR_IMAGE *LdrFindImageByAddress(const void *Address);
/* "kthreads.sys+0x1a2b" (and " (DriverEntry+0x1b)" when a symbol is known);
   "kmhost!KeSetEvent+0x2c" in kmhost's own code; "0x00007f..." elsewhere.
   Safe from a signal handler. */
void LdrDescribeAddress(const void *Address, char *Buf, size_t Len);
/* Whether Address is in kmhost's own code; the kmhost function containing
   it (from the executable's symbol table) and the offset into it. Safe from
   a signal handler. */
bool LdrIsHostCode(const void *Address);
bool LdrHostSymbol(const void *Address, char *Name, size_t Len, uintptr_t *Into);

/* hal: CPU state for driver code. */
void HalInitSystem(void); /* trap handlers, shared user data; once, before any driver code */
/* This host thread's KPCR, for the GS segment of driver code (hal/pcr.c). */
void HalSetCurrentPcr(KPCR *Pcr);
/* The same KPCR as kmhost's code reads it, NULL on a thread that has none:
   a TLS slot at a fixed offset from FS, whatever the GS base is
   (hal/pcr.c). Signal-safe. */
extern __thread KPCR *HalCurrentPcrSlot __attribute__((tls_model("initial-exec")));
static inline KPCR *HalPcr(void)
{
    return HalCurrentPcrSlot;
}
/* Whether GS base is the KPCR (else 0: driver gs: accesses are patched or
   emulated); decided once per process. */
BOOLEAN HalUsesGsBase(void);
/* The offset of HalCurrentPcrSlot from FS base, the same in every thread:
   patched driver code reads the KPCR with `mov reg, fs:[offset]`. */
LONG HalPcrSlotOffset(void);

/* ke: bug checks. A bug check ends the host process with exit status 3. */
KM_NORETURN void NTAPI KeBugCheckEx(ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3,
                                    ULONG_PTR P4);
/* Bug check from a fault: Context is the signal's ucontext_t (for the
   faulting instruction, registers and the stack of driver frames). */
KM_NORETURN void KiBugCheckWithContext(ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3,
                                       ULONG_PTR P4, const void *Context);

/* ps: "thread ffff... (cid 4.24, start kthreads.sys+0x1040)" for reports. */
struct _KTHREAD;
void PsDescribeThread(struct _KTHREAD *Thread, char *Buf, size_t Len);

/* rtl: the last DbgPrint lines, oldest first, for bug check reports. */
size_t KdGetRecentOutput(char *Buf, size_t Len);
/* Windows printf formatting (%wZ, %ws, %I64d...) into Buf, always terminated;
   returns the length the full output would have. */
int RtlpFormat(char *Buf, size_t Len, const char *Format, __builtin_ms_va_list Args);

#endif
