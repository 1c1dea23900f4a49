/*
 * The unit tests' small harness: CHECK counts and reports, KMTEST_DONE ends
 * the program with the closing line "N passed, N failed", kmtest_run_child
 * runs a function that may end the process (a bug check) in a child.
 */
#ifndef KMTEST_H
#define KMTEST_H

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int kmtest_failures, kmtest_checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        kmtest_checks++;                                                                           \
        if (!(cond)) {                                                                             \
            kmtest_failures++;                                                                     \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                 \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

/* Prints the closing line and gives main's exit status. */
static inline int kmtest_done(void)
{
    printf("%d passed, %d failed\n", kmtest_checks - kmtest_failures, kmtest_failures);
    return kmtest_failures != 0;
}
#define KMTEST_DONE() kmtest_done()

/* Runs Fn(Arg) in a child with its standard output and error captured into
   Out (always terminated); a child whose Fn returns ends with _exit(Ret).
   Returns the child's raw wait status, or -1 if no pipe could be made. */
static inline int kmtest_fork(void (*Fn)(void *), void *Arg, int Ret, char *Out, size_t Len)
{
    int fds[2];
    if (pipe(fds))
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        Fn(Arg);
        _exit(Ret);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < Len && (n = read(fds[0], Out + used, Len - 1 - used)) > 0)
        used += (size_t)n;
    Out[used] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

struct kmtest_thunk {
    void (*Fn)(void);
};

static inline void kmtest_call_thunk(void *Thunk)
{
    ((struct kmtest_thunk *)Thunk)->Fn();
    fflush(stdout);
}

/* Runs Fn in a child with its standard output and error captured into Out;
   returns the child's exit status (0 if Fn returns), or 128 + the signal that
   ended it. */
static inline int kmtest_run_child(void (*Fn)(void), char *Out, size_t Len)
{
    struct kmtest_thunk thunk = {Fn};
    int status = kmtest_fork(kmtest_call_thunk, &thunk, 0, Out, Len);
    if (status < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
