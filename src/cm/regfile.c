/*
 * The .reg file format ("Windows Registry Editor Version 5.00"), both ways,
 * and the value-data text that reg query prints.
 *
 * Format facts implemented (regedit's, Windows 2000 and later):
 * - header line "Windows Registry Editor Version 5.00", then sections;
 *   a section is "[KEY]" (created with its parents) or "[-KEY]" (deleted
 *   with its subkeys); lines starting with ';' are comments;
 * - values: "name"=... or @=... (the default value); names and string data
 *   escape '\' and '"' with a backslash; "name"=- deletes the value;
 * - data: "string" (REG_SZ), dword:8 hex digits (REG_DWORD), hex:bytes
 *   (REG_BINARY), hex(N):bytes for every other type N (hexadecimal:
 *   hex(0) REG_NONE, hex(2) REG_EXPAND_SZ, hex(7) REG_MULTI_SZ, hex(b)
 *   REG_QWORD), bytes as two hex digits separated by commas; a hex line
 *   continues on the next when it ends with a backslash;
 * - files are UTF-16LE with a BOM and CRLF line ends.
 */
#include "cm/regfile.h"
#include "cm/cmp.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CMP_REG_HEADER "Windows Registry Editor Version 5.00"

/* ---- a growable text buffer ---- */

typedef struct CMP_BUF {
    char *Text;
    size_t Len, Cap;
    int Failed;
} CMP_BUF;

static void CmpPut(CMP_BUF *B, const char *S, size_t N)
{
    if (B->Failed)
        return;
    if (B->Len + N + 1 > B->Cap) {
        size_t cap = (B->Len + N + 1) * 2;
        char *t = realloc(B->Text, cap);
        if (!t) {
            B->Failed = 1;
            return;
        }
        B->Text = t;
        B->Cap = cap;
    }
    memcpy(B->Text + B->Len, S, N);
    B->Len += N;
    B->Text[B->Len] = 0;
}

static void CmpPuts(CMP_BUF *B, const char *S)
{
    CmpPut(B, S, strlen(S));
}

static void __attribute__((format(printf, 2, 3))) CmpPrintf(CMP_BUF *B, const char *Fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, Fmt);
    int n = vsnprintf(tmp, sizeof(tmp), Fmt, ap);
    va_end(ap);
    if (n > 0)
        CmpPut(B, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- value text for reg query ---- */

const char *CmValueTypeName(ULONG Type)
{
    static const char *const names[] = {
        "REG_NONE",
        "REG_SZ",
        "REG_EXPAND_SZ",
        "REG_BINARY",
        "REG_DWORD",
        "REG_DWORD_BIG_ENDIAN",
        "REG_LINK",
        "REG_MULTI_SZ",
        "REG_RESOURCE_LIST",
        "REG_FULL_RESOURCE_DESCRIPTOR",
        "REG_RESOURCE_REQUIREMENTS_LIST",
        "REG_QWORD",
    };
    return Type < KM_ARRAY_SIZE(names) ? names[Type] : NULL;
}

static uint16_t CmpU16(const uint8_t *P)
{
    return (uint16_t)(P[0] | P[1] << 8);
}

/* UTF-16LE bytes -> UTF-8, stopping at Stop units; invalid units become U+FFFD. */
static void CmpPutUtf16(CMP_BUF *B, const uint8_t *Data, size_t Units)
{
    for (size_t i = 0; i < Units; i++) {
        uint16_t w[2] = {CmpU16(Data + 2 * i), 0};
        size_t n = 1;
        if (w[0] >= 0xD800 && w[0] <= 0xDBFF && i + 1 < Units) {
            w[1] = CmpU16(Data + 2 * i + 2);
            if (w[1] >= 0xDC00 && w[1] <= 0xDFFF)
                n = 2, i++;
        }
        char out[8];
        if (CmUtf16ToUtf8(w, n, out, sizeof(out)) < 0)
            CmpPuts(B, "\xEF\xBF\xBD");
        else
            CmpPuts(B, out);
    }
}

char *CmFormatValueData(const CM_VALUE *V)
{
    CMP_BUF b = {0};
    CmpPuts(&b, "");
    size_t units = V->DataLength / 2;
    switch (V->Type) {
    case REG_SZ:
    case REG_EXPAND_SZ:
        while (units && CmpU16(V->Data + 2 * (units - 1)) == 0)
            units--;
        CmpPutUtf16(&b, V->Data, units);
        break;
    case REG_MULTI_SZ: {
        while (units && CmpU16(V->Data + 2 * (units - 1)) == 0)
            units--;
        size_t start = 0;
        for (size_t i = 0; i <= units; i++) {
            if (i < units && CmpU16(V->Data + 2 * i) != 0)
                continue;
            if (start)
                CmpPuts(&b, "\\0");
            CmpPutUtf16(&b, V->Data + 2 * start, i - start);
            start = i + 1;
        }
        break;
    }
    case REG_DWORD:
        if (V->DataLength == 4) {
            CmpPrintf(&b, "0x%x",
                      (unsigned)(V->Data[0] | V->Data[1] << 8 | V->Data[2] << 16 |
                                 (unsigned)V->Data[3] << 24));
            break;
        }
        goto hex;
    case REG_QWORD:
        if (V->DataLength == 8) {
            ULONGLONG q = 0;
            for (int i = 7; i >= 0; i--)
                q = q << 8 | V->Data[i];
            CmpPrintf(&b, "0x%llx", (unsigned long long)q);
            break;
        }
        goto hex;
    default:
    hex:
        for (ULONG i = 0; i < V->DataLength; i++)
            CmpPrintf(&b, "%02X", V->Data[i]);
        break;
    }
    if (b.Failed) {
        free(b.Text);
        return NULL;
    }
    return b.Text;
}

/* ---- export ---- */

static void CmpPutQuoted(CMP_BUF *B, const char *S)
{
    CmpPuts(B, "\"");
    for (; *S; S++) {
        if (*S == '\\' || *S == '"')
            CmpPut(B, "\\", 1);
        CmpPut(B, S, 1);
    }
    CmpPuts(B, "\"");
}

/* A REG_SZ that "..." represents exactly: whole UTF-16 units, one terminator
   at the end, no other NUL, no line break, valid UTF-16. */
static int CmpIsPlainString(const CM_VALUE *V)
{
    if (V->DataLength < 2 || V->DataLength % 2)
        return 0;
    size_t units = V->DataLength / 2;
    if (CmpU16(V->Data + 2 * (units - 1)) != 0)
        return 0;
    for (size_t i = 0; i + 1 < units; i++) {
        uint16_t c = CmpU16(V->Data + 2 * i);
        if (c == 0 || c == '\r' || c == '\n')
            return 0;
        if (c >= 0xD800 && c <= 0xDBFF) {
            if (i + 2 >= units || CmpU16(V->Data + 2 * i + 2) < 0xDC00 ||
                CmpU16(V->Data + 2 * i + 2) > 0xDFFF)
                return 0;
            i++;
        } else if (c >= 0xDC00 && c <= 0xDFFF) {
            return 0;
        }
    }
    return 1;
}

static void CmpPutValue(CMP_BUF *B, const CM_VALUE *V)
{
    size_t lineStart = B->Len;
    if (V->Name[0])
        CmpPutQuoted(B, V->Name);
    else
        CmpPuts(B, "@");
    CmpPuts(B, "=");
    if (V->Type == REG_SZ && CmpIsPlainString(V)) {
        CMP_BUF s = {0};
        CmpPuts(&s, "");
        CmpPutUtf16(&s, V->Data, V->DataLength / 2 - 1);
        CmpPutQuoted(B, s.Failed ? "" : s.Text);
        B->Failed |= s.Failed;
        free(s.Text);
    } else if (V->Type == REG_DWORD && V->DataLength == 4) {
        CmpPrintf(B, "dword:%08x",
                  (unsigned)(V->Data[0] | V->Data[1] << 8 | V->Data[2] << 16 |
                             (unsigned)V->Data[3] << 24));
    } else {
        if (V->Type == REG_BINARY)
            CmpPuts(B, "hex:");
        else
            CmpPrintf(B, "hex(%x):", (unsigned)V->Type);
        /* regedit wraps hex data so that lines stay within 80 columns. */
        size_t col = B->Len - lineStart;
        for (ULONG i = 0; i < V->DataLength; i++) {
            int last = i + 1 == V->DataLength;
            CmpPrintf(B, last ? "%02x" : "%02x,", V->Data[i]);
            col += last ? 2 : 3;
            if (!last && col > 76) {
                CmpPuts(B, "\\\r\n  ");
                col = 2;
            }
        }
    }
    CmpPuts(B, "\r\n");
}

static NTSTATUS CmpExportKey(CM_STORE *Store, CM_KEY_ID Key, const char *NtPath, CMP_BUF *B)
{
    char display[8192];
    CmDisplayKeyPath(NtPath, display, sizeof(display));
    CmpPrintf(B, "%s", "[");
    CmpPuts(B, display);
    CmpPuts(B, "]\r\n");
    NTSTATUS s;
    for (ULONG i = 0;; i++) {
        CM_VALUE v;
        s = CmEnumerateValue(Store, Key, i, &v);
        if (s == STATUS_NO_MORE_ENTRIES)
            break;
        if (!NT_SUCCESS(s))
            return s;
        CmpPutValue(B, &v);
        CmFreeValue(&v);
    }
    CmpPuts(B, "\r\n");
    for (ULONG i = 0;; i++) {
        char *name;
        s = CmEnumerateKey(Store, Key, i, &name, NULL);
        if (s == STATUS_NO_MORE_ENTRIES)
            break;
        if (!NT_SUCCESS(s))
            return s;
        CM_KEY_ID child;
        s = CmOpenKey(Store, Key, name, &child);
        char *path = NULL;
        if (NT_SUCCESS(s) && asprintf(&path, "%s\\%s", NtPath, name) < 0)
            s = STATUS_INSUFFICIENT_RESOURCES;
        free(name);
        if (NT_SUCCESS(s))
            s = CmpExportKey(Store, child, path, B);
        free(path);
        if (!NT_SUCCESS(s))
            return s;
    }
    return B->Failed ? STATUS_INSUFFICIENT_RESOURCES : STATUS_SUCCESS;
}

NTSTATUS CmExportRegFile(CM_STORE *Store, const char *NtKeyPath, const char *FileName, char *Why,
                         size_t WhyLen)
{
    CM_KEY_ID key;
    NTSTATUS s = CmOpenKey(Store, 0, NtKeyPath, &key);
    if (!NT_SUCCESS(s)) {
        snprintf(Why, WhyLen, "cannot open %s", NtKeyPath);
        return s;
    }
    CMP_BUF b = {0};
    CmpPuts(&b, CMP_REG_HEADER "\r\n\r\n");
    s = CmpExportKey(Store, key, NtKeyPath, &b);
    if (!NT_SUCCESS(s)) {
        snprintf(Why, WhyLen, "reading the registry failed: %s", CmLastError());
        free(b.Text);
        return s;
    }
    long units = CmUtf8ToUtf16(b.Text, NULL, 0);
    uint16_t *w = units >= 0 ? malloc(((size_t)units + 1) * 2) : NULL;
    uint8_t *out = w ? malloc((size_t)units * 2 + 2) : NULL;
    if (!out) {
        free(w);
        free(b.Text);
        snprintf(Why, WhyLen, "out of memory");
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    CmUtf8ToUtf16(b.Text, w, (size_t)units + 1);
    out[0] = 0xFF, out[1] = 0xFE;
    for (long i = 0; i < units; i++) {
        out[2 + 2 * i] = (uint8_t)w[i];
        out[3 + 2 * i] = (uint8_t)(w[i] >> 8);
    }
    free(w);
    free(b.Text);
    FILE *f = fopen(FileName, "wbe");
    size_t total = (size_t)units * 2 + 2;
    int ok = f && fwrite(out, 1, total, f) == total;
    if (f && fclose(f) != 0)
        ok = 0;
    free(out);
    if (!ok) {
        snprintf(Why, WhyLen, "cannot write %s: %s", FileName, strerror(errno));
        return STATUS_ACCESS_DENIED;
    }
    return STATUS_SUCCESS;
}

/* ---- import ---- */

/* The file as UTF-8 text (from UTF-16LE with BOM, or UTF-8 with or without BOM). */
static char *CmpReadText(const char *FileName, char *Why, size_t WhyLen)
{
    FILE *f = fopen(FileName, "rbe");
    if (!f) {
        snprintf(Why, WhyLen, "cannot open %s: %s", FileName, strerror(errno));
        return NULL;
    }
    CMP_BUF raw = {0};
    char chunk[65536];
    size_t n;
    CmpPuts(&raw, "");
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        CmpPut(&raw, chunk, n);
    fclose(f);
    if (raw.Failed) {
        free(raw.Text);
        snprintf(Why, WhyLen, "out of memory");
        return NULL;
    }
    const uint8_t *p = (const uint8_t *)raw.Text;
    if (raw.Len >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
        size_t units = (raw.Len - 2) / 2;
        uint16_t *w = malloc(units * 2 + 2);
        char *out = w ? malloc(units * 3 + 1) : NULL;
        if (!out) {
            free(w);
            free(raw.Text);
            snprintf(Why, WhyLen, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < units; i++)
            w[i] = CmpU16(p + 2 + 2 * i);
        long r = CmUtf16ToUtf8(w, units, out, units * 3 + 1);
        free(w);
        free(raw.Text);
        if (r < 0) {
            free(out);
            snprintf(Why, WhyLen, "%s is not valid UTF-16", FileName);
            return NULL;
        }
        return out;
    }
    if (raw.Len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        memmove(raw.Text, raw.Text + 3, raw.Len - 2);
    return raw.Text;
}

typedef struct CMP_IMPORT {
    CM_STORE *Store;
    CM_KEY_ID Key; /* 0 after [-key] or before any section */
    int InKey;
    char *Why;
    size_t WhyLen;
    unsigned Line;
} CMP_IMPORT;

static NTSTATUS __attribute__((format(printf, 3, 4)))
CmpImportError(CMP_IMPORT *I, NTSTATUS Status, const char *Fmt, ...)
{
    int n = snprintf(I->Why, I->WhyLen, "line %u: ", I->Line);
    va_list ap;
    va_start(ap, Fmt);
    if (n >= 0 && (size_t)n < I->WhyLen)
        vsnprintf(I->Why + n, I->WhyLen - (size_t)n, Fmt, ap);
    va_end(ap);
    return Status;
}

static NTSTATUS CmpImportSection(CMP_IMPORT *I, char *Line)
{
    char *end = strrchr(Line, ']');
    if (!end)
        return CmpImportError(I, STATUS_DATA_ERROR, "missing ']' in key line");
    *end = 0;
    int del = Line[1] == '-';
    char nt[8192];
    NTSTATUS s = CmNormalizeKeyPath(Line + 1 + del, nt, sizeof(nt));
    if (!NT_SUCCESS(s))
        return CmpImportError(I, s, "%s", CmLastError());
    I->InKey = 1;
    I->Key = 0;
    if (del) {
        CM_KEY_ID k;
        s = CmOpenKey(I->Store, 0, nt, &k);
        if (s == STATUS_OBJECT_NAME_NOT_FOUND)
            return STATUS_SUCCESS;
        if (NT_SUCCESS(s))
            s = CmDeleteKeyTree(I->Store, k);
        return NT_SUCCESS(s) ? s : CmpImportError(I, s, "cannot delete %s", Line + 2);
    }
    s = CmCreateKey(I->Store, 0, nt, CM_CREATE_INTERMEDIATE, &I->Key, NULL);
    if (!NT_SUCCESS(s))
        return CmpImportError(I, s, "cannot create %s: %s (0x%08X)", Line + 1, CmLastError(),
                              (unsigned)s);
    return STATUS_SUCCESS;
}

/* Parses "..." with \\ and \" escapes starting at *P (on the quote). */
static char *CmpParseQuoted(char **P)
{
    char *p = *P + 1, *out = malloc(strlen(p) + 1), *o = out;
    if (!out)
        return NULL;
    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && (p[1] == '\\' || p[1] == '"'))
            p++;
        *o++ = *p;
    }
    if (*p != '"') {
        free(out);
        return NULL;
    }
    *o = 0;
    *P = p + 1;
    return out;
}

static NTSTATUS CmpStoreString(CMP_IMPORT *I, const char *Name, const char *Utf8)
{
    NTSTATUS s = CmSetValueString(I->Store, I->Key, Name, REG_SZ, Utf8);
    return NT_SUCCESS(s) ? s : CmpImportError(I, s, "cannot set \"%s\": %s", Name, CmLastError());
}

static NTSTATUS CmpImportValue(CMP_IMPORT *I, char *Line)
{
    if (!I->InKey)
        return CmpImportError(I, STATUS_DATA_ERROR, "value outside of a [key] section");
    char *p = Line, *name;
    if (*p == '@') {
        name = strdup("");
        p++;
    } else {
        name = CmpParseQuoted(&p);
        if (!name)
            return CmpImportError(I, STATUS_DATA_ERROR, "unterminated value name");
    }
    while (*p == ' ' || *p == '\t')
        p++;
    NTSTATUS s = STATUS_SUCCESS;
    if (*p++ != '=') {
        s = CmpImportError(I, STATUS_DATA_ERROR, "expected '=' after the value name");
        goto out;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (!I->Key) /* section was [-key]: its values are ignored, as regedit does */
        goto out;
    if (*p == '-' && p[1] == 0) {
        s = CmDeleteValue(I->Store, I->Key, name);
        if (s == STATUS_OBJECT_NAME_NOT_FOUND)
            s = STATUS_SUCCESS;
        goto out;
    }
    if (*p == '"') {
        char *str = CmpParseQuoted(&p);
        if (!str) {
            s = CmpImportError(I, STATUS_DATA_ERROR, "unterminated string");
            goto out;
        }
        s = CmpStoreString(I, name, str);
        free(str);
        goto out;
    }
    if (strncasecmp(p, "dword:", 6) == 0) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(p + 6, &end, 16);
        if (end == p + 6 || *end || errno || v > 0xFFFFFFFFul || strlen(p + 6) > 8) {
            s = CmpImportError(I, STATUS_DATA_ERROR, "bad dword data \"%s\"", p + 6);
            goto out;
        }
        s = CmSetValueDword(I->Store, I->Key, name, (ULONG)v);
        goto out;
    }
    ULONG type = REG_BINARY;
    if (strncasecmp(p, "hex:", 4) == 0) {
        p += 4;
    } else if (strncasecmp(p, "hex(", 4) == 0) {
        char *end;
        errno = 0;
        unsigned long t = strtoul(p + 4, &end, 16);
        if (end == p + 4 || strncmp(end, "):", 2) != 0 || errno || t > 0xFFFFFFFFul) {
            s = CmpImportError(I, STATUS_DATA_ERROR, "bad hex(type) prefix");
            goto out;
        }
        type = (ULONG)t;
        p = end + 2;
    } else {
        s = CmpImportError(I, STATUS_DATA_ERROR, "unknown data form \"%.20s\"", p);
        goto out;
    }
    {
        uint8_t *bytes = malloc(strlen(p) / 2 + 1);
        size_t n = 0;
        if (!bytes) {
            s = STATUS_INSUFFICIENT_RESOURCES;
            goto out;
        }
        while (*p) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p)
                break;
            if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
                (p[2] && p[2] != ',' && p[2] != ' ' && p[2] != '\t')) {
                free(bytes);
                s = CmpImportError(I, STATUS_DATA_ERROR, "bad hex byte at \"%.8s\"", p);
                goto out;
            }
            char hx[3] = {p[0], p[1], 0};
            bytes[n++] = (uint8_t)strtoul(hx, NULL, 16);
            p += 2;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == ',')
                p++;
        }
        s = CmSetValue(I->Store, I->Key, name, type, bytes, (ULONG)n);
        free(bytes);
    }
out:
    if (!NT_SUCCESS(s) && !I->Why[0])
        CmpImportError(I, s, "cannot set \"%s\": %s", name, CmLastError());
    free(name);
    return s;
}

static void CmpTrimRight(char *S)
{
    size_t n = strlen(S);
    while (n && (S[n - 1] == ' ' || S[n - 1] == '\t' || S[n - 1] == '\r'))
        S[--n] = 0;
}

/* Whether a value line's data is hex (the only form that may continue). */
static int CmpIsHexLine(const char *Line)
{
    const char *eq = NULL;
    if (*Line == '@') {
        eq = Line + 1;
    } else if (*Line == '"') {
        for (const char *p = Line + 1; *p; p++) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"') {
                eq = p + 1;
                break;
            }
        }
    }
    if (!eq)
        return 0;
    while (*eq == ' ' || *eq == '\t')
        eq++;
    if (*eq++ != '=')
        return 0;
    while (*eq == ' ' || *eq == '\t')
        eq++;
    return strncasecmp(eq, "hex", 3) == 0;
}

NTSTATUS CmImportRegFile(CM_STORE *Store, const char *FileName, char *Why, size_t WhyLen)
{
    Why[0] = 0;
    char *text = CmpReadText(FileName, Why, WhyLen);
    if (!text)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    CMP_IMPORT imp = {.Store = Store, .Why = Why, .WhyLen = WhyLen};
    NTSTATUS s = STATUS_SUCCESS;
    int header = 0;
    char *next = text;
    CMP_BUF logical = {0};
    while (next && NT_SUCCESS(s)) {
        char *line = next;
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        imp.Line++;
        CmpTrimRight(line);
        while (*line == ' ' || *line == '\t')
            line++;
        if (!header) {
            if (!*line)
                continue;
            if (strcmp(line, CMP_REG_HEADER) != 0) {
                s = CmpImportError(&imp, STATUS_DATA_ERROR,
                                   strcmp(line, "REGEDIT4") == 0
                                       ? "REGEDIT4 files are not supported; use \"" CMP_REG_HEADER
                                         "\""
                                       : "the file does not start with \"" CMP_REG_HEADER "\"");
                break;
            }
            header = 1;
            continue;
        }
        if (!*line || *line == ';')
            continue;
        if (*line == '[') {
            s = CmpImportSection(&imp, line);
            continue;
        }
        unsigned first = imp.Line;
        logical.Len = 0;
        CmpPuts(&logical, line);
        if (CmpIsHexLine(line)) {
            while (logical.Len && logical.Text[logical.Len - 1] == '\\' && next) {
                logical.Text[--logical.Len] = 0;
                char *cont = next;
                next = strchr(cont, '\n');
                if (next)
                    *next++ = 0;
                imp.Line++;
                CmpTrimRight(cont);
                while (*cont == ' ' || *cont == '\t')
                    cont++;
                CmpPuts(&logical, cont);
            }
        }
        if (logical.Failed) {
            s = STATUS_INSUFFICIENT_RESOURCES;
            break;
        }
        unsigned last = imp.Line;
        imp.Line = first;
        s = CmpImportValue(&imp, logical.Text);
        imp.Line = last;
    }
    if (NT_SUCCESS(s) && !header)
        s = CmpImportError(&imp, STATUS_DATA_ERROR, "empty file: no \"" CMP_REG_HEADER "\" line");
    free(logical.Text);
    free(text);
    return s;
}
