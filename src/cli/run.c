/*
 * kmhost run [--for SECONDS] DRIVER.sys
 *
 * Loads the driver, calls DriverEntry, keeps it loaded for --for seconds
 * (default 0; SIGINT or SIGTERM end the wait early), calls DriverUnload,
 * checks that nothing of the driver still runs, and exits: 0 clean, 1 not
 * loaded, 2 usage, 3 bug check (the bug check exits by itself).
 */
#include "cli.h"

#include "io/io.h"
#include "ps/ps.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int KmRunUsage(void)
{
    fprintf(stderr, "usage: kmhost run [--for SECONDS] DRIVER.sys\n");
    return KM_EXIT_USAGE;
}

/* Wait up to Seconds, or until SIGINT/SIGTERM (blocked in every thread). */
static void KmStayLoaded(double Seconds, const sigset_t *Stop)
{
    if (Seconds <= 0)
        return;
    struct timespec ts = {(time_t)Seconds, (long)((Seconds - (double)(time_t)Seconds) * 1e9)};
    int sig = sigtimedwait(Stop, NULL, &ts);
    if (sig > 0)
        printf("kmhost: %s received: unloading\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
}

int KmCliRun(int argc, char **argv)
{
    double seconds = 0;
    const char *path = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--for")) {
            char *end;
            if (i + 1 >= argc)
                return KmRunUsage();
            errno = 0;
            seconds = strtod(argv[++i], &end);
            if (errno || *end || seconds < 0 || seconds > 1e7) {
                fprintf(stderr, "kmhost run: --for wants a number of seconds, not '%s'\n",
                        argv[i]);
                return KM_EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "kmhost run: unknown option %s\n", argv[i]);
            return KmRunUsage();
        } else if (!path) {
            path = argv[i];
        } else {
            return KmRunUsage();
        }
    }
    if (!path)
        return KmRunUsage();

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    PsInitSystem();
    char why[4096];
    KM_DRIVER *drv;
    NTSTATUS status = IoLoadDriver(path, NULL, &drv, why, sizeof(why));
    if (!NT_SUCCESS(status)) {
        const char *name = KmStatusName(status);
        fflush(stdout);
        fprintf(stderr, "kmhost: %s did not load: %s (0x%08X): %s\n", path,
                name ? name : "NTSTATUS", (unsigned)status, why);
        return KM_EXIT_LOAD_FAILED;
    }
    KmStayLoaded(seconds, &stop);
    if (!IoUnloadDriver(drv)) {
        printf("kmhost: the driver set no DriverUnload routine, so it cannot be unloaded (as "
               "on Windows); stopping without unloading\n");
        return KM_EXIT_OK;
    }
    fflush(stdout);
    return KM_EXIT_OK;
}
