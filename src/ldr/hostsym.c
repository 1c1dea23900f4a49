/*
 * kmhost's own function names, for reports of a fault inside kmhost code (a
 * driver passed an export a bad pointer): "kmhost!KiWaitTest+0x2c". Read
 * from the executable's ELF symbol table (<elf.h>) only when a report needs
 * it, so that no start-up pays for it. Async-signal-safe: open, fstat, mmap,
 * munmap and close are system calls; nothing is allocated or locked. A
 * stripped executable gives no name; the caller prints the offset.
 */
#include "km.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* GNU ld: the first byte of the executable's mapping (its ELF header) and
   the end of its code. */
extern const char __executable_start[], etext[];

bool LdrIsHostCode(const void *Address)
{
    return (const char *)Address >= __executable_start && (const char *)Address < etext;
}

/* The function of the mapped file Elf (Size bytes) that contains Offset, a
   link-time address: its name copied into Name, and Offset - its start. */
static bool LdrpFindFunction(const uint8_t *Elf, size_t Size, uintptr_t Offset, char *Name,
                             size_t Len, uintptr_t *Into)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)Elf;
    if (Size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff > Size || (Size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
        return false;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(Elf + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *strs = &sh[sh[i].sh_link];
        if (sh[i].sh_offset > Size || sh[i].sh_size > Size - sh[i].sh_offset ||
            strs->sh_offset > Size || strs->sh_size > Size - strs->sh_offset)
            return false;
        const Elf64_Sym *sym = (const Elf64_Sym *)(Elf + sh[i].sh_offset);
        size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
        const char *names = (const char *)Elf + strs->sh_offset;
        for (size_t k = 0; k < count; k++) {
            if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_value > Offset ||
                Offset - sym[k].st_value >= (sym[k].st_size ? sym[k].st_size : 1) ||
                sym[k].st_name >= strs->sh_size)
                continue;
            const char *n = names + sym[k].st_name;
            size_t j = 0;
            for (; j + 1 < Len && j < strs->sh_size - sym[k].st_name && n[j]; j++)
                Name[j] = n[j];
            Name[j] = 0;
            *Into = Offset - sym[k].st_value;
            return true;
        }
    }
    return false;
}

bool LdrHostSymbol(const void *Address, char *Name, size_t Len, uintptr_t *Into)
{
    if (!Len || !LdrIsHostCode(Address))
        return false;
    /* A position-independent executable's symbols are offsets from where
       it was mapped; a fixed one's are addresses. */
    const Elf64_Ehdr *self = (const Elf64_Ehdr *)__executable_start;
    uintptr_t bias = self->e_type == ET_DYN ? (uintptr_t)__executable_start : 0;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool found = false;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            found = LdrpFindFunction(map, (size_t)st.st_size, (uintptr_t)Address - bias, Name, Len,
                                     Into);
            munmap(map, (size_t)st.st_size);
        }
    }
    close(fd);
    return found;
}
