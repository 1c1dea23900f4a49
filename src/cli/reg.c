/*
 * kmhost reg: reg.exe's query, add, delete, import and export on the kmhost
 * registry (HKLM, and HKU which is empty; kmhost has no user session, so no
 * HKCU, HKCR or HKCC).
 *
 * Syntax and output follow reg.exe: options are case-insensitive and start
 * with '/' or '-'; values print as "    Name    REG_TYPE    Data"; success
 * prints "The operation completed successfully." and exits 0, a failure
 * prints "ERROR: ..." and exits 1. Differences, on purpose:
 * - bad syntax exits 2 (kmhost's usage-error status), not 1;
 * - where reg.exe asks "(Yes/No)?" (overwriting a value or a file, deleting)
 *   and /f (/y for export) is absent, kmhost asks only when standard input
 *   is a terminal; otherwise (scripts, CI) it refuses and says to use /f.
 */
#include "cli/cli.h"
#include "cm/cm.h"
#include "cm/regfile.h"
#include "km.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define REGP_NOT_FOUND "ERROR: The system was unable to find the specified registry key or value."

typedef struct REGP_ARGS {
    const char *Key, *File;
    const char *Value; /* /v */
    int Ve, Va, S, F, Y;
    const char *Type, *Data, *Sep;
} REGP_ARGS;

static int RegpUsage(const char *Why)
{
    if (Why)
        fprintf(stderr, "ERROR: %s\n", Why);
    else
        fprintf(stderr, "ERROR: Invalid syntax.\n");
    fprintf(stderr, "Type \"kmhost reg /?\" for usage.\n");
    return KM_EXIT_USAGE;
}

static void RegpHelp(void)
{
    printf("kmhost reg OPERATION [parameters]   (the syntax of Windows' reg.exe)\n\n"
           "  reg query  KeyName [/v ValueName | /ve] [/s]\n"
           "  reg add    KeyName [/v ValueName | /ve] [/t Type] [/s Separator] [/d Data] [/f]\n"
           "  reg delete KeyName [/v ValueName | /ve | /va] [/f]\n"
           "  reg import FileName\n"
           "  reg export KeyName FileName [/y]\n\n"
           "KeyName: HKLM\\SubKey or HKEY_LOCAL_MACHINE\\SubKey (or \\Registry\\Machine\\SubKey).\n"
           "Type: REG_SZ (default), REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD,\n"
           "      REG_BINARY, REG_NONE.\n"
           "Without /f (/y), kmhost asks before overwriting or deleting only when standard\n"
           "input is a terminal; otherwise it refuses.\n");
}

static int RegpIsOpt(const char *A, const char *Name)
{
    return (A[0] == '/' || A[0] == '-') && strcasecmp(A + 1, Name) == 0;
}

/* Parses options; positional arguments fill Key then File. -1 on bad syntax. */
static int RegpParse(int argc, char **argv, REGP_ARGS *A, const char *Allowed)
{
    memset(A, 0, sizeof(*A));
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        /* "/tmp/x.reg" is a file name, not an option: only reg.exe's option
           names count as options. */
        int isopt = 0;
        static const char *const known[] = {"v", "ve", "va", "t", "s", "d", "f", "y"};
        for (size_t k = 0; k < KM_ARRAY_SIZE(known); k++)
            isopt |= RegpIsOpt(a, known[k]);
        if (!isopt) {
            if (!A->Key)
                A->Key = a;
            else if (!A->File && strstr(Allowed, "file"))
                A->File = a;
            else
                return -1;
            continue;
        }
        char opt[16];
        snprintf(opt, sizeof(opt), " %s ", a + 1);
        for (char *p = opt; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        if (!strstr(Allowed, opt))
            return -1;
        const char **arg = NULL;
        if (RegpIsOpt(a, "v"))
            arg = &A->Value;
        else if (RegpIsOpt(a, "t"))
            arg = &A->Type;
        else if (RegpIsOpt(a, "d"))
            arg = &A->Data;
        else if (RegpIsOpt(a, "s") && strstr(Allowed, " s= "))
            arg = &A->Sep;
        if (arg) {
            if (*arg || i + 1 >= argc)
                return -1;
            *arg = argv[++i];
            continue;
        }
        int *flag = RegpIsOpt(a, "ve")   ? &A->Ve
                    : RegpIsOpt(a, "va") ? &A->Va
                    : RegpIsOpt(a, "s")  ? &A->S
                    : RegpIsOpt(a, "f")  ? &A->F
                                         : &A->Y;
        if (*flag)
            return -1;
        *flag = 1;
    }
    if (!A->Key || (A->Value && A->Ve) || (A->Va && (A->Value || A->Ve)))
        return -1;
    return 0;
}

/* 1 yes, 0 no; -1 when standard input is not a terminal (no one to ask). */
static int RegpConfirm(const char *Question)
{
    if (!isatty(STDIN_FILENO))
        return -1;
    for (;;) {
        printf("%s (Yes/No)? ", Question);
        fflush(stdout);
        char line[64];
        if (!fgets(line, sizeof(line), stdin))
            return 0;
        if (line[0] == 'y' || line[0] == 'Y')
            return 1;
        if (line[0] == 'n' || line[0] == 'N')
            return 0;
    }
}

static int RegpAsk(const char *Question, const char *Flag)
{
    int r = RegpConfirm(Question);
    if (r < 0) {
        fprintf(stderr,
                "ERROR: %s? Standard input is not a terminal, so kmhost cannot ask: add %s.\n",
                Question, Flag);
        return 1;
    }
    if (r == 0) {
        printf("The operation was cancelled by the user.\n");
        return 1;
    }
    return 0;
}

static int RegpStoreError(NTSTATUS Status)
{
    const char *name = KmStatusName(Status);
    fprintf(stderr, "ERROR: %s", CmLastError()[0] ? CmLastError() : "registry operation failed");
    if (name)
        fprintf(stderr, " (%s)", name);
    fprintf(stderr, "\n");
    return 1;
}

static int RegpOpenStore(CM_STORE **Store)
{
    NTSTATUS s = CmStoreDefault(Store);
    return NT_SUCCESS(s) ? 0 : RegpStoreError(s);
}

static int RegpKeyPath(const char *Key, char *Nt, size_t Len)
{
    NTSTATUS s = CmNormalizeKeyPath(Key, Nt, Len);
    if (!NT_SUCCESS(s)) {
        fprintf(stderr, "ERROR: Invalid key name. %s\n", CmLastError());
        return 1;
    }
    return 0;
}

/* Opens the existing key named Key (reg.exe syntax) in the default store, Nt
   receiving its NT path: 0, or 1 after printing reg.exe's error. */
static int RegpOpenKey(const char *Key, char *Nt, size_t Len, CM_STORE **Store, CM_KEY_ID *Id)
{
    if (RegpKeyPath(Key, Nt, Len) || RegpOpenStore(Store))
        return 1;
    NTSTATUS s = CmOpenKey(*Store, 0, Nt, Id);
    if (s == STATUS_OBJECT_NAME_NOT_FOUND) {
        fprintf(stderr, "%s\n", REGP_NOT_FOUND);
        return 1;
    }
    return NT_SUCCESS(s) ? 0 : RegpStoreError(s);
}

/* ---- query ---- */

static void RegpPrintValue(const CM_VALUE *V)
{
    char *data = CmFormatValueData(V);
    const char *type = CmValueTypeName(V->Type);
    char num[32];
    if (!type) {
        snprintf(num, sizeof(num), "0x%x", (unsigned)V->Type);
        type = num;
    }
    printf("    %s    %s    %s\n", V->Name[0] ? V->Name : "(Default)", type, data ? data : "");
    free(data);
}

static int RegpQueryKey(CM_STORE *Store, CM_KEY_ID Key, const char *Display, const REGP_ARGS *A,
                        unsigned *Matches)
{
    NTSTATUS s;
    if (A->Value || A->Ve) {
        CM_VALUE v;
        s = CmQueryValue(Store, Key, A->Ve ? "" : A->Value, &v);
        if (NT_SUCCESS(s)) {
            printf("%s\n", Display);
            RegpPrintValue(&v);
            printf("\n");
            CmFreeValue(&v);
            ++*Matches;
        } else if (s != STATUS_OBJECT_NAME_NOT_FOUND) {
            return RegpStoreError(s);
        }
    } else {
        printf("%s\n", Display);
        for (ULONG i = 0;; i++) {
            CM_VALUE v;
            s = CmEnumerateValue(Store, Key, i, &v);
            if (s == STATUS_NO_MORE_ENTRIES)
                break;
            if (!NT_SUCCESS(s))
                return RegpStoreError(s);
            RegpPrintValue(&v);
            CmFreeValue(&v);
        }
        printf("\n");
    }
    for (ULONG i = 0;; i++) {
        char *name;
        s = CmEnumerateKey(Store, Key, i, &name, NULL);
        if (s == STATUS_NO_MORE_ENTRIES)
            break;
        if (!NT_SUCCESS(s))
            return RegpStoreError(s);
        char *sub = NULL;
        if (asprintf(&sub, "%s\\%s", Display, name) < 0) {
            free(name);
            return 1;
        }
        int rc = 0;
        if (A->S) {
            CM_KEY_ID child;
            s = CmOpenKey(Store, Key, name, &child);
            rc = NT_SUCCESS(s) ? RegpQueryKey(Store, child, sub, A, Matches) : RegpStoreError(s);
        } else if (!A->Value && !A->Ve) {
            printf("%s\n", sub);
        }
        free(sub);
        free(name);
        if (rc)
            return rc;
    }
    return 0;
}

static int RegpQuery(const REGP_ARGS *A)
{
    char nt[8192], display[8192];
    CM_STORE *store;
    CM_KEY_ID key;
    if (RegpOpenKey(A->Key, nt, sizeof(nt), &store, &key))
        return 1;
    CmDisplayKeyPath(nt, display, sizeof(display));
    unsigned matches = 0;
    printf("\n");
    int rc = RegpQueryKey(store, key, display, A, &matches);
    if (rc)
        return rc;
    if ((A->Value || A->Ve) && A->S) {
        printf("End of search: %u match(es) found.\n", matches);
        return 0;
    }
    if ((A->Value || A->Ve) && !matches) {
        fprintf(stderr, "%s\n", REGP_NOT_FOUND);
        return 1;
    }
    return 0;
}

/* ---- add ---- */

static const struct {
    const char *Name;
    ULONG Type;
} RegpTypes[] = {
    {"REG_SZ", REG_SZ},
    {"REG_EXPAND_SZ", REG_EXPAND_SZ},
    {"REG_MULTI_SZ", REG_MULTI_SZ},
    {"REG_DWORD", REG_DWORD},
    {"REG_DWORD_LITTLE_ENDIAN", REG_DWORD},
    {"REG_DWORD_BIG_ENDIAN", REG_DWORD_BIG_ENDIAN},
    {"REG_QWORD", REG_QWORD},
    {"REG_QWORD_LITTLE_ENDIAN", REG_QWORD},
    {"REG_BINARY", REG_BINARY},
    {"REG_NONE", REG_NONE},
};

/* Appends Utf8 as UTF-16LE (with terminator) to Out at *Len. -1 if invalid. */
static int RegpAppendUtf16(uint8_t **Out, size_t *Len, const char *Utf8, size_t N)
{
    char *tmp = strndup(Utf8, N);
    long units = tmp ? CmUtf8ToUtf16(tmp, NULL, 0) : -1;
    if (units < 0) {
        free(tmp);
        return -1;
    }
    uint16_t *w = malloc(((size_t)units + 1) * 2);
    uint8_t *o = w ? realloc(*Out, *Len + ((size_t)units + 1) * 2) : NULL;
    if (!o) {
        free(w);
        free(tmp);
        return -1;
    }
    CmUtf8ToUtf16(tmp, w, (size_t)units + 1);
    for (long i = 0; i <= units; i++) {
        o[*Len + 2 * (size_t)i] = (uint8_t)w[i];
        o[*Len + 2 * (size_t)i + 1] = (uint8_t)(w[i] >> 8);
    }
    *Out = o;
    *Len += ((size_t)units + 1) * 2;
    free(w);
    free(tmp);
    return 0;
}

static int RegpParseNumber(const char *S, ULONGLONG Max, ULONGLONG *Out)
{
    char *end;
    errno = 0;
    if (!*S || *S == '-' || *S == '+')
        return -1;
    unsigned long long v =
        strtoull(S, &end, (S[0] == '0' && (S[1] == 'x' || S[1] == 'X')) ? 16 : 10);
    if (*end || errno || v > Max)
        return -1;
    *Out = v;
    return 0;
}

/* Builds the bytes of the value as reg.exe would store them. */
static int RegpBuildData(const REGP_ARGS *A, ULONG Type, uint8_t **Out, size_t *Len)
{
    const char *d = A->Data ? A->Data : "";
    *Out = NULL;
    *Len = 0;
    ULONGLONG n;
    switch (Type) {
    case REG_SZ:
    case REG_EXPAND_SZ:
        if (RegpAppendUtf16(Out, Len, d, strlen(d)) < 0)
            return fprintf(stderr, "ERROR: /d data is not valid UTF-8.\n"), 1;
        return 0;
    case REG_MULTI_SZ: {
        /* Separator: /s's one character, else the two characters "\0". */
        const char *sep = A->Sep ? A->Sep : "\\0";
        size_t seplen = strlen(sep);
        if (A->Sep && seplen != 1)
            return RegpUsage("/s takes one character"), 2;
        const char *p = d;
        while (*p) {
            const char *q = strstr(p, sep);
            size_t len = q ? (size_t)(q - p) : strlen(p);
            if (RegpAppendUtf16(Out, Len, p, len) < 0)
                return fprintf(stderr, "ERROR: /d data is not valid UTF-8.\n"), 1;
            p += len;
            if (q)
                p += seplen;
        }
        return RegpAppendUtf16(Out, Len, "", 0) < 0;
    }
    case REG_DWORD:
    case REG_DWORD_BIG_ENDIAN:
        if (RegpParseNumber(A->Data ? d : "0", 0xFFFFFFFFull, &n))
            return fprintf(stderr,
                           "ERROR: Invalid value for REG_DWORD: \"%s\" (decimal or 0x "
                           "hexadecimal, 0 to 4294967295).\n",
                           d),
                   1;
        *Out = malloc(4);
        *Len = 4;
        for (int i = 0; i < 4; i++)
            (*Out)[Type == REG_DWORD ? i : 3 - i] = (uint8_t)(n >> (8 * i));
        return 0;
    case REG_QWORD:
        if (RegpParseNumber(A->Data ? d : "0", ~0ull, &n))
            return fprintf(stderr, "ERROR: Invalid value for REG_QWORD: \"%s\".\n", d), 1;
        *Out = malloc(8);
        *Len = 8;
        for (int i = 0; i < 8; i++)
            (*Out)[i] = (uint8_t)(n >> (8 * i));
        return 0;
    default: {
        size_t l = strlen(d);
        if (l % 2)
            return fprintf(stderr,
                           "ERROR: Invalid binary data \"%s\": an even number of hex "
                           "digits.\n",
                           d),
                   1;
        *Out = malloc(l / 2 + 1);
        for (size_t i = 0; i < l; i += 2) {
            char hx[3] = {d[i], d[i + 1], 0};
            char *end;
            (*Out)[i / 2] = (uint8_t)strtoul(hx, &end, 16);
            if (*end || hx[0] == '-' || hx[0] == '+' || hx[0] == ' ') {
                free(*Out);
                *Out = NULL;
                return fprintf(stderr, "ERROR: Invalid binary data \"%s\".\n", d), 1;
            }
        }
        *Len = l / 2;
        return 0;
    }
    }
}

static int RegpAdd(const REGP_ARGS *A)
{
    char nt[8192];
    CM_STORE *store;
    CM_KEY_ID key;
    ULONG type = REG_SZ;
    if (A->Type) {
        size_t i;
        for (i = 0; i < KM_ARRAY_SIZE(RegpTypes); i++)
            if (strcasecmp(A->Type, RegpTypes[i].Name) == 0)
                break;
        if (i == KM_ARRAY_SIZE(RegpTypes)) {
            fprintf(stderr, "ERROR: Invalid type \"%s\".\n", A->Type);
            return KM_EXIT_USAGE;
        }
        type = RegpTypes[i].Type;
    }
    if (A->Sep && type != REG_MULTI_SZ)
        return RegpUsage("/s is only for REG_MULTI_SZ");
    if (RegpKeyPath(A->Key, nt, sizeof(nt)) || RegpOpenStore(&store))
        return 1;
    int setValue = A->Value || A->Ve || A->Type || A->Data;
    uint8_t *data = NULL;
    size_t len = 0;
    if (setValue) {
        int rc = RegpBuildData(A, type, &data, &len);
        if (rc)
            return rc;
    }
    NTSTATUS s = CmCreateKey(store, 0, nt, CM_CREATE_INTERMEDIATE, &key, NULL);
    if (!NT_SUCCESS(s)) {
        free(data);
        return RegpStoreError(s);
    }
    if (setValue) {
        const char *name = A->Value ? A->Value : "";
        CM_VALUE old;
        if (!A->F && NT_SUCCESS(CmQueryValue(store, key, name, &old))) {
            CmFreeValue(&old);
            char q[512];
            snprintf(q, sizeof(q), "Value %s exists, overwrite", name[0] ? name : "(Default)");
            if (RegpAsk(q, "/f")) {
                free(data);
                return 1;
            }
        }
        s = CmSetValue(store, key, name, type, data, (ULONG)len);
        free(data);
        if (!NT_SUCCESS(s))
            return RegpStoreError(s);
    }
    printf("The operation completed successfully.\n");
    return 0;
}

/* ---- delete ---- */

static int RegpDelete(const REGP_ARGS *A)
{
    char nt[8192], display[8192], q[9000];
    CM_STORE *store;
    CM_KEY_ID key;
    if (RegpOpenKey(A->Key, nt, sizeof(nt), &store, &key))
        return 1;
    NTSTATUS s;
    CmDisplayKeyPath(nt, display, sizeof(display));
    if (A->Value || A->Ve) {
        const char *name = A->Ve ? "" : A->Value;
        CM_VALUE v;
        s = CmQueryValue(store, key, name, &v);
        if (s == STATUS_OBJECT_NAME_NOT_FOUND) {
            fprintf(stderr, "%s\n", REGP_NOT_FOUND);
            return 1;
        }
        CmFreeValue(&v);
        snprintf(q, sizeof(q), "Delete the registry value %s", name[0] ? name : "(Default)");
        if (!A->F && RegpAsk(q, "/f"))
            return 1;
        s = CmDeleteValue(store, key, name);
    } else if (A->Va) {
        snprintf(q, sizeof(q), "Delete all values under the registry key %s", display);
        if (!A->F && RegpAsk(q, "/f"))
            return 1;
        CM_VALUE v;
        while (NT_SUCCESS(s = CmEnumerateValue(store, key, 0, &v))) {
            s = CmDeleteValue(store, key, v.Name);
            CmFreeValue(&v);
            if (!NT_SUCCESS(s))
                break;
        }
        if (s == STATUS_NO_MORE_ENTRIES)
            s = STATUS_SUCCESS;
    } else {
        snprintf(q, sizeof(q), "Permanently delete the registry key %s", display);
        if (!A->F && RegpAsk(q, "/f"))
            return 1;
        s = CmDeleteKeyTree(store, key);
        if (s == STATUS_ACCESS_DENIED) {
            fprintf(stderr, "ERROR: Access is denied: %s is a registry root.\n", display);
            return 1;
        }
    }
    if (!NT_SUCCESS(s))
        return RegpStoreError(s);
    printf("The operation completed successfully.\n");
    return 0;
}

/* ---- import / export ---- */

static int RegpImport(const REGP_ARGS *A)
{
    CM_STORE *store;
    char why[1024];
    if (RegpOpenStore(&store))
        return 1;
    NTSTATUS s = CmImportRegFile(store, A->Key, why, sizeof(why));
    if (!NT_SUCCESS(s)) {
        fprintf(stderr, "ERROR: Error accessing the registry: %s: %s\n", A->Key, why);
        return 1;
    }
    printf("The operation completed successfully.\n");
    return 0;
}

static int RegpExport(const REGP_ARGS *A)
{
    char nt[8192], why[1024];
    CM_STORE *store;
    if (!A->File)
        return RegpUsage(NULL);
    CM_KEY_ID key;
    if (RegpOpenKey(A->Key, nt, sizeof(nt), &store, &key))
        return 1;
    NTSTATUS s;
    if (!A->Y && access(A->File, F_OK) == 0) {
        char q[4200];
        snprintf(q, sizeof(q), "File %s already exists. Overwrite", A->File);
        if (RegpAsk(q, "/y"))
            return 1;
    }
    s = CmExportRegFile(store, nt, A->File, why, sizeof(why));
    if (!NT_SUCCESS(s)) {
        fprintf(stderr, "ERROR: %s\n", why);
        return 1;
    }
    printf("The operation completed successfully.\n");
    return 0;
}

int KmCliReg(int argc, char **argv)
{
    if (argc < 2)
        return RegpUsage(NULL);
    if (RegpIsOpt(argv[1], "?") || RegpIsOpt(argv[1], "h") || strcmp(argv[1], "--help") == 0 ||
        (argc > 2 && RegpIsOpt(argv[2], "?"))) {
        RegpHelp();
        return 0;
    }
    static const struct {
        const char *Name, *Allowed;
        int (*Run)(const REGP_ARGS *);
    } ops[] = {
        {"query", " v ve s ", RegpQuery},      {"add", " v ve t s= s d f ", RegpAdd},
        {"delete", " v ve va f ", RegpDelete}, {"import", " ", RegpImport},
        {"export", " y file ", RegpExport},
    };
    for (size_t i = 0; i < KM_ARRAY_SIZE(ops); i++) {
        if (strcasecmp(argv[1], ops[i].Name) != 0)
            continue;
        REGP_ARGS a;
        if (RegpParse(argc, argv, &a, ops[i].Allowed) < 0)
            return RegpUsage(NULL);
        return ops[i].Run(&a);
    }
    fprintf(stderr, "ERROR: Invalid syntax: unknown operation \"%s\".\n", argv[1]);
    return RegpUsage(NULL);
}
