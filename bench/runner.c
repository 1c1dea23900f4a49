/*
 * Running one child process (kmhost, or kmbench's own native probe) and
 * reading its output line by line while it runs, so that a line can
 * trigger a measurement of the live process (its VmRSS).
 *
 * The child reads CLOCK_MONOTONIC just before exec and reports it as its
 * first line, "KMBENCH exec_ns=<ns>": the start of `kmhost run` on the same
 * clock as KeQueryPerformanceCounter inside it. A CPU restriction is set in
 * the child before exec, which is what `taskset -c CPU` does.
 */
#include "kmbench.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { TAIL_LINES = 20 };

double kb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int kb_first_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 0;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            return i;
    return 0;
}

int kb_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 1;
    return CPU_COUNT(&set);
}

double kb_rss_kib(pid_t Pid)
{
    char path[64], line[256];
    double kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)Pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lf kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* The last TAIL_LINES lines of output, for the error report. */
typedef struct tail {
    char lines[TAIL_LINES][256];
    int next, count;
} tail;

static void tail_add(tail *T, const char *Line)
{
    snprintf(T->lines[T->next], sizeof(T->lines[0]), "%.255s", Line);
    T->next = (T->next + 1) % TAIL_LINES;
    if (T->count < TAIL_LINES)
        T->count++;
}

static void tail_print(const tail *T)
{
    for (int i = 0; i < T->count; i++)
        fprintf(stderr, "  | %s\n", T->lines[(T->next - T->count + i + TAIL_LINES) % TAIL_LINES]);
}

static const char *exit_meaning(int Code)
{
    switch (Code) {
    case 1:
        return "the driver did not load";
    case 2:
        return "usage error";
    case 3:
        return "bug check";
    case 4:
        return "the verifier found problems at unload";
    case 127:
        return "it could not be executed";
    default:
        return "unexpected exit status";
    }
}

static void child_exec(kb_child *Child, int Out)
{
    if (Child->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(Child->cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0)
            fprintf(stderr, "kmbench: cannot restrict to CPU %d: %s\n", Child->cpu,
                    strerror(errno));
    }
    dup2(Out, STDOUT_FILENO);
    dup2(Out, STDERR_FILENO);
    close(Out);
    char line[64];
    int n = snprintf(line, sizeof(line), "KMBENCH exec_ns=%.0f\n", kb_now_ns());
    if (write(STDOUT_FILENO, line, (size_t)n) != n)
        _exit(127);
    execv(Child->argv[0], (char *const *)Child->argv);
    fprintf(stderr, "kmbench: cannot execute %s: %s\n", Child->argv[0], strerror(errno));
    _exit(127);
}

static void command_line(const kb_child *Child, char *Buf, size_t Len)
{
    size_t used = 0;
    Buf[0] = '\0';
    for (int i = 0; Child->argv[i] && used < Len; i++)
        used += (size_t)snprintf(Buf + used, Len - used, "%s%s", i ? " " : "", Child->argv[i]);
}

int kb_run_child(kb_child *Child, char *Why, size_t WhyLen)
{
    int fds[2];
    char cmd[1024];

    command_line(Child, cmd, sizeof(cmd));
    Child->exec_ns = Child->elapsed_ns = -1;
    if (access(Child->argv[0], X_OK) != 0) {
        snprintf(Why, WhyLen, "%.400s is not an executable file", Child->argv[0]);
        fprintf(stderr, "kmbench: %s\n", Why);
        return 1;
    }
    if (pipe(fds) != 0) {
        snprintf(Why, WhyLen, "pipe: %s", strerror(errno));
        fprintf(stderr, "kmbench: %s\n", Why);
        return 1;
    }
    fflush(stdout);
    double begin = kb_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(Why, WhyLen, "fork: %s", strerror(errno));
        fprintf(stderr, "kmbench: %s\n", Why);
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        child_exec(Child, fds[1]);
    }
    close(fds[1]);

    tail t = {.next = 0, .count = 0};
    char line[1024], buf[4096];
    size_t len = 0;
    double deadline = begin + Child->timeout_s * 1e9;
    int timed_out = 0;
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    for (;;) {
        int left_ms = (int)((deadline - kb_now_ns()) / 1e6);
        if (left_ms <= 0 || poll(&pfd, 1, left_ms) == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        ssize_t n = read(fds[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (c != '\n' && len + 1 < sizeof(line)) {
                line[len++] = c;
                continue;
            }
            line[len] = '\0';
            len = 0;
            if (strncmp(line, "KMBENCH exec_ns=", 16) == 0)
                Child->exec_ns = strtod(line + 16, NULL);
            else if (Child->on_line)
                Child->on_line(Child->ctx, pid, line);
            tail_add(&t, line);
        }
    }
    close(fds[0]);

    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    Child->elapsed_ns = kb_now_ns() - begin;
    if (timed_out)
        snprintf(Why, WhyLen, "%.300s did not finish within %d s and was killed", cmd,
                 Child->timeout_s);
    else if (WIFSIGNALED(status))
        snprintf(Why, WhyLen, "%.300s was killed by signal %d (%s)", cmd, WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WEXITSTATUS(status) != 0)
        snprintf(Why, WhyLen, "%.300s exited with status %d: %s", cmd, WEXITSTATUS(status),
                 exit_meaning(WEXITSTATUS(status)));
    else
        return 0;
    fprintf(stderr, "kmbench: %s\nkmbench: last output:\n", Why);
    tail_print(&t);
    return 1;
}
