/*
 * NTSTATUS names, from the table CMake generates out of include/nt/ntstatus.h.
 * Several names share a value (STATUS_SUCCESS and STATUS_WAIT_0): the first
 * one in ntstatus.h wins, which is the name Windows' tools print.
 */
#include "km.h"

static const struct {
    NTSTATUS Status;
    const char *Name;
} RtlpStatusNames[] = {
#include "status_names.inc"
};

const char *KmStatusName(NTSTATUS Status)
{
    for (size_t i = 0; i < KM_ARRAY_SIZE(RtlpStatusNames); i++) {
        if (RtlpStatusNames[i].Status == Status)
            return RtlpStatusNames[i].Name;
    }
    return NULL;
}
