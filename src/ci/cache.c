/*
 * The cache of checked images: a driver image whose signature was checked
 * once is not checked again while the same bytes are checked against the
 * same trusted roots, as Windows' code integrity keeps the signing level it
 * validated with the file. Checking a signature costs OpenSSL's set-up and a
 * parse of the certificates, about 1.5 ms of every kmhost run (more with the
 * warm-up thread it needs beside the start, which a hit also saves: run.c);
 * a hit costs a SHA-256 of the file (20-30 us for a driver of 40 KiB), a
 * read and a SHA-256 of the root files, and the read of the entry.
 *
 * One entry per image, KMHOST_HOME/ci-cache/<build ID>/<SHA-256 of the
 * file>, a line:
 *     kmhost-ci <version> <OpenSSL version> <roots fingerprint> <trusted>
 *
 * Invariants:
 *  - An entry names the exact bytes checked (the SHA-256 of the whole file)
 *    and is written only for an image whose Authenticode hash matched, whose
 *    signature verified and whose certificate is for code signing: what the
 *    policy then asks is only whether the signer chains to a trusted root
 *    (<trusted>) or TESTSIGNING is on, and both are decided at every run. A
 *    refusal never comes from the cache: an image refused for its chain is
 *    checked again whenever TESTSIGNING is off.
 *  - The bytes the loader maps are the bytes hashed (policy.c hands its
 *    buffer to the loader), so no file metadata is trusted: a write through
 *    a mapping, a filesystem with odd timestamps or a file swapped between
 *    check and load changes nothing.
 *  - <roots fingerprint> is the SHA-256 of the names and contents of the
 *    trusted root files in name order, the same files CipLoadRoots parses
 *    (CipReadRoots); the one stored is the one of the roots the chain was
 *    actually checked against. Adding, removing or changing a root makes
 *    every entry miss. The chain check ignores certificate validity periods
 *    (X509_V_FLAG_NO_CHECK_TIME), so time does not age an entry.
 *  - The build ID of the kmhost executable (the folder), <version> and the
 *    OpenSSL version make entries of any other verifier miss: a rebuilt
 *    kmhost checks every image once more, and its first entry removes what
 *    other builds left (CipPruneOtherBuilds). CIP_CACHE_VERSION changes with
 *    the entry's format.
 *  - Entries are written to a temporary file (mkostemp) and renamed over
 *    the old one: kmhost processes running at once read whole entries or
 *    none, and an entry is the whole line or no match.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_*: see CipDigestImage */
#include "ci/cip.h"
#include "cm/cm.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CIP_CACHE_DIR "ci-cache"
#define CIP_CACHE_VERSION 2
/* A root file larger than this is ignored (a bundle of every root of a
   browser's store is a few hundred KiB). */
#define CIP_MAX_ROOT_FILE (8u << 20)

/* SHA-256 through OpenSSL's low-level routines (deprecated in 3.0, kept for
   this): EVP_Digest and the one-shot SHA256() fetch the digest from a
   provider, the set-up (about 1 ms) a hit avoids. */
void CipDigestImage(const uint8_t *File, size_t Size, uint8_t Out[CIP_DIGEST_SIZE])
{
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, File, Size);
    SHA256_Final(Out, &ctx);
}

bool CipIsRootFile(const char *Name)
{
    static const char *const suffixes[] = {".pem", ".crt", ".cer"};
    size_t n = strlen(Name);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t s = strlen(suffixes[i]);
        if (n > s && strcasecmp(Name + n - s, suffixes[i]) == 0)
            return true;
    }
    return false;
}

static int CipCompareRoots(const void *A, const void *B)
{
    return strcmp(((const CIP_ROOT_FILE *)A)->Name, ((const CIP_ROOT_FILE *)B)->Name);
}

size_t CipReadAll(int Fd, uint8_t *Buf, size_t Size)
{
    size_t done = 0;
    while (done < Size) {
        ssize_t n = read(Fd, Buf + done, Size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    return done;
}

/* Reads the regular file Name of Dir (at most CIP_MAX_ROOT_FILE bytes);
   false, with *Out empty, for anything else or an error. */
static bool CipReadRootFile(DIR *Dir, const char *Name, CIP_ROOT_FILE *Out)
{
    *Out = (CIP_ROOT_FILE){0};
    int fd = openat(dirfd(Dir), Name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
        return false;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= CIP_MAX_ROOT_FILE &&
        (Out->Name = strdup(Name)) && (Out->Data = malloc(st.st_size ? (size_t)st.st_size : 1)))
        Out->Size = CipReadAll(fd, Out->Data, (size_t)st.st_size);
    close(fd);
    if (!Out->Data) {
        free(Out->Name);
        *Out = (CIP_ROOT_FILE){0};
        return false;
    }
    return true;
}

size_t CipReadRoots(const char *Dir, CIP_ROOT_FILE **Files, uint8_t Fingerprint[CIP_DIGEST_SIZE])
{
    CIP_ROOT_FILE *files = NULL;
    size_t count = 0, cap = 0;
    DIR *dir = Dir ? opendir(Dir) : NULL;
    for (struct dirent *e; dir && (e = readdir(dir));) {
        if (!CipIsRootFile(e->d_name))
            continue;
        if (count == cap) {
            CIP_ROOT_FILE *more = realloc(files, (cap = cap ? 2 * cap : 8) * sizeof(*files));
            if (!more)
                break;
            files = more;
        }
        if (CipReadRootFile(dir, e->d_name, &files[count]))
            count++;
    }
    if (dir)
        closedir(dir);
    if (count > 1)
        qsort(files, count, sizeof(*files), CipCompareRoots);
    /* Each name with its terminating zero, its size and its bytes. */
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    for (size_t i = 0; i < count; i++) {
        uint64_t size = files[i].Size;
        SHA256_Update(&ctx, files[i].Name, strlen(files[i].Name) + 1);
        SHA256_Update(&ctx, &size, sizeof(size));
        SHA256_Update(&ctx, files[i].Data, files[i].Size);
    }
    SHA256_Final(Fingerprint, &ctx);
    *Files = files;
    return count;
}

void CipFreeRoots(CIP_ROOT_FILE *Files, size_t Count)
{
    for (size_t i = 0; i < Count; i++) {
        free(Files[i].Name);
        free(Files[i].Data);
    }
    free(Files);
}

void CipRootsFingerprint(const char *Dir, uint8_t Fingerprint[CIP_DIGEST_SIZE])
{
    CIP_ROOT_FILE *files;
    CipFreeRoots(files, CipReadRoots(Dir, &files, Fingerprint));
}

static void CipHex(const uint8_t *Bytes, size_t Len, char *Out)
{
    for (size_t i = 0; i < Len; i++)
        snprintf(Out + 2 * i, 3, "%02x", Bytes[i]);
}

/* The build ID of the kmhost executable (its GNU build-id note), in hex:
   any other build of the verifier, or of anything else in kmhost, makes
   every entry miss. "none" when the executable has no such note. */
static char CipBuildIdText[2 * 64 + 1] = "none";
static pthread_once_t CipBuildIdOnce = PTHREAD_ONCE_INIT;

static int CipFindBuildId(struct dl_phdr_info *Info, size_t InfoSize, void *Data)
{
    (void)InfoSize;
    (void)Data;
    for (int i = 0; i < Info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &Info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const uint8_t *p = (const uint8_t *)(Info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *note = (const ElfW(Nhdr) *)p;
            const uint8_t *desc = p + sizeof(*note) + ((note->n_namesz + 3) & ~3u);
            if (desc + note->n_descsz > end)
                break;
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                memcmp(p + sizeof(*note), "GNU", 4) == 0 && note->n_descsz > 0 &&
                note->n_descsz <= 64) {
                CipHex(desc, note->n_descsz, CipBuildIdText);
                return 1;
            }
            p = desc + ((note->n_descsz + 3) & ~3u);
        }
    }
    return 1; /* the first object is the executable: stop there */
}

static void CipReadBuildId(void)
{
    dl_iterate_phdr(CipFindBuildId, NULL);
}

/* KMHOST_HOME/ci-cache (Part 0), its folder for this build (1) or the entry
   of Image in it (2). */
static bool CipEntryPath(const uint8_t Image[CIP_DIGEST_SIZE], char *Buf, size_t Len, int Part)
{
    const char *home = CmGetHome();
    char hex[2 * CIP_DIGEST_SIZE + 1];
    if (!home || !*home)
        return false;
    pthread_once(&CipBuildIdOnce, CipReadBuildId);
    CipHex(Image, CIP_DIGEST_SIZE, hex);
    int n = Part == 0 ? snprintf(Buf, Len, "%s/%s", home, CIP_CACHE_DIR)
            : Part == 1
                ? snprintf(Buf, Len, "%s/%s/%s", home, CIP_CACHE_DIR, CipBuildIdText)
                : snprintf(Buf, Len, "%s/%s/%s/%s", home, CIP_CACHE_DIR, CipBuildIdText, hex);
    return n > 0 && (size_t)n < Len;
}

/* Removes what other builds of kmhost (and older formats) left in the
   cache folder Dir: every entry but this build's folder, and a folder's
   files with it. */
static void CipPruneOtherBuilds(const char *Dir)
{
    DIR *dir = opendir(Dir);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            !strcmp(e->d_name, CipBuildIdText) ||
            fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            unlinkat(dirfd(dir), e->d_name, 0);
            continue;
        }
        int fd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *old = fd >= 0 ? fdopendir(fd) : NULL;
        for (struct dirent *f; old && (f = readdir(old));)
            if (strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
                unlinkat(dirfd(old), f->d_name, 0);
        if (old)
            closedir(old);
        else if (fd >= 0)
            close(fd);
        unlinkat(dirfd(dir), e->d_name, AT_REMOVEDIR);
    }
    if (dir)
        closedir(dir);
}

static int CipFormatEntry(char *Buf, size_t Len, const uint8_t Roots[CIP_DIGEST_SIZE], bool Trusted)
{
    char hex[2 * CIP_DIGEST_SIZE + 1];
    CipHex(Roots, CIP_DIGEST_SIZE, hex);
    return snprintf(Buf, Len, "kmhost-ci %d %lx %s %d\n", CIP_CACHE_VERSION,
                    (unsigned long)OpenSSL_version_num(), hex, Trusted ? 1 : 0);
}

bool CipCacheLookup(const uint8_t Image[CIP_DIGEST_SIZE], const uint8_t Roots[CIP_DIGEST_SIZE],
                    bool *ChainTrusted)
{
    char path[4200], have[400], want[400];
    if (!CipEntryPath(Image, path, sizeof(path), 2))
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, have, sizeof(have));
    close(fd);
    for (int trusted = 0; trusted <= 1 && n > 0; trusted++) {
        int len = CipFormatEntry(want, sizeof(want), Roots, trusted);
        if (n == len && memcmp(have, want, (size_t)len) == 0) {
            *ChainTrusted = trusted;
            return true;
        }
    }
    return false;
}

void CipCacheStore(const uint8_t Image[CIP_DIGEST_SIZE], const uint8_t Roots[CIP_DIGEST_SIZE],
                   bool ChainTrusted)
{
    char top[4200], dir[4200], path[4200], temp[4300], line[400];
    if (!CipEntryPath(Image, top, sizeof(top), 0) || !CipEntryPath(Image, dir, sizeof(dir), 1) ||
        !CipEntryPath(Image, path, sizeof(path), 2))
        return;
    if (mkdir(top, 0700) != 0 && errno != EEXIST)
        return; /* a read-only home: every run checks the signature */
    if (mkdir(dir, 0700) == 0)
        CipPruneOtherBuilds(top); /* the first entry of this build */
    else if (errno != EEXIST)
        return;
    snprintf(temp, sizeof(temp), "%s.XXXXXX", path);
    int fd = mkostemp(temp, O_CLOEXEC);
    if (fd < 0)
        return;
    int len = CipFormatEntry(line, sizeof(line), Roots, ChainTrusted);
    bool written = len > 0 && write(fd, line, (size_t)len) == len;
    if (close(fd) != 0 || !written || rename(temp, path) != 0)
        unlink(temp);
}
