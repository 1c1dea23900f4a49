// Conformance: Rtl string routines and the DbgPrint format language.
// EXPECT-EXIT: 0
// EXPECT-OUTPUT: ^fmt1: wZ=<Hello> wZcount=<Hello> ws=<World> Z=<Ansi> s=<str> c=Z$
// EXPECT-OUTPUT: ^fmt2: I64d=-1234567890123 I64x=123456789abcdef0 I64u=18446744073709551615 Ix=ff$
// EXPECT-OUTPUT: ^fmt3: p=00000000DEADBEEF lx=0000abcd X=BEEF d=-42 u=42 ld=-7$
// EXPECT-OUTPUT: ^fmt4: pad=<   42> left=<ab  > zero=<007> prec=<abc> pct=%$
// EXPECT-OUTPUT: ^fmt5: dbgprintex 7$
// EXPECT-OUTPUT: ^fmt6: kdprint on$
#define DBG 1 /* KdPrint expands to DbgPrint only in checked (DBG) builds */
#include "harness.h"

static void test_init(void)
{
    static const WCHAR hello[] = L"Hello";
    UNICODE_STRING u;
    ANSI_STRING a;

    RtlInitUnicodeString(&u, hello);
    is_int(u.Length, 10, "RtlInitUnicodeString: Length is the byte length without the NUL");
    is_int(u.MaximumLength, 12, "RtlInitUnicodeString: MaximumLength includes the NUL");
    is_ptr(u.Buffer, hello, "RtlInitUnicodeString: Buffer points at the source");
    RtlInitUnicodeString(&u, NULL);
    ok(u.Length == 0 && u.MaximumLength == 0 && u.Buffer == NULL,
       "RtlInitUnicodeString(NULL): both lengths zero, Buffer NULL");
    RtlInitAnsiString(&a, "abc");
    ok(a.Length == 3 && a.MaximumLength == 4, "RtlInitAnsiString: Length 3, MaximumLength 4");
}

static void test_copy_compare(void)
{
    UNICODE_STRING src, dst, lower, longer;
    WCHAR small[3], big[16];

    RtlInitUnicodeString(&src, L"Hello");
    dst.Buffer = small;
    dst.Length = 0;
    dst.MaximumLength = sizeof(small);
    RtlCopyUnicodeString(&dst, &src);
    is_int(dst.Length, sizeof(small),
           "RtlCopyUnicodeString copies at most the destination's MaximumLength bytes");
    ok(small[0] == L'H' && small[1] == L'e' && small[2] == L'l',
       "RtlCopyUnicodeString keeps the leading characters when truncating");
    dst.Buffer = big;
    dst.MaximumLength = sizeof(big);
    RtlCopyUnicodeString(&dst, &src);
    is_int(dst.Length, 10, "RtlCopyUnicodeString copies the whole source when it fits");
    ok(RtlEqualUnicodeString(&dst, &src, FALSE), "the copy equals the source");
    RtlCopyUnicodeString(&dst, NULL);
    is_int(dst.Length, 0, "RtlCopyUnicodeString(NULL source) sets Length to zero");

    RtlInitUnicodeString(&lower, L"hello");
    RtlInitUnicodeString(&longer, L"Hello!");
    ok(RtlCompareUnicodeString(&src, &lower, FALSE) < 0,
       "case-sensitive compare: 'H' (0x48) sorts before 'h' (0x68)");
    is_int(RtlCompareUnicodeString(&src, &lower, TRUE), 0,
           "case-insensitive compare: Hello equals hello");
    ok(RtlCompareUnicodeString(&src, &longer, FALSE) < 0,
       "a string sorts before a longer string it prefixes");
    ok(RtlCompareUnicodeString(&longer, &src, TRUE) > 0, "a longer string sorts after its prefix");
    ok(!RtlEqualUnicodeString(&src, &lower, FALSE), "RtlEqualUnicodeString is case-sensitive "
                                                    "when CaseInSensitive is FALSE");
    ok(RtlEqualUnicodeString(&src, &lower, TRUE), "RtlEqualUnicodeString ignores case if TRUE");
    ok(!RtlEqualUnicodeString(&src, &longer, TRUE), "strings of different length differ");
    ok(RtlPrefixUnicodeString(&lower, &longer, TRUE), "RtlPrefixUnicodeString (ignore case)");
    ok(!RtlPrefixUnicodeString(&lower, &longer, FALSE), "RtlPrefixUnicodeString is exact "
                                                        "when CaseInSensitive is FALSE");
}

static void test_append(void)
{
    WCHAR buf[8];
    UNICODE_STRING dst = {0, sizeof(buf), buf}, want;

    is_status(RtlAppendUnicodeToString(&dst, L"Hello"), STATUS_SUCCESS,
              "RtlAppendUnicodeToString into a buffer with room");
    is_int(dst.Length, 10, "the appended string's bytes are added to Length");
    is_status(RtlAppendUnicodeToString(&dst, L"World"), STATUS_BUFFER_TOO_SMALL,
              "RtlAppendUnicodeToString: STATUS_BUFFER_TOO_SMALL when it does not fit");
    is_int(dst.Length, 10, "a failed append leaves the destination unchanged");
    RtlInitUnicodeString(&want, L"Hello");
    ok(RtlEqualUnicodeString(&dst, &want, FALSE), "the destination still holds Hello");
}

static void test_convert(void)
{
    UNICODE_STRING u, back;
    ANSI_STRING a, want;
    NTSTATUS st;

    RtlInitUnicodeString(&u, L"Hello");
    st = RtlUnicodeStringToAnsiString(&a, &u, TRUE);
    if (is_status(st, STATUS_SUCCESS, "RtlUnicodeStringToAnsiString, allocating")) {
        RtlInitAnsiString(&want, "Hello");
        ok(a.Length == 5 && RtlCompareMemory(a.Buffer, "Hello", 5) == 5,
           "the ANSI string holds the 5 characters of Hello (Length %u)", a.Length);
        st = RtlAnsiStringToUnicodeString(&back, &a, TRUE);
        if (is_status(st, STATUS_SUCCESS, "RtlAnsiStringToUnicodeString, allocating")) {
            ok(RtlEqualUnicodeString(&back, &u, FALSE), "the round trip gives back Hello");
            RtlFreeUnicodeString(&back);
        }
        RtlFreeAnsiString(&a);
    }
}

static void check_itos(ULONG value, ULONG base, const WCHAR *expected)
{
    WCHAR buf[40];
    UNICODE_STRING s = {0, sizeof(buf), buf}, want;
    NTSTATUS st = RtlIntegerToUnicodeString(value, base, &s);

    RtlInitUnicodeString(&want, expected);
    if (is_status(st, STATUS_SUCCESS, "RtlIntegerToUnicodeString with a valid base"))
        ok(RtlEqualUnicodeString(&s, &want, TRUE),
           "RtlIntegerToUnicodeString(%lu, base %lu) "
           "gives %ws, got %wZ",
           value, base, expected, &s);
}

static void check_stoi(const WCHAR *text, ULONG base, ULONG expected)
{
    UNICODE_STRING s;
    ULONG v = 0xCCCCCCCC;

    RtlInitUnicodeString(&s, text);
    if (is_status(RtlUnicodeStringToInteger(&s, base, &v), STATUS_SUCCESS,
                  "RtlUnicodeStringToInteger on a valid number"))
        ok(v == expected, "RtlUnicodeStringToInteger(%ws, base %lu) = %lu, got %lu", text, base,
           expected, v);
}

static void test_integers(void)
{
    WCHAR tiny[2];
    UNICODE_STRING s = {0, sizeof(tiny), tiny};
    ULONG v;

    check_itos(1234, 10, L"1234");
    check_itos(1234, 0, L"1234");
    check_itos(255, 16, L"FF");
    check_itos(8, 8, L"10");
    check_itos(5, 2, L"101");
    check_itos(0, 10, L"0");
    is_status(RtlIntegerToUnicodeString(1, 3, &s), STATUS_INVALID_PARAMETER,
              "RtlIntegerToUnicodeString: the only valid bases are 0, 2, 8, 10 and 16");
    is_status(RtlIntegerToUnicodeString(123456, 10, &s), STATUS_BUFFER_OVERFLOW,
              "RtlIntegerToUnicodeString: STATUS_BUFFER_OVERFLOW if the string is too small");

    check_stoi(L"1234", 0, 1234);
    check_stoi(L"1234", 10, 1234);
    check_stoi(L"0x1F", 0, 31);
    check_stoi(L"0b101", 0, 5);
    check_stoi(L"0o17", 0, 15);
    check_stoi(L"ff", 16, 255);
    check_stoi(L"+7", 10, 7);
    check_stoi(L"-12", 10, (ULONG)-12);
    /* The examples table of the RtlUnicodeStringToInteger documentation. */
    check_stoi(L"123", 10, 123);
    check_stoi(L"  -345", 10, (ULONG)-345);
    check_stoi(L"xyz", 10, 0);
    check_stoi(L"   +678abc", 10, 678);
    check_stoi(L"   +678abc", 16, 6785724);
    check_stoi(L"007", 10, 7);
    check_stoi(L"789", 8, 7);
    check_stoi(L"FGH", 16, 15);
    check_stoi(L"      ", 10, 0);
    RtlInitUnicodeString(&s, L"");
    is_status(RtlUnicodeStringToInteger(&s, 10, &v), STATUS_INVALID_PARAMETER,
              "RtlUnicodeStringToInteger: an empty string gives STATUS_INVALID_PARAMETER");

    is_int(RtlCompareMemory("abcdef", "abcxef", 6), 3,
           "RtlCompareMemory returns the number of bytes that match before the first difference");
    is_int(RtlCompareMemory("abcdef", "abcdef", 6), 6,
           "RtlCompareMemory returns Length when all bytes match");
}

static void print_formats(void)
{
    static WCHAR counted[] = L"HelloXYZ";
    UNICODE_STRING hello, partial = {10, sizeof(counted), counted};
    ANSI_STRING ansi;

    RtlInitUnicodeString(&hello, L"Hello");
    RtlInitAnsiString(&ansi, "Ansi");
    DbgPrint("fmt1: wZ=<%wZ> wZcount=<%wZ> ws=<%ws> Z=<%Z> s=<%s> c=%c\n", &hello, &partial,
             L"World", &ansi, "str", 'Z');
    DbgPrint("fmt2: I64d=%I64d I64x=%I64x I64u=%I64u Ix=%Ix\n", -1234567890123LL,
             0x123456789abcdef0ULL, ~0ULL, (ULONG_PTR)255);
    DbgPrint("fmt3: p=%p lx=%08lx X=%X d=%d u=%u ld=%ld\n", (PVOID)(ULONG_PTR)0xDEADBEEF,
             (ULONG)0xabcd, 0xBEEFu, -42, 42u, (LONG)-7);
    DbgPrint("fmt4: pad=<%5d> left=<%-4s> zero=<%03d> prec=<%.3s> pct=%%\n", 42, "ab", 7, "abcdef");
    DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL, "fmt5: dbgprintex %d\n", 7);
    KdPrint(("fmt6: kdprint %s\n", "on"));
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    driver->DriverUnload = DriverUnload;
    test_init();
    test_copy_compare();
    test_append();
    test_convert();
    test_integers();
    print_formats();
    return STATUS_SUCCESS;
}
