/*
 * The report: one table on standard output and the same figures as JSON.
 * A figure's value on each side is the median of its per-round samples. Its
 * ratio is the median over the rounds of that round's kmhost / native: the
 * two sides of a round run back to back, so a change in the machine between
 * rounds (on a virtual machine, where the hypervisor runs the two vCPUs can
 * change every cross-CPU figure fivefold, both sides alike) cancels out; a
 * figure without samples of both sides in the same rounds falls back to the
 * ratio of the medians. It meets its target when the ratio is at most
 * max_ratio and the kmhost value at most max_kmhost (whichever are set).
 * When the rounds' native ping-pong splits into fast and slow cross-CPU
 * hand-offs (fast_rounds), the ratios of each group are printed too,
 * without the rounds whose sides met different states. A
 * reference row has neither: it sets the same kmhost figure against another
 * native algorithm (64 separate event words, say), to show what the target's native
 * equivalent leaves out.
 */
#include "kmbench.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *A, const void *B)
{
    double x = *(const double *)A, y = *(const double *)B;
    return (x > y) - (x < y);
}

double kb_median(const double *Values, int Count)
{
    double v[KB_MAX_ROUNDS > KB_RUNS ? KB_MAX_ROUNDS : KB_RUNS];
    if (Count <= 0 || Count > (int)(sizeof(v) / sizeof(v[0])))
        return -1;
    memcpy(v, Values, (size_t)Count * sizeof(*v));
    qsort(v, (size_t)Count, sizeof(*v), cmp_double);
    return Count % 2 ? v[Count / 2] : (v[Count / 2 - 1] + v[Count / 2]) / 2;
}

/* Num / Den of each round in which both have a sample (Rounds: the round
   of each sample), of those rounds Only marks (NULL: all); their count. */
static int paired_ratios(const double *Num, const int *NumRounds, int NumCount, const double *Den,
                         const int *DenRounds, int DenCount, const bool *Only, double *Out)
{
    int n = 0;
    for (int i = 0; i < NumCount; i++) {
        int r = NumRounds[i];
        if (r < 0 || r >= KB_MAX_ROUNDS || (Only && !Only[r]))
            continue;
        for (int j = 0; j < DenCount; j++)
            if (r == DenRounds[j] && Den[j] > 0) {
                Out[n++] = Num[i] / Den[j];
                break;
            }
    }
    return n;
}

/* kmhost / native per round. */
static int round_ratios_of(const figure *F, double *Out, const bool *Only)
{
    return paired_ratios(F->km, F->km_round, F->nkm, F->nat, F->nat_round, F->nnat, Only, Out);
}

static int round_ratios(const figure *F, double *Out)
{
    return round_ratios_of(F, Out, NULL);
}

/* Whether the sample of round Round among Samples (if any) lies on the
   Fast side of Split. */
static bool same_side(const double *Samples, const int *Rounds, int N, int Round, double Split,
                      bool Fast)
{
    for (int k = 0; k < N; k++)
        if (Rounds[k] == Round && (Samples[k] < Split) != Fast)
            return false;
    return true;
}

/* A virtual machine may move a cache line between its CPUs at two very
   different costs, minute by minute (docs/performance.md): when the native
   ping-pong of the rounds falls into two groups, the slowest round at least
   twice the fastest, the rounds below the geometric mean of the two ends
   are the fast ones and the others the slow ones, except a round whose
   kmhost (or --compare) ping-pong fell on the other side of that line: the
   machine changed state between the sides of that round, whose ratios then
   compare two states, so it is in neither group. Marks Fast and Slow and
   returns the split in ns, or returns < 0 (nothing marked) when the rounds
   do not fall apart so. Mixed, if not NULL, gets the rounds left out. */
static double fast_rounds(const figure *Figs, int Count, bool Fast[KB_MAX_ROUNDS],
                          bool Slow[KB_MAX_ROUNDS], int *Mixed)
{
    memset(Fast, 0, KB_MAX_ROUNDS * sizeof(bool));
    memset(Slow, 0, KB_MAX_ROUNDS * sizeof(bool));
    if (Mixed)
        *Mixed = 0;
    for (int i = 0; i < Count; i++) {
        const figure *f = &Figs[i];
        if (strcmp(f->key, "pingpong2") != 0 || f->nnat < 2)
            continue;
        double lo = f->nat[0], hi = f->nat[0];
        for (int j = 1; j < f->nnat; j++) {
            lo = f->nat[j] < lo ? f->nat[j] : lo;
            hi = f->nat[j] > hi ? f->nat[j] : hi;
        }
        if (lo <= 0 || hi < 2 * lo)
            return -1;
        double split = sqrt(lo * hi);
        for (int j = 0; j < f->nnat; j++) {
            int r = f->nat_round[j];
            if (r < 0 || r >= KB_MAX_ROUNDS)
                continue;
            bool fast = f->nat[j] < split;
            bool agree = same_side(f->km, f->km_round, f->nkm, r, split, fast) &&
                         same_side(f->other, f->other_round, f->nother, r, split, fast);
            Fast[r] = agree && fast;
            Slow[r] = agree && !fast;
            if (!agree && Mixed)
                ++*Mixed;
        }
        return split;
    }
    return -1;
}

/* The median ratio over the rounds Only marks, or < 0 without any. */
static double ratio_of(const figure *F, const bool *Only)
{
    double r[KB_MAX_ROUNDS];
    int n = round_ratios_of(F, r, Only);
    return n > 0 ? kb_median(r, n) : -1;
}

static double ratio(const figure *F)
{
    double r[KB_MAX_ROUNDS];
    int n = round_ratios(F, r);
    if (n > 0)
        return kb_median(r, n);
    double k = kb_median(F->km, F->nkm), m = kb_median(F->nat, F->nnat);
    return k >= 0 && m > 0 ? k / m : -1;
}

/* 1 met, 0 missed, -1 not measured, -2 no target (a reference row). */
static int target_met(const figure *F)
{
    if (F->max_ratio <= 0 && F->max_kmhost <= 0)
        return -2;
    double k = kb_median(F->km, F->nkm), r = ratio(F);
    if (k < 0 || (F->max_ratio > 0 && r < 0))
        return -1;
    if (F->max_ratio > 0 && r > F->max_ratio)
        return 0;
    if (F->max_kmhost > 0 && k > F->max_kmhost)
        return 0;
    return 1;
}

static void target_text(const figure *F, char *Buf, size_t Len)
{
    if (F->max_ratio > 0)
        snprintf(Buf, Len, "<= %.1fx", F->max_ratio);
    else if (F->max_kmhost > 0)
        snprintf(Buf, Len, "< %g %s", F->max_kmhost, F->unit);
    else
        snprintf(Buf, Len, "-");
}

/* Three significant digits or more, no exponent. */
static void number(double V, char *Buf, size_t Len)
{
    if (V < 0)
        snprintf(Buf, Len, "n/a");
    else if (V < 10)
        snprintf(Buf, Len, "%.2f", V);
    else if (V < 1000)
        snprintf(Buf, Len, "%.1f", V);
    else
        snprintf(Buf, Len, "%.0f", V);
}

void kb_print_table(figure *Figs, int Count, const char *Machine, const char *LoadBefore,
                    const char *LoadAfter, int Rounds)
{
    printf("\nkmbench: %s; load average %s before, %s after; median of %d rounds (ratio: median "
           "of the rounds' ratios)\n",
           Machine, LoadBefore, LoadAfter, Rounds);
    printf("%-34s %-4s %11s %11s %8s %10s %s\n", "figure", "unit", "kmhost", "native", "ratio",
           "target", "met");
    for (int i = 0; i < Count; i++) {
        const figure *f = &Figs[i];
        char k[32], n[32], r[32], t[32];
        number(kb_median(f->km, f->nkm), k, sizeof(k));
        number(kb_median(f->nat, f->nnat), n, sizeof(n));
        double q = ratio(f);
        if (q < 0)
            snprintf(r, sizeof(r), "n/a");
        else
            snprintf(r, sizeof(r), "%.2fx", q);
        target_text(f, t, sizeof(t));
        int met = target_met(f);
        printf("%-34s %-4s %11s %11s %8s %10s %s\n", f->label, f->unit, k, n, r, t,
               met == -2 ? "-"
               : met < 0 ? "n/a"
               : met     ? "yes"
                         : "NO");
    }
    /* Every two-CPU figure depends on what moving a cache line between the
       two processors costs, which a virtual machine can change from minute
       to minute: the native ping-pong of each round shows it. */
    for (int i = 0; i < Count; i++) {
        const figure *f = &Figs[i];
        if (strcmp(f->key, "pingpong2") != 0 || f->nnat == 0)
            continue;
        printf("\ncross-CPU hand-off in each round (native ping-pong, ns):");
        for (int j = 0; j < f->nnat; j++) {
            char v[32];
            number(f->nat[j], v, sizeof(v));
            printf(" %s", v);
        }
        printf("\n");
    }
    bool fast[KB_MAX_ROUNDS], slow[KB_MAX_ROUNDS];
    int mixed;
    double split = fast_rounds(Figs, Count, fast, slow, &mixed);
    if (split > 0) {
        printf("ratio in the rounds with a fast (< %.0f ns) / slow hand-off", split);
        if (mixed)
            printf(" (%d round%s left out: the sides met different states)", mixed,
                   mixed == 1 ? "" : "s");
        printf(":\n");
        bool any_fast = false, any_slow = false;
        for (int r = 0; r < KB_MAX_ROUNDS; r++) {
            any_fast = any_fast || fast[r];
            any_slow = any_slow || slow[r];
        }
        if (!any_fast || !any_slow)
            printf("  (no round left in one of the two states)\n");
        for (int i = 0; i < Count; i++) {
            double a = ratio_of(&Figs[i], fast), b = ratio_of(&Figs[i], slow);
            if (a >= 0 && b >= 0)
                printf("  %-34s %.2fx / %.2fx\n", Figs[i].label, a, b);
        }
    }
    printf("\nnative equivalents:\n");
    for (int i = 0; i < Count; i++)
        printf("  %-16s %s\n", Figs[i].key, Figs[i].native_what);
}

/* The ratios other / kmhost of the rounds in which both builds have a
   sample, of those Only marks (NULL: all); their median, or < 0. */
static double other_ratio(const figure *F, const bool *Only)
{
    double r[KB_MAX_ROUNDS];
    int n = paired_ratios(F->other, F->other_round, F->nother, F->km, F->km_round, F->nkm, Only, r);
    return n > 0 ? kb_median(r, n) : -1;
}

void kb_print_comparison(figure *Figs, int Count, const char *Other)
{
    bool fast[KB_MAX_ROUNDS], slow[KB_MAX_ROUNDS];
    double split = fast_rounds(Figs, Count, fast, slow, NULL);
    printf("\n--compare %s against kmhost (ratio: median of the rounds' other / kmhost", Other);
    if (split > 0)
        printf("; then over the rounds with a fast (< %.0f ns) and a slow hand-off", split);
    printf(")\n%-34s %-4s %11s %11s %8s\n", "figure", "unit", "kmhost", "other", "ratio");
    for (int i = 0; i < Count; i++) {
        const figure *f = &Figs[i];
        char k[32], o[32];
        number(kb_median(f->km, f->nkm), k, sizeof(k));
        number(kb_median(f->other, f->nother), o, sizeof(o));
        double q = other_ratio(f, NULL);
        printf("%-34s %-4s %11s %11s ", f->label, f->unit, k, o);
        if (q < 0)
            printf("%8s", "n/a");
        else
            printf("%7.3fx", q);
        if (split > 0) {
            double a = other_ratio(f, fast), b = other_ratio(f, slow);
            if (a >= 0 && b >= 0)
                printf("   fast %.3fx / slow %.3fx", a, b);
        }
        printf("\n");
    }
}

static void json_string(FILE *F, const char *S)
{
    fputc('"', F);
    for (; S && *S; S++) {
        if (*S == '"' || *S == '\\')
            fprintf(F, "\\%c", *S);
        else if ((unsigned char)*S < 0x20)
            fprintf(F, "\\u%04x", *S);
        else
            fputc(*S, F);
    }
    fputc('"', F);
}

static void json_number(FILE *F, double V)
{
    if (V < 0)
        fputs("null", F);
    else
        fprintf(F, "%.3f", V);
}

static void json_samples(FILE *F, const double *V, int N)
{
    fputc('[', F);
    for (int i = 0; i < N; i++) {
        if (i)
            fputs(", ", F);
        json_number(F, V[i]);
    }
    fputc(']', F);
}

int kb_write_json(const char *Path, figure *Figs, int Count, const char *Machine,
                  const char *LoadBefore, const char *LoadAfter, int Rounds, const char *Errors)
{
    FILE *f = fopen(Path, "w");
    if (!f) {
        fprintf(stderr, "kmbench: cannot write %s: %s\n", Path, strerror(errno));
        return 1;
    }
    fprintf(f, "{\n  \"machine\": ");
    json_string(f, Machine);
    fprintf(f, ",\n  \"load_before\": ");
    json_string(f, LoadBefore);
    fprintf(f, ",\n  \"load_after\": ");
    json_string(f, LoadAfter);
    bool fast[KB_MAX_ROUNDS], slow[KB_MAX_ROUNDS];
    double split = fast_rounds(Figs, Count, fast, slow, NULL);
    fprintf(f, ",\n  \"rounds\": %d,\n  \"runs_per_round\": %d,\n  \"fast_handoff_below_ns\": ",
            Rounds, KB_RUNS);
    json_number(f, split);
    fprintf(f, ",\n  \"figures\": [\n");
    for (int i = 0; i < Count; i++) {
        const figure *g = &Figs[i];
        char t[32];
        int met = target_met(g);
        target_text(g, t, sizeof(t));
        fprintf(f, "    {\"name\": ");
        json_string(f, g->key);
        fprintf(f, ", \"label\": ");
        json_string(f, g->label);
        fprintf(f, ", \"unit\": ");
        json_string(f, g->unit);
        fprintf(f, ",\n     \"kmhost\": ");
        json_number(f, kb_median(g->km, g->nkm));
        fprintf(f, ", \"native\": ");
        json_number(f, kb_median(g->nat, g->nnat));
        fprintf(f, ", \"ratio\": ");
        json_number(f, ratio(g));
        fprintf(f, ", \"target\": ");
        json_string(f, t);
        fprintf(f, ", \"met\": %s,\n     \"native_equivalent\": ",
                met < 0 ? "null"
                : met   ? "true"
                        : "false");
        json_string(f, g->native_what);
        fprintf(f, ",\n     \"kmhost_samples\": ");
        json_samples(f, g->km, g->nkm);
        fprintf(f, ", \"native_samples\": ");
        json_samples(f, g->nat, g->nnat);
        double rr[KB_MAX_ROUNDS];
        fprintf(f, ",\n     \"round_ratios\": ");
        json_samples(f, rr, round_ratios(g, rr));
        fprintf(f, ", \"ratio_fast_rounds\": ");
        json_number(f, split > 0 ? ratio_of(g, fast) : -1);
        fprintf(f, ", \"ratio_slow_rounds\": ");
        json_number(f, split > 0 ? ratio_of(g, slow) : -1);
        if (g->nother > 0) { /* kmbench --compare */
            fprintf(f, ",\n     \"other\": ");
            json_number(f, kb_median(g->other, g->nother));
            fprintf(f, ", \"other_over_kmhost\": ");
            json_number(f, other_ratio(g, NULL));
            fprintf(f, ", \"other_samples\": ");
            json_samples(f, g->other, g->nother);
        }
        fprintf(f, "}%s\n", i + 1 < Count ? "," : "");
    }
    fprintf(f, "  ],\n  \"errors\": ");
    if (Errors && *Errors)
        json_string(f, Errors);
    else
        fputs("null", f);
    fprintf(f, "\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "kmbench: cannot write %s: %s\n", Path, strerror(errno));
        return 1;
    }
    return 0;
}
