/* The kmhost command's verbs. Each returns the process exit status. */
#ifndef KM_CLI_H
#define KM_CLI_H

int KmCliRun(int argc, char **argv);      /* run.c */
int KmCliReg(int argc, char **argv);      /* reg.c */
int KmCliSc(int argc, char **argv);       /* sc.c */
int KmCliBcdedit(int argc, char **argv);  /* bcdedit.c */
int KmCliCertutil(int argc, char **argv); /* certutil.c */

/* Exit statuses (DESIGN.md section 5). */
enum {
    KM_EXIT_OK = 0,
    KM_EXIT_LOAD_FAILED = 1,
    KM_EXIT_USAGE = 2,
    KM_EXIT_BUGCHECK = 3,
    KM_EXIT_VERIFIER = 4,
};

#endif
