/*
 * LdrLoadDriverImage and LdrUnloadDriverImage: read the file, validate it
 * (parse.c), map SizeOfImage of anonymous memory at the preferred ImageBase if
 * that range is free or anywhere otherwise, lay the file out, relocate
 * (reloc.c), bind imports (import.c), set the /GS cookie (cookie.c), run the
 * patching hook (patch.c), then apply the section protections and publish
 * the image in the registry (registry.c).
 *
 * Protections follow IMAGE_SCN_MEM_READ/WRITE/EXECUTE per page: a page takes
 * the union of the sections that cover it (each section extends to the next
 * SectionAlignment boundary, as Windows maps it), the headers are read-only,
 * and pages no section covers are inaccessible.
 */
#include "ldr/ldr.h"
#include "ldr/patch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The top of the x86-64 user address space with 4-level paging. */
#define LDR_USER_ADDRESS_LIMIT 0x00007FFFFFFFF000ull

static NTSTATUS LdrpReadFile(const char *Path, uint8_t **Data, size_t *Size, char *Why,
                             size_t WhyLen)
{
    int fd = open(Path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        int e = errno;
        NTSTATUS s = (e == ENOENT || e == ENOTDIR) ? STATUS_OBJECT_NAME_NOT_FOUND
                     : (e == EACCES || e == EPERM) ? STATUS_ACCESS_DENIED
                                                   : STATUS_FILE_INVALID;
        return LdrpFail(s, Why, WhyLen, "cannot open %s: %s", Path, strerror(e));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return LdrpFail(STATUS_INVALID_PARAMETER, Why, WhyLen,
                        "%s is not a regular file; give the path of a .sys driver image", Path);
    }
    if ((uint64_t)st.st_size > LDR_MAX_FILE_SIZE) {
        close(fd);
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "%s is %lld bytes, larger than any driver kmhost accepts (%u bytes)", Path,
                        (long long)st.st_size, LDR_MAX_FILE_SIZE);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return LdrpFail(STATUS_INSUFFICIENT_RESOURCES, Why, WhyLen, "out of memory reading %s",
                        Path);
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return LdrpFail(STATUS_FILE_INVALID, Why, WhyLen, "cannot read %s: %s", Path,
                            n < 0 ? strerror(e) : "the file shrank while it was read");
        }
        done += (size_t)n;
    }
    close(fd);
    *Data = buf;
    *Size = size;
    return STATUS_SUCCESS;
}

static uint8_t *LdrpMapImage(const LDR_PE_INFO *Info, size_t MapSize)
{
    void *p = MAP_FAILED;
    uint64_t want = Info->ImageBase;
    if (want && want < LDR_USER_ADDRESS_LIMIT && MapSize <= LDR_USER_ADDRESS_LIMIT - want)
        p = mmap((void *)(uintptr_t)want, MapSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        p = mmap(NULL, MapSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The pages LdrpCopyImage writes (the headers, the sections' file data and
   what lies between), made present by one system call rather than a page
   fault each: where a fault is dear, as in a virtual machine that shadows
   page tables, that is half the cost. Kernels before 5.14 lack
   MADV_POPULATE_WRITE and leave the pages to fault in. */
static void LdrpPopulateImage(uint8_t *Base, size_t MapSize, const LDR_PE_INFO *Info, size_t Page)
{
    size_t end = Info->SizeOfHeaders;
    for (uint32_t i = 0; i < Info->NumberOfSections; i++) {
        const LDR_SECTION *s = &Info->Sections[i];
        if (s->CopySize && (size_t)s->VirtualAddress + s->CopySize > end)
            end = (size_t)s->VirtualAddress + s->CopySize;
    }
    end = (end + Page - 1) & ~(Page - 1);
    madvise(Base, end < MapSize ? end : MapSize, MADV_POPULATE_WRITE);
}

static int LdrpProtection(uint32_t Characteristics)
{
    int prot = 0;
    if (Characteristics & IMAGE_SCN_MEM_READ)
        prot |= PROT_READ;
    if (Characteristics & IMAGE_SCN_MEM_WRITE)
        prot |= PROT_WRITE;
    if (Characteristics & IMAGE_SCN_MEM_EXECUTE)
        prot |= PROT_EXEC;
    return prot;
}

static NTSTATUS LdrpProtectImage(uint8_t *Base, size_t MapSize, const LDR_PE_INFO *Info, char *Why,
                                 size_t WhyLen)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = MapSize / page;
    uint8_t *prot = calloc(pages, 1);
    if (!prot)
        return LdrpFail(STATUS_INSUFFICIENT_RESOURCES, Why, WhyLen,
                        "out of memory protecting the image");
    for (size_t p = 0; p * page < Info->SizeOfHeaders; p++)
        prot[p] |= PROT_READ;
    for (uint32_t i = 0; i < Info->NumberOfSections; i++) {
        const LDR_SECTION *s = &Info->Sections[i];
        uint64_t sa = Info->SectionAlignment;
        uint64_t end = ((uint64_t)s->VirtualAddress + s->VirtualSize + sa - 1) & ~(sa - 1);
        for (uint64_t p = s->VirtualAddress / page; p * page < end && p < pages; p++)
            prot[p] |= (uint8_t)LdrpProtection(s->Characteristics);
    }
    NTSTATUS st = STATUS_SUCCESS;
    for (size_t p = 0; p < pages;) {
        size_t q = p + 1;
        while (q < pages && prot[q] == prot[p])
            q++;
        if (mprotect(Base + p * page, (q - p) * page, prot[p]) < 0) {
            st = LdrpFail(STATUS_INSUFFICIENT_RESOURCES, Why, WhyLen,
                          "mprotect of image pages 0x%zx-0x%zx failed: %s", p * page, q * page,
                          strerror(errno));
            break;
        }
        p = q;
    }
    free(prot);
    return st;
}

static NTSTATUS LdrpCheckExceptionDirectory(const LDR_PE_INFO *Info, char *Why, size_t WhyLen)
{
    uint32_t size = Info->Directory[IMAGE_DIRECTORY_ENTRY_EXCEPTION].Size;
    if (size % 12)
        return LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                        "exception directory size 0x%x is not a multiple of 12 (the size of "
                        "a RUNTIME_FUNCTION entry)",
                        size);
    return STATUS_SUCCESS;
}

static void LdrpSetNames(LDR_IMAGE *Image, const char *Path)
{
    const char *base = strrchr(Path, '/');
    snprintf(Image->Path, sizeof(Image->Path), "%s", Path);
    snprintf(Image->Name, sizeof(Image->Name), "%s", base ? base + 1 : Path);
}

/* Everything after the file is read: the image is built in a private mapping
   and only published when every step succeeded. */
static NTSTATUS LdrpBuildImage(const char *Path, const uint8_t *File, size_t FileSize,
                               LDR_IMAGE **Out, char *Why, size_t WhyLen)
{
    LDR_PE_INFO *info = malloc(sizeof(*info));
    LDR_IMAGE *img = calloc(1, sizeof(*img));
    LDR_PRIVATE *priv = calloc(1, sizeof(*priv));
    uint8_t *base = NULL;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), mapSize = 0;
    NTSTATUS st;
    if (!info || !img || !priv) {
        st = LdrpFail(STATUS_INSUFFICIENT_RESOURCES, Why, WhyLen, "out of memory");
        goto fail;
    }
    st = LdrpParseImage(File, FileSize, info, Why, WhyLen);
    if (NT_SUCCESS(st))
        st = LdrpCheckDelayImports(info, Why, WhyLen);
    if (NT_SUCCESS(st))
        st = LdrpCheckExceptionDirectory(info, Why, WhyLen);
    if (!NT_SUCCESS(st))
        goto fail;
    mapSize = ((size_t)info->SizeOfImage + page - 1) & ~(page - 1);
    base = LdrpMapImage(info, mapSize);
    if (!base) {
        st = LdrpFail(STATUS_INSUFFICIENT_RESOURCES, Why, WhyLen,
                      "cannot map 0x%zx bytes for the image: %s", mapSize, strerror(errno));
        goto fail;
    }
    LdrpPopulateImage(base, mapSize, info, page);
    LdrpCopyImage(base, File, info);
    st = LdrpRelocateImage(base, info, (uint64_t)(uintptr_t)base - info->ImageBase, Why, WhyLen);
    if (NT_SUCCESS(st))
        st = LdrpBindImports(base, info, Why, WhyLen);
    if (NT_SUCCESS(st))
        st = LdrpInitSecurityCookie(base, (uintptr_t)base, info, Why, WhyLen);
    if (NT_SUCCESS(st)) {
        st = LdrpBuildSymbols(File, FileSize, base, info, &priv->Symbols);
        if (!NT_SUCCESS(st))
            LdrpFail(st, Why, WhyLen, "out of memory reading the symbol table");
    }
    if (NT_SUCCESS(st))
        st = LdrpPatchImage(base, info, Why, WhyLen);
    if (NT_SUCCESS(st))
        st = LdrpProtectImage(base, mapSize, info, Why, WhyLen);
    if (!NT_SUCCESS(st))
        goto fail;

    LdrpSetNames(img, Path);
    img->Base = base;
    img->Size = info->SizeOfImage;
    img->EntryPoint = info->EntryRva ? base + info->EntryRva : NULL;
    img->ImageBase = info->ImageBase;
    img->Private = priv;
    priv->MapSize = mapSize;
    priv->ExceptionRva = info->Directory[IMAGE_DIRECTORY_ENTRY_EXCEPTION].VirtualAddress;
    priv->ExceptionSize = info->Directory[IMAGE_DIRECTORY_ENTRY_EXCEPTION].Size;
    free(info);
    LdrpRegisterImage(img);
    *Out = img;
    return STATUS_SUCCESS;

fail:
    if (base) {
        LdrpReleasePatches(base);
        munmap(base, mapSize);
    }
    if (priv)
        LdrpFreeSymbols(&priv->Symbols);
    free(priv);
    free(img);
    free(info);
    return st;
}

static NTSTATUS LdrpCheckLoadArguments(const char *Path, LDR_IMAGE **Image, char *Why,
                                       size_t WhyLen)
{
    if (Why && WhyLen)
        Why[0] = 0;
    if (!Image)
        return LdrpFail(STATUS_INVALID_PARAMETER, Why, WhyLen, "no place to return the image");
    *Image = NULL;
    if (!Path || !*Path)
        return LdrpFail(STATUS_INVALID_PARAMETER, Why, WhyLen, "no driver path given");
    return STATUS_SUCCESS;
}

NTSTATUS LdrLoadDriverImage(const char *Path, LDR_IMAGE **Image, char *Why, size_t WhyLen)
{
    uint8_t *file = NULL;
    size_t size = 0;
    NTSTATUS st = LdrpCheckLoadArguments(Path, Image, Why, WhyLen);
    if (NT_SUCCESS(st))
        st = LdrpReadFile(Path, &file, &size, Why, WhyLen);
    if (NT_SUCCESS(st))
        st = LdrLoadDriverImageFromBytes(Path, file, size, Image, Why, WhyLen);
    free(file);
    return st;
}

NTSTATUS LdrLoadDriverImageFromBytes(const char *Path, const uint8_t *File, size_t Size,
                                     LDR_IMAGE **Image, char *Why, size_t WhyLen)
{
    NTSTATUS st = LdrpCheckLoadArguments(Path, Image, Why, WhyLen);
    if (NT_SUCCESS(st) && !File)
        st = LdrpFail(STATUS_INVALID_PARAMETER, Why, WhyLen, "no image bytes given");
    if (NT_SUCCESS(st) && Size > LDR_MAX_FILE_SIZE)
        st = LdrpFail(STATUS_INVALID_IMAGE_FORMAT, Why, WhyLen,
                      "%s is %zu bytes, larger than any driver kmhost accepts (%u bytes)", Path,
                      Size, LDR_MAX_FILE_SIZE);
    return NT_SUCCESS(st) ? LdrpBuildImage(Path, File, Size, Image, Why, WhyLen) : st;
}

/* The record stays valid forever (registry.c); only the mapping goes. A
   second unload of the same image does nothing. */
void LdrUnloadDriverImage(LDR_IMAGE *Image)
{
    if (!Image)
        return;
    LDR_PRIVATE *p = Image->Private;
    if (LdrpUnregisterImage(Image)) {
        munmap(Image->Base, p->MapSize);
        LdrpReleasePatches(Image->Base);
    }
}
