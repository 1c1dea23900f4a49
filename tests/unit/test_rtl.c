/*
 * Rtl string, conversion, memory and C runtime routines, called through the
 * export table with ms_abi pointer types, as a driver calls them. Expected
 * values and statuses are the ones the WDK documentation gives.
 */
#include "km.h"
#include "kmtest.h"

#include <stdio.h>
#include <string.h>
#include <uchar.h>

static void *import(const char *name)
{
    const KM_EXPORT_ENTRY *e = KmLookupExport("ntoskrnl.exe", name);
    if (!e) {
        printf("FAIL: ntoskrnl.exe does not export %s\n", name);
        fflush(stdout);
        _Exit(1);
    }
    return e->Address;
}

#define IMPORT(var, type, name) type var = (type)import(name)

static int wequal(const WCHAR *w, size_t n, const char *a)
{
    if (strlen(a) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] != (unsigned char)a[i])
            return 0;
    }
    return 1;
}

#define L(s) ((const WCHAR *)u##s)

typedef VOID(NTAPI *INIT_U)(PUNICODE_STRING, PCWSTR);
typedef NTSTATUS(NTAPI *INIT_UEX)(PUNICODE_STRING, PCWSTR);
typedef VOID(NTAPI *INIT_A)(PANSI_STRING, const char *);
typedef VOID(NTAPI *COPY_U)(PUNICODE_STRING, PCUNICODE_STRING);
typedef LONG(NTAPI *CMP_U)(PCUNICODE_STRING, PCUNICODE_STRING, BOOLEAN);
typedef BOOLEAN(NTAPI *EQ_U)(PCUNICODE_STRING, PCUNICODE_STRING, BOOLEAN);
typedef NTSTATUS(NTAPI *APPEND_W)(PUNICODE_STRING, PCWSTR);
typedef NTSTATUS(NTAPI *APPEND_U)(PUNICODE_STRING, PCUNICODE_STRING);
typedef NTSTATUS(NTAPI *CASE_U)(PUNICODE_STRING, PCUNICODE_STRING, BOOLEAN);
typedef NTSTATUS(NTAPI *U2A)(PANSI_STRING, PCUNICODE_STRING, BOOLEAN);
typedef NTSTATUS(NTAPI *A2U)(PUNICODE_STRING, PCANSI_STRING, BOOLEAN);
typedef VOID(NTAPI *FREE_U)(PUNICODE_STRING);
typedef VOID(NTAPI *FREE_A)(PANSI_STRING);
typedef NTSTATUS(NTAPI *INT2U)(ULONG, ULONG, PUNICODE_STRING);
typedef NTSTATUS(NTAPI *INT642U)(ULONGLONG, ULONG, PUNICODE_STRING);
typedef NTSTATUS(NTAPI *U2INT)(PCUNICODE_STRING, ULONG, PULONG);
typedef NTSTATUS(NTAPI *C2INT)(const char *, ULONG, PULONG);
typedef BOOLEAN(NTAPI *CREATE_U)(PUNICODE_STRING, PCWSTR);
typedef NTSTATUS(NTAPI *DUP_U)(ULONG, PCUNICODE_STRING, PUNICODE_STRING);
typedef WCHAR(NTAPI *UPCHAR)(WCHAR);

static void test_init(void)
{
    IMPORT(init, INIT_U, "RtlInitUnicodeString");
    IMPORT(initex, INIT_UEX, "RtlInitUnicodeStringEx");
    IMPORT(inita, INIT_A, "RtlInitAnsiString");
    UNICODE_STRING u;
    init(&u, L("abc"));
    CHECK(u.Length == 6 && u.MaximumLength == 8 && wequal(u.Buffer, 3, "abc"),
          "RtlInitUnicodeString: %u/%u", u.Length, u.MaximumLength);
    init(&u, NULL);
    CHECK(u.Length == 0 && u.MaximumLength == 0 && u.Buffer == NULL, "NULL source");
    static WCHAR longstr[40000];
    for (size_t i = 0; i < 39999; i++)
        longstr[i] = 'x';
    CHECK(initex(&u, longstr) == STATUS_NAME_TOO_LONG, "RtlInitUnicodeStringEx too long");
    CHECK(initex(&u, L("ok")) == STATUS_SUCCESS && u.Length == 4, "RtlInitUnicodeStringEx");
    ANSI_STRING a;
    inita(&a, "hello");
    CHECK(a.Length == 5 && a.MaximumLength == 6, "RtlInitAnsiString %u/%u", a.Length,
          a.MaximumLength);
}

static void test_copy_compare(void)
{
    IMPORT(init, INIT_U, "RtlInitUnicodeString");
    IMPORT(copy, COPY_U, "RtlCopyUnicodeString");
    IMPORT(cmp, CMP_U, "RtlCompareUnicodeString");
    IMPORT(eq, EQ_U, "RtlEqualUnicodeString");
    IMPORT(prefix, EQ_U, "RtlPrefixUnicodeString");
    UNICODE_STRING src, dst;
    WCHAR buf[4];
    init(&src, L("abcdef"));
    dst = (UNICODE_STRING){0, sizeof(buf), buf};
    copy(&dst, &src);
    /* Truncated to MaximumLength, no room for a terminator. */
    CHECK(dst.Length == 8 && wequal(buf, 4, "abcd"), "RtlCopyUnicodeString truncates");
    WCHAR big[10];
    for (int i = 0; i < 10; i++)
        big[i] = 0xAAAA;
    dst = (UNICODE_STRING){0, sizeof(big), big};
    copy(&dst, &src);
    CHECK(dst.Length == 12 && big[6] == 0, "RtlCopyUnicodeString terminates when it fits");
    copy(&dst, NULL);
    CHECK(dst.Length == 0, "RtlCopyUnicodeString NULL source");

    UNICODE_STRING a, b, c;
    init(&a, L("Device"));
    init(&b, L("DEVICE"));
    init(&c, L("Dev"));
    CHECK(cmp(&a, &b, FALSE) > 0 && cmp(&a, &b, TRUE) == 0, "RtlCompareUnicodeString case");
    CHECK(cmp(&c, &a, FALSE) < 0 && cmp(&a, &c, FALSE) > 0, "shorter sorts first");
    CHECK(!eq(&a, &b, FALSE) && eq(&a, &b, TRUE), "RtlEqualUnicodeString");
    CHECK(prefix(&c, &a, FALSE) && !prefix(&a, &c, FALSE) && prefix(&c, &b, TRUE) &&
              !prefix(&c, &b, FALSE),
          "RtlPrefixUnicodeString");
}

static void test_append(void)
{
    IMPORT(appw, APPEND_W, "RtlAppendUnicodeToString");
    IMPORT(appu, APPEND_U, "RtlAppendUnicodeStringToString");
    IMPORT(init, INIT_U, "RtlInitUnicodeString");
    WCHAR buf[8];
    UNICODE_STRING d = {0, sizeof(buf), buf};
    CHECK(appw(&d, L("abc")) == STATUS_SUCCESS && d.Length == 6 && buf[3] == 0,
          "append terminates when room");
    CHECK(appw(&d, L("defghi")) == STATUS_BUFFER_TOO_SMALL && d.Length == 6,
          "RtlAppendUnicodeToString overflow: STATUS_BUFFER_TOO_SMALL, unchanged");
    CHECK(appw(&d, L("defg")) == STATUS_SUCCESS && d.Length == 14 && wequal(buf, 7, "abcdefg"),
          "fills exactly");
    UNICODE_STRING s;
    init(&s, L("x"));
    CHECK(appu(&d, &s) == STATUS_SUCCESS && d.Length == 16, "last WCHAR, no terminator");
    CHECK(appu(&d, &s) == STATUS_BUFFER_TOO_SMALL, "full: STATUS_BUFFER_TOO_SMALL");
    CHECK(appw(&d, NULL) == STATUS_SUCCESS, "NULL source appends nothing");
}

static void test_case_and_conversion(void)
{
    IMPORT(up, CASE_U, "RtlUpcaseUnicodeString");
    IMPORT(u2a, U2A, "RtlUnicodeStringToAnsiString");
    IMPORT(a2u, A2U, "RtlAnsiStringToUnicodeString");
    IMPORT(freeu, FREE_U, "RtlFreeUnicodeString");
    IMPORT(freea, FREE_A, "RtlFreeAnsiString");
    IMPORT(init, INIT_U, "RtlInitUnicodeString");
    IMPORT(inita, INIT_A, "RtlInitAnsiString");
    IMPORT(upchar, UPCHAR, "RtlUpcaseUnicodeChar");
    UNICODE_STRING s, d = {0};
    init(&s, L("mixed\u00e9"));
    CHECK(up(&d, &s, TRUE) == STATUS_SUCCESS && d.Length == 12 && d.MaximumLength == 12 &&
              wequal(d.Buffer, 5, "MIXED") && d.Buffer[5] == 0xC9,
          "RtlUpcaseUnicodeString allocating");
    freeu(&d);
    CHECK(d.Buffer == NULL && d.Length == 0, "RtlFreeUnicodeString clears");
    WCHAR small[3];
    d = (UNICODE_STRING){0, sizeof(small), small};
    CHECK(up(&d, &s, FALSE) == STATUS_BUFFER_OVERFLOW, "RtlUpcaseUnicodeString too small");
    CHECK(upchar('q') == 'Q' && upchar(0x3B1) == 0x391 && upchar('1') == '1',
          "RtlUpcaseUnicodeChar");

    ANSI_STRING a = {0};
    init(&s, L("caf\u00e9\u20ac\u4e00"));
    CHECK(u2a(&a, &s, TRUE) == STATUS_SUCCESS && a.Length == 6 && a.MaximumLength == 7 &&
              memcmp(a.Buffer, "caf\xE9\x80?", 7) == 0,
          "RtlUnicodeStringToAnsiString (Windows-1252, '?' for unmappable)");
    freea(&a);
    char abuf[4];
    a = (ANSI_STRING){0, sizeof(abuf), (PCHAR)abuf};
    CHECK(u2a(&a, &s, FALSE) == STATUS_BUFFER_OVERFLOW && a.Length == 3 &&
              memcmp(abuf, "caf", 4) == 0,
          "RtlUnicodeStringToAnsiString too small: converts what fits, STATUS_BUFFER_OVERFLOW");

    inita(&a, "net\x80");
    d = (UNICODE_STRING){0};
    CHECK(a2u(&d, &a, TRUE) == STATUS_SUCCESS && d.Length == 8 && d.MaximumLength == 10 &&
              d.Buffer[3] == 0x20AC && d.Buffer[4] == 0,
          "RtlAnsiStringToUnicodeString allocating");
    freeu(&d);
    WCHAR ubuf[4];
    d = (UNICODE_STRING){0, sizeof(ubuf), ubuf};
    CHECK(a2u(&d, &a, FALSE) == STATUS_BUFFER_OVERFLOW,
          "RtlAnsiStringToUnicodeString needs room for the terminator");
}

static void test_integers(void)
{
    IMPORT(i2u, INT2U, "RtlIntegerToUnicodeString");
    IMPORT(i642u, INT642U, "RtlInt64ToUnicodeString");
    IMPORT(u2i, U2INT, "RtlUnicodeStringToInteger");
    IMPORT(c2i, C2INT, "RtlCharToInteger");
    IMPORT(init, INIT_U, "RtlInitUnicodeString");
    WCHAR buf[12];
    UNICODE_STRING s = {0, sizeof(buf), buf};
    CHECK(i2u(1234, 0, &s) == STATUS_SUCCESS && wequal(buf, s.Length / 2, "1234") && buf[4] == 0,
          "RtlIntegerToUnicodeString decimal");
    CHECK(i2u(0xBEEF, 16, &s) == STATUS_SUCCESS && wequal(buf, s.Length / 2, "BEEF"), "hex");
    CHECK(i2u(5, 2, &s) == STATUS_SUCCESS && wequal(buf, s.Length / 2, "101"), "binary");
    CHECK(i2u(5, 7, &s) == STATUS_INVALID_PARAMETER, "base 7: STATUS_INVALID_PARAMETER");
    CHECK(i2u(0xFFFFFFFF, 2, &s) == STATUS_BUFFER_OVERFLOW, "32 digits in 12 WCHARs");
    WCHAR four[4];
    UNICODE_STRING f = {0, sizeof(four), four};
    CHECK(i2u(1234, 10, &f) == STATUS_BUFFER_OVERFLOW, "no room for the terminator");
    WCHAR b64[24];
    UNICODE_STRING s64 = {0, sizeof(b64), b64};
    CHECK(i642u(12345678901234ull, 10, &s64) == STATUS_SUCCESS &&
              wequal(b64, s64.Length / 2, "12345678901234"),
          "RtlInt64ToUnicodeString");

    /* The documentation's examples. */
    static const struct {
        const char16_t *text;
        ULONG base;
        ULONG value;
    } cases[] = {{u"123", 10, 123},     {u"-345", 10, (ULONG)-345}, {u"xyz", 10, 0},
                 {u"+678abc", 10, 678}, {u"+678abc", 16, 0x678ABC}, {u"  0x1f", 0, 31},
                 {u"0b101", 0, 5},      {u"0o17", 0, 15},           {u"1010", 2, 10},
                 {u"\t 42 rest", 0, 42}};
    for (size_t i = 0; i < KM_ARRAY_SIZE(cases); i++) {
        UNICODE_STRING t;
        ULONG v = 0xDEAD;
        init(&t, (PCWSTR)cases[i].text);
        NTSTATUS st = u2i(&t, cases[i].base, &v);
        CHECK(st == STATUS_SUCCESS && v == cases[i].value,
              "RtlUnicodeStringToInteger case %zu: 0x%x -> %u", i, (unsigned)st, v);
    }
    UNICODE_STRING empty = {0, 0, NULL};
    ULONG v;
    CHECK(u2i(&empty, 10, &v) == STATUS_INVALID_PARAMETER, "empty: STATUS_INVALID_PARAMETER");
    UNICODE_STRING t;
    init(&t, L("12"));
    CHECK(u2i(&t, 3, &v) == STATUS_INVALID_PARAMETER, "base 3: STATUS_INVALID_PARAMETER");
    CHECK(c2i("  -0x10", 0, &v) == STATUS_SUCCESS && v == (ULONG)-16, "RtlCharToInteger");
}

static void test_create_duplicate(void)
{
    IMPORT(create, CREATE_U, "RtlCreateUnicodeString");
    IMPORT(dup, DUP_U, "RtlDuplicateUnicodeString");
    IMPORT(freeu, FREE_U, "RtlFreeUnicodeString");
    IMPORT(init, INIT_U, "RtlInitUnicodeString");
    UNICODE_STRING s;
    CHECK(create(&s, L("dup")) && s.Length == 6 && s.MaximumLength == 8 && s.Buffer[3] == 0,
          "RtlCreateUnicodeString");
    UNICODE_STRING d;
    CHECK(dup(1, &s, &d) == STATUS_SUCCESS && d.Length == 6 && d.MaximumLength == 8 &&
              d.Buffer[3] == 0 && d.Buffer != s.Buffer,
          "RtlDuplicateUnicodeString NULL_TERMINATE");
    freeu(&d);
    CHECK(dup(0, &s, &d) == STATUS_SUCCESS && d.MaximumLength == 6, "without terminator");
    freeu(&d);
    CHECK(dup(4, &s, &d) == STATUS_INVALID_PARAMETER, "unknown flag");
    UNICODE_STRING odd = {3, 8, s.Buffer};
    CHECK(dup(0, &odd, &d) == STATUS_INVALID_PARAMETER, "odd length");
    UNICODE_STRING empty;
    init(&empty, L(""));
    CHECK(dup(0, &empty, &d) == STATUS_SUCCESS && d.Buffer == NULL && d.MaximumLength == 0,
          "empty source without ALLOCATE_NULL_STRING");
    freeu(&s);
}

typedef SIZE_T(NTAPI *CMPMEM)(const void *, const void *, SIZE_T);
typedef SIZE_T(NTAPI *CMPMEMUL)(PVOID, SIZE_T, ULONG);
typedef ULONG(NTAPI *RANDOM)(PULONG);
typedef void *(NTAPI *MEMCPY)(void *, const void *, SIZE_T);
typedef SIZE_T(NTAPI *WCSLEN)(const WCHAR *);
typedef int(NTAPI *WCSICMP)(const WCHAR *, const WCHAR *);
typedef int(NTAPI *STRICMP)(const char *, const char *);
typedef ULONG(NTAPI *STRTOUL)(const char *, char **, int);
typedef LONG(NTAPI *ATOL)(const char *);
typedef NTSTATUS(NTAPI *GETVERSION)(void *);

static void test_memory_and_crt(void)
{
    IMPORT(cmpmem, CMPMEM, "RtlCompareMemory");
    IMPORT(cmpul, CMPMEMUL, "RtlCompareMemoryUlong");
    IMPORT(rnd, RANDOM, "RtlRandomEx");
    IMPORT(mcpy, MEMCPY, "memcpy");
    IMPORT(wlen, WCSLEN, "wcslen");
    IMPORT(wicmp, WCSICMP, "_wcsicmp");
    IMPORT(sicmp, STRICMP, "_stricmp");
    IMPORT(stoul, STRTOUL, "strtoul");
    IMPORT(atol_, ATOL, "atol");
    IMPORT(getver, GETVERSION, "RtlGetVersion");
    CHECK(cmpmem("abcdef", "abcxef", 6) == 3 && cmpmem("ab", "ab", 2) == 2, "RtlCompareMemory");
    ULONG pat[3] = {7, 7, 8};
    CHECK(cmpul(pat, 12, 7) == 8 && cmpul(pat, 7, 7) == 4, "RtlCompareMemoryUlong");
    ULONG seed = 1234, seed2 = 1234;
    ULONG r1 = rnd(&seed), r2 = rnd(&seed2);
    CHECK(r1 == r2 && seed == seed2 && r1 < 0x7FFFFFFF && seed != 1234,
          "RtlRandomEx: deterministic, below MAXLONG, updates the seed");
    char dst[4] = {0};
    CHECK(mcpy(dst, "xyz", 3) == dst && strcmp(dst, "xyz") == 0, "memcpy");
    CHECK(wlen(L("four")) == 4, "wcslen counts 16-bit units");
    CHECK(wicmp(L("ABC"), L("abc")) == 0 && wicmp(L("abd"), L("ABC")) > 0, "_wcsicmp");
    CHECK(sicmp("Hello", "hELLO") == 0 && sicmp("a", "B") < 0, "_stricmp");
    CHECK(stoul("99999999999", NULL, 10) == 0xFFFFFFFF, "strtoul saturates at 32 bits");
    CHECK(atol_("-12") == -12, "atol");
    struct {
        ULONG size, major, minor, build, platform;
        WCHAR csd[128];
        USHORT spmajor, spminor, suite;
        UCHAR product, reserved;
    } ver = {sizeof(ver), 0, 0, 0, 0, {0}, 9, 9, 0, 0, 0};
    CHECK(sizeof(ver) == 284, "RTL_OSVERSIONINFOEXW size");
    CHECK(getver(&ver) == STATUS_SUCCESS && ver.major == 10 && ver.minor == 0 &&
              ver.build == 19045 && ver.platform == 2 && ver.product == 1 && ver.spmajor == 0,
          "RtlGetVersion: 10.0.19045");
}

typedef void(NTAPI *LIST_INIT)(void *);
typedef void *(NTAPI *SLIST_PUSH)(void *, void *);
typedef void *(NTAPI *SLIST_POP)(void *);
typedef USHORT(NTAPI *SLIST_DEPTH)(void *);
typedef PLIST_ENTRY(NTAPI *XINSERT)(PLIST_ENTRY, PLIST_ENTRY, KSPIN_LOCK *);
typedef PLIST_ENTRY(NTAPI *XREMOVE)(PLIST_ENTRY, KSPIN_LOCK *);

static void test_lists(void)
{
    IMPORT(sinit, LIST_INIT, "InitializeSListHead");
    IMPORT(push, SLIST_PUSH, "ExpInterlockedPushEntrySList");
    IMPORT(pop, SLIST_POP, "ExpInterlockedPopEntrySList");
    IMPORT(depth, SLIST_DEPTH, "ExQueryDepthSList");
    IMPORT(inshead, XINSERT, "ExInterlockedInsertHeadList");
    IMPORT(instail, XINSERT, "ExInterlockedInsertTailList");
    IMPORT(remhead, XREMOVE, "ExInterlockedRemoveHeadList");
    struct __attribute__((aligned(16))) {
        ULONG64 q[2];
    } head;
    struct __attribute__((aligned(16))) {
        void *next;
        int value;
    } e1, e2;
    sinit(&head);
    CHECK(pop(&head) == NULL && depth(&head) == 0, "empty SLIST");
    CHECK(push(&head, &e1) == NULL && push(&head, &e2) == &e1 && depth(&head) == 2,
          "push returns the previous first entry");
    CHECK((head.q[0] & 0xFFFF) == 2, "Depth in the low 16 bits, where inline code reads it");
    CHECK(pop(&head) == &e2 && pop(&head) == &e1 && pop(&head) == NULL && depth(&head) == 0,
          "LIFO order");

    LIST_ENTRY lh = {&lh, &lh}, a, b;
    KSPIN_LOCK lock = 0;
    CHECK(instail(&lh, &a, &lock) == NULL, "insert into empty list returns NULL");
    CHECK(inshead(&lh, &b, &lock) == &a, "insert head returns the previous first entry");
    CHECK(remhead(&lh, &lock) == &b && remhead(&lh, &lock) == &a && remhead(&lh, &lock) == NULL,
          "remove head");
    CHECK(lock == 0, "spin lock released");
}

int main(void)
{
    test_init();
    test_copy_compare();
    test_append();
    test_case_and_conversion();
    test_integers();
    test_create_duplicate();
    test_memory_and_crt();
    test_lists();
    CHECK(strcmp(KmStatusName(STATUS_SUCCESS), "STATUS_SUCCESS") == 0, "shared value: first name");
    CHECK(strcmp(KmStatusName(STATUS_BUFFER_OVERFLOW), "STATUS_BUFFER_OVERFLOW") == 0,
          "KmStatusName");
    CHECK(KmStatusName((NTSTATUS)0xC0DE0001) == NULL, "unknown status");
    return KMTEST_DONE();
}
