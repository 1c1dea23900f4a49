// Conformance: registry keys and values through Zw*: ZwCreateKey/ZwOpenKey/ZwOpenKeyEx
// (absolute and relative names, dispositions, volatile keys, argument checks),
// ZwSetValueKey/ZwQueryValueKey/ZwEnumerateValueKey with every value information
// class and the buffer rules (STATUS_BUFFER_TOO_SMALL below the fixed part,
// STATUS_BUFFER_OVERFLOW above it), ZwQueryKey/ZwEnumerateKey, ZwDeleteValueKey,
// ZwDeleteKey (STATUS_CANNOT_DELETE, STATUS_KEY_DELETED), ZwFlushKey, key handles
// and ObReferenceObjectByHandle. Works under RegistryPath\Parameters\Test and
// removes what it created.
// EXPECT-EXIT: 0
#include "harness.h"

/* ntddk.h layouts that mingw-w64 lacks. */
typedef struct {
    ULONG NameLength;
    WCHAR Name[1];
} T_KEY_NAME_INFORMATION;
typedef struct {
    LARGE_INTEGER LastWriteTime;
    ULONG TitleIndex, SubKeys, MaxNameLen, Values, MaxValueNameLen, MaxValueDataLen, NameLength;
} T_KEY_CACHED_INFORMATION;
#define T_KeyNameInformation 3
#define T_KeyCachedInformation 4

#define VALUE_BASIC_FIXED FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name)
#define VALUE_FULL_FIXED FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Name)
#define VALUE_PARTIAL_FIXED FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data)
#define VALUE_PARTIAL64_FIXED FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, Data)

static UCHAR g_buf[512] __attribute__((aligned(16)));

static BOOLEAN same_name(const WCHAR *a, ULONG abytes, PCWSTR b)
{
    UNICODE_STRING x = {(USHORT)abytes, (USHORT)abytes, (PWSTR)a}, y;
    RtlInitUnicodeString(&y, b);
    return RtlEqualUnicodeString(&x, &y, TRUE);
}

static NTSTATUS open_key(PHANDLE h, HANDLE root, PCWSTR name, ACCESS_MASK access)
{
    UNICODE_STRING s;
    OBJECT_ATTRIBUTES oa;
    RtlInitUnicodeString(&s, name);
    InitializeObjectAttributes(&oa, &s, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, NULL);
    return ZwOpenKey(h, access, &oa);
}

static NTSTATUS create_key(PHANDLE h, HANDLE root, PCWSTR name, ULONG options, PULONG disp)
{
    UNICODE_STRING s;
    OBJECT_ATTRIBUTES oa;
    RtlInitUnicodeString(&s, name);
    InitializeObjectAttributes(&oa, &s, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, root, NULL);
    return ZwCreateKey(h, KEY_ALL_ACCESS, &oa, 0, NULL, options, disp);
}

static NTSTATUS set_value(HANDLE h, PCWSTR name, ULONG type, const void *data, ULONG len)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, name);
    return ZwSetValueKey(h, &s, 0, type, (PVOID)data, len);
}

static NTSTATUS query_value(HANDLE h, PCWSTR name, ULONG cls, ULONG len, PULONG result)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, name);
    RtlFillMemory(g_buf, sizeof(g_buf), 0xcc);
    return ZwQueryValueKey(h, &s, cls, len ? g_buf : NULL, len, result);
}

/* One value through every information class at sizes 0, fixed part, full. */
static void check_value(HANDLE h, PCWSTR name, ULONG type, const void *data, ULONG len)
{
    ULONG nameLen = (ULONG)wcslen(name) * sizeof(WCHAR), rl, need, off;
    NTSTATUS st;
    PKEY_VALUE_BASIC_INFORMATION basic = (PVOID)g_buf;
    PKEY_VALUE_FULL_INFORMATION full = (PVOID)g_buf;
    PKEY_VALUE_PARTIAL_INFORMATION part = (PVOID)g_buf;
    PKEY_VALUE_PARTIAL_INFORMATION_ALIGN64 p64 = (PVOID)g_buf;

    /* KEY_VALUE_BASIC_INFORMATION */
    need = VALUE_BASIC_FIXED + nameLen;
    st = query_value(h, name, KeyValueBasicInformation, 0, &rl);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "basic info, Length 0: STATUS_BUFFER_TOO_SMALL");
    is_int(rl, need, "basic info, Length 0: ResultLength is the size needed");
    st = query_value(h, name, KeyValueBasicInformation, VALUE_BASIC_FIXED, &rl);
    is_status(st, nameLen ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS,
              "basic info, fixed part only: OVERFLOW when there is a name");
    is_int(rl, need, "basic info, fixed part only: ResultLength");
    is_int(basic->Type, type, "basic info, fixed part only: Type is filled");
    is_int(basic->NameLength, nameLen, "basic info, fixed part only: NameLength is filled");
    st = query_value(h, name, KeyValueBasicInformation, need, &rl);
    is_status(st, STATUS_SUCCESS, "basic info, full size");
    is_int(rl, need, "basic info: ResultLength");
    ok(same_name(basic->Name, basic->NameLength, name), "basic info: the name");

    /* KEY_VALUE_FULL_INFORMATION: data after the name, DataOffset 4-aligned */
    off = (VALUE_FULL_FIXED + nameLen + 3) & ~3u;
    need = off + len;
    st = query_value(h, name, KeyValueFullInformation, 0, &rl);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "full info, Length 0: STATUS_BUFFER_TOO_SMALL");
    is_int(rl, need, "full info, Length 0: ResultLength");
    st = query_value(h, name, KeyValueFullInformation, VALUE_FULL_FIXED, &rl);
    is_status(st, STATUS_BUFFER_OVERFLOW, "full info, fixed part only: STATUS_BUFFER_OVERFLOW");
    is_int(rl, need, "full info, fixed part only: ResultLength");
    is_int(full->Type, type, "full info, fixed part only: Type");
    is_int(full->DataLength, len, "full info, fixed part only: DataLength");
    is_int(full->NameLength, nameLen, "full info, fixed part only: NameLength");
    st = query_value(h, name, KeyValueFullInformation, need, &rl);
    is_status(st, STATUS_SUCCESS, "full info, full size");
    ok(same_name(full->Name, full->NameLength, name), "full info: the name");
    if (len) {
        is_int(full->DataOffset, off, "full info: DataOffset is the name's end, 4-aligned");
        ok(RtlCompareMemory(g_buf + full->DataOffset, data, len) == len, "full info: the data");
    }

    /* KEY_VALUE_PARTIAL_INFORMATION */
    need = VALUE_PARTIAL_FIXED + len;
    st = query_value(h, name, KeyValuePartialInformation, VALUE_PARTIAL_FIXED - 1, &rl);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "partial info below the fixed part: TOO_SMALL");
    is_int(rl, need, "partial info below the fixed part: ResultLength");
    st = query_value(h, name, KeyValuePartialInformation, VALUE_PARTIAL_FIXED, &rl);
    is_status(st, len ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS,
              "partial info, fixed part only: OVERFLOW when there is data");
    is_int(part->Type, type, "partial info, fixed part only: Type");
    is_int(part->DataLength, len, "partial info, fixed part only: DataLength");
    st = query_value(h, name, KeyValuePartialInformation, need, &rl);
    is_status(st, STATUS_SUCCESS, "partial info, full size");
    is_int(rl, need, "partial info: ResultLength");
    ok(RtlCompareMemory(part->Data, data, len) == len, "partial info: the data");
    ok(g_buf[need] == 0xcc, "partial info: nothing written past ResultLength");

    /* KEY_VALUE_PARTIAL_INFORMATION_ALIGN64 */
    need = VALUE_PARTIAL64_FIXED + len;
    st = query_value(h, name, KeyValuePartialInformationAlign64, need, &rl);
    is_status(st, STATUS_SUCCESS, "partial info align64, full size");
    is_int(rl, need, "partial info align64: ResultLength");
    is_int(p64->Type, type, "partial info align64: Type");
    ok(RtlCompareMemory(p64->Data, data, len) == len, "partial info align64: the data");

    /* KeyValueFullInformationAlign64: DataOffset 8-aligned */
    off = (VALUE_FULL_FIXED + nameLen + 7) & ~7u;
    st = query_value(h, name, KeyValueFullInformationAlign64, sizeof(g_buf), &rl);
    is_status(st, STATUS_SUCCESS, "full info align64");
    if (len) {
        is_int(full->DataOffset, off, "full info align64: DataOffset is 8-aligned");
        ok(RtlCompareMemory(g_buf + full->DataOffset, data, len) == len,
           "full info align64: the data");
    }
}

static const WCHAR g_sz[] = L"hello";
static const WCHAR g_multi[] = L"a\0bc\0";
static const UCHAR g_bin[] = {1, 2, 3};
static const ULONG g_dword = 0x12345678;
static const ULONG64 g_qword = 0x1122334455667788ULL;
static const struct {
    PCWSTR Name;
    ULONG Type;
    const void *Data;
    ULONG Len;
} g_values[] = {
    {L"None", REG_NONE, NULL, 0},
    {L"Sz", REG_SZ, g_sz, sizeof(g_sz)},
    {L"Abc", REG_BINARY, g_bin, sizeof(g_bin)},
    {L"Dword", REG_DWORD, &g_dword, sizeof(g_dword)},
    {L"Multi", REG_MULTI_SZ, g_multi, sizeof(g_multi)},
    {L"Q", REG_QWORD, &g_qword, sizeof(g_qword)},
    {L"", REG_SZ, g_sz, sizeof(g_sz)}, /* the default value */
};

static void test_values(HANDLE key)
{
    ULONG i, rl;
    NTSTATUS st;
    PKEY_VALUE_BASIC_INFORMATION basic = (PVOID)g_buf;

    for (i = 0; i < ARRAYSIZE(g_values); i++) {
        st = set_value(key, g_values[i].Name, g_values[i].Type, g_values[i].Data, g_values[i].Len);
        is_status(st, STATUS_SUCCESS, "ZwSetValueKey");
    }
    for (i = 0; i < ARRAYSIZE(g_values); i++)
        check_value(key, g_values[i].Name, g_values[i].Type, g_values[i].Data, g_values[i].Len);

    /* Setting an existing value (another case of its name) keeps its place. */
    st = set_value(key, L"NONE", REG_NONE, NULL, 0);
    is_status(st, STATUS_SUCCESS, "ZwSetValueKey on an existing value");
    for (i = 0; i < ARRAYSIZE(g_values); i++) {
        RtlFillMemory(g_buf, sizeof(g_buf), 0xcc);
        st = ZwEnumerateValueKey(key, i, KeyValueBasicInformation, g_buf, sizeof(g_buf), &rl);
        is_status(st, STATUS_SUCCESS, "ZwEnumerateValueKey");
        ok(same_name(basic->Name, basic->NameLength, g_values[i].Name),
           "values enumerate in creation order (index %lu)", i);
        is_int(basic->Type, g_values[i].Type, "ZwEnumerateValueKey: Type");
    }
    st = ZwEnumerateValueKey(key, i, KeyValueBasicInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_NO_MORE_ENTRIES, "ZwEnumerateValueKey past the last value");
    st = ZwEnumerateValueKey(key, 1, KeyValuePartialInformation, g_buf, VALUE_PARTIAL_FIXED, &rl);
    is_status(st, STATUS_BUFFER_OVERFLOW, "ZwEnumerateValueKey: fixed part only: OVERFLOW");
    is_int(rl, VALUE_PARTIAL_FIXED + sizeof(g_sz), "ZwEnumerateValueKey: ResultLength");
    st = ZwEnumerateValueKey(key, 1, KeyValueBasicInformation, g_buf, 0, &rl);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "ZwEnumerateValueKey: Length 0: TOO_SMALL");

    st = query_value(key, L"sZ", KeyValuePartialInformation, sizeof(g_buf), &rl);
    is_status(st, STATUS_SUCCESS, "value names are case-insensitive");
    st = query_value(key, L"Missing", KeyValuePartialInformation, sizeof(g_buf), &rl);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "a missing value: STATUS_OBJECT_NAME_NOT_FOUND");
    st = query_value(key, L"Sz", 99, sizeof(g_buf), &rl);
    is_status(st, STATUS_INVALID_PARAMETER, "an undefined value information class");

    {
        UNICODE_STRING s;
        RtlInitUnicodeString(&s, L"Sz");
        st = ZwDeleteValueKey(key, &s);
        is_status(st, STATUS_SUCCESS, "ZwDeleteValueKey");
        st = ZwDeleteValueKey(key, &s);
        is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "ZwDeleteValueKey of a deleted value");
        st = query_value(key, L"Sz", KeyValuePartialInformation, sizeof(g_buf), &rl);
        is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "a deleted value is gone");
    }
}

static void test_query_key(HANDLE key, HANDLE sub[3])
{
    static PCWSTR sorted[] = {L"A", L"b", L"c"};
    PKEY_BASIC_INFORMATION basic = (PVOID)g_buf;
    PKEY_NODE_INFORMATION node = (PVOID)g_buf;
    PKEY_FULL_INFORMATION full = (PVOID)g_buf;
    T_KEY_NAME_INFORMATION *name = (PVOID)g_buf;
    T_KEY_CACHED_INFORMATION *cached = (PVOID)g_buf;
    const ULONG basicFixed = FIELD_OFFSET(KEY_BASIC_INFORMATION, Name);
    ULONG rl, i;
    NTSTATUS st;

    st = ZwQueryKey(key, KeyBasicInformation, NULL, 0, &rl);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "ZwQueryKey basic, Length 0: TOO_SMALL");
    is_int(rl, basicFixed + 8, "ZwQueryKey basic: ResultLength (fixed part + \"Test\")");
    RtlFillMemory(g_buf, sizeof(g_buf), 0xcc);
    st = ZwQueryKey(key, KeyBasicInformation, g_buf, basicFixed, &rl);
    is_status(st, STATUS_BUFFER_OVERFLOW, "ZwQueryKey basic, fixed part only: OVERFLOW");
    is_int(basic->NameLength, 8, "ZwQueryKey basic, fixed part only: NameLength");
    st = ZwQueryKey(key, KeyBasicInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_SUCCESS, "ZwQueryKey basic");
    ok(same_name(basic->Name, basic->NameLength, L"Test"), "ZwQueryKey basic: the key's name");
    ok(basic->LastWriteTime.QuadPart > 0, "ZwQueryKey basic: LastWriteTime is set");

    st = ZwQueryKey(key, KeyFullInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_SUCCESS, "ZwQueryKey full");
    is_int(rl, FIELD_OFFSET(KEY_FULL_INFORMATION, Class), "ZwQueryKey full: no class");
    is_int(full->SubKeys, 3, "ZwQueryKey full: SubKeys");
    is_int(full->MaxNameLen, 2, "ZwQueryKey full: MaxNameLen (bytes)");
    is_int(full->Values, ARRAYSIZE(g_values) - 1, "ZwQueryKey full: Values");
    is_int(full->MaxValueNameLen, 10, "ZwQueryKey full: MaxValueNameLen (\"Dword\", \"Multi\")");
    is_int(full->MaxValueDataLen, sizeof(g_sz), "ZwQueryKey full: MaxValueDataLen");
    is_int(full->ClassLength, 0, "ZwQueryKey full: ClassLength");
    st = ZwQueryKey(key, KeyFullInformation, g_buf, FIELD_OFFSET(KEY_FULL_INFORMATION, Class) - 1,
                    &rl);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "ZwQueryKey full below the fixed part: TOO_SMALL");

    st = ZwQueryKey(key, T_KeyNameInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_SUCCESS, "ZwQueryKey name");
    is_int(rl, sizeof(ULONG) + name->NameLength, "ZwQueryKey name: ResultLength");
    ok(name->NameLength > 40 &&
           same_name(name->Name + name->NameLength / 2 - 16, 32, L"\\Parameters\\Test"),
       "ZwQueryKey name: the full path ends with \\Parameters\\Test");
    ok(same_name(name->Name, 20, L"\\REGISTRY\\"), "ZwQueryKey name: the full path");
    st = ZwQueryKey(key, T_KeyNameInformation, g_buf, sizeof(ULONG), &rl);
    is_status(st, STATUS_BUFFER_OVERFLOW, "ZwQueryKey name, fixed part only: OVERFLOW");

    st = ZwQueryKey(key, T_KeyCachedInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_SUCCESS, "ZwQueryKey cached");
    is_int(cached->SubKeys, 3, "ZwQueryKey cached: SubKeys");
    is_int(cached->Values, ARRAYSIZE(g_values) - 1, "ZwQueryKey cached: Values");
    is_int(cached->NameLength, 8, "ZwQueryKey cached: NameLength");
    st = ZwQueryKey(key, 1000, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_INVALID_PARAMETER, "ZwQueryKey: an undefined class");

    /* Subkeys enumerate sorted by their upcased names. */
    for (i = 0; i < 3; i++) {
        st = ZwEnumerateKey(key, i, KeyBasicInformation, g_buf, sizeof(g_buf), &rl);
        is_status(st, STATUS_SUCCESS, "ZwEnumerateKey basic");
        ok(same_name(basic->Name, basic->NameLength, sorted[i]), "subkey %lu in sorted order", i);
        is_int(rl, basicFixed + 2, "ZwEnumerateKey basic: ResultLength");
        st = ZwEnumerateKey(key, i, KeyNodeInformation, g_buf, sizeof(g_buf), &rl);
        is_status(st, STATUS_SUCCESS, "ZwEnumerateKey node");
        ok(same_name(node->Name, node->NameLength, sorted[i]), "ZwEnumerateKey node: the name");
        is_int(node->ClassLength, 0, "ZwEnumerateKey node: ClassLength");
        st = ZwEnumerateKey(key, i, KeyFullInformation, g_buf, sizeof(g_buf), &rl);
        is_status(st, STATUS_SUCCESS, "ZwEnumerateKey full");
        is_int(full->SubKeys, 0, "ZwEnumerateKey full: the subkey's SubKeys");
        is_int(full->Values, i == 0 ? 1 : 0, "ZwEnumerateKey full: the subkey's Values");
    }
    st = ZwEnumerateKey(key, 3, KeyBasicInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_NO_MORE_ENTRIES, "ZwEnumerateKey past the last subkey");
    st = ZwEnumerateKey(key, 0, KeyBasicInformation, g_buf, basicFixed, &rl);
    is_status(st, STATUS_BUFFER_OVERFLOW, "ZwEnumerateKey basic, fixed part only: OVERFLOW");
    is_int(rl, basicFixed + 2, "ZwEnumerateKey basic, fixed part only: ResultLength");
    st = ZwEnumerateKey(key, 0, KeyBasicInformation, g_buf, 0, &rl);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "ZwEnumerateKey basic, Length 0: TOO_SMALL");
    st = ZwEnumerateKey(key, 0, T_KeyNameInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_INVALID_PARAMETER, "ZwEnumerateKey takes basic, node and full only");
    UNREFERENCED_PARAMETER(sub);
}

static void test_handles(HANDLE key)
{
    OBJECT_HANDLE_INFORMATION info;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING s;
    PVOID obj;
    HANDLE h, ev;
    ULONG rl;
    NTSTATUS st;

    st = ObReferenceObjectByHandle(key, KEY_READ, KM_CmKeyObjectType, KernelMode, &obj, &info);
    is_status(st, STATUS_SUCCESS, "ObReferenceObjectByHandle on a key handle, CmKeyObjectType");
    if (NT_SUCCESS(st)) {
        is_int(info.GrantedAccess, KEY_ALL_ACCESS, "the granted access of a KEY_ALL_ACCESS open");
        ObDereferenceObject(obj);
    }
    st = ObReferenceObjectByHandle(key, 0, KM_PsThreadType, KernelMode, &obj, NULL);
    is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "a key handle is not a thread");

    st = open_key(&h, key, L"", GENERIC_READ);
    is_status(st, STATUS_SUCCESS, "ZwOpenKey relative with an empty name opens the root key");
    if (NT_SUCCESS(st)) {
        st = ObReferenceObjectByHandle(h, 0, KM_CmKeyObjectType, KernelMode, &obj, &info);
        is_status(st, STATUS_SUCCESS, "ObReferenceObjectByHandle (GENERIC_READ handle)");
        if (NT_SUCCESS(st)) {
            is_int(info.GrantedAccess, KEY_READ, "GENERIC_READ maps to KEY_READ for keys");
            ObDereferenceObject(obj);
        }
        ZwClose(h);
    }

    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    st = ZwCreateEvent(&ev, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    is_status(st, STATUS_SUCCESS, "ZwCreateEvent");
    if (NT_SUCCESS(st)) {
        st = open_key(&h, ev, L"A", KEY_READ);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "RootDirectory that is not a key");
        ZwClose(ev);
    }

    /* Argument checks. */
    RtlInitUnicodeString(&s, L"A");
    InitializeObjectAttributes(&oa, &s, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, key, NULL);
    oa.Length = sizeof(oa) * 2;
    st = ZwOpenKey(&h, KEY_READ, &oa);
    is_status(st, STATUS_INVALID_PARAMETER, "OBJECT_ATTRIBUTES.Length is checked");
    oa.Length = sizeof(oa);
    s.Length = 1;
    st = ZwOpenKey(&h, KEY_READ, &oa);
    is_status(st, STATUS_OBJECT_NAME_INVALID, "an odd name Length");
    s.Length = sizeof(WCHAR);
    st = open_key(&h, key, L"\\A", KEY_READ);
    is_status(st, STATUS_OBJECT_PATH_SYNTAX_BAD, "a relative name starting with '\\'");
    st = open_key(&h, NULL, L"Registry\\Machine", KEY_READ);
    is_status(st, STATUS_OBJECT_PATH_SYNTAX_BAD, "an absolute name must start with '\\'");
    st = open_key(&h, NULL, L"\\REGISTRY\\machine\\system", KEY_READ);
    is_status(st, STATUS_SUCCESS, "absolute names are case-insensitive");
    if (NT_SUCCESS(st))
        ZwClose(h);
    st = ZwOpenKeyEx(&h, KEY_READ, &oa, 0);
    is_status(st, STATUS_SUCCESS, "ZwOpenKeyEx relative");
    if (NT_SUCCESS(st))
        ZwClose(h);
    st = open_key(&h, key, L"Missing", KEY_READ);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "ZwOpenKey of a missing key");
    st = create_key(&h, key, L"Missing\\Child", REG_OPTION_VOLATILE, NULL);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "ZwCreateKey does not create missing parents");
    st = create_key(&h, key, L"NonVolatile", REG_OPTION_NON_VOLATILE, NULL);
    is_status(st, STATUS_CHILD_MUST_BE_VOLATILE, "a volatile key has only volatile subkeys");
    st = ZwQueryKey(NULL, KeyBasicInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_INVALID_HANDLE, "ZwQueryKey(NULL handle)");
}

static void test_delete(HANDLE key, HANDLE a)
{
    UNICODE_STRING s;
    ULONG rl;
    HANDLE h;
    NTSTATUS st;

    st = ZwDeleteKey(key);
    is_status(st, STATUS_CANNOT_DELETE, "ZwDeleteKey of a key with subkeys");
    st = ZwDeleteKey(a);
    is_status(st, STATUS_SUCCESS, "ZwDeleteKey");
    st = ZwQueryKey(a, KeyBasicInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_KEY_DELETED, "ZwQueryKey on a deleted key");
    st = ZwEnumerateKey(a, 0, KeyBasicInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_KEY_DELETED, "ZwEnumerateKey on a deleted key");
    st = query_value(a, L"V", KeyValuePartialInformation, sizeof(g_buf), &rl);
    is_status(st, STATUS_KEY_DELETED, "ZwQueryValueKey on a deleted key");
    st = ZwEnumerateValueKey(a, 0, KeyValueBasicInformation, g_buf, sizeof(g_buf), &rl);
    is_status(st, STATUS_KEY_DELETED, "ZwEnumerateValueKey on a deleted key");
    st = set_value(a, L"V", REG_DWORD, &rl, sizeof(rl));
    is_status(st, STATUS_KEY_DELETED, "ZwSetValueKey on a deleted key");
    RtlInitUnicodeString(&s, L"V");
    st = ZwDeleteValueKey(a, &s);
    is_status(st, STATUS_KEY_DELETED, "ZwDeleteValueKey on a deleted key");
    st = create_key(&h, a, L"Sub", REG_OPTION_VOLATILE, NULL);
    is_status(st, STATUS_KEY_DELETED, "ZwCreateKey relative to a deleted key");
    st = ZwDeleteKey(a);
    is_status(st, STATUS_SUCCESS, "ZwDeleteKey of a deleted key");
    st = open_key(&h, key, L"A", KEY_READ);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "a deleted key cannot be opened");
    st = ZwFlushKey(key);
    is_status(st, STATUS_SUCCESS, "ZwFlushKey");
}

static VOID NTAPI DriverUnload(PDRIVER_OBJECT driver)
{
    harness_done();
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry_path)
{
    static PCWSTR subs[3] = {L"b", L"A", L"c"};
    HANDLE service = NULL, params = NULL, key = NULL, sub[3] = {NULL, NULL, NULL};
    OBJECT_ATTRIBUTES oa;
    ULONG disp = 0, paramsDisp = 0, i;
    NTSTATUS st;

    driver->DriverUnload = DriverUnload;
    InitializeObjectAttributes(&oa, registry_path, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL,
                               NULL);
    st = ZwOpenKey(&service, KEY_ALL_ACCESS, &oa);
    if (!is_status(st, STATUS_SUCCESS, "the driver's service key (RegistryPath) exists"))
        return STATUS_SUCCESS;
    st = create_key(&params, service, L"Parameters", REG_OPTION_VOLATILE, &paramsDisp);
    is_status(st, STATUS_SUCCESS, "ZwCreateKey Parameters");
    st = create_key(&key, params, L"Test", REG_OPTION_VOLATILE, &disp);
    is_status(st, STATUS_SUCCESS, "ZwCreateKey Test");
    is_int(disp, REG_CREATED_NEW_KEY, "a new key: REG_CREATED_NEW_KEY");
    if (NT_SUCCESS(st)) {
        HANDLE again;
        st = create_key(&again, params, L"TEST", REG_OPTION_VOLATILE, &disp);
        is_status(st, STATUS_SUCCESS, "ZwCreateKey of an existing key");
        is_int(disp, REG_OPENED_EXISTING_KEY, "an existing key: REG_OPENED_EXISTING_KEY");
        if (NT_SUCCESS(st))
            ZwClose(again);
        for (i = 0; i < 3; i++) {
            st = create_key(&sub[i], key, subs[i], REG_OPTION_VOLATILE, NULL);
            is_status(st, STATUS_SUCCESS, "ZwCreateKey of a subkey");
        }
        set_value(sub[1], L"V", REG_DWORD, &i, sizeof(i));
        test_values(key);
        test_query_key(key, sub);
        test_handles(key);
        test_delete(key, sub[1]);
        for (i = 0; i < 3; i++) {
            if (i != 1 && sub[i])
                is_status(ZwDeleteKey(sub[i]), STATUS_SUCCESS, "ZwDeleteKey (clean-up)");
            if (sub[i])
                ZwClose(sub[i]);
        }
        is_status(ZwDeleteKey(key), STATUS_SUCCESS, "ZwDeleteKey Test (clean-up)");
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
