/*
 * The command's view of the kmhost home: --home DIR, else $KMHOST_HOME, else
 * $XDG_DATA_HOME/kmhost, else ~/.local/share/kmhost. The rules live with the
 * store (src/cm/home.c) so that library code and unit tests share them.
 */
#include "cli/home.h"

#include "cm/cm.h"

void KmSetHome(const char *Dir)
{
    CmSetHome(Dir);
}

const char *KmGetHome(void)
{
    return CmGetHome();
}
