/*
 * Services as the registry describes them (see services.h): ImagePath
 * lookup, load-order enumeration, and the running state that kmhost
 * processes share through volatile keys.
 *
 * A running record holds the pid and the process's start time (field 22 of
 * /proc/PID/stat, clock ticks since boot); a record whose pid is gone, or is
 * now another process, means the service stopped without clearing it (the
 * host was killed), and is removed when read.
 */
#include "cm/services.h"
#include "cm/cmp.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void CmServiceKeyPath(const char *Name, char *Buf, size_t Len)
{
    snprintf(Buf, Len, "%s\\%s", CM_SERVICES_KEY, Name);
}

static NTSTATUS CmpOpenService(const char *Name, CM_STORE **Store, CM_KEY_ID *Key)
{
    if (!Name[0] || strchr(Name, '\\') || strchr(Name, '/'))
        return STATUS_OBJECT_NAME_INVALID;
    NTSTATUS s = CmStoreDefault(Store);
    if (!NT_SUCCESS(s))
        return s;
    char path[1024];
    CmServiceKeyPath(Name, path, sizeof(path));
    return CmOpenKey(*Store, 0, path, Key);
}

NTSTATUS CmServiceImagePath(const char *Name, char *Path, size_t Len)
{
    CM_STORE *store;
    CM_KEY_ID key;
    NTSTATUS s = CmpOpenService(Name, &store, &key);
    return NT_SUCCESS(s) ? CmQueryValueString(store, key, "ImagePath", Path, Len) : s;
}

/* Index of Group in ServiceGroupOrder\List (case-insensitive); services of
   unlisted groups sort after every listed group, those without a group last. */
static ULONG CmpGroupRank(CM_STORE *Store, const char *Group)
{
    if (!Group[0])
        return 0xFFFFFFFF;
    CM_KEY_ID key;
    CM_VALUE v;
    ULONG rank = 0xFFFFFFFE;
    if (!NT_SUCCESS(CmOpenKey(Store, 0,
                              "\\Registry\\Machine\\SYSTEM\\CurrentControlSet\\Control\\"
                              "ServiceGroupOrder",
                              &key)) ||
        !NT_SUCCESS(CmQueryValue(Store, key, "List", &v)))
        return rank;
    if (v.Type == REG_MULTI_SZ) {
        ULONG index = 0;
        size_t units = v.DataLength / 2, start = 0;
        for (size_t i = 0; i <= units; i++) {
            uint16_t c = i < units ? (uint16_t)(v.Data[2 * i] | v.Data[2 * i + 1] << 8) : 0;
            if (c)
                continue;
            if (i == start)
                break;
            uint16_t w[512];
            size_t n = i - start < 511 ? i - start : 511;
            for (size_t j = 0; j < n; j++)
                w[j] = (uint16_t)(v.Data[2 * (start + j)] | v.Data[2 * (start + j) + 1] << 8);
            char name[1024];
            if (CmUtf16ToUtf8(w, n, name, sizeof(name)) >= 0 && strcasecmp(name, Group) == 0) {
                rank = index;
                break;
            }
            index++;
            start = i + 1;
        }
    }
    CmFreeValue(&v);
    return rank;
}

typedef struct CMP_SORT {
    CM_SERVICE_INFO Info;
    ULONG Rank, Tag;
} CMP_SORT;

static int CmpCompareServices(const void *A, const void *B)
{
    const CMP_SORT *a = A, *b = B;
    if (a->Info.Start != b->Info.Start)
        return a->Info.Start < b->Info.Start ? -1 : 1;
    if (a->Rank != b->Rank)
        return a->Rank < b->Rank ? -1 : 1;
    if (a->Tag != b->Tag)
        return a->Tag < b->Tag ? -1 : 1;
    return strcasecmp(a->Info.Name, b->Info.Name);
}

NTSTATUS CmEnumerateServices(ULONG MaxStart, CM_SERVICE_INFO **Services, size_t *Count)
{
    *Services = NULL;
    *Count = 0;
    CM_STORE *store;
    CM_KEY_ID root;
    NTSTATUS s = CmStoreDefault(&store);
    if (NT_SUCCESS(s))
        s = CmOpenKey(store, 0, CM_SERVICES_KEY, &root);
    if (!NT_SUCCESS(s))
        return s;
    CMP_SORT *list = NULL;
    size_t n = 0, cap = 0;
    for (ULONG i = 0;; i++) {
        char *name;
        s = CmEnumerateKey(store, root, i, &name, NULL);
        if (s == STATUS_NO_MORE_ENTRIES)
            break;
        if (!NT_SUCCESS(s)) {
            free(list);
            return s;
        }
        CM_KEY_ID key;
        CMP_SORT e;
        memset(&e, 0, sizeof(e));
        snprintf(e.Info.Name, sizeof(e.Info.Name), "%s", name);
        free(name);
        e.Info.Start = e.Info.ErrorControl = 0xFFFFFFFF;
        e.Tag = 0xFFFFFFFF;
        if (!NT_SUCCESS(CmOpenKey(store, root, e.Info.Name, &key)) ||
            !NT_SUCCESS(CmQueryValueDword(store, key, "Type", &e.Info.Type)) ||
            !NT_SUCCESS(CmQueryValueDword(store, key, "Start", &e.Info.Start)))
            continue;
        if ((e.Info.Type != SERVICE_KERNEL_DRIVER && e.Info.Type != SERVICE_FILE_SYSTEM_DRIVER) ||
            e.Info.Start > MaxStart)
            continue;
        CmQueryValueDword(store, key, "ErrorControl", &e.Info.ErrorControl);
        CmQueryValueDword(store, key, "Tag", &e.Tag);
        if (!NT_SUCCESS(
                CmQueryValueString(store, key, "Group", e.Info.Group, sizeof(e.Info.Group))))
            e.Info.Group[0] = 0;
        if (!NT_SUCCESS(CmQueryValueString(store, key, "ImagePath", e.Info.ImagePath,
                                           sizeof(e.Info.ImagePath))))
            e.Info.ImagePath[0] = 0;
        e.Rank = CmpGroupRank(store, e.Info.Group);
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            CMP_SORT *nl = realloc(list, cap * sizeof(*list));
            if (!nl) {
                free(list);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            list = nl;
        }
        list[n++] = e;
    }
    if (n)
        qsort(list, n, sizeof(*list), CmpCompareServices);
    CM_SERVICE_INFO *out = calloc(n ? n : 1, sizeof(*out));
    if (!out) {
        free(list);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = list[i].Info;
    free(list);
    *Services = out;
    *Count = n;
    return STATUS_SUCCESS;
}

/* Start time of Pid in clock ticks since boot, or 0 if there is no such process. */
static ULONGLONG CmpProcessStartTime(pid_t Pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)Pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* comm (field 2) may contain spaces and parentheses: count from the last ')' */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long start = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        if (++field == 22) {
            start = strtoull(tok, NULL, 10);
            break;
        }
    }
    return start;
}

static NTSTATUS CmpOpenRunning(CM_STORE *Store, const char *Name, int Create, CM_KEY_ID *Key)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s\\%s", CM_RUNNING_KEY, Name);
    if (!Create)
        return CmOpenKey(Store, 0, path, Key);
    CM_KEY_ID parent;
    NTSTATUS s = CmCreateKey(Store, 0, "\\Registry\\Machine\\SYSTEM\\kmhost", 0, &parent, NULL);
    if (NT_SUCCESS(s))
        s = CmCreateKey(Store, 0, CM_RUNNING_KEY, REG_OPTION_VOLATILE, &parent, NULL);
    if (NT_SUCCESS(s))
        s = CmCreateKey(Store, 0, path, REG_OPTION_VOLATILE, Key, NULL);
    return s;
}

NTSTATUS CmServiceSetRunning(const char *Name, pid_t Pid)
{
    CM_STORE *store;
    CM_KEY_ID key;
    NTSTATUS s = CmpOpenService(Name, &store, &key);
    if (!NT_SUCCESS(s) || !NT_SUCCESS(s = CmStoreBatchBegin(store))) /* one commit */
        return s;
    s = CmpOpenRunning(store, Name, 1, &key);
    if (NT_SUCCESS(s))
        s = CmSetValueDword(store, key, "Pid", (ULONG)Pid);
    if (NT_SUCCESS(s)) {
        ULONGLONG t = CmpProcessStartTime(Pid);
        s = CmSetValue(store, key, "StartTime", REG_QWORD, &t, sizeof(t));
    }
    return CmStoreBatchEnd(store, s);
}

NTSTATUS CmServiceClearRunning(const char *Name)
{
    CM_STORE *store;
    CM_KEY_ID key;
    NTSTATUS s = CmStoreDefault(&store);
    if (NT_SUCCESS(s))
        s = CmpOpenRunning(store, Name, 0, &key);
    if (s == STATUS_OBJECT_NAME_NOT_FOUND)
        return STATUS_SUCCESS;
    return NT_SUCCESS(s) ? CmDeleteKeyTree(store, key) : s;
}

NTSTATUS CmServiceQueryState(const char *Name, ULONG *State, pid_t *Pid)
{
    CM_STORE *store;
    CM_KEY_ID key;
    *State = SERVICE_STOPPED;
    if (Pid)
        *Pid = 0;
    NTSTATUS s = CmpOpenService(Name, &store, &key);
    if (!NT_SUCCESS(s))
        return s;
    s = CmpOpenRunning(store, Name, 0, &key);
    if (s == STATUS_OBJECT_NAME_NOT_FOUND)
        return STATUS_SUCCESS;
    if (!NT_SUCCESS(s))
        return s;
    ULONG pid = 0;
    CM_VALUE v;
    ULONGLONG recorded = 0;
    if (NT_SUCCESS(CmQueryValueDword(store, key, "Pid", &pid)) &&
        NT_SUCCESS(CmQueryValue(store, key, "StartTime", &v))) {
        if (v.DataLength == 8)
            memcpy(&recorded, v.Data, 8);
        CmFreeValue(&v);
    }
    ULONGLONG now = pid ? CmpProcessStartTime((pid_t)pid) : 0;
    if (pid && now && now == recorded) {
        *State = SERVICE_RUNNING;
        if (Pid)
            *Pid = (pid_t)pid;
        return STATUS_SUCCESS;
    }
    CmDeleteKeyTree(store, key);
    return STATUS_SUCCESS;
}
