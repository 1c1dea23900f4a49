/*
 * The kmhost home directory, which holds registry.db and anything else that
 * outlives one kmhost process.
 *
 * Precedence: CmSetHome (the --home option), then $KMHOST_HOME, then
 * $XDG_DATA_HOME/kmhost, then $HOME/.local/share/kmhost (the XDG default),
 * then /tmp/kmhost-<uid> when there is no HOME. The directory is created on
 * first use with mode 0700, parents included.
 */
#include "cm/cmp.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t CmpHomeLock = PTHREAD_MUTEX_INITIALIZER;
static char CmpHomeSet[PATH_MAX];
static char CmpHome[PATH_MAX];

void CmSetHome(const char *Dir)
{
    pthread_mutex_lock(&CmpHomeLock);
    snprintf(CmpHomeSet, sizeof(CmpHomeSet), "%s", Dir ? Dir : "");
    CmpHome[0] = 0;
    pthread_mutex_unlock(&CmpHomeLock);
}

static void CmpMakeDirs(char *Path)
{
    for (char *p = Path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        mkdir(Path, 0700);
        *p = '/';
    }
    mkdir(Path, 0700);
}

const char *CmGetHome(void)
{
    pthread_mutex_lock(&CmpHomeLock);
    if (!CmpHome[0]) {
        const char *env, *home = getenv("HOME");
        if (CmpHomeSet[0])
            snprintf(CmpHome, sizeof(CmpHome), "%s", CmpHomeSet);
        else if ((env = getenv("KMHOST_HOME")) && *env)
            snprintf(CmpHome, sizeof(CmpHome), "%s", env);
        else if ((env = getenv("XDG_DATA_HOME")) && *env == '/')
            snprintf(CmpHome, sizeof(CmpHome), "%s/kmhost", env);
        else if (home && *home)
            snprintf(CmpHome, sizeof(CmpHome), "%s/.local/share/kmhost", home);
        else
            snprintf(CmpHome, sizeof(CmpHome), "/tmp/kmhost-%u", (unsigned)getuid());
        size_t n = strlen(CmpHome);
        while (n > 1 && CmpHome[n - 1] == '/')
            CmpHome[--n] = 0;
        CmpMakeDirs(CmpHome);
    }
    pthread_mutex_unlock(&CmpHomeLock);
    return CmpHome;
}
