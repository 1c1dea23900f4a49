/*
 * The verifier's host-side mechanisms (src/vf): --verifier parsing, the
 * lock-order graph of deadlock detection (an inversion between two code
 * paths is caught even when no deadlock happens: bug check 0xC4/0x1001,
 * checked in a forked child that must exit with status 3 after its STOP
 * line), the thread-exit lock check (0xC4/0x100A), and the special pool's
 * guard pages (a read past the end or after the free faults).
 */
#include "kmtest.h"
#include "ps/ps.h"
#include "vf/vf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_options(void)
{
    char why[512];
    unsigned flags = 12345;
    CHECK(VfpParseOptions("all", &flags, why, sizeof(why)) && flags == VF_ALL, "all");
    CHECK(VfpParseOptions("none", &flags, why, sizeof(why)) && flags == 0, "none");
    CHECK(VfpParseOptions("default,deadlock", &flags, why, sizeof(why)) &&
              flags == (VF_DEFAULT | VF_DEADLOCK),
          "default,deadlock");
    CHECK(VfpParseOptions("all,-special_pool", &flags, why, sizeof(why)) &&
              flags == (VF_ALL & ~(unsigned)VF_SPECIAL_POOL),
          "all,-special_pool");
    CHECK(VfpParseOptions("irql,leaks", &flags, why, sizeof(why)) && flags == (VF_IRQL | VF_LEAKS),
          "a list of names");
    CHECK(!VfpParseOptions("irql,bogus", &flags, why, sizeof(why)) && strstr(why, "'bogus'") &&
              strstr(why, "deadlock"),
          "an unknown name is refused with the list of names: %s", why);
    CHECK(!VfpParseOptions("", &flags, why, sizeof(why)), "an empty list is refused");
    CHECK(!(VF_DEFAULT & (VF_DEADLOCK | VF_SPECIAL_POOL | VF_HANDLES)),
          "the default leaves out the checks that may fire on correct code");
    char names[256];
    VfpFormatFlags(VF_IRQL | VF_DEADLOCK, names, sizeof(names));
    CHECK(!strcmp(names, "irql,deadlock"), "format: %s", names);
}

static char A, B, C; /* lock addresses */

static void consistent_order(void)
{
    atomic_store(&VfpFlags, VF_ALL);
    for (int i = 0; i < 3; i++) {
        VfpLockAcquired(VF_LOCK_SPIN, &A, NULL);
        VfpLockAcquired(VF_LOCK_FAST_MUTEX, &B, NULL);
        VfpLockAcquired(VF_LOCK_RESOURCE, &C, NULL);
        VfpLockReleased(VF_LOCK_RESOURCE, &C, NULL);
        VfpLockReleased(VF_LOCK_FAST_MUTEX, &B, NULL);
        VfpLockReleased(VF_LOCK_SPIN, &A, NULL);
    }
    /* B then C alone follows the recorded order A -> B -> C. */
    VfpLockAcquired(VF_LOCK_FAST_MUTEX, &B, NULL);
    VfpLockAcquired(VF_LOCK_RESOURCE, &C, NULL);
    VfpLockReleased(VF_LOCK_RESOURCE, &C, NULL);
    VfpLockReleased(VF_LOCK_FAST_MUTEX, &B, NULL);
    printf("no inversion\n");
}

/* A -> B and B -> C recorded; then C held while A is acquired: the cycle
   A -> B -> C -> A spans two recorded orders. */
static void transitive_inversion(void)
{
    atomic_store(&VfpFlags, VF_ALL);
    VfpLockAcquired(VF_LOCK_SPIN, &A, NULL);
    VfpLockAcquired(VF_LOCK_SPIN, &B, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &B, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &A, NULL);
    VfpLockAcquired(VF_LOCK_SPIN, &B, NULL);
    VfpLockAcquired(VF_LOCK_SPIN, &C, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &C, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &B, NULL);
    VfpLockAcquired(VF_LOCK_RESOURCE, &C, NULL);
    VfpLockAcquired(VF_LOCK_FAST_MUTEX, &A, NULL);
    printf("not caught\n");
}

/* Deleting a lock forgets its order: memory reused for another lock. */
static void deleted_lock(void)
{
    atomic_store(&VfpFlags, VF_ALL);
    VfpLockAcquired(VF_LOCK_SPIN, &A, NULL);
    VfpLockAcquired(VF_LOCK_SPIN, &B, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &B, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &A, NULL);
    VfpLockDeleted(&A);
    VfpLockAcquired(VF_LOCK_SPIN, &B, NULL);
    VfpLockAcquired(VF_LOCK_SPIN, &A, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &A, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &B, NULL);
    printf("no inversion\n");
}

/* Without deadlock detection the same inversion is not reported. */
static void inversion_unchecked(void)
{
    atomic_store(&VfpFlags, VF_DEFAULT);
    VfpLockAcquired(VF_LOCK_SPIN, &A, NULL);
    VfpLockAcquired(VF_LOCK_SPIN, &B, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &B, NULL);
    VfpLockReleased(VF_LOCK_SPIN, &A, NULL);
    VfpLockAcquired(VF_LOCK_SPIN, &B, NULL);
    VfpLockAcquired(VF_LOCK_SPIN, &A, NULL);
    printf("no inversion\n");
}

static void exit_holding(void)
{
    atomic_store(&VfpFlags, VF_DEFAULT);
    VfpLockAcquired(VF_LOCK_FAST_MUTEX, &B, NULL);
    VfpThreadExiting(KiCurrentThread());
    printf("not caught\n");
}

static void test_locks(void)
{
    char out[8192];
    int st = kmtest_run_child(consistent_order, out, sizeof(out));
    CHECK(st == 0 && strstr(out, "no inversion"), "one order everywhere is not an inversion:\n%s",
          out);
    st = kmtest_run_child(transitive_inversion, out, sizeof(out));
    CHECK(st == 3, "an inversion stops (exit 3): %d\n%s", st, out);
    CHECK(strstr(out, "*** STOP: 0x000000C4 (0x0000000000001001,") != NULL,
          "an inversion is 0xC4/0x1001:\n%s", out);
    char expect[128];
    snprintf(expect, sizeof(expect), "(0x0000000000001001,0x%016llX,", (unsigned long long)&A);
    CHECK(strstr(out, expect) != NULL, "P2 is the lock that closed the cycle (A):\n%s", out);
    CHECK(strstr(out, "lock order inversion") && strstr(out, "fast mutex"),
          "the explanation names the order and the kind:\n%s", out);
    st = kmtest_run_child(deleted_lock, out, sizeof(out));
    CHECK(st == 0 && strstr(out, "no inversion"), "a deleted lock loses its order:\n%s", out);
    st = kmtest_run_child(inversion_unchecked, out, sizeof(out));
    CHECK(st == 0 && strstr(out, "no inversion"), "deadlock detection is opt-in:\n%s", out);
    st = kmtest_run_child(exit_holding, out, sizeof(out));
    CHECK(st == 3 && strstr(out, "*** STOP: 0x000000C4 (0x000000000000100A,"),
          "a thread that ends holding a lock: 0xC4/0x100A:\n%s", out);
}

static volatile char *Block;

static void overrun(void)
{
    signal(SIGSEGV, SIG_DFL); /* the sanitizers' handler would exit instead */
    Block = VfpSpecialPoolAllocate(100, 16);
    Block[99] = 1;
    printf("in bounds ok\n");
    fflush(stdout);
    (void)Block[112]; /* past the 16-byte rounding: the guard page */
    printf("not caught\n");
}

static void use_after_free(void)
{
    signal(SIGSEGV, SIG_DFL);
    Block = VfpSpecialPoolAllocate(100, 16);
    Block[0] = 1;
    if (!VfpSpecialPoolFree((void *)Block))
        printf("not special\n");
    printf("freed\n");
    fflush(stdout);
    (void)Block[0];
    printf("not caught\n");
}

static void test_special_pool(void)
{
    char out[1024];
    void *p = VfpSpecialPoolAllocate(100, 16);
    CHECK(p && ((uintptr_t)p & 15) == 0, "16-byte aligned: %p", p);
    CHECK(p && (((uintptr_t)p + 100 + 4095) & ~(uintptr_t)4095) - ((uintptr_t)p + 100) < 16,
          "the block ends within 16 bytes of its page's end");
    void *big = VfpSpecialPoolAllocate(3 * 4096, 4096);
    CHECK(big && ((uintptr_t)big & 4095) == 0, "a page-aligned request starts a page");
    void *heap = malloc(32);
    CHECK(!VfpSpecialPoolFree(heap), "ordinary memory is not special pool");
    free(heap);
    CHECK(VfpSpecialPoolFree(p) && VfpSpecialPoolFree(big), "special blocks are freed");
    CHECK(!VfpSpecialPoolFree(p), "a freed block is no longer live");
    int st = kmtest_run_child(overrun, out, sizeof(out));
    CHECK(st == 128 + SIGSEGV && strstr(out, "in bounds ok") && !strstr(out, "not caught"),
          "a read past the end faults: %d\n%s", st, out);
    st = kmtest_run_child(use_after_free, out, sizeof(out));
    CHECK(st == 128 + SIGSEGV && strstr(out, "freed") && !strstr(out, "not"),
          "a read after the free faults: %d\n%s", st, out);
}

static int cli(const char *a, const char *b, const char *c, const char *d)
{
    char *argv[] = {"verifier", (char *)a, (char *)b, (char *)c, (char *)d, NULL};
    int argc = 1;
    while (argv[argc])
        argc++;
    return VfpCliVerifier(argc, argv);
}

/* kmhost verifier: verifier.exe's /flags bits map to kmhost checks, the
   setting applies to the drivers named, /reset removes it. */
static void test_persistent_setting(void)
{
    char home[] = "/tmp/kmhost-test-vf-XXXXXX";
    if (!mkdtemp(home)) {
        CHECK(0, "mkdtemp");
        return;
    }
    setenv("KMHOST_HOME", home, 1);
    unsigned flags = 0;
    CHECK(!VfpLoadPersistentFlags("foo", &flags), "nothing set up yet");
    CHECK(cli("/flags", "0x22", "/driver", "foo.sys") == 0, "/flags 0x22 /driver foo.sys");
    CHECK(VfpLoadPersistentFlags("foo", &flags) && flags == (VF_IRQL | VF_DEADLOCK | VF_LOCKS),
          "0x2 force IRQL checking + 0x20 deadlock detection: %#x", flags);
    CHECK(!VfpLoadPersistentFlags("bar", &flags), "another driver is not verified so");
    CHECK(cli("/flags", "0x4", "/all", NULL) == 2, "a bit without a kmhost check is refused");
    CHECK(cli("/flags", "irql,leaks", "/all", NULL) == 0, "names, for every driver");
    CHECK(VfpLoadPersistentFlags("bar", &flags) && flags == (VF_IRQL | VF_LEAKS),
          "/all applies to every driver: %#x", flags);
    CHECK(cli("/standard", "/driver", "foo", NULL) == 0 && VfpLoadPersistentFlags("foo", &flags) &&
              flags == VF_ALL,
          "/standard is every check");
    CHECK(cli("/reset", NULL, NULL, NULL) == 0 && !VfpLoadPersistentFlags("foo", &flags),
          "/reset removes the setting");
    CHECK(cli("/flags", "0x2", NULL, NULL) == 2, "no driver named: usage");
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
    if (system(cmd) != 0)
        printf("could not remove %s\n", home);
}

int main(void)
{
    test_persistent_setting();
    test_options();
    test_special_pool(); /* before PsInitSystem: no fault handler in the children */
    PsInitSystem();
    test_locks();
    return KMTEST_DONE();
}
