/*
 * kmhost: run Windows x64 kernel drivers on Linux.
 *
 *   kmhost [--home DIR] run [options] DRIVER.sys
 *   kmhost [--home DIR] sc|reg|bcdedit|certutil ...   (syntax of the Windows tools)
 *
 * Exit statuses are a contract (DESIGN.md section 5, cli.h).
 */
#include "cli.h"
#include "cm/cm.h"
#include "home.h"
#include "vf/vf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void KmUsage(FILE *f)
{
    fprintf(f, "usage: kmhost [--home DIR] VERB ...\n"
               "  run [--for SECONDS] [--verifier=LIST] [--stats] DRIVER.sys\n"
               "                                     load, run and unload a driver\n"
               "  run [--for SECONDS] SERVICE        start a configured service by name\n"
               "  sc create|config|qc|query|start|stop|delete ...   as sc.exe\n"
               "  reg query|add|delete|import|export ...             as reg.exe\n"
               "  bcdedit [/enum] | -set TESTSIGNING ON|OFF ...      as bcdedit.exe\n"
               "  certutil -addstore root CERT.pem                   trust a root\n"
               "  verifier /standard | /flags F /driver NAME | /querysettings | /reset\n"
               "The home directory (registry, settings, trusted roots) is --home, else\n"
               "$KMHOST_HOME, else ~/.local/share/kmhost.\n");
}

/* The administration commands make their changes reach the disk before
   they return, as an administrator expects of reg.exe and sc.exe. */
static int KmFlushed(int ExitStatus)
{
    CM_STORE *store;
    if (NT_SUCCESS(CmStoreDefault(&store)))
        CmStoreFlush(store);
    return ExitStatus;
}

int main(int argc, char **argv)
{
    /* A write past a file size limit (ulimit -f) fails with EFBIG, reported
       like a full disk (src/cm/store.c), instead of killing kmhost. */
    signal(SIGXFSZ, SIG_IGN);
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp(argv[i], "--home") && i + 1 < argc) {
            KmSetHome(argv[i + 1]);
            i += 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            KmUsage(stdout);
            return KM_EXIT_OK;
        } else {
            fprintf(stderr, "kmhost: unknown option %s\n", argv[i]);
            KmUsage(stderr);
            return KM_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        KmUsage(stderr);
        return KM_EXIT_USAGE;
    }
    const char *verb = argv[i];
    int vargc = argc - i;
    char **vargv = argv + i;
    if (!strcmp(verb, "run"))
        return KmCliRun(vargc, vargv);
    if (!strcasecmp(verb, "reg"))
        return KmFlushed(KmCliReg(vargc, vargv));
    if (!strcasecmp(verb, "sc"))
        return KmFlushed(KmCliSc(vargc, vargv));
    if (!strcasecmp(verb, "bcdedit"))
        return KmFlushed(KmCliBcdedit(vargc, vargv));
    if (!strcasecmp(verb, "verifier"))
        return KmFlushed(VfpCliVerifier(vargc, vargv));
    if (!strcasecmp(verb, "certutil"))
        return KmCliCertutil(vargc, vargv);
    fprintf(stderr, "kmhost: unknown verb '%s'\n", verb);
    KmUsage(stderr);
    return KM_EXIT_USAGE;
}
