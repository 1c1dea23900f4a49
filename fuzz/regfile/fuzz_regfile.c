/*
 * libFuzzer harness for the .reg importer: CmImportRegFile reads a file by
 * name, so each input is written to a memfd and imported through
 * /proc/self/fd/N into a temporary store (a SQLite file in a private temp
 * folder, recreated every few thousand inputs so that it stays small).
 * Whatever the text, the import ends with a status and a reason, never a
 * crash; a failing import leaves the store usable.
 */
#include "cm/regfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size);

static CM_STORE *Store;
static char DbPath[256];
static unsigned Uses;

static void FuzzOpenStore(void)
{
    if (Store) {
        CmStoreClose(Store);
        unlink(DbPath);
    }
    if (!DbPath[0]) {
        char dir[] = "/tmp/kmfuzz-reg-XXXXXX";
        if (!mkdtemp(dir))
            abort();
        snprintf(DbPath, sizeof(DbPath), "%s/registry.db", dir);
    }
    if (!NT_SUCCESS(CmStoreOpen(DbPath, &Store)))
        abort();
    Uses = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size)
{
    if (Size > 65536)
        return 0;
    if (!Store || ++Uses > 4096)
        FuzzOpenStore();
    int fd = memfd_create("fuzz.reg", 0);
    if (fd < 0)
        abort();
    if (Size && write(fd, Data, Size) != (ssize_t)Size)
        abort();
    char path[64], why[512];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    why[0] = 0;
    NTSTATUS st = CmImportRegFile(Store, path, why, sizeof(why));
    if (!NT_SUCCESS(st) && memchr(why, 0, sizeof(why)) == NULL)
        abort();
    close(fd);
    /* The store still answers after a failed import. */
    CM_KEY_ID key;
    if (!NT_SUCCESS(CmCreateKey(Store, 0, "\\Registry\\Machine\\Software\\KmFuzz",
                                CM_CREATE_INTERMEDIATE, &key, NULL)))
        abort();
    return 0;
}
