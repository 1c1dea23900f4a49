// Conformance: hostile calls that Windows answers with a documented status,
// not a bug check. Garbage, closed, reused and wrong-type handles to
// ObReferenceObjectByHandle, ZwWaitForSingleObject, ZwSetEvent, ZwQueryKey,
// ZwQueryValueKey and ZwQueryInformationThread; OBJECT_ATTRIBUTES with a bad
// Length or invalid attribute bits; object names whose lengths lie; strings
// that do not fit their destination; strings and buffers at odd addresses,
// which Windows takes as they are from KernelMode callers. Calls that bug
// check on Windows (ZwClose
// of a bad kernel handle: 0x93; KeWaitForMultipleObjects with more than 3
// objects and no wait blocks: 0xC) are tests/verifier's, not here.
// Handle values used as garbage are multiples of 4 that no handle table hands
// out this early (Windows ignores a handle's low two bits, so 0x5 would be
// handle 0x4), and never kernel-handle values passed to a close.
// EXPECT-EXIT: 0
// EXPECT-OUTPUT: hostile: KMHOSTHOSTILEODD and kmhosthostileodd at odd addresses print as they are
#include "harness.h"

/* Exported by ntoskrnl.exe; mingw-w64's headers do not declare them. */
NTSYSAPI NTSTATUS NTAPI ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode);
NTSYSAPI NTSTATUS NTAPI ZwQueryInformationThread(HANDLE ThreadHandle, THREADINFOCLASS Class,
                                                 PVOID Information, ULONG Length,
                                                 PULONG ReturnLength);
typedef struct HOSTILE_THREAD_BASIC_INFORMATION { /* THREAD_BASIC_INFORMATION */
    NTSTATUS ExitStatus;
    PVOID TebBaseAddress;
    CLIENT_ID ClientId;
    KAFFINITY AffinityMask;
    KPRIORITY Priority;
    KPRIORITY BasePriority;
} HOSTILE_THREAD_BASIC_INFORMATION;

#define HOSTILE_KEY L"\\Registry\\Machine\\SOFTWARE\\KmhostHostileTest"

/* Handles that are not open in any table: plain and kernel-handle values. */
static const ULONG_PTR g_garbage[] = {
    0x4,                   /* the first handle value: taken only if open */
    0x7FFFFFF0,            /* far past any handle the table has given */
    0x00FFFFFC,            /* one below the 16M-handle limit of kernel tables */
    0xFFFFFFFF8FFFFFF0ull, /* a kernel-handle value never given */
    0x0000100000000000ull, /* above the 32-bit handle range */
};

static LARGE_INTEGER g_zero;

static void init_oa(POBJECT_ATTRIBUTES Oa, PUNICODE_STRING Name, ULONG Attributes)
{
    InitializeObjectAttributes(Oa, Name, Attributes, NULL, NULL);
}

static HANDLE make_event(ULONG Attributes, ACCESS_MASK Access)
{
    OBJECT_ATTRIBUTES oa;
    HANDLE h = NULL;
    init_oa(&oa, NULL, Attributes);
    NTSTATUS st = ZwCreateEvent(&h, Access, &oa, NotificationEvent, FALSE);
    is_status(st, STATUS_SUCCESS, "ZwCreateEvent of an unnamed event");
    return NT_SUCCESS(st) ? h : NULL;
}

static VOID NTAPI quick_thread(PVOID Context)
{
    UNREFERENCED_PARAMETER(Context);
}

static HANDLE make_thread(void)
{
    HANDLE h = NULL;
    NTSTATUS st = PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, quick_thread, NULL);
    is_status(st, STATUS_SUCCESS, "PsCreateSystemThread");
    if (NT_SUCCESS(st))
        ZwWaitForSingleObject(h, FALSE, NULL);
    return NT_SUCCESS(st) ? h : NULL;
}

/* The handle cannot be resolved: every handle-taking routine says so. */
static void expect_invalid_handle(HANDLE h, const char *what)
{
    PVOID obj = (PVOID)1;
    NTSTATUS st;
    UCHAR buf[64];
    ULONG len = 0;
    UNICODE_STRING vn = RTL_CONSTANT_STRING(L"V");

    st = ObReferenceObjectByHandle(h, SYNCHRONIZE, NULL, KernelMode, &obj, NULL);
    if (!is_status(st, STATUS_INVALID_HANDLE,
                   "ObReferenceObjectByHandle(any type) of a bad handle"))
        DbgPrint("  (%s, handle %p)\n", what, h);
    st = ObReferenceObjectByHandle(h, SYNCHRONIZE, KM_ExEventObjectType, KernelMode, &obj, NULL);
    is_status(st, STATUS_INVALID_HANDLE, "ObReferenceObjectByHandle(event type) of a bad handle");
    st = ZwWaitForSingleObject(h, FALSE, &g_zero);
    if (!is_status(st, STATUS_INVALID_HANDLE, "ZwWaitForSingleObject of a bad handle"))
        DbgPrint("  (%s, handle %p)\n", what, h);
    st = ZwSetEvent(h, NULL);
    is_status(st, STATUS_INVALID_HANDLE, "ZwSetEvent of a bad handle");
    st = ZwQueryKey(h, KeyBasicInformation, buf, sizeof(buf), &len);
    is_status(st, STATUS_INVALID_HANDLE, "ZwQueryKey of a bad handle");
    st = ZwQueryValueKey(h, &vn, KeyValuePartialInformation, buf, sizeof(buf), &len);
    is_status(st, STATUS_INVALID_HANDLE, "ZwQueryValueKey of a bad handle");
}

static void test_garbage_handles(void)
{
    for (ULONG i = 0; i < ARRAYSIZE(g_garbage); i++) {
        HANDLE h = (HANDLE)g_garbage[i];
        PVOID obj;
        /* 0x4 may be open (another test's handle): then it is not garbage. */
        if (g_garbage[i] == 0x4 &&
            NT_SUCCESS(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &obj, NULL))) {
            ObDereferenceObject(obj);
            continue;
        }
        expect_invalid_handle(h, "garbage");
    }
    /* NULL is never a handle (without the verifier's handle checks, which
       make it bug check 0xC4/0xF5). */
    expect_invalid_handle(NULL, "NULL");
}

static void test_closed_handles(void)
{
    HANDLE h = make_event(0, EVENT_ALL_ACCESS);
    if (!h)
        return;
    is_status(ZwClose(h), STATUS_SUCCESS, "ZwClose of an open handle");
    expect_invalid_handle(h, "closed event");
    /* A closed handle, closed again, from UserMode semantics (NtClose is not
       the driver's; ObCloseHandle with UserMode returns the status). */
    is_status(ObCloseHandle(h, UserMode), STATUS_INVALID_HANDLE,
              "ObCloseHandle(UserMode) of a closed handle");

    HANDLE k = make_event(OBJ_KERNEL_HANDLE, EVENT_ALL_ACCESS);
    if (!k)
        return;
    ZwClose(k);
    expect_invalid_handle(k, "closed kernel handle");
}

/* A handle value closed and given again to an object of another type: the
   old user of the value now reaches the new object, and the type check is
   what stops it (STATUS_OBJECT_TYPE_MISMATCH). */
static void test_reused_handles(void)
{
    HANDLE e = make_event(OBJ_KERNEL_HANDLE, EVENT_ALL_ACCESS);
    if (!e)
        return;
    ZwClose(e);
    HANDLE t = NULL;
    NTSTATUS st = PsCreateSystemThread(&t, THREAD_ALL_ACCESS, NULL, NULL, NULL, quick_thread, NULL);
    if (!is_status(st, STATUS_SUCCESS, "PsCreateSystemThread"))
        return;
    ZwWaitForSingleObject(t, FALSE, NULL);
    PVOID obj = NULL;
    st = ObReferenceObjectByHandle(e, EVENT_MODIFY_STATE, KM_ExEventObjectType, KernelMode, &obj,
                                   NULL);
    if (t == e)
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH,
                  "an event's reused handle value now names a thread");
    else
        is_status(st, STATUS_INVALID_HANDLE, "a closed event handle");
    is_status(ZwSetEvent(e, NULL), t == e ? STATUS_OBJECT_TYPE_MISMATCH : STATUS_INVALID_HANDLE,
              "ZwSetEvent through a reused handle value");
    ZwClose(t);
}

static HANDLE make_key(void)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(HOSTILE_KEY);
    OBJECT_ATTRIBUTES oa;
    HANDLE h = NULL;
    init_oa(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE);
    NTSTATUS st = ZwCreateKey(&h, KEY_ALL_ACCESS, &oa, 0, NULL, REG_OPTION_VOLATILE, NULL);
    is_status(st, STATUS_SUCCESS, "ZwCreateKey of a volatile test key");
    return NT_SUCCESS(st) ? h : NULL;
}

/* Documented: the wrong object type is STATUS_OBJECT_TYPE_MISMATCH. */
static void test_wrong_type_handles(void)
{
    HANDLE ev = make_event(OBJ_KERNEL_HANDLE, EVENT_ALL_ACCESS);
    HANDLE th = make_thread();
    HANDLE key = make_key();
    PVOID obj = (PVOID)1;
    UCHAR buf[128];
    ULONG len = 0;
    UNICODE_STRING vn = RTL_CONSTANT_STRING(L"V");
    NTSTATUS st;

    if (th) {
        st = ObReferenceObjectByHandle(th, EVENT_MODIFY_STATE, KM_ExEventObjectType, KernelMode,
                                       &obj, NULL);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "a thread handle referenced as an event");
        is_status(ZwSetEvent(th, NULL), STATUS_OBJECT_TYPE_MISMATCH,
                  "ZwSetEvent of a thread handle");
        st = ZwQueryKey(th, KeyBasicInformation, buf, sizeof(buf), &len);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "ZwQueryKey of a thread handle");
    }
    if (ev) {
        st = ObReferenceObjectByHandle(ev, SYNCHRONIZE, KM_PsThreadType, KernelMode, &obj, NULL);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "an event handle referenced as a thread");
        st = ObReferenceObjectByHandle(ev, KEY_READ, KM_CmKeyObjectType, KernelMode, &obj, NULL);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "an event handle referenced as a key");
        st = ZwQueryKey(ev, KeyBasicInformation, buf, sizeof(buf), &len);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "ZwQueryKey of an event handle");
        st = ZwQueryValueKey(ev, &vn, KeyValuePartialInformation, buf, sizeof(buf), &len);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "ZwQueryValueKey of an event handle");
        HOSTILE_THREAD_BASIC_INFORMATION tbi;
        st = ZwQueryInformationThread(ev, ThreadBasicInformation, &tbi, sizeof(tbi), &len);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "ZwQueryInformationThread of an event handle");
    }
    if (key) {
        is_status(ZwSetEvent(key, NULL), STATUS_OBJECT_TYPE_MISMATCH, "ZwSetEvent of a key handle");
        st = ObReferenceObjectByHandle(key, SYNCHRONIZE, KM_ExEventObjectType, KernelMode, &obj,
                                       NULL);
        is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "a key handle referenced as an event");
    }
    /* The pseudo-handles name the current process and thread. */
    st = ObReferenceObjectByHandle(NtCurrentProcess(), SYNCHRONIZE, KM_PsThreadType, KernelMode,
                                   &obj, NULL);
    is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "NtCurrentProcess() referenced as a thread");
    st = ObReferenceObjectByHandle(NtCurrentThread(), SYNCHRONIZE, KM_ExEventObjectType, KernelMode,
                                   &obj, NULL);
    is_status(st, STATUS_OBJECT_TYPE_MISMATCH, "NtCurrentThread() referenced as an event");
    if (ev)
        ZwClose(ev);
    if (th)
        ZwClose(th);
    if (key) {
        ZwDeleteKey(key);
        ZwClose(key);
    }
}

/* UserMode: a kernel handle is not the caller's (STATUS_INVALID_HANDLE), and
   a handle needs the access asked for (STATUS_ACCESS_DENIED). */
static void test_access_mode(void)
{
    HANDLE k = make_event(OBJ_KERNEL_HANDLE, EVENT_ALL_ACCESS);
    HANDLE weak = make_event(0, SYNCHRONIZE);
    PVOID obj;
    NTSTATUS st;
    if (k) {
        st = ObReferenceObjectByHandle(k, SYNCHRONIZE, KM_ExEventObjectType, UserMode, &obj, NULL);
        is_status(st, STATUS_INVALID_HANDLE, "UserMode reference of a kernel handle");
        ZwClose(k);
    }
    if (weak) {
        st = ObReferenceObjectByHandle(weak, EVENT_MODIFY_STATE, KM_ExEventObjectType, UserMode,
                                       &obj, NULL);
        is_status(st, STATUS_ACCESS_DENIED, "UserMode reference beyond the granted access");
        st = ObReferenceObjectByHandle(weak, EVENT_MODIFY_STATE, KM_ExEventObjectType, KernelMode,
                                       &obj, NULL);
        if (is_status(st, STATUS_SUCCESS, "KernelMode skips the access check"))
            ObDereferenceObject(obj);
        ZwClose(weak);
    }
}

/* Documented for ObReferenceObjectByPointer / ObOpenObjectByPointer: an
   object of another type is STATUS_OBJECT_TYPE_MISMATCH. */
static void test_by_pointer(void)
{
    PKTHREAD self = KeGetCurrentThread();
    HANDLE h = NULL;
    is_status(ObReferenceObjectByPointer(self, SYNCHRONIZE, KM_ExEventObjectType, KernelMode),
              STATUS_OBJECT_TYPE_MISMATCH, "ObReferenceObjectByPointer of a thread as an event");
    is_status(ObOpenObjectByPointer(self, OBJ_KERNEL_HANDLE, NULL, SYNCHRONIZE,
                                    KM_ExEventObjectType, KernelMode, &h),
              STATUS_OBJECT_TYPE_MISMATCH, "ObOpenObjectByPointer of a thread as an event");
    PETHREAD t = NULL;
    is_status(PsLookupThreadByThreadId((HANDLE)(ULONG_PTR)0x7FFFFFF0, &t), STATUS_INVALID_PARAMETER,
              "PsLookupThreadByThreadId of an id no thread has");
}

/* OBJECT_ATTRIBUTES: a Length other than sizeof(OBJECT_ATTRIBUTES) or an
   attribute bit outside OBJ_VALID_ATTRIBUTES is STATUS_INVALID_PARAMETER. */
static void test_object_attributes(void)
{
    static const struct {
        ULONG Length;
        ULONG Attributes;
        const char *What;
    } bad[] = {
        {0, OBJ_KERNEL_HANDLE, "Length 0"},
        {sizeof(OBJECT_ATTRIBUTES) - 8, OBJ_KERNEL_HANDLE, "Length too small"},
        {sizeof(OBJECT_ATTRIBUTES) + 8, OBJ_KERNEL_HANDLE, "Length too large"},
        {sizeof(OBJECT_ATTRIBUTES), OBJ_KERNEL_HANDLE | 0x80000000u, "attribute bit 31"},
        {sizeof(OBJECT_ATTRIBUTES), OBJ_KERNEL_HANDLE | 0x00010000u, "attribute bit 16"},
        {sizeof(OBJECT_ATTRIBUTES), 0x1, "attribute bit 0"},
    };
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\BaseNamedObjects\\KmhostHostileOa");
    for (ULONG i = 0; i < ARRAYSIZE(bad); i++) {
        OBJECT_ATTRIBUTES oa;
        HANDLE h = NULL;
        init_oa(&oa, &name, 0);
        oa.Length = bad[i].Length;
        oa.Attributes = bad[i].Attributes;
        NTSTATUS st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
        if (!is_status(st, STATUS_INVALID_PARAMETER, "ZwCreateEvent with bad OBJECT_ATTRIBUTES"))
            DbgPrint("  (%s)\n", bad[i].What);
        if (NT_SUCCESS(st))
            ZwClose(h);
        st = ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa);
        if (!is_status(st, STATUS_INVALID_PARAMETER, "ZwOpenEvent with bad OBJECT_ATTRIBUTES"))
            DbgPrint("  (%s)\n", bad[i].What);
        if (NT_SUCCESS(st))
            ZwClose(h);
    }
}

/* Object names whose lengths lie. An odd byte Length cannot be a UTF-16
   name: STATUS_OBJECT_NAME_INVALID. A relative name without a
   RootDirectory: STATUS_OBJECT_PATH_SYNTAX_BAD. A missing directory on the
   way: STATUS_OBJECT_PATH_NOT_FOUND. */
static void test_names(void)
{
    static WCHAR text[] = L"\\BaseNamedObjects\\KmhostHostileName";
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    HANDLE h = NULL;
    NTSTATUS st;

    name.Buffer = text;
    name.MaximumLength = sizeof(text);
    name.Length = sizeof(text) - 3; /* odd */
    init_oa(&oa, &name, OBJ_KERNEL_HANDLE);
    st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    is_status(st, STATUS_OBJECT_NAME_INVALID, "ZwCreateEvent with an odd name Length");
    st = ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa);
    is_status(st, STATUS_OBJECT_NAME_INVALID, "ZwOpenEvent with an odd name Length");

    UNICODE_STRING rel = RTL_CONSTANT_STRING(L"KmhostHostileRelative");
    init_oa(&oa, &rel, OBJ_KERNEL_HANDLE);
    st = ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa);
    is_status(st, STATUS_OBJECT_PATH_SYNTAX_BAD, "ZwOpenEvent of a relative name without a root");
    st = ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    is_status(st, STATUS_OBJECT_PATH_SYNTAX_BAD, "ZwCreateEvent of a relative name without a root");

    UNICODE_STRING deep = RTL_CONSTANT_STRING(L"\\KmhostNoSuchDirectory\\Event");
    init_oa(&oa, &deep, OBJ_KERNEL_HANDLE);
    st = ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa);
    is_status(st, STATUS_OBJECT_PATH_NOT_FOUND, "ZwOpenEvent under a missing directory");

    UNICODE_STRING none = RTL_CONSTANT_STRING(L"\\BaseNamedObjects\\KmhostHostileMissing");
    init_oa(&oa, &none, OBJ_KERNEL_HANDLE);
    st = ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "ZwOpenEvent of a name nobody created");

    /* A key name that is relative, without a root. */
    UNICODE_STRING krel = RTL_CONSTANT_STRING(L"SOFTWARE");
    init_oa(&oa, &krel, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE);
    st = ZwOpenKey(&h, KEY_READ, &oa);
    is_status(st, STATUS_OBJECT_PATH_SYNTAX_BAD, "ZwOpenKey of a relative name without a root");
    UNICODE_STRING kmissing = RTL_CONSTANT_STRING(HOSTILE_KEY L"Missing");
    init_oa(&oa, &kmissing, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE);
    st = ZwOpenKey(&h, KEY_READ, &oa);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "ZwOpenKey of a key that does not exist");
}

/* Registry queries with documented failures: an invalid information class
   is STATUS_INVALID_PARAMETER; a buffer too small for the fixed part is
   STATUS_BUFFER_TOO_SMALL with the size needed in ResultLength; a missing
   value is STATUS_OBJECT_NAME_NOT_FOUND. */
static void test_registry_queries(void)
{
    HANDLE key = make_key();
    if (!key)
        return;
    UCHAR buf[256];
    ULONG len = 0;
    NTSTATUS st;
    UNICODE_STRING vn = RTL_CONSTANT_STRING(L"NoSuchValue");

    st = ZwQueryKey(key, (KEY_INFORMATION_CLASS)77, buf, sizeof(buf), &len);
    is_status(st, STATUS_INVALID_PARAMETER, "ZwQueryKey with an invalid class");
    len = 0;
    st = ZwQueryKey(key, KeyBasicInformation, buf, 4, &len);
    is_status(st, STATUS_BUFFER_TOO_SMALL, "ZwQueryKey into 4 bytes");
    ok(len >= FIELD_OFFSET(KEY_BASIC_INFORMATION, Name), "ResultLength is the size needed (%lu)",
       len);
    st = ZwQueryValueKey(key, &vn, KeyValuePartialInformation, buf, sizeof(buf), &len);
    is_status(st, STATUS_OBJECT_NAME_NOT_FOUND, "ZwQueryValueKey of a missing value");
    st = ZwQueryValueKey(key, &vn, (KEY_VALUE_INFORMATION_CLASS)77, buf, sizeof(buf), &len);
    ok(st == STATUS_INVALID_PARAMETER || st == STATUS_OBJECT_NAME_NOT_FOUND,
       "ZwQueryValueKey with an invalid class fails (0x%08lx)", (ULONG)st);
    ZwDeleteKey(key);
    ZwClose(key);
}

/* Pointers Windows takes as they are from a KernelMode caller (no probe, no
   alignment check): an optional NULL source string, strings whose WCHARs sit
   at an odd address, output buffers at an odd address. x64 reads and writes
   them unaligned; kmhost must too (under UBSan a misaligned access in
   kmhost's own code would end the run). The checks compare bytes with
   RtlCompareMemory, so the driver itself never indexes an odd WCHAR. */

/* The first odd address in Raw, which has at least one byte to spare. */
#define HOSTILE_ODD_PTR(raw) ((PVOID)((ULONG_PTR)(raw) | 1))

/* U: a UNICODE_STRING whose Buffer is a copy of the literal Text at an odd
   address in Raw (sizeof(Text) + 1 bytes or more). */
#define HOSTILE_ODD(u, raw, text)                                                                  \
    do {                                                                                           \
        RtlCopyMemory(HOSTILE_ODD_PTR(raw), (text), sizeof(text));                                 \
        (u).Buffer = (PWCH)HOSTILE_ODD_PTR(raw);                                                   \
        (u).Length = (USHORT)(sizeof(text) - sizeof(WCHAR));                                       \
        (u).MaximumLength = (USHORT)sizeof(text);                                                  \
    } while (0)

/* Whether the Bytes at P (any alignment) are those of Expected. */
#define HOSTILE_SAME(p, expected, bytes) (RtlCompareMemory((p), (expected), (bytes)) == (bytes))

static const WCHAR g_upper[] = L"KMHOSTHOSTILEODD", g_lower[] = L"kmhosthostileodd";

/* The UNICODE_STRING routines with odd sources and odd destinations. */
static void test_odd_unicode_strings(void)
{
    UCHAR raw1[sizeof(g_upper) + 8], raw2[sizeof(g_lower) + 8], out[128 + 8];
    UNICODE_STRING a, b, d, t;
    NTSTATUS st;

    HOSTILE_ODD(a, raw1, g_upper);
    HOSTILE_ODD(b, raw2, g_lower);
    ok(RtlEqualUnicodeString(&a, &b, TRUE) && !RtlEqualUnicodeString(&a, &b, FALSE) &&
           RtlCompareUnicodeString(&a, &b, TRUE) == 0,
       "Rtl string comparisons of strings at odd addresses");
    ok(RtlCompareUnicodeString(&a, &b, FALSE) < 0,
       "RtlCompareUnicodeString, case-sensitive: 'K' sorts before 'k'");

    t = a;
    t.Length = 6 * sizeof(WCHAR); /* "KMHOST" */
    ok(RtlPrefixUnicodeString(&t, &b, TRUE) && !RtlPrefixUnicodeString(&t, &b, FALSE) &&
           RtlPrefixUnicodeString(&t, &a, FALSE) && !RtlPrefixUnicodeString(&a, &t, FALSE),
       "RtlPrefixUnicodeString of strings at odd addresses");

    /* RtlCopyUnicodeString: odd source, odd destination. */
    d.Buffer = (PWCH)HOSTILE_ODD_PTR(out);
    d.Length = 0;
    d.MaximumLength = 64 * sizeof(WCHAR);
    RtlCopyUnicodeString(&d, &a);
    ok(d.Length == a.Length && HOSTILE_SAME(d.Buffer, g_upper, a.Length),
       "RtlCopyUnicodeString between odd addresses copies Length bytes (%u)", d.Length);

    /* Appends: to an odd destination, from an odd PCWSTR and an odd string. */
    d.Length = 0;
    st = RtlAppendUnicodeToString(&d, b.Buffer);
    is_status(st, STATUS_SUCCESS, "RtlAppendUnicodeToString of an odd PCWSTR to an odd buffer");
    st = RtlAppendUnicodeStringToString(&d, &a);
    is_status(st, STATUS_SUCCESS, "RtlAppendUnicodeStringToString between odd addresses");
    ok(d.Length == a.Length + b.Length && HOSTILE_SAME(d.Buffer, g_lower, b.Length) &&
           HOSTILE_SAME((PUCHAR)d.Buffer + b.Length, g_upper, a.Length),
       "the appended text, lower then upper (Length %u)", d.Length);

    /* Case mapping into an odd destination, and into an allocated one. */
    d.Length = 0;
    st = RtlUpcaseUnicodeString(&d, &b, FALSE);
    if (is_status(st, STATUS_SUCCESS, "RtlUpcaseUnicodeString between odd addresses"))
        ok(RtlEqualUnicodeString(&d, &a, FALSE), "the upcased string is the upper-case text");
    st = RtlDowncaseUnicodeString(&d, &a, FALSE);
    if (is_status(st, STATUS_SUCCESS, "RtlDowncaseUnicodeString between odd addresses"))
        ok(RtlEqualUnicodeString(&d, &b, FALSE), "the downcased string is the lower-case text");
    RtlZeroMemory(&t, sizeof(t));
    st = RtlUpcaseUnicodeString(&t, &b, TRUE);
    if (is_status(st, STATUS_SUCCESS, "RtlUpcaseUnicodeString of an odd source, allocating")) {
        ok(RtlEqualUnicodeString(&t, &a, FALSE), "the allocated upcased string");
        RtlFreeUnicodeString(&t);
    }

    /* Unicode <-> ANSI. */
    ANSI_STRING an;
    RtlZeroMemory(&an, sizeof(an));
    st = RtlUnicodeStringToAnsiString(&an, &a, TRUE);
    if (is_status(st, STATUS_SUCCESS, "RtlUnicodeStringToAnsiString of an odd source")) {
        ok(an.Length == 16 && HOSTILE_SAME(an.Buffer, "KMHOSTHOSTILEODD", 16),
           "the ANSI text (Length %u)", an.Length);
        RtlFreeAnsiString(&an);
    }
    ANSI_STRING as = RTL_CONSTANT_STRING("kmhosthostileodd");
    d.Length = 0;
    st = RtlAnsiStringToUnicodeString(&d, &as, FALSE);
    if (is_status(st, STATUS_SUCCESS, "RtlAnsiStringToUnicodeString into an odd buffer"))
        ok(RtlEqualUnicodeString(&d, &b, FALSE), "the converted string (Length %u)", d.Length);

    /* Integers <-> strings. */
    static const WCHAR neg[] = L"  -1234", hex[] = L"0x1F";
    UCHAR rawn[sizeof(neg) + 8];
    ULONG v = 0;
    HOSTILE_ODD(t, rawn, neg);
    st = RtlUnicodeStringToInteger(&t, 10, &v);
    if (is_status(st, STATUS_SUCCESS, "RtlUnicodeStringToInteger of an odd string"))
        ok(v == (ULONG)-1234, "white space, sign and digits give -1234 (%ld)", (LONG)v);
    HOSTILE_ODD(t, rawn, hex);
    v = 0;
    st = RtlUnicodeStringToInteger(&t, 0, &v);
    if (is_status(st, STATUS_SUCCESS, "RtlUnicodeStringToInteger, base 0, of an odd string"))
        ok(v == 0x1F, "the 0x prefix selects base 16 (%lu)", v);
    d.Length = 0;
    st = RtlIntegerToUnicodeString(4321, 10, &d);
    if (is_status(st, STATUS_SUCCESS, "RtlIntegerToUnicodeString into an odd buffer"))
        ok(d.Length == 4 * sizeof(WCHAR) && HOSTILE_SAME(d.Buffer, L"4321", d.Length),
           "the digits (Length %u)", d.Length);
    d.Length = 0;
    st = RtlInt64ToUnicodeString(9876543210ull, 10, &d);
    if (is_status(st, STATUS_SUCCESS, "RtlInt64ToUnicodeString into an odd buffer"))
        ok(d.Length == 10 * sizeof(WCHAR) && HOSTILE_SAME(d.Buffer, L"9876543210", d.Length),
           "the digits (Length %u)", d.Length);

    static WCHAR routine[] = L"KeSetEvent";
    UCHAR raw_routine[sizeof(routine) + 8];
    UNICODE_STRING rn;
    HOSTILE_ODD(rn, raw_routine, routine);
    ok(MmGetSystemRoutineAddress(&rn) != NULL,
       "MmGetSystemRoutineAddress of a name at an odd address finds the routine");

    /* Initialisation from an odd PCWSTR. */
    RtlInitUnicodeString(&t, a.Buffer);
    ok(t.Buffer == a.Buffer && t.Length == a.Length && t.MaximumLength == a.Length + sizeof(WCHAR),
       "RtlInitUnicodeString of an odd PCWSTR (%u, %u)", t.Length, t.MaximumLength);
    RtlZeroMemory(&t, sizeof(t));
    if (ok(RtlCreateUnicodeString(&t, b.Buffer), "RtlCreateUnicodeString of an odd PCWSTR")) {
        ok(RtlEqualUnicodeString(&t, &b, FALSE), "the created copy (Length %u)", t.Length);
        RtlFreeUnicodeString(&t);
    }
}

/* Exported by ntoskrnl.exe (the legacy counted form); <ntifs.h> does not declare it. */
NTSYSAPI int __cdecl _snwprintf(WCHAR *Buffer, size_t Count, const WCHAR *Format, ...);

/* The wide C runtime routines ntoskrnl exports, on odd strings and buffers. */
static void test_odd_crt(void)
{
    UCHAR raw1[sizeof(g_upper) + 8], raw2[sizeof(g_lower) + 8], out[128 + 8];
    UNICODE_STRING a, b;
    HOSTILE_ODD(a, raw1, g_upper);
    HOSTILE_ODD(b, raw2, g_lower);
    PWCH up = a.Buffer, lo = b.Buffer, o = (PWCH)HOSTILE_ODD_PTR(out);

    ok(wcslen(up) == 16, "wcslen of an odd string (%Iu)", wcslen(up));
    ok(wcscmp(up, g_upper) == 0 && wcscmp(up, lo) < 0 && wcsncmp(up, L"KMHOSTxyz", 6) == 0,
       "wcscmp and wcsncmp of odd strings");
    ok(_wcsicmp(up, lo) == 0 && _wcsnicmp(up, L"kmhostXYZ", 6) == 0,
       "_wcsicmp and _wcsnicmp of odd strings");
    ok(wcscpy(o, up) == o && wcslen(o) == 16 && HOSTILE_SAME(o, g_upper, sizeof(g_upper)),
       "wcscpy between odd addresses");
    ok(wcscat(o, lo) == o && wcslen(o) == 32 && HOSTILE_SAME(o + 16, g_lower, sizeof(g_lower)),
       "wcscat between odd addresses");
    ok(wcsncat(o, up, 2) == o && wcslen(o) == 34 && HOSTILE_SAME(o + 32, L"KM", 3 * sizeof(WCHAR)),
       "wcsncat between odd addresses appends 2 characters and a NUL");
    RtlFillMemory(o, 8 * sizeof(WCHAR), 0x55);
    ok(wcsncpy(o, lo, 6) == o && HOSTILE_SAME(o, L"kmhost", 6 * sizeof(WCHAR)) &&
           HOSTILE_SAME(o + 6, "\x55\x55", 2),
       "wcsncpy of 6 characters between odd addresses writes 6 and no NUL");
    ok(wcschr(up, L'H') == up + 2 && wcschr(up, L'Z') == NULL && wcsrchr(up, L'O') == up + 13,
       "wcschr and wcsrchr of an odd string return odd pointers into it");
    ok(wcsstr(up, L"HOST") == up + 2 && wcsstr(L"xHOSTILE", up + 6) == NULL,
       "wcsstr with odd strings");
    ok(wcsspn(up, L"KM") == 2 && wcscspn(up, L"ST") == 4, "wcsspn and wcscspn of an odd string");
    wcscpy(o, up);
    ok(_wcslwr(o) == o && HOSTILE_SAME(o, g_lower, sizeof(g_lower)), "_wcslwr of an odd string");
    ok(_wcsupr(o) == o && HOSTILE_SAME(o, g_upper, sizeof(g_upper)), "_wcsupr of an odd string");

    char narrow[20];
    ok(wcstombs(narrow, up, sizeof(narrow)) == 16 && HOSTILE_SAME(narrow, "KMHOSTHOSTILEODD", 17),
       "wcstombs of an odd string");
    ok(mbstowcs(o, "kmhosthostileodd", 17) == 16 && HOSTILE_SAME(o, g_lower, sizeof(g_lower)),
       "mbstowcs into an odd buffer");

    static const WCHAR num[] = L"1234";
    UCHAR rawn[sizeof(num) + 8];
    UNICODE_STRING n;
    HOSTILE_ODD(n, rawn, num);
    ok(_wtoi(n.Buffer) == 1234, "_wtoi of an odd string (%d)", _wtoi(n.Buffer));

    /* _snwprintf: odd output buffer, odd format, odd %ws and %wZ arguments. */
    static const WCHAR fmt[] = L"%ws|%wZ|%d|%c";
    static const WCHAR expect[] = L"KMHOSTHOSTILEODD|kmhosthostileodd|42|Q";
    UCHAR rawf[sizeof(fmt) + 8];
    UNICODE_STRING f;
    HOSTILE_ODD(f, rawf, fmt);
    int r = _snwprintf(o, 60, f.Buffer, up, &b, 42, L'Q');
    ok(r == 38 && HOSTILE_SAME(o, expect, sizeof(expect)),
       "_snwprintf with an odd buffer, format and string arguments (%d)", r);

    ok(DbgPrint("hostile: %wZ and %ws at odd addresses print as they are\n", &a, lo) ==
           STATUS_SUCCESS,
       "DbgPrint of %%wZ and %%ws arguments at odd addresses");
}

/* WDK 8 wdm.h; mingw-w64 lacks them. */
#define HOSTILE_TYPECHECK 0x00000100     /* RTL_QUERY_REGISTRY_TYPECHECK */
#define HOSTILE_TC(t) ((ULONG)(t) << 24) /* RTL_QUERY_REGISTRY_TYPECHECK_SHIFT */

/* Registry names and data at odd addresses, and output buffers at odd ones. */
static void test_odd_registry(void)
{
    HANDLE key = make_key();
    if (!key)
        return;
    static const WCHAR keyname[] = HOSTILE_KEY, subname[] = HOSTILE_KEY L"\\OddSub",
                       valuename[] = L"OddValue", sz[] = L"odd data";
    UCHAR raw3[sizeof(subname) + 8], rawv[sizeof(valuename) + 8], rawd[sizeof(sz) + 8];
    UCHAR buf[256 + 8];
    PUCHAR ob = HOSTILE_ODD_PTR(buf);
    UNICODE_STRING kn, vn, dn;
    OBJECT_ATTRIBUTES oa;
    HANDLE again = NULL;
    ULONG len = 0, disp = 0, data = 0x12345678;
    NTSTATUS st;

    HOSTILE_ODD(kn, raw3, keyname);
    init_oa(&oa, &kn, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE);
    st = ZwOpenKey(&again, KEY_READ, &oa);
    if (is_status(st, STATUS_SUCCESS, "ZwOpenKey with a name at an odd address"))
        ZwClose(again);
    HOSTILE_ODD(kn, raw3, subname);
    init_oa(&oa, &kn, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE);
    st = ZwCreateKey(&again, KEY_ALL_ACCESS, &oa, 0, NULL, REG_OPTION_VOLATILE, &disp);
    if (is_status(st, STATUS_SUCCESS, "ZwCreateKey with a name at an odd address")) {
        ok(disp == REG_CREATED_NEW_KEY, "the key is new (disposition %lu)", disp);
        ZwDeleteKey(again);
        ZwClose(again);
    }

    HOSTILE_ODD(vn, rawv, valuename);
    RtlCopyMemory(ob, &data, sizeof(data));
    is_status(ZwSetValueKey(key, &vn, 0, REG_DWORD, ob, sizeof(data)), STATUS_SUCCESS,
              "ZwSetValueKey with its name and data at odd addresses");
    st = ZwQueryValueKey(key, &vn, KeyValuePartialInformation, ob, 256, &len);
    if (is_status(st, STATUS_SUCCESS, "ZwQueryValueKey into a buffer at an odd address")) {
        ULONG got = 0;
        RtlCopyMemory(&got, ob + FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data), sizeof(got));
        ok(got == data, "the value read back (0x%08lx)", got);
    }

    /* A REG_SZ whose data is at an odd address, read back whole. */
    HOSTILE_ODD(dn, rawd, sz);
    is_status(ZwSetValueKey(key, &vn, 0, REG_SZ, dn.Buffer, sizeof(sz)), STATUS_SUCCESS,
              "ZwSetValueKey of REG_SZ data at an odd address");
    len = 0;
    st = ZwQueryValueKey(key, &vn, KeyValueFullInformation, ob, 256, &len);
    if (is_status(st, STATUS_SUCCESS, "ZwQueryValueKey, full information, into an odd buffer")) {
        ULONG type = 0, off = 0, dlen = 0, nlen = 0;
        RtlCopyMemory(&type, ob + FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Type), 4);
        RtlCopyMemory(&off, ob + FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, DataOffset), 4);
        RtlCopyMemory(&dlen, ob + FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, DataLength), 4);
        RtlCopyMemory(&nlen, ob + FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, NameLength), 4);
        ok(type == REG_SZ && nlen == sizeof(valuename) - sizeof(WCHAR) &&
               HOSTILE_SAME(ob + FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Name), valuename, nlen) &&
               dlen == sizeof(sz) && off + dlen <= len && len <= 256 &&
               HOSTILE_SAME(ob + off, sz, sizeof(sz)),
           "its type, name and data (type %lu, name %lu bytes, data %lu bytes at %lu)", type, nlen,
           dlen, off);
    }
    /* The Rtl registry routines: odd path, value name, data, default data,
       environment and DIRECT destination buffer. */
    HOSTILE_ODD(kn, raw3, keyname);
    is_status(RtlCheckRegistryKey(RTL_REGISTRY_ABSOLUTE, kn.Buffer), STATUS_SUCCESS,
              "RtlCheckRegistryKey of a path at an odd address");
    static const WCHAR expand[] = L"%ODDVAR%\\x", env[] = L"ODDVAR=abc\0", def[] = L"dflt";
    UCHAR rawe[sizeof(expand) + 8], rawenv[sizeof(env) + 8], rawdef[sizeof(def) + 8];
    UNICODE_STRING en, envn, defn, us;
    HOSTILE_ODD(en, rawe, expand);
    HOSTILE_ODD(envn, rawenv, env);
    HOSTILE_ODD(defn, rawdef, def);
    st = RtlWriteRegistryValue(RTL_REGISTRY_ABSOLUTE, kn.Buffer, vn.Buffer, REG_EXPAND_SZ,
                               en.Buffer, sizeof(expand));
    is_status(st, STATUS_SUCCESS,
              "RtlWriteRegistryValue with its path, name and data at odd addresses");
    RTL_QUERY_REGISTRY_TABLE qt[2];
    RtlZeroMemory(qt, sizeof(qt));
    qt[0].Flags = RTL_QUERY_REGISTRY_DIRECT | HOSTILE_TYPECHECK;
    qt[0].Name = vn.Buffer;
    qt[0].EntryContext = &us;
    qt[0].DefaultType = HOSTILE_TC(REG_EXPAND_SZ);
    us.Buffer = (PWCH)(ob + 64);
    us.Length = 0;
    us.MaximumLength = 64;
    st = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, kn.Buffer, qt, NULL, envn.Buffer);
    if (is_status(st, STATUS_SUCCESS,
                  "RtlQueryRegistryValues, DIRECT into an odd buffer, odd environment"))
        ok(us.Length == 5 * sizeof(WCHAR) && HOSTILE_SAME(us.Buffer, L"abc\\x", 6 * sizeof(WCHAR)),
           "REG_EXPAND_SZ expanded from the odd environment, terminated (Length %u)", us.Length);
    qt[0].Name = L"OddMissing";
    qt[0].DefaultType = HOSTILE_TC(REG_SZ) | REG_SZ;
    qt[0].DefaultData = defn.Buffer;
    qt[0].DefaultLength = 0;
    us.Length = 0;
    st = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, kn.Buffer, qt, NULL, NULL);
    if (is_status(st, STATUS_SUCCESS, "RtlQueryRegistryValues with odd REG_SZ DefaultData"))
        ok(us.Length == 4 * sizeof(WCHAR) && HOSTILE_SAME(us.Buffer, def, sizeof(def)),
           "DefaultLength 0: the default string's length is measured (Length %u)", us.Length);

    len = 0;
    st = ZwEnumerateValueKey(key, 0, KeyValueBasicInformation, ob, 256, &len);
    if (is_status(st, STATUS_SUCCESS, "ZwEnumerateValueKey into a buffer at an odd address")) {
        ULONG nlen = 0;
        RtlCopyMemory(&nlen, ob + FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, NameLength), 4);
        ok(nlen == sizeof(valuename) - sizeof(WCHAR) &&
               HOSTILE_SAME(ob + FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name), valuename, nlen),
           "the enumerated value's name (%lu bytes)", nlen);
    }

    len = 0;
    st = ZwQueryKey(key, KeyBasicInformation, ob, 256, &len);
    if (is_status(st, STATUS_SUCCESS, "ZwQueryKey into a buffer at an odd address")) {
        static const WCHAR last[] = L"KmhostHostileTest";
        ULONG name_length;
        RtlCopyMemory(&name_length, ob + FIELD_OFFSET(KEY_BASIC_INFORMATION, NameLength),
                      sizeof(name_length));
        ok(name_length == sizeof(last) - sizeof(WCHAR) &&
               len == FIELD_OFFSET(KEY_BASIC_INFORMATION, Name) + name_length &&
               HOSTILE_SAME(ob + FIELD_OFFSET(KEY_BASIC_INFORMATION, Name), last, name_length),
           "its Name, NameLength and ResultLength (%lu, %lu)", name_length, len);
    }
    ZwDeleteKey(key);
    ZwClose(key);
}

static void test_pointers(void)
{
    static WCHAR name[] = L"\\BaseNamedObjects\\KmhostHostileOdd";
    UCHAR raw[sizeof(name) + 8];
    UNICODE_STRING u, odd, even = RTL_CONSTANT_STRING(name);
    OBJECT_ATTRIBUTES oa;
    HANDLE h1 = NULL, h2 = NULL;
    NTSTATUS st;

    RtlInitUnicodeString(&u, NULL);
    ok(u.Length == 0 && u.MaximumLength == 0 && u.Buffer == NULL,
       "RtlInitUnicodeString of NULL: an empty string (%u, %u, %p)", u.Length, u.MaximumLength,
       u.Buffer);

    HOSTILE_ODD(odd, raw, name);
    init_oa(&oa, &odd, OBJ_KERNEL_HANDLE);
    st = ZwCreateEvent(&h1, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE);
    if (is_status(st, STATUS_SUCCESS, "ZwCreateEvent with a name at an odd address")) {
        init_oa(&oa, &even, OBJ_KERNEL_HANDLE);
        st = ZwOpenEvent(&h2, SYNCHRONIZE, &oa);
        is_status(st, STATUS_SUCCESS, "the same name, aligned, opens that event");
        if (NT_SUCCESS(st))
            ZwClose(h2);
        ZwClose(h1);
    }

    test_odd_unicode_strings();
    test_odd_crt();
    test_odd_registry();
}

/* Documented statuses of the string routines for strings that do not fit or
   are not what they claim. */
static void test_strings(void)
{
    WCHAR small[4];
    UNICODE_STRING dst = {0, sizeof(small), small};
    UNICODE_STRING src = RTL_CONSTANT_STRING(L"much too long");
    NTSTATUS st;

    is_status(RtlAppendUnicodeStringToString(&dst, &src), STATUS_BUFFER_TOO_SMALL,
              "RtlAppendUnicodeStringToString past MaximumLength");
    ok(dst.Length == 0, "a failed append leaves Length (%u)", dst.Length);
    is_status(RtlAppendUnicodeToString(&dst, L"much too long"), STATUS_BUFFER_TOO_SMALL,
              "RtlAppendUnicodeToString past MaximumLength");

    CHAR abuf[4];
    ANSI_STRING a = {0, sizeof(abuf), abuf};
    st = RtlUnicodeStringToAnsiString(&a, &src, FALSE);
    is_status(st, STATUS_BUFFER_OVERFLOW, "RtlUnicodeStringToAnsiString into a short buffer");

    UNICODE_STRING up = {0, sizeof(small), small};
    is_status(RtlUpcaseUnicodeString(&up, &src, FALSE), STATUS_BUFFER_OVERFLOW,
              "RtlUpcaseUnicodeString into a short buffer");
    is_status(RtlDowncaseUnicodeString(&up, &src, FALSE), STATUS_BUFFER_OVERFLOW,
              "RtlDowncaseUnicodeString into a short buffer");

    WCHAR nbuf[40];
    UNICODE_STRING num = {0, sizeof(nbuf), nbuf};
    is_status(RtlIntegerToUnicodeString(42, 3, &num), STATUS_INVALID_PARAMETER,
              "RtlIntegerToUnicodeString in base 3");
    UNICODE_STRING tiny = {0, 2, nbuf};
    is_status(RtlIntegerToUnicodeString(123456, 10, &tiny), STATUS_BUFFER_OVERFLOW,
              "RtlIntegerToUnicodeString into one WCHAR");
    ULONG v = 0;
    UNICODE_STRING digits = RTL_CONSTANT_STRING(L"123");
    is_status(RtlUnicodeStringToInteger(&digits, 7, &v), STATUS_INVALID_PARAMETER,
              "RtlUnicodeStringToInteger in base 7");

    /* RtlInitUnicodeStringEx: a source of more than 0xFFFE bytes does not
       fit a UNICODE_STRING (STATUS_NAME_TOO_LONG). */
    PWCHAR big = ExAllocatePoolWithTag(NonPagedPool, 0x10000 + 2, HARNESS_TAG);
    if (ok(big != NULL, "pool for a long string")) {
        for (ULONG i = 0; i < 0x8000; i++)
            big[i] = L'x';
        big[0x8000] = 0;
        UNICODE_STRING u;
        is_status(RtlInitUnicodeStringEx(&u, big), STATUS_NAME_TOO_LONG,
                  "RtlInitUnicodeStringEx of 32768 characters");
        ExFreePoolWithTag(big, HARNESS_TAG);
    }

    UNICODE_STRING dup;
    is_status(RtlDuplicateUnicodeString(4, &src, &dup), STATUS_INVALID_PARAMETER,
              "RtlDuplicateUnicodeString with an undefined flag");
}

/* A key is not a dispatcher object: Windows waits on its type's default
   object, an always-signaled event, so the wait is satisfied at once (and
   the key's memory is never treated as a DISPATCHER_HEADER: before the fix
   in src/ob/obwait.c this wait linked a wait block into the key's body).
   PreviousState may be NULL for ZwSetEvent. */
static void test_waits(void)
{
    HANDLE key = make_key();
    if (key) {
        NTSTATUS st = ZwWaitForSingleObject(key, FALSE, &g_zero);
        is_status(st, STATUS_SUCCESS, "ZwWaitForSingleObject of a key: the default object");
        HANDLE two[2] = {key, key};
        st = ZwWaitForMultipleObjects(2, two, WaitAny, FALSE, &g_zero);
        is_status(st, STATUS_WAIT_0, "ZwWaitForMultipleObjects(WaitAny) of keys");
        UCHAR buf[64];
        ULONG len = 0;
        is_status(ZwQueryKey(key, KeyBasicInformation, buf, sizeof(buf), &len), STATUS_SUCCESS,
                  "the key still answers after being waited on");
        ZwDeleteKey(key);
        ZwClose(key);
    }
    HANDLE ev = make_event(OBJ_KERNEL_HANDLE, EVENT_ALL_ACCESS);
    if (ev) {
        is_status(ZwSetEvent(ev, NULL), STATUS_SUCCESS, "ZwSetEvent with PreviousState NULL");
        is_status(ZwWaitForSingleObject(ev, FALSE, &g_zero), STATUS_SUCCESS,
                  "the set event satisfies the wait");
        ZwClose(ev);
    }
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = harness_unload;
    test_garbage_handles();
    test_closed_handles();
    test_reused_handles();
    test_wrong_type_handles();
    test_access_mode();
    test_by_pointer();
    test_object_attributes();
    test_names();
    test_registry_queries();
    test_strings();
    test_pointers();
    test_waits();
    return STATUS_SUCCESS;
}
