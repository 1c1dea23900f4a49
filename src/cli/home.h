/* The kmhost home directory (see src/cm/home.c for the precedence rules). */
#ifndef KM_CLI_HOME_H
#define KM_CLI_HOME_H

/* From the global option --home DIR; call before the verb runs. */
void KmSetHome(const char *Dir);
/* The home in effect, created (0700) if missing; never NULL. */
const char *KmGetHome(void);

#endif
