/*
 * The registry store (src/cm): names and case rules, value types stored as
 * raw bytes, enumeration order, key information, deletion rules, volatile
 * keys, several processes writing at once, and durability: a writer killed
 * with SIGKILL at a random point loses no change whose call had returned.
 *
 * The rules checked are Windows' (ZwCreateKey, ZwDeleteKey, ZwEnumerateKey,
 * ZwQueryKey...): missing parents are not created, a key with subkeys
 * cannot be deleted (STATUS_CANNOT_DELETE), operations on a deleted key give
 * STATUS_KEY_DELETED, names compare case-insensitively and keep their case,
 * subkeys enumerate sorted by upcased name. Values enumerate in creation
 * order (what Windows does; RegEnumValue documents no order).
 */
#include "cm/cm.h"
#include "cm/keyobj.h"
#include "cm/regfile.h"
#include "cm/services.h"
#include "km.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures, checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)
#define CHECK_STATUS(expr, want)                                                                   \
    do {                                                                                           \
        NTSTATUS s_ = (expr);                                                                      \
        CHECK(s_ == (NTSTATUS)(want), "%s: got 0x%08X, want %s (%s)", #expr, (unsigned)s_, #want,  \
              CmLastError());                                                                      \
    } while (0)

static char Dir[64], DbPath[128];

#define MACHINE "\\Registry\\Machine"
#define SOFT MACHINE "\\SOFTWARE"

static CM_KEY_ID MustCreate(CM_STORE *S, const char *Path, ULONG Options)
{
    CM_KEY_ID k = 0;
    NTSTATUS s = CmCreateKey(S, 0, Path, Options, &k, NULL);
    CHECK(NT_SUCCESS(s), "create %s: 0x%08X %s", Path, (unsigned)s, CmLastError());
    return k;
}

static void TestSkeletonAndPaths(CM_STORE *S)
{
    CM_KEY_ID k;
    CHECK_STATUS(CmOpenKey(S, 0, "\\Registry", &k), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, MACHINE "\\SYSTEM\\CurrentControlSet\\Services", &k),
                 STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, "\\REGISTRY\\machine\\system", &k), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, "\\Nowhere\\Machine", &k), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmOpenKey(S, 0, "Registry\\Machine", &k), STATUS_OBJECT_PATH_SYNTAX_BAD);

    char nt[256];
    CHECK_STATUS(CmNormalizeKeyPath("HKLM\\Software\\X", nt, sizeof(nt)), STATUS_SUCCESS);
    CHECK(strcmp(nt, MACHINE "\\Software\\X") == 0, "HKLM form: %s", nt);
    CHECK_STATUS(CmNormalizeKeyPath("hkey_local_machine\\A\\", nt, sizeof(nt)), STATUS_SUCCESS);
    CHECK(strcmp(nt, MACHINE "\\A") == 0, "long form, trailing backslash: %s", nt);
    CHECK_STATUS(CmNormalizeKeyPath("HKLM", nt, sizeof(nt)), STATUS_SUCCESS);
    CHECK(strcmp(nt, MACHINE) == 0, "bare root: %s", nt);
    CHECK_STATUS(CmNormalizeKeyPath("HKCU\\Software", nt, sizeof(nt)),
                 STATUS_OBJECT_PATH_SYNTAX_BAD);
    CHECK_STATUS(CmNormalizeKeyPath("HKXX\\Software", nt, sizeof(nt)),
                 STATUS_OBJECT_PATH_SYNTAX_BAD);
    CmDisplayKeyPath(MACHINE "\\SOFTWARE\\A", nt, sizeof(nt));
    CHECK(strcmp(nt, "HKEY_LOCAL_MACHINE\\SOFTWARE\\A") == 0, "display: %s", nt);
}

static void TestCreateOpen(CM_STORE *S)
{
    CM_KEY_ID k, k2;
    ULONG disp = 0;
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\Case\\Missing", 0, &k, &disp),
                 STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\CaseTest", 0, &k, &disp), STATUS_SUCCESS);
    CHECK(disp == REG_CREATED_NEW_KEY, "disposition %u, want REG_CREATED_NEW_KEY", disp);
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\CASETEST", 0, &k2, &disp), STATUS_SUCCESS);
    CHECK(disp == REG_OPENED_EXISTING_KEY && k2 == k, "second create: disp %u", disp);
    CHECK_STATUS(CmOpenKey(S, 0, "\\registry\\MACHINE\\software\\casetest", &k2), STATUS_SUCCESS);
    CHECK(k2 == k, "case-insensitive open");
    CM_KEY_INFO info;
    CHECK_STATUS(CmQueryKey(S, k, &info), STATUS_SUCCESS);
    CHECK(info.Name && strcmp(info.Name, "CaseTest") == 0, "case preserved: %s", info.Name);
    CHECK(info.FullPath && strcmp(info.FullPath, SOFT "\\CaseTest") == 0, "full path: %s",
          info.FullPath);
    CHECK(info.NameLength == 16, "NameLength %u, want 16 (UTF-16 bytes)", info.NameLength);
    CmFreeKeyInfo(&info);

    /* relative to a key */
    CHECK_STATUS(CmCreateKey(S, k, "Rel\\Deeper", 0, &k2, NULL), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmCreateKey(S, k, "Rel\\Deeper", CM_CREATE_INTERMEDIATE, &k2, &disp),
                 STATUS_SUCCESS);
    CHECK(disp == REG_CREATED_NEW_KEY, "intermediate create disposition %u", disp);
    CM_KEY_ID k3;
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\CaseTest\\Rel\\Deeper", &k3), STATUS_SUCCESS);
    CHECK(k3 == k2, "relative and absolute paths agree");
    CHECK_STATUS(CmOpenKey(S, k, "\\Rel", &k3), STATUS_OBJECT_PATH_SYNTAX_BAD);
    CHECK_STATUS(CmOpenKey(S, k, "", &k3), STATUS_SUCCESS);
    CHECK(k3 == k, "empty relative path opens the root key itself");

    /* names */
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\\\Empty", 0, &k3, NULL), STATUS_OBJECT_NAME_INVALID);
    char longname[300 + sizeof(SOFT)];
    memset(longname, 'n', sizeof(longname));
    memcpy(longname, SOFT "\\", sizeof(SOFT));
    longname[sizeof(SOFT) + 255] = 0;
    CHECK_STATUS(CmCreateKey(S, 0, longname, 0, &k3, NULL), STATUS_SUCCESS);
    longname[sizeof(SOFT) + 255] = 'n';
    longname[sizeof(SOFT) + 256] = 0;
    CHECK_STATUS(CmCreateKey(S, 0, longname, 0, &k3, NULL), STATUS_OBJECT_NAME_INVALID);
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\bad\xff", 0, &k3, NULL), STATUS_OBJECT_NAME_INVALID);
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\x", 0x10, &k3, NULL), STATUS_INVALID_PARAMETER);

    /* non-ASCII case folding (Latin-1, Cyrillic) */
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\caf\xc3\xa9", 0, &k, NULL), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\CAF\xc3\x89", &k2), STATUS_SUCCESS);
    CHECK(k2 == k, "e-acute folds to E-acute");
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", 0, &k, NULL),
                 STATUS_SUCCESS); /* ключ */
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\\xd0\x9a\xd0\x9b\xd0\xae\xd0\xa7", &k2), STATUS_SUCCESS);
    CHECK(k2 == k, "Cyrillic folds");
}

static void CheckValue(CM_STORE *S, CM_KEY_ID K, const char *Name, ULONG Type, const void *Data,
                       ULONG Len)
{
    CM_VALUE v;
    NTSTATUS s = CmQueryValue(S, K, Name, &v);
    CHECK(NT_SUCCESS(s), "query %s: 0x%08X", Name, (unsigned)s);
    if (!NT_SUCCESS(s))
        return;
    CHECK(v.Type == Type, "%s: type %u, want %u", Name, v.Type, Type);
    CHECK(v.DataLength == Len && (Len == 0 || memcmp(v.Data, Data, Len) == 0),
          "%s: %u bytes, want %u, or different bytes", Name, v.DataLength, Len);
    CmFreeValue(&v);
}

static void TestValues(CM_STORE *S)
{
    CM_KEY_ID k = MustCreate(S, SOFT "\\Values", 0);
    static const uint8_t sz[] = {'h', 0, 'i', 0, 0, 0};
    static const uint8_t multi[] = {'a', 0, 0, 0, 'b', 0, 0, 0, 0, 0};
    static const uint8_t dword[] = {0x78, 0x56, 0x34, 0x12};
    static const uint8_t qword[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t bin[] = {0, 0xff, 0x80, 0};
    static const uint8_t odd[] = {'x', 0, 'y'}; /* a REG_SZ without terminator, odd length */
    static const struct {
        const char *Name;
        ULONG Type;
        const uint8_t *Data;
        ULONG Len;
    } cases[] = {
        {"sz", REG_SZ, sz, sizeof(sz)},
        {"expand", REG_EXPAND_SZ, sz, sizeof(sz)},
        {"multi", REG_MULTI_SZ, multi, sizeof(multi)},
        {"dword", REG_DWORD, dword, 4},
        {"qword", REG_QWORD, qword, 8},
        {"binary", REG_BINARY, bin, sizeof(bin)},
        {"none", REG_NONE, NULL, 0},
        {"odd", REG_SZ, odd, sizeof(odd)},
        {"weird", 0x12345, bin, 2},
        {"", REG_SZ, sz, sizeof(sz)},
    };
    for (size_t i = 0; i < KM_ARRAY_SIZE(cases); i++)
        CHECK_STATUS(CmSetValue(S, k, cases[i].Name, cases[i].Type, cases[i].Data, cases[i].Len),
                     STATUS_SUCCESS);
    for (size_t i = 0; i < KM_ARRAY_SIZE(cases); i++)
        CheckValue(S, k, cases[i].Name, cases[i].Type, cases[i].Data, cases[i].Len);

    /* typed helpers store what ZwSetValueKey would receive */
    CHECK_STATUS(CmSetValueString(S, k, "str", REG_SZ, "hi"), STATUS_SUCCESS);
    CheckValue(S, k, "str", REG_SZ, sz, sizeof(sz));
    CHECK_STATUS(CmSetValueDword(S, k, "dw", 0x12345678), STATUS_SUCCESS);
    CheckValue(S, k, "dw", REG_DWORD, dword, 4);
    char buf[8];
    ULONG d;
    CHECK_STATUS(CmQueryValueString(S, k, "STR", buf, sizeof(buf)), STATUS_SUCCESS);
    CHECK(strcmp(buf, "hi") == 0, "string read back: %s", buf);
    CHECK_STATUS(CmQueryValueString(S, k, "dw", buf, sizeof(buf)), STATUS_OBJECT_TYPE_MISMATCH);
    CHECK_STATUS(CmQueryValueDword(S, k, "DW", &d), STATUS_SUCCESS);
    CHECK(d == 0x12345678, "dword read back %x", d);
    CHECK_STATUS(CmSetValueString(S, k, "long", REG_SZ, "0123456789"), STATUS_SUCCESS);
    CHECK_STATUS(CmQueryValueString(S, k, "long", buf, sizeof(buf)), STATUS_BUFFER_OVERFLOW);
    CHECK(strcmp(buf, "0123456") == 0, "truncated string is terminated: %s", buf);

    /* case-insensitive names, case preserved across overwrite */
    CHECK_STATUS(CmSetValue(S, k, "MixedCase", REG_DWORD, dword, 4), STATUS_SUCCESS);
    CHECK_STATUS(CmSetValue(S, k, "MIXEDCASE", REG_BINARY, bin, 1), STATUS_SUCCESS);
    CM_VALUE v;
    CHECK_STATUS(CmQueryValue(S, k, "mixedcase", &v), STATUS_SUCCESS);
    CHECK(v.Name && strcmp(v.Name, "MixedCase") == 0 && v.Type == REG_BINARY && v.DataLength == 1,
          "overwrite keeps the first name's case and replaces type and data: %s", v.Name);
    CmFreeValue(&v);
    CHECK_STATUS(CmQueryValue(S, k, "absent", &v), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmDeleteValue(S, k, "MIXEDcase"), STATUS_SUCCESS);
    CHECK_STATUS(CmDeleteValue(S, k, "MixedCase"), STATUS_OBJECT_NAME_NOT_FOUND);
    /* value names may contain backslashes */
    CHECK_STATUS(CmSetValue(S, k, "a\\b", REG_NONE, NULL, 0), STATUS_SUCCESS);
    CheckValue(S, k, "A\\B", REG_NONE, NULL, 0);
}

static void TestEnumeration(CM_STORE *S)
{
    CM_KEY_ID k = MustCreate(S, SOFT "\\Order", 0);
    /* Upcased order: "A_" (0x41) < "B" < "B2" < "Z" (0x5A) < "_B" (0x5F). A
       case-sensitive sort would put "_b" before "a_" and "b". */
    const char *created[] = {"Z", "_b", "b", "a_", "B2"};
    const char *want[] = {"a_", "b", "B2", "Z", "_b"};
    for (size_t i = 0; i < KM_ARRAY_SIZE(created); i++) {
        char path[128];
        snprintf(path, sizeof(path), SOFT "\\Order\\%s", created[i]);
        MustCreate(S, path, 0);
    }
    for (ULONG i = 0; i < KM_ARRAY_SIZE(want); i++) {
        char *name = NULL;
        LONGLONG t = 0;
        CHECK_STATUS(CmEnumerateKey(S, k, i, &name, &t), STATUS_SUCCESS);
        CHECK(name && strcmp(name, want[i]) == 0, "subkey %u: %s, want %s", i, name, want[i]);
        CHECK(t > 0, "subkey LastWriteTime set");
        free(name);
    }
    char *name = NULL;
    CHECK_STATUS(CmEnumerateKey(S, k, 5, &name, NULL), STATUS_NO_MORE_ENTRIES);

    /* values: creation order; overwriting keeps the place; deleting closes the gap */
    const char *vals[] = {"zeta", "Alpha", "mid", "beta"};
    for (size_t i = 0; i < KM_ARRAY_SIZE(vals); i++)
        CmSetValueDword(S, k, vals[i], (ULONG)i);
    CmSetValueDword(S, k, "ZETA", 99);
    CmDeleteValue(S, k, "mid");
    CmSetValueDword(S, k, "new", 5);
    const char *vwant[] = {"zeta", "Alpha", "beta", "new"};
    for (ULONG i = 0; i < KM_ARRAY_SIZE(vwant); i++) {
        CM_VALUE v;
        CHECK_STATUS(CmEnumerateValue(S, k, i, &v), STATUS_SUCCESS);
        CHECK(v.Name && strcmp(v.Name, vwant[i]) == 0, "value %u: %s, want %s", i, v.Name,
              vwant[i]);
        CmFreeValue(&v);
    }
    CM_VALUE v;
    CHECK_STATUS(CmEnumerateValue(S, k, 4, &v), STATUS_NO_MORE_ENTRIES);
}

static void TestQueryKey(CM_STORE *S)
{
    CM_KEY_ID k = MustCreate(S, SOFT "\\Info", 0);
    CM_KEY_INFO a, b;
    CHECK_STATUS(CmQueryKey(S, k, &a), STATUS_SUCCESS);
    CHECK(a.SubKeys == 0 && a.Values == 0 && a.MaxNameLen == 0 && a.MaxValueDataLen == 0,
          "empty key info");
    /* 1601 -> 2020-01-01 is 132223104000000000 units */
    CHECK(a.LastWriteTime > 132223104000000000LL, "LastWriteTime %lld is in 100 ns since 1601",
          (long long)a.LastWriteTime);
    CmFreeKeyInfo(&a);
    MustCreate(S, SOFT "\\Info\\short", 0);
    MustCreate(S, SOFT "\\Info\\\xc3\xa9t\xc3\xa9", 0); /* "été": 3 UTF-16 units */
    MustCreate(S, SOFT "\\Info\\abcd", 0);
    CmSetValue(S, k, "v", REG_BINARY, "12345678901", 11);
    CmSetValue(S, k, "longername", REG_BINARY, "1", 1);
    CHECK_STATUS(CmQueryKey(S, k, &b), STATUS_SUCCESS);
    CHECK(b.SubKeys == 3, "SubKeys %u", b.SubKeys);
    CHECK(b.MaxNameLen == 10, "MaxNameLen %u, want 10 (\"short\" in UTF-16 bytes)", b.MaxNameLen);
    CHECK(b.Values == 2, "Values %u", b.Values);
    CHECK(b.MaxValueNameLen == 20, "MaxValueNameLen %u, want 20", b.MaxValueNameLen);
    CHECK(b.MaxValueDataLen == 11, "MaxValueDataLen %u", b.MaxValueDataLen);
    CmFreeKeyInfo(&b);
    CM_KEY_ID sub;
    CmOpenKey(S, k, "abcd", &sub);
    CHECK_STATUS(CmQueryKey(S, sub, &b), STATUS_SUCCESS);
    CHECK(b.NameLength == 8, "NameLength of abcd: %u", b.NameLength);
    CmFreeKeyInfo(&b);
}

static void TestDelete(CM_STORE *S)
{
    CM_KEY_ID parent = MustCreate(S, SOFT "\\Del", 0);
    CM_KEY_ID child = MustCreate(S, SOFT "\\Del\\Child", 0);
    CmSetValueDword(S, child, "v", 1);
    CHECK_STATUS(CmDeleteKey(S, parent), STATUS_CANNOT_DELETE);
    CHECK_STATUS(CmDeleteKey(S, child), STATUS_SUCCESS);
    CM_KEY_ID k;
    CM_VALUE v;
    CM_KEY_INFO info;
    char *name;
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Del\\Child", &k), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmQueryValue(S, child, "v", &v), STATUS_KEY_DELETED);
    CHECK_STATUS(CmSetValueDword(S, child, "v", 2), STATUS_KEY_DELETED);
    CHECK_STATUS(CmQueryKey(S, child, &info), STATUS_KEY_DELETED);
    CHECK_STATUS(CmEnumerateKey(S, child, 0, &name, NULL), STATUS_KEY_DELETED);
    CHECK_STATUS(CmDeleteKey(S, child), STATUS_KEY_DELETED);
    CHECK_STATUS(CmCreateKey(S, child, "x", 0, &k, NULL), STATUS_KEY_DELETED);
    /* a new key of the same name is a different key; the old id stays deleted */
    CM_KEY_ID again = MustCreate(S, SOFT "\\Del\\Child", 0);
    CHECK(again != child, "key ids are not reused");
    CHECK_STATUS(CmQueryValue(S, again, "v", &v), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmQueryValue(S, child, "v", &v), STATUS_KEY_DELETED);
    MustCreate(S, SOFT "\\Del\\Child\\Grand", 0);
    CHECK_STATUS(CmDeleteKeyTree(S, parent), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Del\\Child\\Grand", &k), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Del", &k), STATUS_OBJECT_NAME_NOT_FOUND);
    CmOpenKey(S, 0, MACHINE, &k);
    CHECK_STATUS(CmDeleteKeyTree(S, k), STATUS_ACCESS_DENIED);
    CmOpenKey(S, 0, "\\Registry", &k);
    CHECK_STATUS(CmDeleteKey(S, k), STATUS_ACCESS_DENIED);
    CmOpenKey(S, 0, MACHINE "\\HARDWARE", &k);
    CHECK_STATUS(CmDeleteKey(S, k), STATUS_ACCESS_DENIED);

    /* LastWriteTime of the parent follows subkey creation and deletion */
    CM_KEY_ID p = MustCreate(S, SOFT "\\Stamp", 0);
    CmQueryKey(S, p, &info);
    LONGLONG before = info.LastWriteTime;
    CmFreeKeyInfo(&info);
    struct timespec ms = {0, 2000000};
    nanosleep(&ms, NULL);
    MustCreate(S, SOFT "\\Stamp\\c", 0);
    CmQueryKey(S, p, &info);
    CHECK(info.LastWriteTime > before, "creating a subkey updates the parent's LastWriteTime");
    CmFreeKeyInfo(&info);
}

static void TestVolatile(void)
{
    CM_STORE *S;
    CHECK_STATUS(CmStoreOpen(DbPath, &S), STATUS_SUCCESS);
    CM_KEY_ID vol, k;
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\Vol", REG_OPTION_VOLATILE, &vol, NULL), STATUS_SUCCESS);
    CHECK_STATUS(CmCreateKey(S, vol, "NonVol", 0, &k, NULL), STATUS_CHILD_MUST_BE_VOLATILE);
    CHECK_STATUS(CmCreateKey(S, vol, "Vol2", REG_OPTION_VOLATILE, &k, NULL), STATUS_SUCCESS);
    CM_KEY_INFO info;
    CmQueryKey(S, vol, &info);
    CHECK(info.Volatile, "volatile flag");
    CmFreeKeyInfo(&info);
    CmStoreClose(S);
    /* Same boot: volatile keys remain for other processes. */
    CHECK_STATUS(CmStoreOpen(DbPath, &S), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Vol\\Vol2", &k), STATUS_SUCCESS);
    CmStoreClose(S);
    /* A reboot (a different boot id) drops them. */
    sqlite3 *db;
    sqlite3_open(DbPath, &db);
    sqlite3_exec(db, "UPDATE meta SET value='another-boot' WHERE name='boot_id'", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK_STATUS(CmStoreOpen(DbPath, &S), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Vol", &k), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Values", &k), STATUS_SUCCESS);
    CmStoreClose(S);
}

/* Two processes write 200 values each into one key at the same time, and
   flush now and then. */
static void TestConcurrentWriters(void)
{
    enum { PER = 200 };
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            CM_STORE *S;
            CM_KEY_ID k;
            if (!NT_SUCCESS(CmStoreOpen(DbPath, &S)))
                _exit(10);
            if (!NT_SUCCESS(CmCreateKey(S, 0, SOFT "\\Shared", 0, &k, NULL)))
                _exit(11);
            for (int i = 0; i < PER; i++) {
                char name[32], sub[32];
                snprintf(name, sizeof(name), "w%d-%d", w, i);
                snprintf(sub, sizeof(sub), "k%d-%d", w, i % 10);
                CM_KEY_ID c;
                if (!NT_SUCCESS(CmSetValueDword(S, k, name, (ULONG)i)) ||
                    !NT_SUCCESS(CmCreateKey(S, k, sub, 0, &c, NULL)))
                    _exit(12);
                /* ZwFlushKey while the other process writes and checkpoints:
                   it waits its turn rather than failing. */
                if (i % 8 == 0 && !NT_SUCCESS(CmStoreFlush(S)))
                    _exit(13);
            }
            CmStoreClose(S);
            _exit(0);
        }
    }
    for (int w = 0; w < 2; w++) {
        int st;
        waitpid(pids[w], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d status 0x%x", w, st);
    }
    CM_STORE *S;
    CM_KEY_ID k;
    CM_KEY_INFO info;
    CHECK_STATUS(CmStoreOpen(DbPath, &S), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Shared", &k), STATUS_SUCCESS);
    CHECK_STATUS(CmQueryKey(S, k, &info), STATUS_SUCCESS);
    CHECK(info.Values == 2 * PER && info.SubKeys == 20, "after two writers: %u values, %u keys",
          info.Values, info.SubKeys);
    CmFreeKeyInfo(&info);
    CmStoreClose(S);
}

/* A writer reports each value number after CmSetValue returned; it is killed
   with SIGKILL at a random point; every reported number must be stored. */
static void TestDurability(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int round = 0; round < 4; round++) {
        int fds[2];
        if (pipe(fds) != 0)
            return;
        char keypath[64];
        snprintf(keypath, sizeof(keypath), SOFT "\\Durable%d", round);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            CM_STORE *S;
            CM_KEY_ID k;
            if (!NT_SUCCESS(CmStoreOpen(DbPath, &S)) ||
                !NT_SUCCESS(CmCreateKey(S, 0, keypath, 0, &k, NULL)))
                _exit(10);
            for (uint32_t i = 0;; i++) {
                char name[32];
                snprintf(name, sizeof(name), "n%u", i);
                if (!NT_SUCCESS(CmSetValueDword(S, k, name, i ^ 0xA5A5A5A5u)))
                    _exit(11);
                if (write(fds[1], &i, sizeof(i)) != sizeof(i))
                    _exit(12);
            }
        }
        close(fds[1]);
        uint32_t killat = 5 + (uint32_t)(rand() % 60), got = 0, n, last = 0;
        while (read(fds[0], &n, sizeof(n)) == sizeof(n)) {
            last = n;
            if (++got == killat)
                kill(pid, SIGKILL);
        }
        close(fds[0]);
        int st;
        waitpid(pid, &st, 0);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "round %d: writer status 0x%x", round,
              st);
        CM_STORE *S;
        CM_KEY_ID k;
        CHECK_STATUS(CmStoreOpen(DbPath, &S), STATUS_SUCCESS);
        if (!S)
            return;
        CHECK_STATUS(CmOpenKey(S, 0, keypath, &k), STATUS_SUCCESS);
        for (uint32_t i = 0; got && i <= last; i++) {
            char name[32];
            ULONG d = 0;
            snprintf(name, sizeof(name), "n%u", i);
            NTSTATUS s = CmQueryValueDword(S, k, name, &d);
            CHECK(NT_SUCCESS(s) && d == (i ^ 0xA5A5A5A5u),
                  "round %d: committed value %s lost (0x%08X)", round, name, (unsigned)s);
        }
        /* the store is still usable after the kill */
        CHECK_STATUS(CmSetValueDword(S, k, "after", 1), STATUS_SUCCESS);
        CmStoreClose(S);
    }
}

static void TestRegFile(CM_STORE *S)
{
    char path1[160], path2[160], path3[160], why[512];
    snprintf(path1, sizeof(path1), "%s/a.reg", Dir);
    snprintf(path2, sizeof(path2), "%s/b.reg", Dir);
    snprintf(path3, sizeof(path3), "%s/c.reg", Dir);
    /* A hand-written UTF-8 file: every form, continuations, deletions. */
    FILE *f = fopen(path1, "w");
    fputs("Windows Registry Editor Version 5.00\r\n\r\n"
          "; comment\r\n"
          "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Imp\\Sub]\r\n"
          "\"s\"=\"a \\\"q\\\" \\\\ b\"\r\n"
          "@=\"default\"\r\n"
          "\"d\"=dword:0000000a\r\n"
          "\"q\"=hex(b):01,02,03,04,05,06,07,08\r\n"
          "\"e\"=hex(2):25,00,41,00,25,00,00,00\r\n"
          "\"m\"=hex(7):61,00,00,00,\\\r\n"
          "  62,00,00,00,00,00\r\n"
          "\"b\"=hex:de,ad,\\\n  be,ef\n"
          "\"n\"=hex(0):\r\n"
          "\"gone\"=\"x\"\r\n"
          "\"gone\"=-\r\n"
          "\"path\"=\"C:\\\\dir\\\\\"\r\n"
          "[HKLM\\SOFTWARE\\Imp\\Old]\r\n"
          "[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Imp\\Old]\r\n",
          f);
    fclose(f);
    CHECK_STATUS(CmImportRegFile(S, path1, why, sizeof(why)), STATUS_SUCCESS);
    CM_KEY_ID k;
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Imp\\Sub", &k), STATUS_SUCCESS);
    char buf[64];
    CHECK_STATUS(CmQueryValueString(S, k, "s", buf, sizeof(buf)), STATUS_SUCCESS);
    CHECK(strcmp(buf, "a \"q\" \\ b") == 0, "escapes: %s", buf);
    CHECK_STATUS(CmQueryValueString(S, k, "", buf, sizeof(buf)), STATUS_SUCCESS);
    CHECK(strcmp(buf, "default") == 0, "@= default value: %s", buf);
    CHECK_STATUS(CmQueryValueString(S, k, "path", buf, sizeof(buf)), STATUS_SUCCESS);
    CHECK(strcmp(buf, "C:\\dir\\") == 0, "string ending in a backslash: %s", buf);
    CheckValue(S, k, "d", REG_DWORD, "\x0a\0\0\0", 4);
    CheckValue(S, k, "q", REG_QWORD, "\1\2\3\4\5\6\7\x08", 8);
    CheckValue(S, k, "e", REG_EXPAND_SZ, "%\0A\0%\0\0", 8);
    CheckValue(S, k, "m", REG_MULTI_SZ, "a\0\0\0b\0\0\0\0", 10);
    CheckValue(S, k, "b", REG_BINARY, "\xde\xad\xbe\xef", 4);
    CheckValue(S, k, "n", REG_NONE, NULL, 0);
    CM_VALUE v;
    CHECK_STATUS(CmQueryValue(S, k, "gone", &v), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Imp\\Old", &k), STATUS_OBJECT_NAME_NOT_FOUND);

    /* Values that "..." and dword: cannot carry exactly survive as hex(N). */
    CmSetValue(S, k = MustCreate(S, SOFT "\\Imp\\Odd", 0), "noterm", REG_SZ, "a\0b\0", 4);
    CmSetValue(S, k, "nl", REG_SZ, "a\0\n\0\0\0", 6);
    CmSetValue(S, k, "short", REG_DWORD, "\1\2", 2);
    CmSetValue(S, k, "big", REG_DWORD_BIG_ENDIAN, "\1\2\3\4", 4);
    CmSetValue(S, k, "link", REG_LINK, "\\\0", 2);

    /* export, delete, import, export: the two exports are identical */
    CHECK_STATUS(CmExportRegFile(S, SOFT "\\Imp", path2, why, sizeof(why)), STATUS_SUCCESS);
    f = fopen(path2, "rb");
    unsigned char bom[2] = {0};
    CHECK(f && fread(bom, 1, 2, f) == 2 && bom[0] == 0xFF && bom[1] == 0xFE, "UTF-16LE BOM");
    if (f)
        fclose(f);
    CmOpenKey(S, 0, SOFT "\\Imp", &k);
    CHECK_STATUS(CmDeleteKeyTree(S, k), STATUS_SUCCESS);
    CHECK_STATUS(CmImportRegFile(S, path2, why, sizeof(why)), STATUS_SUCCESS);
    CHECK_STATUS(CmExportRegFile(S, SOFT "\\Imp", path3, why, sizeof(why)), STATUS_SUCCESS);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cmp -s %s %s", path2, path3);
    CHECK(system(cmd) == 0, "export / import / export differs");
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Imp\\Odd", &k), STATUS_SUCCESS);
    CheckValue(S, k, "noterm", REG_SZ, "a\0b\0", 4);
    CheckValue(S, k, "nl", REG_SZ, "a\0\n\0\0\0", 6);
    CheckValue(S, k, "short", REG_DWORD, "\1\2", 2);
    CheckValue(S, k, "big", REG_DWORD_BIG_ENDIAN, "\1\2\3\4", 4);
    CheckValue(S, k, "link", REG_LINK, "\\\0", 2);

    /* errors name the line */
    f = fopen(path1, "w");
    fputs("Windows Registry Editor Version 5.00\n\n[HKLM\\SOFTWARE\\Bad]\n\"x\"=dword:xyz\n", f);
    fclose(f);
    CHECK_STATUS(CmImportRegFile(S, path1, why, sizeof(why)), STATUS_DATA_ERROR);
    CHECK(strstr(why, "line 4") != NULL, "error names line 4: %s", why);
    f = fopen(path1, "w");
    fputs("REGEDIT4\n", f);
    fclose(f);
    CHECK_STATUS(CmImportRegFile(S, path1, why, sizeof(why)), STATUS_DATA_ERROR);
    f = fopen(path1, "w");
    fputs("Windows Registry Editor Version 5.00\n\"x\"=\"y\"\n", f);
    fclose(f);
    CHECK_STATUS(CmImportRegFile(S, path1, why, sizeof(why)), STATUS_DATA_ERROR);
}

static void TestDefaultStoreAndServices(void)
{
    char home[128];
    snprintf(home, sizeof(home), "%s/home", Dir);
    setenv("KMHOST_HOME", home, 1);
    CHECK(strcmp(CmGetHome(), home) == 0, "home from KMHOST_HOME: %s", CmGetHome());
    CHECK(access(home, F_OK) == 0, "home created");

    char buf[64];
    CHECK_STATUS(CmGetBootSetting("testsigning", buf, sizeof(buf)), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmSetBootSetting("testsigning", "Yes"), STATUS_SUCCESS);
    CHECK_STATUS(CmGetBootSetting("TESTSIGNING", buf, sizeof(buf)), STATUS_SUCCESS);
    CHECK(strcmp(buf, "Yes") == 0, "boot setting: %s", buf);
    CHECK_STATUS(CmGetBootSetting("testsigning", buf, 2), STATUS_BUFFER_OVERFLOW);
    CHECK_STATUS(CmSetBootSetting("testsigning", NULL), STATUS_SUCCESS);
    CHECK_STATUS(CmGetBootSetting("testsigning", buf, sizeof(buf)), STATUS_OBJECT_NAME_NOT_FOUND);

    CM_STORE *S;
    CHECK_STATUS(CmStoreDefault(&S), STATUS_SUCCESS);
    if (!S)
        return;
    static const struct {
        const char *Name, *Group;
        ULONG Start, Type;
    } svcs[] = {
        {"zauto", NULL, 2, 1},      {"aauto", NULL, 2, 1},        {"demand", NULL, 3, 1},
        {"bootlate", "Late", 0, 1}, {"bootearly", "Early", 0, 2}, {"system", NULL, 1, 1},
        {"usermode", NULL, 2, 16},  {"off", NULL, 4, 1},
    };
    for (size_t i = 0; i < KM_ARRAY_SIZE(svcs); i++) {
        char path[256];
        CM_KEY_ID k;
        CmServiceKeyPath(svcs[i].Name, path, sizeof(path));
        k = MustCreate(S, path, 0);
        CmSetValueDword(S, k, "Type", svcs[i].Type);
        CmSetValueDword(S, k, "Start", svcs[i].Start);
        CmSetValueString(S, k, "ImagePath", REG_EXPAND_SZ, "/x/y.sys");
        if (svcs[i].Group)
            CmSetValueString(S, k, "Group", REG_SZ, svcs[i].Group);
    }
    CM_KEY_ID order =
        MustCreate(S, MACHINE "\\SYSTEM\\CurrentControlSet\\Control\\ServiceGroupOrder", 0);
    CmSetValue(S, order, "List", REG_MULTI_SZ, "E\0a\0r\0l\0y\0\0\0L\0a\0t\0e\0\0\0\0", 24);
    char image[64];
    CHECK_STATUS(CmServiceImagePath("ZAUTO", image, sizeof(image)), STATUS_SUCCESS);
    CHECK(strcmp(image, "/x/y.sys") == 0, "ImagePath: %s", image);
    CHECK_STATUS(CmServiceImagePath("nosuch", image, sizeof(image)), STATUS_OBJECT_NAME_NOT_FOUND);
    CM_SERVICE_INFO *list;
    size_t count;
    CHECK_STATUS(CmEnumerateServices(SERVICE_AUTO_START, &list, &count), STATUS_SUCCESS);
    const char *want[] = {"bootearly", "bootlate", "system", "aauto", "zauto"};
    CHECK(count == KM_ARRAY_SIZE(want), "%zu services to start, want 5", count);
    for (size_t i = 0; i < count && i < KM_ARRAY_SIZE(want); i++)
        CHECK(strcmp(list[i].Name, want[i]) == 0, "load order %zu: %s, want %s", i, list[i].Name,
              want[i]);
    free(list);

    /* running state across processes; a dead pid is stopped */
    ULONG state;
    pid_t pid;
    CHECK_STATUS(CmServiceQueryState("demand", &state, &pid), STATUS_SUCCESS);
    CHECK(state == SERVICE_STOPPED, "initially stopped");
    int go[2];
    if (pipe(go) != 0)
        return;
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(go[1]);
        (void)!read(go[0], &c, 1);
        _exit(0);
    }
    close(go[0]);
    CHECK_STATUS(CmServiceSetRunning("demand", child), STATUS_SUCCESS);
    CHECK_STATUS(CmServiceQueryState("DEMAND", &state, &pid), STATUS_SUCCESS);
    CHECK(state == SERVICE_RUNNING && pid == child, "running with its pid: %u %d", state, pid);
    close(go[1]);
    waitpid(child, NULL, 0);
    CHECK_STATUS(CmServiceQueryState("demand", &state, &pid), STATUS_SUCCESS);
    CHECK(state == SERVICE_STOPPED, "dead pid means stopped");
    CHECK_STATUS(CmServiceSetRunning("demand", getpid()), STATUS_SUCCESS);
    CHECK_STATUS(CmServiceClearRunning("demand"), STATUS_SUCCESS);
    CHECK_STATUS(CmServiceQueryState("demand", &state, &pid), STATUS_SUCCESS);
    CHECK(state == SERVICE_STOPPED, "cleared means stopped");
    CHECK_STATUS(CmServiceQueryState("nosuch", &state, &pid), STATUS_OBJECT_NAME_NOT_FOUND);
}

/* CmStoreBatchBegin/End: the calls between are one transaction. */
static void TestBatch(void)
{
    CM_STORE *S;
    CM_KEY_ID k, j;
    ULONG v = 0;
    CHECK_STATUS(CmStoreOpen(DbPath, &S), STATUS_SUCCESS);
    /* Committed together. */
    CHECK_STATUS(CmStoreBatchBegin(S), STATUS_SUCCESS);
    CHECK_STATUS(CmCreateKey(S, 0, SOFT "\\Batch", CM_CREATE_INTERMEDIATE, &k, NULL),
                 STATUS_SUCCESS);
    CHECK_STATUS(CmSetValueDword(S, k, "a", 1), STATUS_SUCCESS);
    /* A failing call inside fails alone (its savepoint), the batch goes on. */
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Batch\\Missing", &j), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmSetValueDword(S, k, "b", 2), STATUS_SUCCESS);
    /* A nested batch and a flush inside do not deadlock. */
    CHECK_STATUS(CmStoreBatchBegin(S), STATUS_SUCCESS);
    CHECK_STATUS(CmSetValueDword(S, k, "c", 3), STATUS_SUCCESS);
    CHECK_STATUS(CmStoreBatchEnd(S, STATUS_SUCCESS), STATUS_SUCCESS);
    CHECK_STATUS(CmStoreFlush(S), STATUS_SUCCESS);
    CHECK_STATUS(CmStoreBatchEnd(S, STATUS_SUCCESS), STATUS_SUCCESS);
    CHECK_STATUS(CmQueryValueDword(S, k, "c", &v), STATUS_SUCCESS);
    CHECK(v == 3, "a value set in a nested batch is committed");
    CmStoreClose(S);
    /* What a batch committed is there for another connection. */
    CHECK_STATUS(CmStoreOpen(DbPath, &S), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Batch", &k), STATUS_SUCCESS);
    CHECK_STATUS(CmQueryValueDword(S, k, "b", &v), STATUS_SUCCESS);
    CHECK(v == 2, "a batch's values are committed");
    /* A batch ended with a failure leaves nothing. */
    CHECK_STATUS(CmStoreBatchBegin(S), STATUS_SUCCESS);
    CHECK_STATUS(CmSetValueDword(S, k, "gone", 9), STATUS_SUCCESS);
    CHECK_STATUS(CmCreateKey(S, k, "GoneKey", 0, &j, NULL), STATUS_SUCCESS);
    CHECK_STATUS(CmStoreBatchEnd(S, STATUS_UNSUCCESSFUL), STATUS_UNSUCCESSFUL);
    CHECK_STATUS(CmQueryValueDword(S, k, "gone", &v), STATUS_OBJECT_NAME_NOT_FOUND);
    CHECK_STATUS(CmOpenKey(S, k, "GoneKey", &j), STATUS_OBJECT_NAME_NOT_FOUND);
    /* After a batch, calls are their own transactions again. */
    CHECK_STATUS(CmSetValueDword(S, k, "after", 4), STATUS_SUCCESS);
    CmStoreClose(S);
}

static void TestPersistence(void)
{
    CM_STORE *S;
    CM_KEY_ID k;
    CHECK_STATUS(CmStoreOpen(DbPath, &S), STATUS_SUCCESS);
    CHECK_STATUS(CmOpenKey(S, 0, SOFT "\\Values", &k), STATUS_SUCCESS);
    CheckValue(S, k, "dword", REG_DWORD, "\x78\x56\x34\x12", 4);
    CmStoreClose(S);
    /* a database from a newer schema is refused */
    char newer[160];
    snprintf(newer, sizeof(newer), "%s/newer.db", Dir);
    sqlite3 *db;
    sqlite3_open(newer, &db);
    sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK_STATUS(CmStoreOpen(newer, &S), STATUS_REGISTRY_CORRUPT);
    CHECK_STATUS(CmStoreOpen("/nonexistent-dir/x/registry.db", &S), STATUS_REGISTRY_IO_FAILED);
}

/* The host's hook before the first driver-facing registry access
   (CmSetDriverAccessHook): it runs once, before that access gets the store,
   also when several threads make their first access at once, or when the
   host runs it first; removed, it never runs. */
static _Atomic int HookRuns;
static _Atomic int HookDone;

static void CountingHook(void)
{
    HookRuns++;
    usleep(20000); /* long enough for the other threads to arrive meanwhile */
    HookDone = 1;
}

static void *DriverAccess(void *Arg)
{
    CM_STORE *store;
    (void)Arg;
    NTSTATUS s = CmpStore(&store);
    /* By the time the access gets the store, the hook has finished. */
    return (void *)(intptr_t)(NT_SUCCESS(s) && HookDone);
}

static void TestDriverAccessHook(void)
{
    HookRuns = 0;
    HookDone = 0;
    CmSetDriverAccessHook(CountingHook);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, DriverAccess, NULL);
    for (int i = 0; i < 4; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        CHECK(ok, "access %d got the store before the hook finished", i);
    }
    CHECK(HookRuns == 1, "the hook ran %d times for 4 first accesses", HookRuns);
    CHECK(!CmRunDriverAccessHook(), "the host ran the hook again");

    HookRuns = 0;
    CmSetDriverAccessHook(CountingHook);
    CHECK(CmRunDriverAccessHook(), "the host's run of a pending hook");
    CHECK(!CmRunDriverAccessHook(), "a second run");
    CM_STORE *store;
    CHECK_STATUS(CmpStore(&store), STATUS_SUCCESS);
    CHECK(HookRuns == 1, "the hook ran %d times", HookRuns);

    HookRuns = 0;
    CmSetDriverAccessHook(CountingHook);
    CmSetDriverAccessHook(NULL);
    CHECK_STATUS(CmpStore(&store), STATUS_SUCCESS);
    CHECK(!CmRunDriverAccessHook() && HookRuns == 0, "a removed hook ran");
}

int main(void)
{
    snprintf(Dir, sizeof(Dir), "/tmp/test_cm.XXXXXX");
    if (!mkdtemp(Dir))
        return 1;
    snprintf(DbPath, sizeof(DbPath), "%s/registry.db", Dir);
    CM_STORE *S;
    NTSTATUS s = CmStoreOpen(DbPath, &S);
    CHECK(NT_SUCCESS(s), "open: %s", CmLastError());
    if (NT_SUCCESS(s)) {
        TestSkeletonAndPaths(S);
        TestCreateOpen(S);
        TestValues(S);
        TestEnumeration(S);
        TestQueryKey(S);
        TestDelete(S);
        TestRegFile(S);
        CmStoreClose(S);
        TestPersistence();
        TestBatch();
        TestVolatile();
        TestConcurrentWriters();
        TestDurability();
        TestDefaultStoreAndServices();
        TestDriverAccessHook();
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", Dir);
    if (!failures)
        (void)!system(cmd);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
