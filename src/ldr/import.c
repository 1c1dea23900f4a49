/*
 * Import binding: every IMAGE_IMPORT_DESCRIPTOR names a DLL and two parallel
 * tables of 8-byte thunks, the lookup table (OriginalFirstThunk, or the IAT
 * itself when that is 0) and the import address table (FirstThunk). A thunk
 * with bit 63 set imports by ordinal (bits 0-15); otherwise bits 0-30 are the
 * RVA of a hint/name entry (2-byte hint, then a NUL-terminated name). The
 * descriptor array ends with an all-zero descriptor, each thunk table with a
 * zero thunk.
 *
 * Drivers may import only from ntoskrnl.exe and hal.dll (the modules
 * src/ldr/exports.c serves). Binding does not stop at the first failure: every
 * missing import is collected so one message tells the developer all that is
 * missing. The IAT slot receives the export's address, which for a data
 * export (PsThreadType) is the address of our variable, as a dllimport slot
 * must hold.
 */
#include "ldr/ldr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct LDRP_TEXT {
    char *Text;
    size_t Length;
    size_t Capacity;
    unsigned Count;
    int Failed; /* out of memory */
} LDRP_TEXT;

static void LdrpAppend(LDRP_TEXT *t, const char *s)
{
    size_t n = strlen(s);
    if (t->Failed)
        return;
    if (t->Length + n + 1 > t->Capacity) {
        size_t cap = t->Capacity ? t->Capacity : 256;
        while (t->Length + n + 1 > cap)
            cap *= 2;
        char *p = realloc(t->Text, cap);
        if (!p) {
            t->Failed = 1;
            return;
        }
        t->Text = p;
        t->Capacity = cap;
    }
    memcpy(t->Text + t->Length, s, n + 1);
    t->Length += n;
}

static int LdrpIsKernelModule(const char *Dll)
{
    return !strcasecmp(Dll, "ntoskrnl.exe") || !strcasecmp(Dll, "ntkrnlpa.exe") ||
           !strcasecmp(Dll, "ntkrnlmp.exe") || !strcasecmp(Dll, "hal.dll");
}

/* A NUL-terminated string at Rva wholly inside the image, or NULL. */
static const char *LdrpImageString(const uint8_t *Base, uint32_t SizeOfImage, uint64_t Rva)
{
    if (Rva >= SizeOfImage)
        return NULL;
    if (!memchr(Base + Rva, 0, SizeOfImage - Rva))
        return NULL;
    return (const char *)Base + Rva;
}

/* "Name" or "#12", for messages. */
static void LdrpImportLabel(char *Buf, size_t Len, const char *Name, uint32_t Ordinal)
{
    if (Name)
        snprintf(Buf, Len, "%s", Name);
    else
        snprintf(Buf, Len, "#%u", Ordinal);
}

typedef struct LDRP_BIND {
    LDRP_TEXT Missing; /* "ntoskrnl.exe!Foo, hal.dll!#12" */
    LDRP_TEXT Unknown; /* "ndis.sys (NdisFoo, #3); ..." */
} LDRP_BIND;

static NTSTATUS LdrpBindDescriptor(uint8_t *Base, const LDR_PE_INFO *Info, unsigned Index,
                                   const IMAGE_IMPORT_DESCRIPTOR *Desc, LDRP_BIND *Bind, char *Why,
                                   size_t WhyLen)
{
    uint32_t size = Info->SizeOfImage;
    const char *dll = LdrpImageString(Base, size, Desc->Name);
    if (!dll)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "import descriptor %u: the DLL name at RVA 0x%x lies outside the image "
                        "or is not NUL-terminated inside it",
                        Index, Desc->Name);
    int known = LdrpIsKernelModule(dll);
    unsigned unknownCount = 0;
    uint64_t lookup = Desc->OriginalFirstThunk ? Desc->OriginalFirstThunk : Desc->FirstThunk;
    for (uint64_t j = 0;; j++) {
        uint64_t lookupRva = lookup + 8 * j, iatRva = (uint64_t)Desc->FirstThunk + 8 * j;
        if (!LdrpInRange(lookupRva, 8, size) || !LdrpInRange(iatRva, 8, size))
            return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                            "imports from %s: the thunk table (lookup RVA 0x%llx, IAT RVA "
                            "0x%x) runs past the end of the image without a terminating zero "
                            "entry",
                            dll, (unsigned long long)lookup, Desc->FirstThunk);
        uint64_t thunk;
        memcpy(&thunk, Base + lookupRva, 8);
        if (!thunk)
            break;
        const char *name = NULL;
        uint32_t ordinal = 0;
        const KM_EXPORT_ENTRY *entry = NULL;
        if (thunk & IMAGE_ORDINAL_FLAG64) {
            if (thunk & 0x7fffffffffff0000ull)
                return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                                "imports from %s, entry %llu: ordinal thunk 0x%llx has "
                                "reserved bits set",
                                dll, (unsigned long long)j, (unsigned long long)thunk);
            ordinal = (uint32_t)(thunk & 0xffff);
            if (known)
                entry = KmLookupExportByOrdinal(dll, ordinal);
        } else {
            if (thunk >> 31)
                return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                                "imports from %s, entry %llu: name thunk 0x%llx has reserved "
                                "bits set",
                                dll, (unsigned long long)j, (unsigned long long)thunk);
            name = LdrpImageString(Base, size, thunk + 2);
            if (!name)
                return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                                "imports from %s, entry %llu: the hint/name entry at RVA "
                                "0x%llx lies outside the image or its name is not "
                                "NUL-terminated inside it",
                                dll, (unsigned long long)j, (unsigned long long)thunk);
            if (known)
                entry = KmLookupExport(dll, name);
        }
        char label[300];
        LdrpImportLabel(label, sizeof(label), name, ordinal);
        if (!known) {
            if (unknownCount++ == 0) {
                if (Bind->Unknown.Count++)
                    LdrpAppend(&Bind->Unknown, "; ");
                LdrpAppend(&Bind->Unknown, dll);
                LdrpAppend(&Bind->Unknown, " (");
            } else {
                LdrpAppend(&Bind->Unknown, ", ");
            }
            LdrpAppend(&Bind->Unknown, label);
        } else if (!entry) {
            if (Bind->Missing.Count++)
                LdrpAppend(&Bind->Missing, ", ");
            LdrpAppend(&Bind->Missing, dll);
            LdrpAppend(&Bind->Missing, "!");
            LdrpAppend(&Bind->Missing, label);
        } else {
            uint64_t address = (uint64_t)(uintptr_t)entry->Address;
            memcpy(Base + iatRva, &address, 8);
        }
    }
    if (unknownCount)
        LdrpAppend(&Bind->Unknown, ")");
    return STATUS_SUCCESS;
}

static NTSTATUS LdrpBindResult(LDRP_BIND *Bind, char *Why, size_t WhyLen)
{
    if (Bind->Missing.Failed || Bind->Unknown.Failed)
        return LdrpFail(STATUS_INSUFFICIENT_RESOURCES, Why, WhyLen,
                        "out of memory while listing missing imports");
    if (Bind->Unknown.Count)
        return LdrpFail(STATUS_DLL_NOT_FOUND, Why, WhyLen,
                        "the driver imports from %u module%s that kmhost does not provide "
                        "(only ntoskrnl.exe and hal.dll exist): %s",
                        Bind->Unknown.Count, Bind->Unknown.Count == 1 ? "" : "s",
                        Bind->Unknown.Text);
    if (Bind->Missing.Count)
        return LdrpFail(STATUS_PROCEDURE_NOT_FOUND, Why, WhyLen,
                        "%u import%s not implemented by kmhost: %s", Bind->Missing.Count,
                        Bind->Missing.Count == 1 ? " is" : "s are", Bind->Missing.Text);
    return STATUS_SUCCESS;
}

NTSTATUS LdrpBindImports(uint8_t *Base, const LDR_PE_INFO *Info, char *Why, size_t WhyLen)
{
    uint32_t rva = Info->Directory[IMAGE_DIRECTORY_ENTRY_IMPORT].VirtualAddress;
    LDRP_BIND bind;
    NTSTATUS st = STATUS_SUCCESS;
    if (!rva)
        return STATUS_SUCCESS;
    memset(&bind, 0, sizeof(bind));
    for (unsigned i = 0;; i++) {
        uint64_t descRva = rva + (uint64_t)i * sizeof(IMAGE_IMPORT_DESCRIPTOR);
        IMAGE_IMPORT_DESCRIPTOR desc;
        if (!LdrpInRange(descRva, sizeof(desc), Info->SizeOfImage)) {
            st = LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                          "import descriptor %u at RVA 0x%llx runs past the end of the image "
                          "(SizeOfImage 0x%x): the table has no all-zero terminator",
                          i, (unsigned long long)descRva, Info->SizeOfImage);
            break;
        }
        memcpy(&desc, Base + descRva, sizeof(desc));
        if (!desc.Name && !desc.FirstThunk)
            break;
        if (!desc.Name || !desc.FirstThunk) {
            st = LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                          "import descriptor %u has Name RVA 0x%x and FirstThunk RVA 0x%x; "
                          "both must be set",
                          i, desc.Name, desc.FirstThunk);
            break;
        }
        st = LdrpBindDescriptor(Base, Info, i, &desc, &bind, Why, WhyLen);
        if (!NT_SUCCESS(st))
            break;
    }
    if (NT_SUCCESS(st))
        st = LdrpBindResult(&bind, Why, WhyLen);
    free(bind.Missing.Text);
    free(bind.Unknown.Text);
    return st;
}

NTSTATUS LdrpCheckDelayImports(const LDR_PE_INFO *Info, char *Why, size_t WhyLen)
{
    if (Info->Directory[IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT].VirtualAddress)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "the image has a delay-load import directory; kernel drivers cannot "
                        "delay-load imports: link without /DELAYLOAD");
    return STATUS_SUCCESS;
}
