// Conformance: hostile calls that Windows answers with a documented status,
// not a bug check. Garbage, closed, reused and wrong-type handles to
// ObReferenceObjectByHandle, ZwWaitForSingleObject, ZwSetEvent, ZwQueryKey,
// ZwQueryValueKey and ZwQueryInformationThread; OBJECT_ATTRIBUTES with a bad
// Length or invalid attribute bits; object names whose lengths lie; strings
// that do not fit their destination. Calls that bug check on Windows (ZwClose
// of a bad kernel handle: 0x93; KeWaitForMultipleObjects with more than 3
// objects and no wait blocks: 0xC) are tests/verifier's, not here.
// Handle values used as garbage are multiples of 4 that no handle table hands
// out this early (Windows ignores a handle's low two bits, so 0x5 would be
// handle 0x4), and never kernel-handle values passed to a close.
// EXPECT-EXIT: 0
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
    test_waits();
    return STATUS_SUCCESS;
}
