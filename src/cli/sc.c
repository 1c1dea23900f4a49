/*
 * kmhost sc: sc.exe's create, config, qc, query, delete, start and stop for
 * driver services, on the kmhost registry.
 *
 * Syntax is sc.exe's: "kmhost sc create NAME binPath= PATH start= demand",
 * option names case-insensitive, each "name=" a word of its own followed by
 * its value ("name=value" in one word is accepted too). Keys and values are
 * Windows' (see src/cm/services.h). Output and messages are sc.exe's,
 * including the Win32 error numbers in failures ("[SC] OpenService FAILED
 * 1060:"); the exit status is 0 on success, 1 on such a failure, 2 on bad
 * syntax (kmhost's usage status; sc.exe would return the Win32 error).
 *
 * kmhost differences, on purpose:
 * - services are drivers: type= defaults to kernel (sc.exe's default, own,
 *   is a user-mode service that kmhost cannot run); type= kernel | filesys.
 * - ImagePath holds a Linux path, made absolute at create/config time from
 *   the current directory (realpath when the file exists). A Windows form
 *   (\??\C:\..., \SystemRoot\..., system32\drivers\x.sys, C:\...) is stored
 *   as given.
 * - sc start runs the driver in this process (KmServiceStart) until
 *   --for SECONDS pass or SIGINT/SIGTERM; sc stop ends that process.
 * - sc delete of a running service deletes the key at once; the running
 *   process keeps its driver until it stops.
 */
#include "cli/cli.h"
#include "cm/services.h"
#include "km.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum {
    SCP_ERROR_INVALID_PARAMETER = 87,
    SCP_ERROR_INVALID_NAME = 123,
    SCP_ERROR_SERVICE_REQUEST_TIMEOUT = 1053,
    SCP_ERROR_SERVICE_ALREADY_RUNNING = 1056,
    SCP_ERROR_SERVICE_DISABLED = 1058,
    SCP_ERROR_SERVICE_DOES_NOT_EXIST = 1060,
    SCP_ERROR_SERVICE_NOT_ACTIVE = 1062,
    SCP_ERROR_SERVICE_EXISTS = 1073,
};

static const char *ScpErrorText(int Code)
{
    switch (Code) {
    case SCP_ERROR_INVALID_PARAMETER:
        return "The parameter is incorrect.";
    case SCP_ERROR_INVALID_NAME:
        return "The filename, directory name, or volume label syntax is incorrect.";
    case SCP_ERROR_SERVICE_REQUEST_TIMEOUT:
        return "The service did not respond to the start or control request in a timely "
               "fashion.";
    case SCP_ERROR_SERVICE_ALREADY_RUNNING:
        return "An instance of the service is already running.";
    case SCP_ERROR_SERVICE_DISABLED:
        return "The service cannot be started, either because it is disabled or because it "
               "has no enabled devices associated with it.";
    case SCP_ERROR_SERVICE_DOES_NOT_EXIST:
        return "The specified service does not exist as an installed service.";
    case SCP_ERROR_SERVICE_NOT_ACTIVE:
        return "The service has not been started.";
    case SCP_ERROR_SERVICE_EXISTS:
        return "The specified service already exists.";
    default:
        return "The registry operation failed.";
    }
}

static int ScpFail(const char *Api, int Code, const char *Detail)
{
    printf("[SC] %s FAILED %d:\n\n%s\n", Api, Code, ScpErrorText(Code));
    if (Detail && *Detail)
        fprintf(stderr, "kmhost: %s\n", Detail);
    return 1;
}

static int ScpStoreFail(const char *Api, NTSTATUS Status)
{
    const char *name = KmStatusName(Status);
    printf("[SC] %s FAILED 1015:\n\nThe registry is corrupted.\n", Api);
    fprintf(stderr, "kmhost: %s (%s)\n", CmLastError(), name ? name : "?");
    return 1;
}

static int ScpUsage(const char *Why)
{
    if (Why)
        fprintf(stderr, "kmhost sc: %s\n", Why);
    fprintf(stderr, "usage: kmhost sc create NAME binPath= PATH [type= kernel|filesys]\n"
                    "                 [start= boot|system|auto|demand|disabled]\n"
                    "                 [error= ignore|normal|severe|critical] [group= G]\n"
                    "                 [depend= A/B] [DisplayName= TEXT]\n"
                    "       kmhost sc config NAME [the same options]\n"
                    "       kmhost sc qc NAME | query [NAME] | delete NAME\n"
                    "       kmhost sc start NAME [--for SECONDS] | stop NAME\n");
    return KM_EXIT_USAGE;
}

typedef struct SCP_OPTS {
    const char *BinPath, *Type, *Start, *Error, *DisplayName, *Group, *Depend, *Tag;
} SCP_OPTS;

/* Parses "name= value" pairs from argv[First]. Returns 0, or prints usage. */
static int ScpParseOptions(int argc, char **argv, int First, SCP_OPTS *O)
{
    static const struct {
        const char *Name;
        size_t Offset;
    } opts[] = {
        {"binpath", offsetof(SCP_OPTS, BinPath)},
        {"type", offsetof(SCP_OPTS, Type)},
        {"start", offsetof(SCP_OPTS, Start)},
        {"error", offsetof(SCP_OPTS, Error)},
        {"displayname", offsetof(SCP_OPTS, DisplayName)},
        {"group", offsetof(SCP_OPTS, Group)},
        {"depend", offsetof(SCP_OPTS, Depend)},
        {"tag", offsetof(SCP_OPTS, Tag)},
    };
    memset(O, 0, sizeof(*O));
    for (int i = First; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq)
            return ScpUsage("options are written \"name= value\" (with the space after '=')");
        size_t n = (size_t)(eq - argv[i]);
        size_t k;
        for (k = 0; k < KM_ARRAY_SIZE(opts); k++)
            if (strlen(opts[k].Name) == n && strncasecmp(argv[i], opts[k].Name, n) == 0)
                break;
        if (k == KM_ARRAY_SIZE(opts)) {
            char why[256];
            snprintf(why, sizeof(why), "unknown option \"%.*s=\"", (int)n, argv[i]);
            return ScpUsage(why);
        }
        const char *value = eq + 1;
        if (!*value) {
            if (i + 1 >= argc)
                return ScpUsage("an option is missing its value");
            value = argv[++i];
        }
        *(const char **)((char *)O + opts[k].Offset) = value;
    }
    return 0;
}

static int ScpLookup(const char *Text, const char *const *Names, size_t Count, ULONG *Value)
{
    for (size_t i = 0; i < Count; i++)
        if (Names[i] && strcasecmp(Text, Names[i]) == 0) {
            *Value = (ULONG)i;
            return 0;
        }
    return -1;
}

static const char *const ScpStartNames[] = {"boot", "system", "auto", "demand", "disabled"};
static const char *const ScpStartShow[] = {"BOOT_START", "SYSTEM_START", "AUTO_START",
                                           "DEMAND_START", "DISABLED"};
static const char *const ScpErrorNames[] = {"ignore", "normal", "severe", "critical"};
static const char *const ScpErrorShow[] = {"IGNORE", "NORMAL", "SEVERE", "CRITICAL"};
static const char *const ScpTypeNames[] = {NULL, "kernel", "filesys"};

static int ScpIsWindowsPath(const char *P)
{
    return P[0] == '\\' || (P[0] && P[1] == ':') || strncasecmp(P, "system32\\", 9) == 0;
}

/* ImagePath for PATH as given to binPath= (see the header comment). */
static int ScpImagePath(const char *Given, char *Out, size_t Len)
{
    if (!*Given)
        return -1;
    if (ScpIsWindowsPath(Given)) {
        snprintf(Out, Len, "%s", Given);
        return 0;
    }
    char resolved[PATH_MAX];
    if (realpath(Given, resolved)) {
        snprintf(Out, Len, "%s", resolved);
        return 0;
    }
    if (Given[0] == '/') {
        snprintf(Out, Len, "%s", Given);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return -1;
    snprintf(Out, Len, "%s/%s", cwd, Given);
    return 0;
}

/* Applies O to the service key; Create sets every value, with defaults. */
static int ScpApply(const char *Api, CM_STORE *Store, CM_KEY_ID Key, const char *Name,
                    const SCP_OPTS *O, int Create)
{
    ULONG type = SERVICE_KERNEL_DRIVER, start = SERVICE_DEMAND_START, error = SERVICE_ERROR_NORMAL;
    if (O->Type && ScpLookup(O->Type, ScpTypeNames, 3, &type) < 0)
        return ScpFail(Api, SCP_ERROR_INVALID_PARAMETER,
                       "kmhost services are drivers: type= kernel or type= filesys");
    if (O->Start && ScpLookup(O->Start, ScpStartNames, 5, &start) < 0)
        return ScpFail(Api, SCP_ERROR_INVALID_PARAMETER,
                       "start= takes boot, system, auto, demand or disabled");
    if (O->Error && ScpLookup(O->Error, ScpErrorNames, 4, &error) < 0)
        return ScpFail(Api, SCP_ERROR_INVALID_PARAMETER,
                       "error= takes ignore, normal, severe or critical");
    if (O->Tag && strcasecmp(O->Tag, "no") != 0)
        return ScpFail(Api, SCP_ERROR_INVALID_PARAMETER, "kmhost does not assign tags: tag= no");
    char image[PATH_MAX + 64];
    if (O->BinPath && ScpImagePath(O->BinPath, image, sizeof(image)) < 0)
        return ScpFail(Api, SCP_ERROR_INVALID_PARAMETER, "binPath= needs a file name");
    NTSTATUS s = STATUS_SUCCESS;
    if (Create || O->Type)
        s = CmSetValueDword(Store, Key, "Type", type);
    if (NT_SUCCESS(s) && (Create || O->Start))
        s = CmSetValueDword(Store, Key, "Start", start);
    if (NT_SUCCESS(s) && (Create || O->Error))
        s = CmSetValueDword(Store, Key, "ErrorControl", error);
    if (NT_SUCCESS(s) && O->BinPath)
        s = CmSetValueString(Store, Key, "ImagePath", REG_EXPAND_SZ, image);
    if (NT_SUCCESS(s) && (Create || O->DisplayName))
        s = CmSetValueString(Store, Key, "DisplayName", REG_SZ,
                             O->DisplayName ? O->DisplayName : Name);
    if (NT_SUCCESS(s) && O->Group) {
        s = O->Group[0] ? CmSetValueString(Store, Key, "Group", REG_SZ, O->Group)
                        : CmDeleteValue(Store, Key, "Group");
        if (s == STATUS_OBJECT_NAME_NOT_FOUND)
            s = STATUS_SUCCESS;
    }
    if (NT_SUCCESS(s) && O->Depend) {
        /* "a/b" -> REG_MULTI_SZ "a\0b\0\0" */
        size_t n = strlen(O->Depend);
        uint8_t *data = calloc(n + 2, 4);
        size_t len = 0;
        const char *p = O->Depend;
        while (data && *p) {
            size_t k = strcspn(p, "/");
            char *part = strndup(p, k);
            long units = part ? CmUtf8ToUtf16(part, (uint16_t *)(data + len), n + 1) : -1;
            free(part);
            if (units < 0)
                break;
            if (units)
                len += (size_t)(units + 1) * 2;
            p += k;
            if (*p)
                p++;
        }
        if (data) {
            data[len] = data[len + 1] = 0;
            len += 2;
            s = n ? CmSetValue(Store, Key, "DependOnService", REG_MULTI_SZ, data, (ULONG)len)
                  : CmDeleteValue(Store, Key, "DependOnService");
            if (s == STATUS_OBJECT_NAME_NOT_FOUND)
                s = STATUS_SUCCESS;
        }
        free(data);
    }
    return NT_SUCCESS(s) ? 0 : ScpStoreFail(Api, s);
}

static int ScpCheckName(const char *Api, const char *Name)
{
    if (!Name[0] || strlen(Name) > 256 || strchr(Name, '\\') || strchr(Name, '/'))
        return ScpFail(Api, SCP_ERROR_INVALID_NAME,
                       "a service name has 1 to 256 characters, "
                       "without '/' or '\\'");
    return 0;
}

/* Opens the service key; prints sc's OpenService failure if there is none. */
static int ScpOpen(const char *Name, CM_STORE **Store, CM_KEY_ID *Key)
{
    if (ScpCheckName("OpenService", Name))
        return 1;
    NTSTATUS s = CmStoreDefault(Store);
    if (!NT_SUCCESS(s))
        return ScpStoreFail("OpenSCManager", s);
    char path[1024];
    CmServiceKeyPath(Name, path, sizeof(path));
    s = CmOpenKey(*Store, 0, path, Key);
    if (s == STATUS_OBJECT_NAME_NOT_FOUND)
        return ScpFail("OpenService", SCP_ERROR_SERVICE_DOES_NOT_EXIST, NULL);
    return NT_SUCCESS(s) ? 0 : ScpStoreFail("OpenService", s);
}

static int ScpCreate(int argc, char **argv)
{
    if (argc < 3)
        return ScpUsage("create needs a service name");
    const char *name = argv[2];
    SCP_OPTS o;
    if (ScpParseOptions(argc, argv, 3, &o))
        return KM_EXIT_USAGE;
    if (!o.BinPath)
        return ScpUsage("create needs binPath= PATH");
    if (ScpCheckName("CreateService", name))
        return 1;
    CM_STORE *store;
    CM_KEY_ID key;
    ULONG disp = 0;
    NTSTATUS s = CmStoreDefault(&store);
    if (!NT_SUCCESS(s))
        return ScpStoreFail("OpenSCManager", s);
    char path[1024];
    CmServiceKeyPath(name, path, sizeof(path));
    /* The key is created only if it does not exist: an existing service,
       under any case of its name, is an error. */
    s = CmCreateKey(store, 0, path, CM_CREATE_INTERMEDIATE, &key, &disp);
    if (!NT_SUCCESS(s))
        return ScpStoreFail("CreateService", s);
    if (disp == REG_OPENED_EXISTING_KEY) {
        CM_VALUE v;
        if (NT_SUCCESS(CmQueryValue(store, key, "Type", &v))) {
            CmFreeValue(&v);
            return ScpFail("CreateService", SCP_ERROR_SERVICE_EXISTS, NULL);
        }
    }
    int rc = ScpApply("CreateService", store, key, name, &o, 1);
    if (rc) {
        if (disp == REG_CREATED_NEW_KEY)
            CmDeleteKeyTree(store, key);
        return rc;
    }
    printf("[SC] CreateService SUCCESS\n");
    return 0;
}

static int ScpConfig(int argc, char **argv)
{
    if (argc < 3)
        return ScpUsage("config needs a service name");
    SCP_OPTS o;
    if (ScpParseOptions(argc, argv, 3, &o))
        return KM_EXIT_USAGE;
    CM_STORE *store;
    CM_KEY_ID key;
    if (ScpOpen(argv[2], &store, &key))
        return 1;
    int rc = ScpApply("ChangeServiceConfig", store, key, argv[2], &o, 0);
    if (!rc)
        printf("[SC] ChangeServiceConfig SUCCESS\n");
    return rc;
}

static const char *ScpTypeShow(ULONG Type)
{
    return Type == SERVICE_KERNEL_DRIVER        ? "KERNEL_DRIVER"
           : Type == SERVICE_FILE_SYSTEM_DRIVER ? "FILE_SYSTEM_DRIVER"
                                                : "";
}

static int ScpQc(int argc, char **argv)
{
    if (argc != 3)
        return ScpUsage("qc takes one service name");
    CM_STORE *store;
    CM_KEY_ID key;
    if (ScpOpen(argv[2], &store, &key))
        return 1;
    ULONG type = 0, start = 0, error = 0, tag = 0;
    char image[PATH_MAX + 64] = "", group[256] = "", display[1024] = "";
    CmQueryValueDword(store, key, "Type", &type);
    CmQueryValueDword(store, key, "Start", &start);
    CmQueryValueDword(store, key, "ErrorControl", &error);
    CmQueryValueDword(store, key, "Tag", &tag);
    CmQueryValueString(store, key, "ImagePath", image, sizeof(image));
    CmQueryValueString(store, key, "Group", group, sizeof(group));
    if (!NT_SUCCESS(CmQueryValueString(store, key, "DisplayName", display, sizeof(display))))
        snprintf(display, sizeof(display), "%s", argv[2]);
    printf("[SC] QueryServiceConfig SUCCESS\n\n");
    printf("SERVICE_NAME: %s\n", argv[2]);
    printf("        TYPE               : %-2x %s\n", (unsigned)type, ScpTypeShow(type));
    printf("        START_TYPE         : %-3u %s\n", (unsigned)start,
           start < 5 ? ScpStartShow[start] : "");
    printf("        ERROR_CONTROL      : %-3u %s\n", (unsigned)error,
           error < 4 ? ScpErrorShow[error] : "");
    printf("        BINARY_PATH_NAME   : %s\n", image);
    printf("        LOAD_ORDER_GROUP   : %s\n", group);
    printf("        TAG                : %u\n", (unsigned)tag);
    printf("        DISPLAY_NAME       : %s\n", display);
    printf("        DEPENDENCIES       :");
    CM_VALUE v;
    if (NT_SUCCESS(CmQueryValue(store, key, "DependOnService", &v))) {
        if (v.Type == REG_MULTI_SZ) {
            /* one dependency per line, as sc qc prints them */
            size_t units = v.DataLength / 2, start16 = 0;
            int first = 1;
            for (size_t i = 0; i < units; i++) {
                if (v.Data[2 * i] | v.Data[2 * i + 1])
                    continue;
                if (i > start16) {
                    uint16_t w[512];
                    size_t n = i - start16 < 511 ? i - start16 : 511;
                    for (size_t j = 0; j < n; j++)
                        w[j] = (uint16_t)(v.Data[2 * (start16 + j)] | v.Data[2 * (start16 + j) + 1]
                                                                          << 8);
                    char dep[1024];
                    if (CmUtf16ToUtf8(w, n, dep, sizeof(dep)) >= 0)
                        printf(first ? " %s\n" : "                           : %s\n", dep);
                    first = 0;
                }
                start16 = i + 1;
            }
            if (first)
                printf("\n");
        } else {
            printf("\n");
        }
        CmFreeValue(&v);
    } else {
        printf("\n");
    }
    printf("        SERVICE_START_NAME : \n");
    return 0;
}

static void ScpPrintStatus(const char *Name, ULONG Type, ULONG State)
{
    static const char *const states[] = {"", "STOPPED", "START_PENDING", "STOP_PENDING", "RUNNING"};
    printf("\nSERVICE_NAME: %s\n", Name);
    printf("        TYPE               : %-2x %s\n", (unsigned)Type, ScpTypeShow(Type));
    printf("        STATE              : %-2u %s\n", (unsigned)State,
           State < 5 ? states[State] : "");
    printf("                                (%s, NOT_PAUSABLE, IGNORES_SHUTDOWN)\n",
           State == SERVICE_RUNNING ? "STOPPABLE" : "NOT_STOPPABLE");
    printf("        WIN32_EXIT_CODE    : 0  (0x0)\n");
    printf("        SERVICE_EXIT_CODE  : 0  (0x0)\n");
    printf("        CHECKPOINT         : 0x0\n");
    printf("        WAIT_HINT          : 0x0\n");
}

static int ScpQueryOne(const char *Name)
{
    CM_STORE *store;
    CM_KEY_ID key;
    if (ScpOpen(Name, &store, &key))
        return 1;
    ULONG type = 0, state;
    CmQueryValueDword(store, key, "Type", &type);
    NTSTATUS s = CmServiceQueryState(Name, &state, NULL);
    if (!NT_SUCCESS(s))
        return ScpStoreFail("QueryServiceStatus", s);
    ScpPrintStatus(Name, type, state);
    return 0;
}

static int ScpQuery(int argc, char **argv)
{
    /* sc query [NAME] [type= driver] [state= all|inactive] */
    const char *name = NULL, *state = "active";
    for (int i = 2; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) {
            if (name)
                return ScpUsage("query takes one service name");
            name = argv[i];
            continue;
        }
        const char *value = eq[1] ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value)
            return ScpUsage("an option is missing its value");
        if (strncasecmp(argv[i - (eq[1] ? 0 : 1)], "state=", 6) == 0)
            state = value;
        else if (strncasecmp(argv[i - (eq[1] ? 0 : 1)], "type=", 5) != 0)
            return ScpUsage("query takes type= and state=");
    }
    if (name)
        return ScpQueryOne(name);
    if (strcasecmp(state, "active") && strcasecmp(state, "inactive") && strcasecmp(state, "all"))
        return ScpUsage("state= takes active, inactive or all");
    CM_SERVICE_INFO *list;
    size_t count;
    NTSTATUS s = CmEnumerateServices(SERVICE_DISABLED, &list, &count);
    if (!NT_SUCCESS(s))
        return ScpStoreFail("EnumServicesStatus", s);
    for (size_t i = 0; i < count; i++) {
        ULONG st = SERVICE_STOPPED;
        CmServiceQueryState(list[i].Name, &st, NULL);
        int running = st == SERVICE_RUNNING;
        if (!strcasecmp(state, "all") || (running == !strcasecmp(state, "active")))
            ScpPrintStatus(list[i].Name, list[i].Type, st);
    }
    free(list);
    return 0;
}

static int ScpDelete(int argc, char **argv)
{
    if (argc != 3)
        return ScpUsage("delete takes one service name");
    CM_STORE *store;
    CM_KEY_ID key;
    if (ScpOpen(argv[2], &store, &key))
        return 1;
    NTSTATUS s = CmDeleteKeyTree(store, key);
    if (!NT_SUCCESS(s))
        return ScpStoreFail("DeleteService", s);
    printf("[SC] DeleteService SUCCESS\n");
    return 0;
}

static int ScpStart(int argc, char **argv)
{
    if (argc < 3)
        return ScpUsage("start needs a service name");
    double seconds = 0;
    for (int i = 3; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], &end);
            if (*end || seconds < 0)
                return ScpUsage("--for takes a number of seconds");
        } else {
            return ScpUsage("start takes NAME [--for SECONDS] (driver services take no "
                            "arguments; put parameters under the service's Parameters key)");
        }
    }
    CM_STORE *store;
    CM_KEY_ID key;
    if (ScpOpen(argv[2], &store, &key))
        return 1;
    ULONG start = SERVICE_DEMAND_START, state;
    CmQueryValueDword(store, key, "Start", &start);
    if (start == SERVICE_DISABLED)
        return ScpFail("StartService", SCP_ERROR_SERVICE_DISABLED, NULL);
    if (NT_SUCCESS(CmServiceQueryState(argv[2], &state, NULL)) && state == SERVICE_RUNNING)
        return ScpFail("StartService", SCP_ERROR_SERVICE_ALREADY_RUNNING, NULL);
    return KmServiceStart(argv[2], seconds);
}

static int ScpStop(int argc, char **argv)
{
    if (argc != 3)
        return ScpUsage("stop takes one service name");
    CM_STORE *store;
    CM_KEY_ID key;
    if (ScpOpen(argv[2], &store, &key))
        return 1;
    ULONG type = 0, state;
    CmQueryValueDword(store, key, "Type", &type);
    NTSTATUS s = CmServiceQueryState(argv[2], &state, NULL);
    if (!NT_SUCCESS(s))
        return ScpStoreFail("ControlService", s);
    if (state != SERVICE_RUNNING)
        return ScpFail("ControlService", SCP_ERROR_SERVICE_NOT_ACTIVE, NULL);
    /* The running host ends its driver on SIGTERM (DriverUnload, then exit). */
    if (KmServiceStop(argv[2]) != 0)
        return ScpFail("ControlService", SCP_ERROR_SERVICE_REQUEST_TIMEOUT, NULL);
    ScpPrintStatus(argv[2], type, SERVICE_STOPPED);
    return 0;
}

int KmCliSc(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "/?") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        ScpUsage(NULL);
        return argc < 2 ? KM_EXIT_USAGE : 0;
    }
    static const struct {
        const char *Name;
        int (*Run)(int, char **);
    } cmds[] = {
        {"create", ScpCreate}, {"config", ScpConfig}, {"qc", ScpQc},     {"query", ScpQuery},
        {"delete", ScpDelete}, {"start", ScpStart},   {"stop", ScpStop},
    };
    for (size_t i = 0; i < KM_ARRAY_SIZE(cmds); i++)
        if (strcasecmp(argv[1], cmds[i].Name) == 0)
            return cmds[i].Run(argc, argv);
    char why[256];
    snprintf(why, sizeof(why), "unknown command \"%s\"", argv[1]);
    return ScpUsage(why);
}
