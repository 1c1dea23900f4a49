/*
 * kmbench.h: the pieces of the kmbench program (bench/kmbench.c runs the
 * rounds, bench/native.c measures the native equivalents, bench/runner.c
 * runs a child process and reads its "BENCH" lines, bench/report.c prints
 * the table and writes the JSON).
 *
 * A figure holds one sample per round for each side; the reported value is
 * the median over the rounds. Each sample is itself the median of KB_RUNS
 * timed runs after a warm-up, on either side (bench/kbench.h for drivers).
 */
#ifndef KMBENCH_H
#define KMBENCH_H

#include <stddef.h>
#include <sys/types.h>

enum { KB_RUNS = 5, KB_MAX_ROUNDS = 25 };

typedef struct figure {
    const char *key;         /* JSON name; the driver's "BENCH <key>_ns=" unless bench_key */
    const char *bench_key;   /* the driver's name for it, when different */
    const char *label;       /* for the table */
    const char *unit;        /* "ns", "ms" or "KiB": the unit of the samples */
    const char *native_what; /* the native equivalent, in a few words */
    double max_ratio;        /* target: kmhost / native at most this; 0 none */
    double max_kmhost;       /* target: kmhost at most this, in unit; 0 none */
    double km[KB_MAX_ROUNDS], nat[KB_MAX_ROUNDS];
    int nkm, nnat;
    int km_round[KB_MAX_ROUNDS], nat_round[KB_MAX_ROUNDS]; /* the round of each sample */
    /* kmbench --compare: the same figure under the other kmhost build. */
    double other[KB_MAX_ROUNDS];
    int nother, other_round[KB_MAX_ROUNDS];
    /* A reference row (no target): its kmhost samples are those of figure
       same_as, its native ones those of its own native algorithm; or its
       native samples are those of figure native_same_as, its kmhost ones
       those of another layout in the driver. */
    const char *same_as, *native_same_as;
} figure;

/* ---- native.c: each returns one sample (median of KB_RUNS), or < 0 ---- */
double kb_native_pingpong(int cpu); /* cpu < 0: not pinned */
double kb_native_lifecycle(void);
double kb_native_waitany(int count);
double kb_native_waitany_separate(int count); /* reference: objects on lines of their own */
double kb_native_mutex(void);
double kb_native_semaphore(void);
double kb_native_wake1000(void);
double kb_native_spin1(void);
double kb_native_spin2(void);
double kb_native_ref1(void);
double kb_native_ref2(void);
double kb_native_load(void);      /* a plain load: against KeGetCurrentIrql */
double kb_native_loadstore(void); /* a load and two stores: against Raise+Lower */
double kb_native_load64(void);    /* a plain 64-bit load: against KeQuerySystemTime */
/* `kmbench --probe NAME`: the native side of the process-level figures. */
int kb_probe(const char *name);

/* ---- runner.c ---- */
typedef struct kb_child {
    const char *const *argv; /* argv[0] is the program to execute */
    int cpu;                 /* >= 0: the child runs on that CPU only (taskset -c CPU) */
    int timeout_s;
    /* Called for every output line; Pid is the child's. */
    void (*on_line)(void *Ctx, pid_t Pid, const char *Line);
    void *ctx;
    /* results */
    double exec_ns;    /* CLOCK_MONOTONIC just before exec, as the child read it */
    double elapsed_ns; /* from just before fork until the child was reaped */
} kb_child;

/* Runs Child to its end. Returns 0 when it exited 0; otherwise prints why
   with the last lines of its output, puts a one-line reason in Why, and
   returns 1. */
int kb_run_child(kb_child *Child, char *Why, size_t WhyLen);
/* The VmRSS of Pid in KiB, or < 0. */
double kb_rss_kib(pid_t Pid);
double kb_now_ns(void);
/* The first CPU this process may run on. */
int kb_first_cpu(void);
int kb_cpu_count(void);

/* ---- report.c ---- */
double kb_median(const double *Values, int Count); /* < 0 when Count is 0 */
void kb_print_table(figure *Figs, int Count, const char *Machine, const char *LoadBefore,
                    const char *LoadAfter, int Rounds);
/* kmbench --compare: each figure under the other build against kmhost's, in
   all rounds and in the rounds with a fast and with a slow hand-off. */
void kb_print_comparison(figure *Figs, int Count, const char *Other);
int kb_write_json(const char *Path, figure *Figs, int Count, const char *Machine,
                  const char *LoadBefore, const char *LoadAfter, int Rounds, const char *Errors);

#endif
