/*
 * Regression (found by tests/drivers/hostile.c): ZwWaitForSingleObject and
 * ZwWaitForMultipleObjects on a handle to an object that is not a dispatcher
 * object (a key, a device...) passed its body to KeWaitFor*, which linked a
 * wait block into the first bytes of the body as if they were a
 * DISPATCHER_HEADER: memory corruption, and a wait that never ended.
 * Windows waits on the type's default object instead, an always-signaled
 * event: the wait is satisfied at once and the body is untouched.
 *
 * The test creates an object of a type of its own, fills its body with a
 * pattern, waits on a handle to it (with a zero timeout and with none: the
 * second would hang without the fix) and checks the status and the body.
 */
#include "ob/ob.h"
#include "ps/ps.h"

#include <stdio.h>
#include <string.h>

NTSTATUS NTAPI ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSTATUS NTAPI ZwWaitForMultipleObjects(ULONG Count, HANDLE Handles[], WAIT_TYPE WaitType,
                                        BOOLEAN Alertable, PLARGE_INTEGER Timeout);

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

static OBJECT_TYPE PlainType = {
    .Name = "RegressPlain",
    .GenericMapping = {0x1, 0x2, 0x4, 0x1F0007},
    .ValidAccessMask = 0x1F0007,
};

int main(void)
{
    PsInitSystem();
    enum { BODY = 64 };
    unsigned char *body = ObpCreateObject(&PlainType, BODY, NULL);
    CHECK(body != NULL, "ObpCreateObject");
    if (!body)
        return 1;
    memset(body, 0xA5, BODY);
    HANDLE h = NULL;
    NTSTATUS st = ObpInsertHandle(body, 0x1F0007, OBJ_KERNEL_HANDLE, true, &h);
    CHECK(st == STATUS_SUCCESS, "ObpInsertHandle: 0x%08x", (unsigned)st);

    LARGE_INTEGER zero = {.QuadPart = 0};
    st = ZwWaitForSingleObject(h, FALSE, &zero);
    CHECK(st == STATUS_SUCCESS, "a wait on a non-dispatcher object is satisfied: 0x%08x",
          (unsigned)st);
    st = ZwWaitForSingleObject(h, FALSE, NULL);
    CHECK(st == STATUS_SUCCESS, "an unbounded wait on it returns at once: 0x%08x", (unsigned)st);
    HANDLE hs[2] = {h, h};
    st = ZwWaitForMultipleObjects(2, hs, WaitAny, FALSE, &zero);
    CHECK(st == STATUS_WAIT_0, "WaitAny over it: 0x%08x", (unsigned)st);

    size_t changed = 0;
    for (size_t i = 0; i < BODY; i++)
        changed += body[i] != 0xA5;
    CHECK(changed == 0, "the body is untouched by the waits (%zu bytes changed)", changed);

    CHECK(ZwClose(h) == STATUS_SUCCESS, "ZwClose");
    ObfDereferenceObject(body);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
