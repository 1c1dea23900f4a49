/*
 * kmbench: each dispatcher figure under kmhost against its native Linux
 * equivalent, in one run.
 *
 *   event ping-pong   bench_pingpong.sys (two KEVENTs)  vs  two futex words
 *   thread lifecycle  PsCreateSystemThread..Deref       vs  pthread_create+join
 *
 * The kmhost figures come from the driver's own "BENCH name_ns=value" lines
 * (timed inside the driver with KeQueryPerformanceCounter); the native ones
 * are timed here on CLOCK_MONOTONIC. Every figure is the median of RUNS timed
 * runs after one warm-up run. A plain program: it does not link the kmhost
 * core, so the native figures are glibc and Linux alone.
 *
 * Usage: kmbench [--kmhost PATH] [--driver PATH] [--json PATH] [--native-only]
 * Exit status: 0 all figures measured; 1 kmhost failed (native figures are
 * still printed and written); 2 usage error.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Same counts as bench/drivers/pingpong.c, so the figures are comparable. */
enum { RUNS = 5, TRIPS = 10000, LIFECYCLES = 200 };
enum { KMHOST_TIMEOUT_S = 300, TAIL_LINES = 20 };

typedef struct figure {
    const char *key;   /* "pingpong": matches "BENCH pingpong_ns=" */
    const char *label; /* for the table */
    double kmhost;     /* ns; < 0 when not measured */
    double native;
} figure;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return v[n / 2];
}

/* ---- native: futex ping-pong, the equivalent of two synchronization events ---- */

/* An auto-reset event on one futex word: 1 signalled, 0 not. Waiting
   consumes the signal, as a satisfied wait on a SynchronizationEvent does. */
static void event_set(atomic_int *e)
{
    atomic_store_explicit(e, 1, memory_order_release);
    syscall(SYS_futex, e, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void event_wait(atomic_int *e)
{
    while (atomic_exchange_explicit(e, 0, memory_order_acquire) == 0)
        syscall(SYS_futex, e, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static atomic_int ping, pong;

static void *ponger(void *arg)
{
    (void)arg;
    for (long i = 0; i < (long)(RUNS + 1) * TRIPS; i++) {
        event_wait(&ping);
        event_set(&pong);
    }
    return NULL;
}

static double native_pingpong(void)
{
    double ns[RUNS + 1];
    pthread_t t;

    if (pthread_create(&t, NULL, ponger, NULL) != 0) {
        fprintf(stderr, "kmbench: pthread_create failed\n");
        return -1;
    }
    for (int run = 0; run <= RUNS; run++) {
        double start = now_ns();
        for (int i = 0; i < TRIPS; i++) {
            event_set(&ping);
            event_wait(&pong);
        }
        ns[run] = (now_ns() - start) / TRIPS;
    }
    pthread_join(t, NULL);
    return median(ns + 1, RUNS);
}

/* ---- native: thread lifecycle ---- */

static void *empty(void *arg)
{
    return arg;
}

static double native_lifecycle(void)
{
    double ns[RUNS + 1];

    for (int run = 0; run <= RUNS; run++) {
        double start = now_ns();
        for (int i = 0; i < LIFECYCLES; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, empty, NULL) != 0) {
                fprintf(stderr, "kmbench: pthread_create failed\n");
                return -1;
            }
            pthread_join(t, NULL);
        }
        ns[run] = (now_ns() - start) / LIFECYCLES;
    }
    return median(ns + 1, RUNS);
}

/* ---- kmhost: run the bench driver and parse its BENCH lines ---- */

static const char *exit_meaning(int code)
{
    switch (code) {
    case 1:
        return "the driver did not load";
    case 2:
        return "usage error";
    case 3:
        return "bug check";
    case 4:
        return "the verifier found problems at unload";
    default:
        return "unexpected exit status";
    }
}

static void parse_line(const char *line, figure *figs, int nfigs)
{
    if (strncmp(line, "BENCH ", 6) != 0)
        return;
    for (int i = 0; i < nfigs; i++) {
        size_t k = strlen(figs[i].key);
        const char *p = line + 6;
        if (strncmp(p, figs[i].key, k) == 0 && strncmp(p + k, "_ns=", 4) == 0) {
            char *end;
            double v = strtod(p + k + 4, &end);
            if (end != p + k + 4 && v >= 0)
                figs[i].kmhost = v;
        }
    }
}

/* Keeps the last TAIL_LINES lines of output for the error report. */
typedef struct tail {
    char lines[TAIL_LINES][256];
    int next, count;
} tail;

static void tail_add(tail *t, const char *line)
{
    snprintf(t->lines[t->next], sizeof(t->lines[0]), "%.255s", line);
    t->next = (t->next + 1) % TAIL_LINES;
    if (t->count < TAIL_LINES)
        t->count++;
}

static void tail_print(const tail *t)
{
    for (int i = 0; i < t->count; i++)
        fprintf(stderr, "  | %s\n", t->lines[(t->next - t->count + i + TAIL_LINES) % TAIL_LINES]);
}

/* Returns 0 when kmhost exited 0 and printed every figure; otherwise prints
   why and returns 1. *why receives a one-line reason for the JSON. */
static int run_kmhost(const char *kmhost, const char *driver, figure *figs, int nfigs, char *why,
                      size_t whylen)
{
    int fds[2];
    if (access(kmhost, X_OK) != 0) {
        snprintf(why, whylen, "kmhost not found at %.400s", kmhost);
        fprintf(stderr,
                "kmbench: %s: build it (cmake --build build --target kmhost) or pass "
                "--kmhost PATH\n",
                why);
        return 1;
    }
    if (access(driver, R_OK) != 0) {
        snprintf(why, whylen, "bench driver not found at %.400s", driver);
        fprintf(stderr,
                "kmbench: %s: build it (cmake --build build --target bench_drivers) "
                "or pass --driver PATH\n",
                why);
        return 1;
    }
    if (pipe(fds) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        fprintf(stderr, "kmbench: %s\n", why);
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        fprintf(stderr, "kmbench: %s\n", why);
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(kmhost, kmhost, "run", driver, (char *)NULL);
        fprintf(stderr, "kmbench: cannot execute %s: %s\n", kmhost, strerror(errno));
        _exit(127);
    }
    close(fds[1]);

    tail t = {.next = 0, .count = 0};
    char line[1024];
    size_t len = 0;
    double deadline = now_ns() + KMHOST_TIMEOUT_S * 1e9;
    int timed_out = 0;
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    for (;;) {
        int left_ms = (int)((deadline - now_ns()) / 1e6);
        if (left_ms <= 0 || poll(&pfd, 1, left_ms) == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        char c;
        ssize_t n = read(fds[0], &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (c != '\n' && len + 1 < sizeof(line)) {
            line[len++] = c;
            continue;
        }
        line[len] = '\0';
        len = 0;
        parse_line(line, figs, nfigs);
        tail_add(&t, line);
    }
    close(fds[0]);

    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int ok = 1;
    if (timed_out) {
        snprintf(why, whylen, "kmhost did not finish within %d s and was killed", KMHOST_TIMEOUT_S);
        ok = 0;
    } else if (WIFSIGNALED(status)) {
        snprintf(why, whylen, "kmhost was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        ok = 0;
    } else if (WEXITSTATUS(status) != 0) {
        snprintf(why, whylen, "kmhost exited with status %d: %s", WEXITSTATUS(status),
                 WEXITSTATUS(status) == 127 ? "it could not be executed"
                                            : exit_meaning(WEXITSTATUS(status)));
        ok = 0;
    } else {
        for (int i = 0; i < nfigs; i++)
            if (figs[i].kmhost < 0) {
                snprintf(why, whylen, "kmhost printed no \"BENCH %s_ns=\" line", figs[i].key);
                ok = 0;
                break;
            }
    }
    if (!ok) {
        fprintf(stderr, "kmbench: %s\nkmbench: command: %s run %s\nkmbench: last output:\n", why,
                kmhost, driver);
        tail_print(&t);
    }
    return ok ? 0 : 1;
}

/* ---- report ---- */

static void print_cell(double v)
{
    if (v < 0)
        printf(" %14s", "n/a");
    else
        printf(" %14.1f", v);
}

static void print_table(const figure *figs, int nfigs)
{
    printf("%-26s %14s %14s %14s\n", "figure (ns, median of 5)", "kmhost", "native", "ratio");
    for (int i = 0; i < nfigs; i++) {
        printf("%-26s", figs[i].label);
        print_cell(figs[i].kmhost);
        print_cell(figs[i].native);
        if (figs[i].kmhost >= 0 && figs[i].native > 0)
            printf(" %13.2fx\n", figs[i].kmhost / figs[i].native);
        else
            printf(" %14s\n", "n/a");
    }
}

static void json_number(FILE *f, double v)
{
    if (v < 0)
        fputs("null", f);
    else
        fprintf(f, "%.1f", v);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int write_json(const char *path, const figure *figs, int nfigs, const char *error)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "kmbench: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(f, "{\n  \"unit\": \"ns\",\n  \"runs\": %d,\n  \"figures\": [\n", RUNS);
    for (int i = 0; i < nfigs; i++) {
        fprintf(f, "    {\"name\": ");
        json_string(f, figs[i].key);
        fprintf(f, ", \"label\": ");
        json_string(f, figs[i].label);
        fprintf(f, ", \"kmhost\": ");
        json_number(f, figs[i].kmhost);
        fprintf(f, ", \"native\": ");
        json_number(f, figs[i].native);
        fprintf(f, ", \"ratio\": ");
        if (figs[i].kmhost >= 0 && figs[i].native > 0)
            fprintf(f, "%.3f", figs[i].kmhost / figs[i].native);
        else
            fputs("null", f);
        fprintf(f, "}%s\n", i + 1 < nfigs ? "," : "");
    }
    fprintf(f, "  ],\n  \"kmhost_error\": ");
    if (error)
        json_string(f, error);
    else
        fputs("null", f);
    fprintf(f, "\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "kmbench: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* PATH relative to the directory of this executable. */
static void beside_self(char *buf, size_t len, const char *rel)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        snprintf(buf, len, "%s", rel);
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    size_t dirlen = slash ? (size_t)(slash - self) : 0, rellen = strlen(rel);
    if (dirlen + 1 + rellen + 1 > len) {
        snprintf(buf, len, "%s", rel);
        return;
    }
    memcpy(buf, self, dirlen);
    buf[dirlen] = '/';
    memcpy(buf + dirlen + 1, rel, rellen + 1);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: kmbench [--kmhost PATH] [--driver PATH] [--json PATH] [--native-only]\n"
            "  --kmhost PATH   the kmhost binary (default: ../kmhost next to kmbench)\n"
            "  --driver PATH   the bench driver (default: bench_pingpong.sys next to kmbench)\n"
            "  --json PATH     where to write the results (default: results.json next to "
            "kmbench)\n"
            "  --native-only   measure the native figures only\n");
}

int main(int argc, char **argv)
{
    char kmhost[PATH_MAX], driver[PATH_MAX], json[PATH_MAX];
    int native_only = 0;

    beside_self(kmhost, sizeof(kmhost), "../kmhost");
    beside_self(driver, sizeof(driver), "bench_pingpong.sys");
    beside_self(json, sizeof(json), "results.json");
    for (int i = 1; i < argc; i++) {
        char *dst = NULL;
        if (strcmp(argv[i], "--kmhost") == 0)
            dst = kmhost;
        else if (strcmp(argv[i], "--driver") == 0)
            dst = driver;
        else if (strcmp(argv[i], "--json") == 0)
            dst = json;
        else if (strcmp(argv[i], "--native-only") == 0) {
            native_only = 1;
            continue;
        } else {
            fprintf(stderr, "kmbench: unknown argument '%s'\n", argv[i]);
            usage();
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kmbench: %s needs a value\n", argv[i]);
            usage();
            return 2;
        }
        snprintf(dst, PATH_MAX, "%s", argv[++i]);
    }

    figure figs[] = {
        {"pingpong", "event ping-pong/trip", -1, -1},
        {"lifecycle", "thread lifecycle/thread", -1, -1},
    };
    int nfigs = (int)(sizeof(figs) / sizeof(figs[0]));

    figs[0].native = native_pingpong();
    figs[1].native = native_lifecycle();

    char why[512] = "";
    int failed = 0;
    if (!native_only)
        failed = run_kmhost(kmhost, driver, figs, nfigs, why, sizeof(why));

    print_table(figs, nfigs);
    if (write_json(json, figs, nfigs, failed ? why : native_only ? "not run" : NULL) != 0)
        return 1;
    printf("results written to %s\n", json);
    return failed;
}
