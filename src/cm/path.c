/*
 * Key path forms: the NT form the store uses ("\Registry\Machine\...") and
 * the root names of reg.exe and .reg files (HKLM, HKEY_LOCAL_MACHINE, HKU,
 * HKEY_USERS). kmhost has no logged-on user, so HKCU, HKCR and HKCC (views
 * that Windows builds per session) are refused with a reason.
 */
#include "cm/cmp.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *Name;
    const char *NtPath; /* NULL: not available in kmhost */
} CmpRoots[] = {
    {"HKLM", "\\Registry\\Machine"},
    {"HKEY_LOCAL_MACHINE", "\\Registry\\Machine"},
    {"HKU", "\\Registry\\User"},
    {"HKEY_USERS", "\\Registry\\User"},
    {"HKCU", NULL},
    {"HKEY_CURRENT_USER", NULL},
    {"HKCR", NULL},
    {"HKEY_CLASSES_ROOT", NULL},
    {"HKCC", NULL},
    {"HKEY_CURRENT_CONFIG", NULL},
};

NTSTATUS CmNormalizeKeyPath(const char *Path, char *NtPath, size_t Len)
{
    const char *rest;
    const char *prefix = "";
    if (Path[0] == '\\') {
        rest = Path;
    } else {
        size_t n = strcspn(Path, "\\");
        size_t i;
        for (i = 0; i < KM_ARRAY_SIZE(CmpRoots); i++)
            if (strlen(CmpRoots[i].Name) == n && strncasecmp(Path, CmpRoots[i].Name, n) == 0)
                break;
        if (i == KM_ARRAY_SIZE(CmpRoots)) {
            CmpSetError("\"%.*s\" is not a registry root; use HKLM (HKEY_LOCAL_MACHINE)", (int)n,
                        Path);
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        }
        if (!CmpRoots[i].NtPath) {
            CmpSetError("kmhost has no %s (no user session): use HKLM (HKEY_LOCAL_MACHINE)",
                        CmpRoots[i].Name);
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        }
        prefix = CmpRoots[i].NtPath;
        rest = Path + n;
    }
    size_t rlen = strlen(rest);
    while (rlen > 1 && rest[rlen - 1] == '\\')
        rlen--;
    if (rlen == 1 && rest[0] == '\\' && prefix[0])
        rlen = 0;
    int n = snprintf(NtPath, Len, "%s%.*s", prefix, (int)rlen, rest);
    if (n < 0 || (size_t)n >= Len) {
        CmpSetError("registry path too long");
        return STATUS_NAME_TOO_LONG;
    }
    return STATUS_SUCCESS;
}

void CmDisplayKeyPath(const char *NtPath, char *Buf, size_t Len)
{
    static const struct {
        const char *Nt, *Display;
    } map[] = {{"\\Registry\\Machine", "HKEY_LOCAL_MACHINE"}, {"\\Registry\\User", "HKEY_USERS"}};
    for (size_t i = 0; i < KM_ARRAY_SIZE(map); i++) {
        size_t n = strlen(map[i].Nt);
        if (strncasecmp(NtPath, map[i].Nt, n) == 0 && (NtPath[n] == 0 || NtPath[n] == '\\')) {
            snprintf(Buf, Len, "%s%s", map[i].Display, NtPath + n);
            return;
        }
    }
    snprintf(Buf, Len, "%s", NtPath);
}
