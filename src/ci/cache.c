/*
 * The cache of verified images: a driver file whose signature was checked
 * once is not checked again while the file and the trusted roots stay as
 * they were, as Windows' code integrity keeps the signing level it
 * validated with the file until the file changes. Checking a signature
 * costs OpenSSL's set-up and a parse of the certificates, about 1.3 ms of
 * every kmhost run; a hit costs a stat and one small read.
 *
 * One entry per file, KMHOST_HOME/ci-cache/<device>-<inode>, a line of
 * text:
 *     kmhost-ci 1 <size> <mtime s> <mtime ns> <ctime s> <ctime ns> <roots> <trusted>
 *
 * Invariants:
 *  - An entry is written only for an image whose Authenticode hash matched,
 *    whose signature verified and whose certificate is for code signing:
 *    what the policy then asks is only whether the signer chains to a
 *    trusted root (<trusted>) or TESTSIGNING is on, and both are decided at
 *    every run. Refusals are never cached: each run explains them afresh.
 *  - Any write to the file changes its ctime, which no program can set back
 *    (only the clock can), and a file replaced by another has another inode
 *    or ctime: an entry matches only the very bytes it was written for. A
 *    change within the same clock tick as the check would leave the ctime
 *    as it was, so nothing is cached for a file (or a root) changed less
 *    than CIP_CACHE_SETTLE_S ago, as git treats a racily clean index entry.
 *  - <roots> fingerprints the trusted roots folder (each file's name,
 *    inode, size, mtime and ctime): adding, removing or changing a root
 *    makes every entry miss. The chain check ignores certificate validity
 *    periods (X509_V_FLAG_NO_CHECK_TIME, authenticode.c), so time does not
 *    age an entry.
 *  - Entries are written to a temporary file and renamed over the old one:
 *    kmhost processes running at once read whole entries or none.
 */
#include "ci/cip.h"
#include "cm/cm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CIP_CACHE_DIR "ci-cache"
#define CIP_CACHE_MAGIC "kmhost-ci 1"
/* A file or root changed this recently is not cached (see above). */
#define CIP_CACHE_SETTLE_S 2

static uint64_t CipMix(uint64_t Hash, uint64_t Value)
{
    /* FNV-1a over the value's bytes: a fingerprint, not a defence. */
    for (int i = 0; i < 8; i++) {
        Hash ^= (Value >> (8 * i)) & 0xff;
        Hash *= 0x100000001b3ULL;
    }
    return Hash;
}

static bool CipSettled(const struct stat *St, time_t Now)
{
    return St->st_ctim.tv_sec + CIP_CACHE_SETTLE_S < Now &&
           St->st_mtim.tv_sec + CIP_CACHE_SETTLE_S < Now;
}

uint64_t CipRootsFingerprint(const char *TrustedDir, bool *Settled)
{
    uint64_t sum = 0x9e3779b97f4a7c15ULL;
    time_t now = time(NULL);
    *Settled = true;
    DIR *dir = TrustedDir ? opendir(TrustedDir) : NULL;
    if (!dir)
        return sum;
    for (struct dirent *e; (e = readdir(dir));) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(dirfd(dir), e->d_name, &st, 0) != 0)
            continue;
        uint64_t h = 0xcbf29ce484222325ULL;
        for (const char *c = e->d_name; *c; c++)
            h = CipMix(h, (unsigned char)*c);
        h = CipMix(h, (uint64_t)st.st_ino);
        h = CipMix(h, (uint64_t)st.st_size);
        h = CipMix(h, (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec);
        h = CipMix(h, (uint64_t)st.st_ctim.tv_sec * 1000000000ULL + (uint64_t)st.st_ctim.tv_nsec);
        sum += h; /* the order readdir gives does not matter */
        *Settled = *Settled && CipSettled(&st, now);
    }
    closedir(dir);
    return sum;
}

static bool CipEntryPath(const struct stat *St, char *Buf, size_t Len, bool Folder)
{
    const char *home = CmGetHome();
    if (!home || !*home)
        return false;
    int n = Folder ? snprintf(Buf, Len, "%s/%s", home, CIP_CACHE_DIR)
                   : snprintf(Buf, Len, "%s/%s/%llx-%llx", home, CIP_CACHE_DIR,
                              (unsigned long long)St->st_dev, (unsigned long long)St->st_ino);
    return n > 0 && (size_t)n < Len;
}

static int CipFormatEntry(char *Buf, size_t Len, const struct stat *St, uint64_t Roots,
                          bool Trusted)
{
    return snprintf(Buf, Len, "%s %llu %lld %ld %lld %ld %016llx %d\n", CIP_CACHE_MAGIC,
                    (unsigned long long)St->st_size, (long long)St->st_mtim.tv_sec,
                    St->st_mtim.tv_nsec, (long long)St->st_ctim.tv_sec, St->st_ctim.tv_nsec,
                    (unsigned long long)Roots, Trusted ? 1 : 0);
}

bool CipCacheLookup(const struct stat *St, uint64_t Roots, bool *ChainTrusted)
{
    char path[4200], have[160], want[160];
    if (!CipEntryPath(St, path, sizeof(path), false))
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, have, sizeof(have) - 1);
    close(fd);
    if (n <= 0)
        return false;
    have[n] = 0;
    for (int trusted = 0; trusted <= 1; trusted++) {
        CipFormatEntry(want, sizeof(want), St, Roots, trusted);
        if (strcmp(have, want) == 0) {
            *ChainTrusted = trusted;
            return true;
        }
    }
    return false;
}

void CipCacheStore(const struct stat *St, uint64_t Roots, bool RootsSettled, bool ChainTrusted)
{
    char dir[4200], path[4200], temp[4300], line[160];
    if (!RootsSettled || !CipSettled(St, time(NULL)) || !CipEntryPath(St, dir, sizeof(dir), true) ||
        !CipEntryPath(St, path, sizeof(path), false))
        return;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return; /* a read-only home: every run checks the signature */
    snprintf(temp, sizeof(temp), "%s.%d", path, (int)getpid());
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return;
    int len = CipFormatEntry(line, sizeof(line), St, Roots, ChainTrusted);
    bool written = len > 0 && write(fd, line, (size_t)len) == len;
    if (close(fd) != 0 || !written || rename(temp, path) != 0)
        unlink(temp);
}
