/*
 * Hosting drivers: kmhost run, sc start, sc stop.
 *
 *   kmhost run [--for SECONDS] DRIVER.sys   a driver file
 *   kmhost run [--for SECONDS] SERVICE      a configured service, by name
 *   kmhost run [--for SECONDS]              every boot, system and auto start
 *                                           service, in load order, like a boot
 *
 * Each driver is loaded and its DriverEntry called, in order; they stay
 * loaded for --for seconds (default 0; SIGINT or SIGTERM end the wait
 * early), then are unloaded in reverse order, and kmhost exits: 0 clean,
 * 1 not loaded, 2 usage, 3 bug check (the bug check exits by itself), 4 the
 * verifier printed VERIFIER: lines at unload (--verifier=all|none|LIST:
 * src/vf/vf.h, docs/verifier.md).
 *
 * SIGINT and SIGTERM are taken by a thread of their own (KmStopWatcher), so
 * that they are heard while driver code runs too: during the --for wait one
 * ends the wait; while a DriverEntry or DriverUnload has not returned, the
 * first says so (kmhost cannot unload a driver whose DriverEntry is still
 * running, as Windows cannot), and a second ends kmhost at once by that
 * signal's default action, without unloading.
 *
 * A driver's RegistryPath is its service key. For a driver file without a
 * service, kmhost creates the service key (Type, Start, ErrorControl,
 * ImagePath), as the service control manager would have, and deletes it when
 * the run ends. It is written when driver code first touches the registry
 * (so the driver always finds it) or else once DriverEntry returned, with
 * the running state in the same commit (KmWritePendingKey); before that
 * other processes do not see the service, and a load that fails first
 * writes nothing. The key is not
 * volatile: a driver may create non-volatile subkeys under its service key,
 * which Windows refuses under a volatile key. It carries a value
 * KmhostTemporary, so that a key left by a run that ended in a bug check is
 * still recognised as temporary by the next run. While a service runs its
 * pid is recorded, so that another kmhost process can sc query and sc stop
 * it.
 */
#include "cli.h"

#include "ci/ci.h"
#include "cm/services.h"
#include "io/io.h"
#include "ldr/patch.h"
#include "ps/ps.h"
#include "vf/vf.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KM_TEMPORARY_VALUE "KmhostTemporary"

typedef struct KM_RUN_ITEM {
    char Service[256];
    char Path[PATH_MAX];
    bool TemporaryKey; /* created for this run; deleted at the end */
    KM_DRIVER *Driver;
} KM_RUN_ITEM;

static int KmRunUsage(void)
{
    fprintf(stderr, "usage: kmhost run [--for SECONDS] [--verifier=all|none|default|CHECK,...] "
                    "[--stats] [--no-patch] [DRIVER.sys | SERVICE]\n");
    return KM_EXIT_USAGE;
}

static sigset_t KmStopSignals;
static bool KmVerifierGiven; /* --verifier given: it overrides the persistent setting */

/* What the main thread is doing, for the stop watcher: a phase, its
   generation (each KmSetPhase a new one) and the service it concerns, all
   under KmPhaseLock. */
enum { KM_PHASE_HOST, KM_PHASE_DRIVER_ENTRY, KM_PHASE_STAY, KM_PHASE_DRIVER_UNLOAD };
static pthread_mutex_t KmPhaseLock = PTHREAD_MUTEX_INITIALIZER;
static int KmPhase = KM_PHASE_HOST;
static unsigned KmPhaseGeneration;
static char KmPhaseDriver[256];
static sem_t KmStopRequest; /* posted once, at the first stop signal */
static _Atomic int KmStopSignal;

static void KmSetPhase(int Phase, const char *Service)
{
    pthread_mutex_lock(&KmPhaseLock);
    KmPhase = Phase;
    KmPhaseGeneration++;
    snprintf(KmPhaseDriver, sizeof(KmPhaseDriver), "%s", Service ? Service : "");
    pthread_mutex_unlock(&KmPhaseLock);
}

static const char *KmSignalName(int Sig)
{
    return Sig == SIGINT ? "SIGINT" : "SIGTERM";
}

/* The first-use work of signature checking (CiWarmUp), done while the main
   thread, which started on processor MainCpu, starts the kernel and opens
   the registry: on another processor, where there is one, so that it runs
   beside the main thread rather than in its turn. */
static bool KmWarmUpWanted; /* set before the watcher starts */

static void KmWarmUpBeside(int MainCpu)
{
    cpu_set_t all, others;
    bool moved = false;
    if (MainCpu >= 0 && MainCpu < CPU_SETSIZE &&
        pthread_getaffinity_np(pthread_self(), sizeof(all), &all) == 0 &&
        CPU_ISSET(MainCpu, &all) && CPU_COUNT(&all) > 1) {
        others = all;
        CPU_CLR(MainCpu, &others);
        moved = pthread_setaffinity_np(pthread_self(), sizeof(others), &others) == 0;
    }
    CiWarmUp();
    if (moved)
        pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
}

static void *KmStopWatcher(void *Arg)
{
    /* First the warm-up, unless the signature check will not need it; a
       stop signal meanwhile stays pending until the sigwait below. */
    if (KmWarmUpWanted)
        KmWarmUpBeside((int)(intptr_t)Arg);
    unsigned warned = 0; /* the generation of the phase last warned about, + 1 */
    for (;;) {
        int sig;
        if (sigwait(&KmStopSignals, &sig) != 0)
            continue;
        /* The phase first: the main thread leaves the wait only after the
           post below, so the signal that ends the wait counts as the wait's. */
        char driver[sizeof(KmPhaseDriver)];
        pthread_mutex_lock(&KmPhaseLock);
        int phase = KmPhase;
        unsigned generation = KmPhaseGeneration;
        memcpy(driver, KmPhaseDriver, sizeof(driver));
        pthread_mutex_unlock(&KmPhaseLock);
        if (atomic_exchange(&KmStopSignal, sig) == 0)
            sem_post(&KmStopRequest); /* the wait ends, or does not start */
        if (phase == KM_PHASE_STAY || phase == KM_PHASE_HOST)
            continue;
        if (warned != generation + 1) {
            fflush(stdout);
            if (phase == KM_PHASE_DRIVER_ENTRY)
                fprintf(stderr,
                        "kmhost: %s received while %s's DriverEntry has not returned: a driver "
                        "is unloaded only once its DriverEntry returned (does it wait for "
                        "something that never comes?); send %s again to end kmhost now, "
                        "without unloading\n",
                        KmSignalName(sig), driver, KmSignalName(sig));
            else
                fprintf(stderr,
                        "kmhost: %s received while unloading %s: its DriverUnload, or a work "
                        "item still queued or running, has not returned; send %s again to "
                        "end kmhost now\n",
                        KmSignalName(sig), driver, KmSignalName(sig));
            warned = generation + 1;
            continue;
        }
        fflush(stdout);
        fprintf(stderr, "kmhost: %s received again: ending without unloading %s\n",
                KmSignalName(sig), driver);
        signal(sig, SIG_DFL);
        pthread_sigmask(SIG_UNBLOCK, &KmStopSignals, NULL);
        raise(sig); /* the shell sees the signal: 128 + its number */
        _exit(128 + sig);
    }
    return NULL;
}

/* Wait up to Seconds (forever when negative), or until SIGINT/SIGTERM. */
static void KmStayLoaded(double Seconds)
{
    if (Seconds != 0 && !atomic_load(&KmStopSignal)) {
        int r;
        if (Seconds < 0) {
            while ((r = sem_wait(&KmStopRequest)) != 0 && errno == EINTR)
                ;
        } else {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            double whole = (double)(time_t)Seconds;
            until.tv_sec += (time_t)Seconds;
            until.tv_nsec += (long)((Seconds - whole) * 1e9);
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while ((r = sem_clockwait(&KmStopRequest, CLOCK_MONOTONIC, &until)) != 0 &&
                   errno == EINTR)
                ;
        }
    }
    int sig = atomic_load(&KmStopSignal);
    if (Seconds != 0 && sig)
        printf("kmhost: %s received: unloading\n", KmSignalName(sig));
    fflush(stdout);
}

static NTSTATUS KmWriteTemporaryService(KM_RUN_ITEM *Item, const char *Path)
{
    CM_STORE *store;
    CM_KEY_ID key;
    ULONG disposition, temporary = 0;

    NTSTATUS status = CmStoreDefault(&store);
    /* One transaction for the key and its values: one commit, not six. */
    if (!NT_SUCCESS(status) || !NT_SUCCESS(status = CmStoreBatchBegin(store)))
        return status;
    status = CmCreateKey(store, 0, Path, CM_CREATE_INTERMEDIATE, &key, &disposition);
    if (NT_SUCCESS(status) && disposition != REG_CREATED_NEW_KEY &&
        !NT_SUCCESS(CmQueryValueDword(store, key, KM_TEMPORARY_VALUE, &temporary)))
        return CmStoreBatchEnd(store, STATUS_SUCCESS); /* a configured service: the driver's key */
    if (NT_SUCCESS(status))
        status = CmSetValueDword(store, key, KM_TEMPORARY_VALUE, 1);
    if (NT_SUCCESS(status))
        status = CmSetValueDword(store, key, "Type", SERVICE_KERNEL_DRIVER);
    if (NT_SUCCESS(status))
        status = CmSetValueDword(store, key, "Start", SERVICE_DEMAND_START);
    if (NT_SUCCESS(status))
        status = CmSetValueDword(store, key, "ErrorControl", SERVICE_ERROR_NORMAL);
    if (NT_SUCCESS(status))
        status = CmSetValueString(store, key, "ImagePath", REG_EXPAND_SZ, Item->Path);
    status = CmStoreBatchEnd(store, status);
    Item->TemporaryKey = NT_SUCCESS(status);
    return status;
}

/* The temporary service key of a driver file run without a service. When the
   store cannot be written (read-only, full disk) the driver still runs, and
   the user is told why its registry reads will find nothing. */
static void KmWarnNoServiceKey(KM_RUN_ITEM *Item)
{
    char path[512];
    CmServiceKeyPath(Item->Service, path, sizeof(path));
    fprintf(stderr,
            "kmhost: warning: cannot write the service key %s: %s; %s runs without it "
            "(its RegistryPath names a key that does not exist)\n",
            path, *CmLastError() ? CmLastError() : "registry error", Item->Path);
}

static void KmCreateTemporaryService(KM_RUN_ITEM *Item)
{
    char path[512];
    CmServiceKeyPath(Item->Service, path, sizeof(path));
    if (!NT_SUCCESS(KmWriteTemporaryService(Item, path)))
        KmWarnNoServiceKey(Item);
}

/* Deletes Item's service key; with OnlyMarked, only if it carries the
   KmhostTemporary value. */
static void KmDeleteServiceKey(const KM_RUN_ITEM *Item, bool OnlyMarked)
{
    char path[512];
    CM_STORE *store;
    CM_KEY_ID key;
    ULONG temporary = 0;
    if (!NT_SUCCESS(CmStoreDefault(&store)))
        return;
    CmServiceKeyPath(Item->Service, path, sizeof(path));
    if (NT_SUCCESS(CmOpenKey(store, 0, path, &key)) &&
        (!OnlyMarked ||
         (NT_SUCCESS(CmQueryValueDword(store, key, KM_TEMPORARY_VALUE, &temporary)) && temporary)))
        CmDeleteKeyTree(store, key);
}

/* For a driver file that did not load and whose key this run did not
   write: a temporary key an earlier run left (one that ended in a bug
   check), which would otherwise stay, naming another image. */
static void KmDeleteStaleTemporaryService(KM_RUN_ITEM *Item)
{
    if (!Item->TemporaryKey)
        KmDeleteServiceKey(Item, true);
}

static void KmDeleteTemporaryService(KM_RUN_ITEM *Item)
{
    if (Item->TemporaryKey)
        KmDeleteServiceKey(Item, false);
}

/* A driver file's temporary service key is written when driver code first
   touches the registry (CmSetDriverAccessHook), and otherwise once its
   DriverEntry returned, in one commit with the running state: a run whose
   driver does not read its key during DriverEntry writes the store once,
   after it, and not at all when DriverEntry fails. Until then the service
   does not exist for other kmhost processes (sc query: 1060). */
static KM_RUN_ITEM *KmPendingKey;      /* the run item whose key is not written yet */
static _Atomic bool KmKeyWithRunning;  /* DriverEntry returned: the hook records running too */
static _Atomic bool KmRunningRecorded; /* the hook did */

static void KmWritePendingKey(void)
{
    KM_RUN_ITEM *it = KmPendingKey;
    CM_STORE *store;
    bool running = atomic_load(&KmKeyWithRunning);
    bool batch = running && NT_SUCCESS(CmStoreDefault(&store)) &&
                 NT_SUCCESS(CmStoreBatchBegin(store)); /* one commit for both */
    KmCreateTemporaryService(it);
    if (running) {
        CmServiceSetRunning(it->Service, getpid());
        atomic_store(&KmRunningRecorded, true);
    }
    if (batch && !NT_SUCCESS(CmStoreBatchEnd(store, STATUS_SUCCESS)) && it->TemporaryKey) {
        it->TemporaryKey = false; /* the commit of both failed */
        KmWarnNoServiceKey(it);
    }
    KmPendingKey = NULL;
}

/* After a DriverEntry returned STATUS_SUCCESS: the key if still pending and
   the running state. */
static void KmRecordRunning(KM_RUN_ITEM *Item, bool KeyPending)
{
    if (KeyPending) {
        atomic_store(&KmKeyWithRunning, true);
        CmRunDriverAccessHook();
        CmSetDriverAccessHook(NULL);
        if (atomic_load(&KmRunningRecorded))
            return;
    }
    CmServiceSetRunning(Item->Service, getpid());
}

static void KmServiceBaseName(const char *Path, char *Out, size_t Len)
{
    const char *base = strrchr(Path, '/');
    base = base ? base + 1 : Path;
    snprintf(Out, Len, "%s", base);
    char *dot = strrchr(Out, '.');
    if (dot && dot != Out)
        *dot = 0;
}

/* Loads Items in order, keeps them for Seconds, unloads in reverse order. */
static int KmHostDrivers(KM_RUN_ITEM *Items, size_t Count, double Seconds)
{
    int exit_status = KM_EXIT_OK;
    size_t loaded = 0;
    unsigned base_flags = atomic_load(&VfpFlags); /* verifier */

    PsInitSystem();
    for (size_t i = 0; i < Count; i++) {
        KM_RUN_ITEM *it = &Items[i];
        char why[4096];
        int stop = atomic_load(&KmStopSignal);
        if (stop) { /* stopped while earlier drivers loaded: start no more */
            printf("kmhost: %s received: %zu driver%s not started, from %s on\n",
                   KmSignalName(stop), Count - i, Count - i == 1 ? "" : "s",
                   it->Service[0] ? it->Service : it->Path);
            break;
        }
        bool keyPending = !it->Service[0];
        if (keyPending) {
            KmServiceBaseName(it->Path, it->Service, sizeof(it->Service));
            KmPendingKey = it;
            atomic_store(&KmKeyWithRunning, false);
            atomic_store(&KmRunningRecorded, false);
            CmSetDriverAccessHook(KmWritePendingKey);
        }
        unsigned flags = base_flags; /* verifier: `kmhost verifier` settings unless --verifier */
        if (!KmVerifierGiven && VfpLoadPersistentFlags(it->Service, &flags))
            printf("kmhost: verifying %s (kmhost verifier /querysettings)\n", it->Service);
        atomic_store(&VfpFlags, flags);
        KmSetPhase(KM_PHASE_DRIVER_ENTRY, it->Service);
        NTSTATUS status = IoLoadDriver(it->Path, it->Service, &it->Driver, why, sizeof(why));
        KmSetPhase(KM_PHASE_HOST, NULL);
        if (!NT_SUCCESS(status)) {
            if (keyPending) {
                CmSetDriverAccessHook(NULL); /* never written, unless driver code read it */
                KmDeleteStaleTemporaryService(it);
            }
            const char *name = KmStatusName(status);
            fflush(stdout);
            fprintf(stderr, "kmhost: %s did not load: %s (0x%08X): %s\n", it->Path,
                    name ? name : "NTSTATUS", (unsigned)status, why);
            KmDeleteTemporaryService(it);
            exit_status = KM_EXIT_LOAD_FAILED;
            break;
        }
        KmRecordRunning(it, keyPending);
        loaded = i + 1;
    }
    if (exit_status == KM_EXIT_OK) {
        KmSetPhase(KM_PHASE_STAY, NULL);
        KmStayLoaded(Seconds);
    }
    while (loaded-- > 0) {
        KM_RUN_ITEM *it = &Items[loaded];
        KmSetPhase(KM_PHASE_DRIVER_UNLOAD, it->Service);
        bool unloadable = IoUnloadDriver(it->Driver);
        KmSetPhase(KM_PHASE_HOST, NULL);
        if (!unloadable)
            printf("kmhost: %s set no DriverUnload routine, so it cannot be unloaded (as on "
                   "Windows); it stays loaded until kmhost exits\n",
                   it->Service);
        CM_STORE *store;
        bool batch = NT_SUCCESS(CmStoreDefault(&store)) && NT_SUCCESS(CmStoreBatchBegin(store));
        CmServiceClearRunning(it->Service);
        KmDeleteTemporaryService(it);
        if (batch) /* one commit for both */
            CmStoreBatchEnd(store, STATUS_SUCCESS);
    }
    if (exit_status == KM_EXIT_OK && VfpReportCount()) { /* verifier */
        printf("kmhost: the verifier found %u problem%s (VERIFIER: lines above)\n",
               VfpReportCount(), VfpReportCount() == 1 ? "" : "s");
        exit_status = KM_EXIT_VERIFIER;
    }
    fflush(stdout);
    return exit_status;
}

/* Blocks the stop signals in every thread and starts the thread that takes
   them (KmStopWatcher), which first warms up OpenSSL when WarmUp. */
static void KmStartWatcher(bool WarmUp)
{
    KmWarmUpWanted = WarmUp;
    static const int stops[] = {SIGINT, SIGTERM};
    sigemptyset(&KmStopSignals);
    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
        struct sigaction old;
        /* One the starter ignores (a script's background job ignores
           SIGINT) stays ignored. */
        if (sigaction(stops[i], NULL, &old) != 0 || old.sa_handler != SIG_IGN)
            sigaddset(&KmStopSignals, stops[i]);
    }
    /* Blocked in every thread (threads inherit the mask), taken by the
       watcher's sigwait. */
    pthread_sigmask(SIG_BLOCK, &KmStopSignals, NULL);
    sem_init(&KmStopRequest, 0, 0);
    pthread_t watcher;
    if (pthread_create(&watcher, NULL, KmStopWatcher, (void *)(intptr_t)sched_getcpu()) == 0)
        pthread_detach(watcher);
    else /* nobody to take them: leave them to their default action */
        pthread_sigmask(SIG_UNBLOCK, &KmStopSignals, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

/* A service by name: its ImagePath, unless it is disabled. */
static int KmResolveService(const char *Name, KM_RUN_ITEM *Item)
{
    NTSTATUS s = CmServiceImagePath(Name, Item->Path, sizeof(Item->Path));
    if (!NT_SUCCESS(s)) {
        fprintf(stderr,
                "kmhost: %s is neither a driver file nor an installed service (1060: The "
                "specified service does not exist as an installed service). Create it with "
                "kmhost sc create %s binPath= PATH type= kernel\n",
                Name, Name);
        return KM_EXIT_LOAD_FAILED;
    }
    snprintf(Item->Service, sizeof(Item->Service), "%s", Name);
    return KM_EXIT_OK;
}

int KmServiceStart(const char *Name, double ForSeconds)
{
    KM_RUN_ITEM item = {0};
    int rc = KmResolveService(Name, &item);
    if (rc != KM_EXIT_OK)
        return rc;
    KmStartWatcher(!CiImageInCache(item.Path));
    atomic_store(&VfpFlags, VF_DEFAULT); /* verifier */
    return KmHostDrivers(&item, 1, ForSeconds > 0 ? ForSeconds : -1);
}

int KmServiceStop(const char *Name)
{
    ULONG state;
    pid_t pid;
    if (!NT_SUCCESS(CmServiceQueryState(Name, &state, &pid)) || state != SERVICE_RUNNING)
        return 1;
    if (kill(pid, SIGTERM) != 0)
        return errno == ESRCH ? 0 : 1;
    /* The host runs DriverUnload and exits; wait for it, up to 30 s. */
    for (int i = 0; i < 3000; i++) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return 0;
        usleep(10000);
    }
    return 1;
}

static int KmRunBoot(double Seconds)
{
    CM_SERVICE_INFO *services;
    size_t count;
    NTSTATUS s = CmEnumerateServices(SERVICE_AUTO_START, &services, &count);
    if (!NT_SUCCESS(s)) {
        fprintf(stderr, "kmhost: cannot read the services from the registry: %s\n", CmLastError());
        return KM_EXIT_LOAD_FAILED;
    }
    if (count == 0) {
        fprintf(stderr, "kmhost run: no boot, system or auto start service is configured; "
                        "name a driver file or a service\n");
        free(services);
        return KM_EXIT_USAGE;
    }
    KM_RUN_ITEM *items = calloc(count, sizeof(*items));
    if (!items) {
        free(services);
        return KM_EXIT_LOAD_FAILED;
    }
    for (size_t i = 0; i < count; i++) {
        snprintf(items[i].Service, sizeof(items[i].Service), "%s", services[i].Name);
        snprintf(items[i].Path, sizeof(items[i].Path), "%s", services[i].ImagePath);
        printf("kmhost: starting %s (%s)\n", items[i].Service, items[i].Path);
    }
    free(services);
    int rc = KmHostDrivers(items, count, Seconds);
    free(items);
    return rc;
}

int KmCliRun(int argc, char **argv)
{
    double seconds = 0;
    const char *target = NULL;
    bool stats = false;
    int rc;

    atomic_store(&VfpFlags, VF_DEFAULT); /* verifier */

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--for")) {
            char *end;
            if (i + 1 >= argc)
                return KmRunUsage();
            errno = 0;
            seconds = strtod(argv[++i], &end);
            if (errno || *end || seconds < 0 || seconds > 1e7) {
                fprintf(stderr, "kmhost run: --for wants a number of seconds, not '%s'\n", argv[i]);
                return KM_EXIT_USAGE;
            }
        } else if (!strncmp(argv[i], "--verifier", 10) && (argv[i][10] == '=' || !argv[i][10])) {
            const char *list = argv[i][10] ? argv[i] + 11 : i + 1 < argc ? argv[++i] : "";
            char why[512];
            unsigned flags;
            if (!VfpParseOptions(list, &flags, why, sizeof(why))) { /* verifier */
                fprintf(stderr, "kmhost run: %s\n", why);
                return KM_EXIT_USAGE;
            }
            atomic_store(&VfpFlags, flags);
            KmVerifierGiven = true;
        } else if (!strcmp(argv[i], "--stats")) {
            stats = true;
        } else if (!strcmp(argv[i], "--no-patch")) {
            LdrpPatchSetEnabled(FALSE);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "kmhost run: unknown option %s\n", argv[i]);
            return KmRunUsage();
        } else if (!target) {
            target = argv[i];
        } else {
            return KmRunUsage();
        }
    }
    if (!target) {
        KmStartWatcher(true);
        rc = KmRunBoot(seconds);
    } else {
        /* The driver file first: the signature check of one an earlier run
           checked needs no OpenSSL (src/ci/cache.c), so then no warm-up
           beside the start. */
        KM_RUN_ITEM item = {0};
        struct stat st;
        rc = KM_EXIT_OK;
        if (strchr(target, '/') || stat(target, &st) == 0)
            snprintf(item.Path, sizeof(item.Path), "%s", target);
        else
            rc = KmResolveService(target, &item);
        if (rc == KM_EXIT_OK) {
            KmStartWatcher(!CiImageInCache(item.Path));
            rc = KmHostDrivers(&item, 1, seconds);
        }
    }
    if (stats) {
        unsigned verified, cached;
        CiCheckCounts(&verified, &cached);
        fprintf(stderr,
                "signatures: %u checked, %u accepted from the cache of images checked before\n",
                verified, cached);
        KmPrintPatchStats(stderr);
    }
    return rc;
}
