/*
 * kmbench: every figure of issue 6 under kmhost against its native Linux
 * equivalent, measured in the same run.
 *
 * The kmhost side runs real drivers, `kmhost run bench_<name>.sys`, which
 * time themselves with KeQueryPerformanceCounter and print "BENCH" lines
 * (bench/kbench.h); the native side is bench/native.c, run as this program
 * re-executed, `kmbench --probe NAME`: for each driver, its figures in the
 * same order in a fresh process, and the process-level figures (start-up,
 * memory). The work is done in rounds; in each round every driver runs on
 * both sides back to back, native first in even rounds and kmhost first in
 * odd ones, so that the state of the machine (its load, and on a virtual
 * machine how deeply its idle CPUs sleep) meets both sides alike. A figure
 * is the median over the rounds; its ratio is the median of the rounds'
 * ratios (report.c).
 *
 * The bench drivers are signed with the test certificate: kmbench runs
 * kmhost with a temporary KMHOST_HOME in which `kmhost bcdedit -set
 * TESTSIGNING ON` was run, and removes it at the end. The one-CPU figure
 * runs the kmhost process under a one-CPU affinity (what `taskset -c N`
 * does), and pins the native threads to that same CPU.
 *
 * Usage: kmbench [--kmhost PATH] [--bench-dir DIR] [--sample PATH]
 *                [--json PATH] [--rounds N] [--native-only] [--compare KMHOST]
 * --compare runs a second kmhost build on every driver in every round too
 * (the three sides taking turns), for an A/B of two builds in the same
 * machine states: a change to the dispatcher moves figures by less than
 * the VM moves them between minutes.
 * Exit status: 0 every figure measured; 1 some kmhost or native figure
 * failed (what was measured is still printed and written); 2 usage error.
 */
#include "kmbench.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CHILD_TIMEOUT_S = 180, DEFAULT_ROUNDS = 9 };

enum side { KMHOST, NATIVE, OTHER }; /* OTHER: the --compare build */

/* A figure with its target (a ratio to native, or an absolute kmhost value;
   0: none), and reference rows under one, without a target: REF, the
   kmhost samples of figure Same against another native algorithm; KMREF,
   another layout in the driver against the native samples of figure Same. */
#define FIG(Key, BenchKey, Label, Unit, What, MaxRatio, MaxKmhost)                                 \
    {                                                                                              \
        .key = Key, .bench_key = BenchKey, .label = Label, .unit = Unit, .native_what = What,      \
        .max_ratio = MaxRatio, .max_kmhost = MaxKmhost                                             \
    }
#define REF(Key, Label, What, Same)                                                                \
    {                                                                                              \
        .key = Key, .label = Label, .unit = "ns", .native_what = What, .same_as = Same             \
    }
#define KMREF(Key, BenchKey, Label, What, Same)                                                    \
    {                                                                                              \
        .key = Key, .bench_key = BenchKey, .label = Label, .unit = "ns", .native_what = What,      \
        .native_same_as = Same                                                                     \
    }

/* clang-format off */
static figure figs[] = {
    FIG("pingpong2", "pingpong", "event ping-pong, 2 CPUs (trip)", "ns",
        "two auto-reset events on futex words (on one line, its best)", 1.2, 0),
    KMREF("pingpong2_line", "pingpong_line", "  both events on one line",
          "reference: kmhost's events on one line too (the figure: a line each)", "pingpong2"),
    FIG("pingpong1", "pingpong", "event ping-pong, 1 CPU (trip)", "ns",
        "the same, both threads pinned to the CPU kmhost ran on", 1.2, 0),
    FIG("waitany3", NULL, "WaitAny over 3 events (trip)", "ns",
        "pending-bits word + futex event; waiter claims the lowest bit", 1.2, 0),
    REF("waitany3_nt", "  vs 3 separate event words",
        "reference: 3 event words on their own lines, lowest signalled claimed", "waitany3"),
    FIG("waitany64", NULL, "WaitAny over 64 events (trip)", "ns",
        "the same with 64 bits", 1.2, 0),
    REF("waitany64_nt", "  vs 64 separate event words",
        "reference: 64 event words on their own lines, lowest signalled claimed", "waitany64"),
    FIG("mutex", NULL, "KMUTEX, 2 threads (acquire)", "ns",
        "FIFO ticket lock on futex words (hands off)", 1.2, 0),
    {.key = "mutex_handoffs", .label = "  hand-offs / acquisitions", .unit = "%",
     .native_what = "the acquisitions that took the mutex from the other thread (no target)"},
    FIG("semaphore", NULL, "semaphore producer/consumer (item)", "ns",
        "two sem_t, bounded buffer of 16", 1.2, 0),
    FIG("wake1000", NULL, "notification event wakes 1000", "ns",
        "FUTEX_WAKE(INT_MAX) on a generation word, 1000 pthreads", 1.2, 0),
    FIG("spin1", NULL, "spin lock, uncontended (pair)", "ns",
        "pthread_spin_lock + pthread_spin_unlock", 1.2, 0),
    FIG("spin2", NULL, "spin lock, 2 threads (acquire)", "ns",
        "the same, 2 threads", 1.2, 0),
    FIG("obref1", NULL, "ObRef..ByHandle+ObDeref, 1 thread", "ns",
        "two atomic RMWs (lock xadd) on a counter", 2.0, 0),
    FIG("obref2", NULL, "ObRef+ObDeref, 2 threads (/thread)", "ns",
        "the same in 2 threads on separate cache lines", 2.0, 0),
    FIG("obref_scaling", NULL, "  scaling: 2-thread / 1-thread", "x",
        "the same ratio for the atomics", 0, 1.2),
    FIG("lifecycle", NULL, "thread create..join (thread)", "ns",
        "pthread_create + pthread_join", 1.3, 0),
    FIG("lifecycle1", "lifecycle", "thread create..join, 1 CPU", "ns",
        "the same, on the CPU kmhost ran on", 1.3, 0),
    FIG("irql_get", NULL, "KeGetCurrentIrql inline (cr8)", "ns",
        "a plain load of a volatile byte", 5.0, 0),
    FIG("irql_raise", NULL, "KeRaiseIrql+KeLowerIrql inline", "ns",
        "a plain load and two plain stores", 5.0, 0),
    FIG("systime", NULL, "KeQuerySystemTime inline (USD)", "ns",
        "a plain load of a volatile 64-bit word", 5.0, 0),
    FIG("entry", NULL, "kmhost run -> DriverEntry", "ms",
        "exec of kmbench --probe entry -> main()", 0, 5),
    FIG("sample", NULL, "kmhost run kthreads.sys --for 0", "ms",
        "fork+exec+exit of a program that runs 4 threads", 0, 50),
    FIG("mem1", NULL, "RSS of 1 idle system thread", "KiB",
        "one pthread blocked on a futex", 0, 100),
    FIG("mem1000", NULL, "RSS of 1000 idle system threads", "KiB",
        "1000 pthreads blocked on a futex", 0, 100000),
};
/* clang-format on */
enum { NFIGS = sizeof(figs) / sizeof(figs[0]) };

static figure *find(const char *Key)
{
    for (int i = 0; i < NFIGS; i++)
        if (strcmp(figs[i].key, Key) == 0)
            return &figs[i];
    fprintf(stderr, "kmbench: internal error: no figure %s\n", Key);
    abort();
}

static int current_round = -1; /* the round being measured; -1: derived figures */

static void add(const char *Key, enum side Side, double Value)
{
    figure *f = find(Key);
    if (Value < 0)
        return;
    /* The reference rows under this figure share its samples of one side. */
    for (int i = 0; i < NFIGS; i++) {
        const char *same = Side == NATIVE ? figs[i].native_same_as : figs[i].same_as;
        if (same && strcmp(same, Key) == 0)
            add(figs[i].key, Side, Value);
    }
    if (Side == KMHOST && f->nkm < KB_MAX_ROUNDS) {
        f->km_round[f->nkm] = current_round;
        f->km[f->nkm++] = Value;
    } else if (Side == NATIVE && f->nnat < KB_MAX_ROUNDS) {
        f->nat_round[f->nnat] = current_round;
        f->nat[f->nnat++] = Value;
    } else if (Side == OTHER && f->nother < KB_MAX_ROUNDS) {
        f->other_round[f->nother] = current_round;
        f->other[f->nother++] = Value;
    }
}

/* ---- errors, collected for the JSON ---- */

static char errors[4096];
static int failures;

static void note_error(const char *Why)
{
    size_t used = strlen(errors);
    failures++;
    if (used + 3 < sizeof(errors))
        snprintf(errors + used, sizeof(errors) - used, "%s%s", used ? "; " : "", Why);
}

/* ---- one child run: which figures its BENCH lines fill ---- */

typedef struct run {
    enum side side;
    const char *const *keys; /* figures this run fills, NULL-terminated */
    kb_child *child;
    double rss[3]; /* at marks 0, 1 and 1000 threads */
} run;

static void on_line(void *Ctx, pid_t Pid, const char *Line)
{
    run *r = Ctx;
    if (strncmp(Line, "BENCH ", 6) != 0)
        return;
    const char *p = Line + 6;
    long long qpc, hz;
    int mark;
    if (sscanf(p, "entry_qpc=%lld hz=%lld", &qpc, &hz) == 2) {
        /* Both are CLOCK_MONOTONIC: the counter at hz, exec_ns in ns. */
        if (hz > 0 && r->child->exec_ns > 0)
            add("entry", r->side, ((double)qpc * (1e9 / (double)hz) - r->child->exec_ns) / 1e6);
        return;
    }
    if (sscanf(p, "mem_mark=%d", &mark) == 1) {
        double kib = kb_rss_kib(Pid);
        r->rss[mark == 0 ? 0 : mark == 1 ? 1 : 2] = kib;
        return;
    }
    for (int i = 0; r->keys && r->keys[i]; i++) {
        figure *f = find(r->keys[i]);
        const char *name = f->bench_key ? f->bench_key : f->key;
        size_t k = strlen(name);
        if (strncmp(p, name, k) != 0)
            continue;
        /* "<name>_ns=" for times, "<name>_pct=" for a percentage. */
        const char *value = strncmp(p + k, "_ns=", 4) == 0    ? p + k + 4
                            : strncmp(p + k, "_pct=", 5) == 0 ? p + k + 5
                                                              : NULL;
        char *end;
        double v = value ? strtod(value, &end) : 0;
        if (value && end != value)
            add(f->key, r->side, v);
    }
}

/* Runs one child; returns its wall time in ms, or -1. */
static double run_child(run *R, const char *const *Argv, int Cpu)
{
    kb_child child = {
        .argv = Argv, .cpu = Cpu, .timeout_s = CHILD_TIMEOUT_S, .on_line = on_line, .ctx = R};
    char why[1024];
    R->child = &child;
    R->rss[0] = R->rss[1] = R->rss[2] = -1;
    int failed = kb_run_child(&child, why, sizeof(why));
    R->child = NULL;
    if (failed) {
        note_error(why);
        return -1;
    }
    return child.elapsed_ns / 1e6;
}

static void add_memory(const run *R)
{
    if (R->rss[0] >= 0 && R->rss[1] >= 0)
        add("mem1", R->side, R->rss[1] - R->rss[0]);
    if (R->rss[0] >= 0 && R->rss[2] >= 0)
        add("mem1000", R->side, R->rss[2] - R->rss[0]);
}

/* ---- the two sides of a round ---- */

typedef struct paths {
    char kmhost[PATH_MAX], dir[PATH_MAX], sample[PATH_MAX], self[PATH_MAX];
    char other[PATH_MAX];   /* --compare: another kmhost build, or "" */
    char home[2][PATH_MAX]; /* the temporary KMHOST_HOME of each build */
} paths;

/* The kmhost binary of a side, with its KMHOST_HOME set for the child: each
   build has its own home, as the code integrity cache keeps the entries of
   one build at a time. */
static const char *kmhost_of(const paths *P, enum side Side)
{
    setenv("KMHOST_HOME", P->home[Side == OTHER], 1);
    return Side == OTHER ? P->other : P->kmhost;
}

static int pinned_cpu;

/* One driver's figures on one side: `kmhost run bench_<Name>.sys`, or the
   native equivalents in a process of their own, `kmbench --probe <Name>`
   (native.c), with the same CPU restriction. */
static void driver_side(const paths *P, enum side Side, const char *Name, const char *const *Keys,
                        int Cpu)
{
    char sys[PATH_MAX + 32];
    snprintf(sys, sizeof(sys), "%s/bench_%s.sys", P->dir, Name);
    /* The kernel paths are measured as Windows runs them without Driver
       Verifier: the verifier's bookkeeping is a debugging cost, shown by the
       sample's figure, which runs with the default checks. */
    const char *km[] = {Side == NATIVE ? "" : kmhost_of(P, Side), "run", "--verifier=none", sys,
                        NULL};
    const char *native[] = {P->self, "--probe", Name, NULL};
    run r = {.side = Side, .keys = Keys};
    run_child(&r, Side == NATIVE ? native : km, Cpu);
    if (strcmp(Name, "memory") == 0)
        add_memory(&r);
}

/* A round: every driver's figures on both sides, back to back, the order of
   the sides alternating between rounds, so that both meet the machine in
   the same state. */
static void round_of(const paths *P, int Round, int NativeOnly)
{
    current_round = Round;
    static const struct {
        const char *name;
        const char *const keys[10];
        int pinned; /* run on one CPU (taskset -c) */
    } drivers[] = {
        {"pingpong", {"pingpong2", "pingpong2_line", "lifecycle", NULL}, 0},
        {"pingpong", {"pingpong1", "lifecycle1", NULL}, 1},
        {"waits",
         {"waitany3", "waitany64", "mutex", "semaphore", "wake1000", "waitany3_nt", "waitany64_nt",
          "mutex_handoffs", NULL},
         0},
        {"locks",
         {"irql_get", "irql_raise", "systime", "spin1", "spin2", "obref1", "obref2", NULL},
         0},
    };
    /* The sides in this round's order: native first in even rounds, kmhost
       first in odd ones; with --compare the three take turns. */
    static const enum side kinds[3] = {NATIVE, KMHOST, OTHER};
    int nsides = NativeOnly ? 1 : P->other[0] ? 3 : 2;
    enum side order[3];
    for (int k = 0; k < nsides; k++)
        order[k] = kinds[(k + Round) % nsides];
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
        int cpu = drivers[i].pinned ? pinned_cpu : -1;
        for (int k = 0; k < nsides; k++)
            driver_side(P, order[k], drivers[i].name, drivers[i].keys, cpu);
    }

    /* The start-up figures before the memory ones: a process that just ended
       1000 threads leaves the kernel busy reclaiming them for a while. */
    const char *entry[] = {P->self, "--probe", "entry", NULL};
    run e = {.side = NATIVE};
    add("sample", NATIVE, run_child(&e, entry, -1));
    for (int k = 1; k < nsides; k++) { /* kmhost, then the --compare build */
        enum side side = kinds[k];
        driver_side(P, side, "entry", NULL, -1);
        const char *argv[] = {kmhost_of(P, side), "run", "--for", "0", P->sample, NULL};
        run r = {.side = side};
        add("sample", side, run_child(&r, argv, -1));
    }
    const char *memory[] = {P->self, "--probe", "memory", NULL};
    run m = {.side = NATIVE};
    if (run_child(&m, memory, -1) >= 0)
        add_memory(&m);
    for (int k = 0; k < nsides; k++)
        if (order[k] != NATIVE)
            driver_side(P, order[k], "memory", NULL, -1);
    current_round = -1;
}

/* The scaling row: per-thread time with 2 threads over 1 thread, per side. */
static void derive_scaling(void)
{
    figure *one = find("obref1"), *two = find("obref2");
    double k1 = kb_median(one->km, one->nkm), k2 = kb_median(two->km, two->nkm);
    double n1 = kb_median(one->nat, one->nnat), n2 = kb_median(two->nat, two->nnat);
    if (k1 > 0 && k2 >= 0)
        add("obref_scaling", KMHOST, k2 / k1);
    if (n1 > 0 && n2 >= 0)
        add("obref_scaling", NATIVE, n2 / n1);
    double o1 = kb_median(one->other, one->nother), o2 = kb_median(two->other, two->nother);
    if (o1 > 0 && o2 >= 0)
        add("obref_scaling", OTHER, o2 / o1);
}

/* ---- the machine ---- */

static void machine(char *Buf, size_t Len)
{
    char line[512], model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(model, sizeof(model), "%s", colon + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
    snprintf(Buf, Len, "%s, %d CPUs available (one-CPU figures on CPU %d)", model, kb_cpu_count(),
             pinned_cpu);
}

static void load_average(char *Buf, size_t Len)
{
    double a = -1, b = -1, c = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
            a = b = c = -1;
        fclose(f);
    }
    snprintf(Buf, Len, "%.2f %.2f %.2f", a, b, c);
}

/* ---- the temporary kmhost home ---- */

static int remove_entry(const char *Path, const struct stat *St, int Flag, struct FTW *Ftw)
{
    (void)St, (void)Flag, (void)Ftw;
    return remove(Path);
}

/* A temporary KMHOST_HOME in Home in which Kmhost turned TESTSIGNING on. */
static int make_home(const char *Kmhost, char *Home, size_t Len)
{
    snprintf(Home, Len, "%s/kmbench-home.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(Home)) {
        fprintf(stderr, "kmbench: cannot create a temporary KMHOST_HOME: %s\n", strerror(errno));
        Home[0] = '\0';
        return 1;
    }
    setenv("KMHOST_HOME", Home, 1);
    const char *argv[] = {Kmhost, "bcdedit", "-set", "TESTSIGNING", "ON", NULL};
    kb_child c = {.argv = argv, .cpu = -1, .timeout_s = 60};
    char why[1024];
    if (kb_run_child(&c, why, sizeof(why)) != 0) {
        fprintf(stderr, "kmbench: cannot turn test signing on in %s\n", Home);
        return 1;
    }
    return 0;
}

/* ---- options ---- */

static void beside_self(char *Buf, size_t Len, const char *Rel)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        snprintf(Buf, Len, "%s", Rel);
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    if ((size_t)snprintf(Buf, Len, "%s/%s", self, Rel) >= Len)
        snprintf(Buf, Len, "%s", Rel);
}

static void usage(FILE *Out)
{
    fprintf(Out,
            "usage: kmbench [--kmhost PATH] [--bench-dir DIR] [--sample PATH] [--json PATH]\n"
            "               [--rounds N] [--native-only] [--compare KMHOST]\n"
            "  --kmhost PATH     the kmhost binary (default: ../kmhost next to kmbench)\n"
            "  --bench-dir DIR   where bench_*.sys are (default: kmbench's directory)\n"
            "  --sample PATH     the signed sample driver (default: kthreads-signed.sys there)\n"
            "  --json PATH       where to write the results (default: results.json there)\n"
            "  --rounds N        rounds of measurements, 1..%d (default %d)\n"
            "  --native-only     measure the native figures only\n"
            "  --compare KMHOST  also run another kmhost build in every round, and print\n"
            "                    its figures against the first one's\n",
            KB_MAX_ROUNDS, DEFAULT_ROUNDS);
}

int main(int argc, char **argv)
{
    static paths p;
    char json[PATH_MAX];
    int native_only = 0, rounds = DEFAULT_ROUNDS;

    if (argc == 3 && strcmp(argv[1], "--probe") == 0)
        return kb_probe(argv[2]);
    beside_self(p.kmhost, sizeof(p.kmhost), "../kmhost");
    beside_self(p.dir, sizeof(p.dir), ".");
    beside_self(p.sample, sizeof(p.sample), "kthreads-signed.sys");
    beside_self(p.self, sizeof(p.self), "kmbench");
    beside_self(json, sizeof(json), "results.json");
    for (int i = 1; i < argc; i++) {
        char *dst = NULL;
        if (strcmp(argv[i], "--native-only") == 0) {
            native_only = 1;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--kmhost") == 0)
            dst = p.kmhost;
        else if (strcmp(argv[i], "--bench-dir") == 0)
            dst = p.dir;
        else if (strcmp(argv[i], "--sample") == 0)
            dst = p.sample;
        else if (strcmp(argv[i], "--json") == 0)
            dst = json;
        else if (strcmp(argv[i], "--compare") == 0)
            dst = p.other;
        else if (strcmp(argv[i], "--rounds") != 0) {
            fprintf(stderr, "kmbench: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kmbench: %s needs a value\n", argv[i]);
            usage(stderr);
            return 2;
        }
        if (!dst) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > KB_MAX_ROUNDS) {
                fprintf(stderr, "kmbench: --rounds takes 1..%d, not '%s'\n", KB_MAX_ROUNDS,
                        argv[i]);
                return 2;
            }
            rounds = (int)n;
            continue;
        }
        snprintf(dst, PATH_MAX, "%s", argv[++i]);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    char mach[512], load0[64], load1[64];
    pinned_cpu = kb_first_cpu();
    machine(mach, sizeof(mach));
    load_average(load0, sizeof(load0));
    if (!native_only && (make_home(p.kmhost, p.home[0], PATH_MAX) != 0 ||
                         (p.other[0] && make_home(p.other, p.home[1], PATH_MAX) != 0))) {
        note_error("could not set up a kmhost home with TESTSIGNING ON");
        native_only = 1;
    }
    printf("kmbench: %d rounds on %s; load average %s\n", rounds, mach, load0);
    for (int round = 0; round < rounds; round++) {
        printf("kmbench: round %d/%d\n", round + 1, rounds);
        round_of(&p, round, native_only);
    }
    derive_scaling();
    load_average(load1, sizeof(load1));
    for (int h = 0; h < 2; h++)
        if (p.home[h][0])
            nftw(p.home[h], remove_entry, 16, FTW_DEPTH | FTW_PHYS);

    kb_print_table(figs, NFIGS, mach, load0, load1, rounds);
    if (p.other[0] && !native_only)
        kb_print_comparison(figs, NFIGS, p.other);
    int failed = failures > 0;
    if (native_only && !failed)
        note_error("kmhost not run (--native-only)");
    if (kb_write_json(json, figs, NFIGS, mach, load0, load1, rounds, errors) != 0)
        return 1;
    printf("results written to %s\n", json);
    return failed;
}
