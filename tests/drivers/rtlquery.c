// Conformance: RtlQueryRegistryValues (QueryRoutine callbacks, Name NULL, NOVALUE,
// NOEXPAND, REG_MULTI_SZ per string, REG_EXPAND_SZ expansion, SUBKEY, REQUIRED,
// defaults, DELETE, DIRECT with TYPECHECK for DWORDs, strings and sized buffers,
// RTL_REGISTRY_HANDLE / _SERVICES / _ABSOLUTE), RtlWriteRegistryValue,
// RtlDeleteRegistryValue, RtlCheckRegistryKey and RtlCreateRegistryKey.
// EXPECT-EXIT: 0
#include "harness.h"

/* WDK 8 wdm.h; mingw-w64 lacks them. */
#ifndef RTL_QUERY_REGISTRY_TYPECHECK
#define RTL_QUERY_REGISTRY_TYPECHECK 0x00000100
#define RTL_QUERY_REGISTRY_TYPECHECK_SHIFT 24
#endif
#define TC(t) ((ULONG)(t) << RTL_QUERY_REGISTRY_TYPECHECK_SHIFT)

#define SOFTWARE_KEY L"\\Registry\\Machine\\Software\\KmhostConformanceRtl"

static WCHAR g_path[512];    /* RegistryPath\Parameters\RtlTest, absolute */
static WCHAR g_relpath[256]; /* the same relative to RTL_REGISTRY_SERVICES */

static const ULONG g_dword = 7;
static const WCHAR g_sz[] = L"text";
static const WCHAR g_expand[] = L"%KMVAR%\\bin";
static const WCHAR g_multi[] = L"one\0two\0";
static const UCHAR g_bin[8] = {1, 2, 3, 4, 5, 6, 7, 8};

typedef struct {
    ULONG Calls;
    ULONG Types[16];
    ULONG Lengths[16];
    WCHAR Names[16][16];
    WCHAR Data[16][32];
    NTSTATUS Return;
} CALLS;

static NTSTATUS NTAPI record(PWSTR name, ULONG type, PVOID data, ULONG len, PVOID ctx, PVOID entry)
{
    CALLS *c = ctx;
    ULONG i = c->Calls++;
    if (i < 16) {
        c->Types[i] = type;
        c->Lengths[i] = len;
        if (name)
            RtlCopyMemory(c->Names[i], name, min(wcslen(name) + 1, 16) * sizeof(WCHAR));
        if (data && len)
            RtlCopyMemory(c->Data[i], data, min(len, sizeof(c->Data[i])));
        ok(entry == (PVOID)0x1234, "QueryRoutine receives the entry's EntryContext");
    }
    return c->Return;
}

static NTSTATUS query1(ULONG relative, PCWSTR path, ULONG flags, PCWSTR name, PVOID entry,
                       ULONG deftype, PVOID defdata, ULONG deflen, PVOID ctx, PVOID env)
{
    RTL_QUERY_REGISTRY_TABLE t[2];
    RtlZeroMemory(t, sizeof(t));
    t[0].QueryRoutine = (flags & RTL_QUERY_REGISTRY_DIRECT) ? NULL : record;
    t[0].Flags = flags;
    t[0].Name = (PWSTR)name;
    t[0].EntryContext = entry;
    t[0].DefaultType = deftype;
    t[0].DefaultData = defdata;
    t[0].DefaultLength = deflen;
    return RtlQueryRegistryValues(relative, path, t, ctx, env);
}

static void test_direct(void)
{
    const ULONG D = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;
    ULONG v = 0, def = 99;
    UNICODE_STRING us;
    WCHAR small[2];
    LONG buf[6];
    NTSTATUS st;

    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Dword", &v, TC(REG_DWORD), NULL, 0, NULL, NULL);
    is_status(st, STATUS_SUCCESS, "DIRECT REG_DWORD");
    is_int(v, 7, "DIRECT REG_DWORD stores the value");
    v = 5;
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Sz", &v, TC(REG_DWORD), NULL, 0, NULL, NULL);
    is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "TYPECHECK refuses a REG_SZ for a REG_DWORD");
    is_int(v, 5, "TYPECHECK: nothing is written on a mismatch");

    v = 0;
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Missing", &v, TC(REG_DWORD) | REG_DWORD, &def,
                sizeof(def), NULL, NULL);
    is_status(st, STATUS_SUCCESS, "DIRECT, missing value with a default");
    is_int(v, 99, "a missing value gives DefaultData");
    v = 3;
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Missing", &v, TC(REG_DWORD) | REG_NONE, NULL, 0,
                NULL, NULL);
    is_status(st, STATUS_SUCCESS, "DIRECT, missing value, DefaultType REG_NONE");
    is_int(v, 3, "DefaultType REG_NONE: nothing is written");
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D | RTL_QUERY_REGISTRY_REQUIRED, L"Missing", &v,
                TC(REG_DWORD), NULL, 0, NULL, NULL);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "REQUIRED and missing");

    RtlZeroMemory(&us, sizeof(us));
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Sz", &us, TC(REG_SZ), NULL, 0, NULL, NULL);
    is_status(st, STATUS_SUCCESS, "DIRECT REG_SZ into a UNICODE_STRING with a NULL Buffer");
    is_int(us.Length, 8, "DIRECT REG_SZ: Length excludes the terminator");
    ok(us.Buffer && RtlCompareMemory(us.Buffer, g_sz, sizeof(g_sz)) == sizeof(g_sz),
       "DIRECT REG_SZ: the string, terminated, in an allocated buffer");
    RtlFreeUnicodeString(&us);
    us.Buffer = small;
    us.Length = 0;
    us.MaximumLength = sizeof(small);
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Sz", &us, TC(REG_SZ), NULL, 0, NULL, NULL);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "DIRECT REG_SZ into a buffer too small");

    RtlZeroMemory(buf, sizeof(buf));
    buf[0] = -(LONG)sizeof(buf);
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Bin", buf, TC(REG_BINARY), NULL, 0, NULL, NULL);
    is_status(st, STATUS_SUCCESS, "DIRECT REG_BINARY, negative size: data only");
    ok(RtlCompareMemory(buf, g_bin, sizeof(g_bin)) == sizeof(g_bin), "the data at the start");
    RtlZeroMemory(buf, sizeof(buf));
    buf[0] = sizeof(buf);
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Bin", buf, TC(REG_BINARY), NULL, 0, NULL, NULL);
    is_status(st, STATUS_SUCCESS, "DIRECT REG_BINARY, positive size");
    is_int(buf[0], sizeof(g_bin), "positive size: first ULONG is the length");
    is_int(buf[1], REG_BINARY, "positive size: second ULONG is the type");
    ok(RtlCompareMemory(&buf[2], g_bin, sizeof(g_bin)) == sizeof(g_bin), "then the data");
    buf[0] = -4;
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, D, L"Bin", buf, TC(REG_BINARY), NULL, 0, NULL, NULL);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "DIRECT REG_BINARY into a buffer too small");
}

static void test_routines(HANDLE key)
{
    static const WCHAR env[] = L"KMVAR=C:\\k\0OTHER=x\0";
    RTL_QUERY_REGISTRY_TABLE t[4];
    CALLS c;
    NTSTATUS st;

    /* Name NULL: every value, in creation order; REG_MULTI_SZ one call per
       string; REG_EXPAND_SZ expanded with Environment. */
    RtlZeroMemory(&c, sizeof(c));
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, 0, NULL, (PVOID)0x1234, 0, NULL, 0, &c, (PVOID)env);
    is_status(st, STATUS_SUCCESS, "Name NULL: every value");
    is_int(c.Calls, 7, "Name NULL: one call per value, two for the REG_MULTI_SZ");
    ok(!wcscmp(c.Names[0], L"Dword") && c.Types[0] == REG_DWORD && c.Lengths[0] == 4,
       "first call: Dword, REG_DWORD, 4 bytes");
    ok(!wcscmp(c.Names[1], L"Sz") && c.Types[1] == REG_SZ && c.Lengths[1] == sizeof(g_sz),
       "second call: Sz, with its terminator");
    ok(!wcscmp(c.Data[2], L"C:\\k\\bin"), "REG_EXPAND_SZ is expanded from Environment");
    ok(!wcscmp(c.Names[3], L"Multi") && c.Types[3] == REG_SZ && !wcscmp(c.Data[3], L"one"),
       "REG_MULTI_SZ: first string as a REG_SZ");
    ok(!wcscmp(c.Names[4], L"Multi") && c.Types[4] == REG_SZ && !wcscmp(c.Data[4], L"two") &&
           c.Lengths[4] == 8,
       "REG_MULTI_SZ: second string as a REG_SZ");
    ok(!wcscmp(c.Names[5], L"Bin") && c.Types[5] == REG_BINARY, "last call: Bin");

    RtlZeroMemory(&c, sizeof(c));
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, RTL_QUERY_REGISTRY_NOEXPAND, L"Multi", (PVOID)0x1234,
                0, NULL, 0, &c, NULL);
    is_status(st, STATUS_SUCCESS, "NOEXPAND");
    ok(c.Calls == 1 && c.Types[0] == REG_MULTI_SZ && c.Lengths[0] == sizeof(g_multi),
       "NOEXPAND: REG_MULTI_SZ in one call, raw");
    RtlZeroMemory(&c, sizeof(c));
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, RTL_QUERY_REGISTRY_NOEXPAND, L"Expand",
                (PVOID)0x1234, 0, NULL, 0, &c, (PVOID)env);
    ok(c.Calls == 1 && c.Types[0] == REG_EXPAND_SZ && !wcscmp(c.Data[0], g_expand),
       "NOEXPAND: REG_EXPAND_SZ raw");

    RtlZeroMemory(&c, sizeof(c));
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, RTL_QUERY_REGISTRY_NOVALUE, NULL, (PVOID)0x1234, 0,
                NULL, 0, &c, NULL);
    is_status(st, STATUS_SUCCESS, "NOVALUE");
    ok(c.Calls == 1 && c.Types[0] == REG_NONE && c.Lengths[0] == 0,
       "NOVALUE: one call, REG_NONE, no data");

    RtlZeroMemory(&c, sizeof(c));
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, 0, L"Missing", (PVOID)0x1234, REG_SZ, (PVOID)L"dflt",
                0, &c, NULL);
    is_status(st, STATUS_SUCCESS, "a missing value with a default");
    ok(c.Calls == 1 && c.Types[0] == REG_SZ && c.Lengths[0] == 10 && !wcscmp(c.Data[0], L"dflt"),
       "the default, its length computed for a string");

    /* A routine's error ends the walk, except STATUS_BUFFER_TOO_SMALL. */
    RtlZeroMemory(t, sizeof(t));
    t[0].QueryRoutine = record;
    t[0].Name = L"Dword";
    t[0].EntryContext = (PVOID)0x1234;
    t[1] = t[0];
    RtlZeroMemory(&c, sizeof(c));
    c.Return = STATUS_BUFFER_TOO_SMALL;
    st = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, g_path, t, &c, NULL);
    is_status(st, STATUS_SUCCESS, "a QueryRoutine's STATUS_BUFFER_TOO_SMALL is ignored");
    is_int(c.Calls, 2, "the walk goes on after STATUS_BUFFER_TOO_SMALL");
    RtlZeroMemory(&c, sizeof(c));
    c.Return = STATUS_INVALID_DEVICE_STATE;
    st = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, g_path, t, &c, NULL);
    is_status(st, STATUS_INVALID_DEVICE_STATE, "a QueryRoutine's error is returned");
    is_int(c.Calls, 1, "the walk stops at a QueryRoutine's error");

    /* SUBKEY: the entries that follow read the subkey. */
    {
        ULONG inner = 0;
        RtlZeroMemory(t, sizeof(t));
        t[0].Flags = RTL_QUERY_REGISTRY_SUBKEY;
        t[0].Name = L"Sub";
        t[1].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;
        t[1].Name = L"Inner";
        t[1].EntryContext = &inner;
        t[1].DefaultType = TC(REG_DWORD);
        st = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)key, t, NULL, NULL);
        is_status(st, STATUS_SUCCESS, "SUBKEY, through RTL_REGISTRY_HANDLE");
        is_int(inner, 9, "SUBKEY: the value is read from the subkey");
        t[0].Name = L"NoSuchSub";
        t[0].Flags |= RTL_QUERY_REGISTRY_REQUIRED;
        st = RtlQueryRegistryValues(RTL_REGISTRY_HANDLE, (PCWSTR)key, t, NULL, NULL);
        is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "a REQUIRED SUBKEY that is missing");
    }

    /* Invalid entry: no QueryRoutine and not DIRECT. */
    RtlZeroMemory(t, sizeof(t));
    t[0].Name = L"Dword";
    st = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, g_path, t, NULL, NULL);
    is_status(st, STATUS_INVALID_PARAMETER, "an entry without QueryRoutine nor DIRECT");

    /* DELETE: the value is deleted once reported. */
    RtlZeroMemory(&c, sizeof(c));
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, RTL_QUERY_REGISTRY_DELETE, L"ToDelete",
                (PVOID)0x1234, 0, NULL, 0, &c, NULL);
    is_status(st, STATUS_SUCCESS, "DELETE");
    is_int(c.Calls, 1, "DELETE: the value is reported first");
    st = query1(RTL_REGISTRY_ABSOLUTE, g_path, RTL_QUERY_REGISTRY_REQUIRED, L"ToDelete",
                (PVOID)0x1234, 0, NULL, 0, &c, NULL);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "DELETE: the value is gone");
}

static void test_paths(void)
{
    ULONG v = 0, w = 0x55;
    CALLS c;
    HANDLE h;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING s;
    NTSTATUS st;
    const ULONG D = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_TYPECHECK;

    st = query1(RTL_REGISTRY_SERVICES, g_relpath, D, L"Dword", &v, TC(REG_DWORD), NULL, 0, NULL,
                NULL);
    is_status(st, STATUS_SUCCESS, "RTL_REGISTRY_SERVICES");
    is_int(v, 7, "RTL_REGISTRY_SERVICES reads the same key");
    RtlZeroMemory(&c, sizeof(c));
    st = query1(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY L"\\Nope", 0, NULL, (PVOID)0x1234, 0, NULL, 0,
                &c, NULL);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "a missing key");
    st = query1(77, g_relpath, 0, NULL, (PVOID)0x1234, 0, NULL, 0, &c, NULL);
    is_status(st, STATUS_INVALID_PARAMETER, "an undefined RelativeTo");

    st = RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, g_path);
    is_status(st, STATUS_SUCCESS, "RtlCheckRegistryKey of an existing key");
    st = RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "RtlCheckRegistryKey of a missing key");
    st = RtlCreateRegistryKey(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY L"\\A\\B");
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "RtlCreateRegistryKey: parents are not created");
    st = RtlCreateRegistryKey(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY);
    is_status(st, STATUS_SUCCESS, "RtlCreateRegistryKey");
    st = RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY);
    is_status(st, STATUS_SUCCESS, "RtlCheckRegistryKey after RtlCreateRegistryKey");
    st = RtlWriteRegistryValue(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY L"\\Auto", L"W", REG_DWORD, &w,
                               sizeof(w));
    is_status(st, STATUS_SUCCESS, "RtlWriteRegistryValue creates a missing last key");
    v = 0;
    st = query1(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY L"\\Auto", D, L"W", &v, TC(REG_DWORD), NULL, 0,
                NULL, NULL);
    is_int(v, 0x55, "RtlWriteRegistryValue: the value is there");
    st = RtlDeleteRegistryValue(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY L"\\Auto", L"W");
    is_status(st, STATUS_SUCCESS, "RtlDeleteRegistryValue");
    st = RtlDeleteRegistryValue(RTL_REGISTRY_ABSOLUTE, SOFTWARE_KEY L"\\Auto", L"W");
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "RtlDeleteRegistryValue of a missing value");

    RtlInitUnicodeString(&s, SOFTWARE_KEY L"\\Auto");
    InitializeObjectAttributes(&oa, &s, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    if (NT_SUCCESS(ZwOpenKey(&h, KEY_ALL_ACCESS, &oa))) {
        ZwDeleteKey(h);
        ZwClose(h);
    }
    RtlInitUnicodeString(&s, SOFTWARE_KEY);
    if (NT_SUCCESS(ZwOpenKey(&h, KEY_ALL_ACCESS, &oa))) {
        is_status(ZwDeleteKey(h), STATUS_SUCCESS,
                  "clean-up of "
                  "SOFTWARE_KEY");
        ZwClose(h);
    }
}

static NTSTATUS create(PHANDLE h, HANDLE root, PCWSTR name, PULONG disp)
{
    UNICODE_STRING s;
    OBJECT_ATTRIBUTES oa;
    RtlInitUnicodeString(&s, name);
    InitializeObjectAttributes(&oa, &s, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, NULL);
    return ZwCreateKey(h, KEY_ALL_ACCESS, &oa, 0, NULL, REG_OPTION_VOLATILE, disp);
}

static void set(HANDLE h, PCWSTR name, ULONG type, const void *data, ULONG len)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, name);
    is_status(ZwSetValueKey(h, &s, 0, type, (PVOID)data, len), STATUS_SUCCESS, "ZwSetValueKey");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    static const WCHAR tail[] = L"\\Parameters\\RtlTest";
    HANDLE service = NULL, params = NULL, key = NULL, sub = NULL;
    OBJECT_ATTRIBUTES oa;
    ULONG paramsDisp = 0, nine = 9, chars = registry_path->Length / sizeof(WCHAR), i;
    NTSTATUS st;

    driver->DriverUnload = DriverUnload;
    if (!ok(registry_path->Length + sizeof(tail) <= sizeof(g_path), "RegistryPath fits"))
        return STATUS_SUCCESS;
    RtlCopyMemory(g_path, registry_path->Buffer, registry_path->Length);
    RtlCopyMemory(g_path + chars, tail, sizeof(tail));
    for (i = chars; i > 0 && registry_path->Buffer[i - 1] != L'\\'; i--)
        ;
    RtlCopyMemory(g_relpath, g_path + i, (chars - i) * sizeof(WCHAR) + sizeof(tail));

    InitializeObjectAttributes(&oa, registry_path, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL,
                               NULL);
    st = ZwOpenKey(&service, KEY_ALL_ACCESS, &oa);
    if (!is_status(st, STATUS_SUCCESS, "the driver's service key (RegistryPath) exists"))
        return STATUS_SUCCESS;
    st = create(&params, service, L"Parameters", &paramsDisp);
    is_status(st, STATUS_SUCCESS, "ZwCreateKey Parameters");
    st = create(&key, params, L"RtlTest", NULL);
    if (is_status(st, STATUS_SUCCESS, "ZwCreateKey RtlTest")) {
        set(key, L"Dword", REG_DWORD, &g_dword, sizeof(g_dword));
        set(key, L"Sz", REG_SZ, g_sz, sizeof(g_sz));
        set(key, L"Expand", REG_EXPAND_SZ, g_expand, sizeof(g_expand));
        set(key, L"Multi", REG_MULTI_SZ, g_multi, sizeof(g_multi));
        set(key, L"Bin", REG_BINARY, g_bin, sizeof(g_bin));
        if (NT_SUCCESS(create(&sub, key, L"Sub", NULL)))
            set(sub, L"Inner", REG_DWORD, &nine, sizeof(nine));
        test_direct();
        set(key, L"ToDelete", REG_DWORD, &nine, sizeof(nine));
        test_routines(key);
        test_paths();
        if (sub) {
            ZwDeleteKey(sub);
            ZwClose(sub);
        }
        is_status(ZwDeleteKey(key), STATUS_SUCCESS, "ZwDeleteKey RtlTest (clean-up)");
        ZwClose(key);
    }
    if (params) {
        if (paramsDisp == REG_CREATED_NEW_KEY)
            ZwDeleteKey(params);
        ZwClose(params);
    }
    ZwClose(service);
    return STATUS_SUCCESS;
}
