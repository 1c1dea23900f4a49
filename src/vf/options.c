/*
 * The verifier's switches: which checks run (VfpFlags) and their names for
 * `kmhost run --verifier=...`. The flags are set once before the driver
 * loads and only read afterwards.
 */
#include "vf/vf.h"

#include <stdio.h>
#include <string.h>

/* The kernel alone runs without the verifier, as Windows does; `kmhost run`
   and `kmhost sc start` switch on VF_DEFAULT or what --verifier asks. */
_Atomic unsigned VfpFlags = 0;

static const struct {
    const char *Name;
    unsigned Flag;
} VfpNames[] = {
    {"irql", VF_IRQL},         {"handles", VF_HANDLES},           {"objects", VF_OBJECTS},
    {"leaks", VF_LEAKS},       {"pending", VF_PENDING},           {"locks", VF_LOCKS},
    {"deadlock", VF_DEADLOCK}, {"special_pool", VF_SPECIAL_POOL}, {"init_waited", VF_INIT_WAITED},
};

static bool VfpLookupName(const char *Name, size_t Len, unsigned *Flag)
{
    static const struct {
        const char *Name;
        unsigned Flags;
    } sets[] = {{"all", VF_ALL}, {"none", 0}, {"default", VF_DEFAULT}};
    for (size_t i = 0; i < KM_ARRAY_SIZE(sets); i++) {
        if (strlen(sets[i].Name) == Len && !strncmp(sets[i].Name, Name, Len)) {
            *Flag = sets[i].Flags;
            return true;
        }
    }
    for (size_t i = 0; i < KM_ARRAY_SIZE(VfpNames); i++) {
        if (strlen(VfpNames[i].Name) == Len && !strncmp(VfpNames[i].Name, Name, Len)) {
            *Flag = VfpNames[i].Flag;
            return true;
        }
    }
    return false;
}

bool VfpParseOptions(const char *Text, unsigned *Flags, char *Why, size_t WhyLen)
{
    unsigned flags = 0;
    const char *p = Text;
    if (!*p) {
        snprintf(Why, WhyLen, "--verifier wants all, none, default or a list of checks");
        return false;
    }
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool remove = len && *p == '-';
        unsigned flag;
        if (remove) {
            p++;
            len--;
        }
        if (!VfpLookupName(p, len, &flag)) {
            char names[256];
            VfpFormatFlags(VF_ALL, names, sizeof(names));
            snprintf(Why, WhyLen,
                     "unknown verifier check '%.*s': the checks are %s (or all, none, "
                     "default)",
                     (int)len, p, names);
            return false;
        }
        if (remove)
            flags &= ~flag;
        else
            flags |= flag;
        p += len;
        if (*p == ',')
            p++;
    }
    *Flags = flags;
    return true;
}

void VfpFormatFlags(unsigned Flags, char *Buf, size_t Len)
{
    size_t used = 0;
    Buf[0] = 0;
    for (size_t i = 0; i < KM_ARRAY_SIZE(VfpNames); i++) {
        if (!(Flags & VfpNames[i].Flag))
            continue;
        int n = snprintf(Buf + used, Len - used, "%s%s", used ? "," : "", VfpNames[i].Name);
        if (n < 0 || (size_t)n >= Len - used)
            return;
        used += (size_t)n;
    }
    if (!used)
        snprintf(Buf, Len, "none");
}
