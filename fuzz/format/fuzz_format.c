/*
 * libFuzzer harness for the DbgPrint/sprintf formatter (RtlpFormat and
 * RtlpFormatSink, src/rtl/format.c).
 *
 * The format string comes from the input; the arguments do not, because a
 * driver that passes a wild pointer to %s crashes on Windows too. Every
 * argument slot is a valid pointer to an "universal" object that is a sound
 * argument for every conversion at once:
 *   - as a UNICODE_STRING / ANSI_STRING (%wZ, %Z): Length, MaximumLength and
 *     Buffer, with Length never more than the bytes Buffer holds (objects
 *     with an odd Length, Length > MaximumLength, and a NULL Buffer are
 *     among them: legal structures whose fields lie);
 *   - as a narrow or wide string (%s, %ws): its first bytes are a short
 *     Length followed by zeros, so it is terminated within the object;
 *   - as an integer, a double or a '*' width: any bits are valid; the
 *     objects live at 0x500000000000 + 64 * i, so a '*' width or precision
 *     taken from a slot is at most a few hundred.
 * The slots outnumber what any accepted format can consume: the format is
 * refused when it has more than FUZZ_MAX_PERCENT '%' (each conversion takes
 * at most three arguments: width, precision, value).
 *
 * Invariants checked: the output is always terminated within the buffer (of
 * exactly the requested size, so ASan sees an overrun); the returned length
 * is at least the written length; the objects are never written (%n writes
 * nothing in the kernel's runtime).
 */
#include "rtl/rtl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size);

#define FUZZ_OBJECTS 8
#define FUZZ_SLOTS 128
#define FUZZ_MAX_PERCENT 40
/* Any address whose low 32 bits are 0, clear of ASan's allocator
   (0x600000000000) and shadow; the next candidates if it is taken. */
#define FUZZ_ARENA 0x500000000000ull

typedef struct FUZZ_OBJECT {
    USHORT Length;
    USHORT MaximumLength;
    ULONG Pad;
    void *Buffer;
    uint64_t Zero[6];
} FUZZ_OBJECT;
_Static_assert(sizeof(FUZZ_OBJECT) == 64, "objects 64 bytes apart");

static FUZZ_OBJECT *Objects;
static uint8_t *Text;
static uint8_t Snapshot[FUZZ_OBJECTS * sizeof(FUZZ_OBJECT) + 64];
static uint64_t Slots[FUZZ_SLOTS];

static void FuzzSetUp(void)
{
    uint8_t *arena = MAP_FAILED;
    for (uint64_t a = FUZZ_ARENA; arena == MAP_FAILED && a < FUZZ_ARENA + (64ull << 32);
         a += 1ull << 32) {
        arena = mmap((void *)(uintptr_t)a, 8192, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (arena != MAP_FAILED && arena != (void *)(uintptr_t)a) {
            munmap(arena, 8192); /* an old kernel took the address as a hint */
            arena = MAP_FAILED;
        }
    }
    if (arena == MAP_FAILED)
        abort();
    Objects = (FUZZ_OBJECT *)arena;
    Text = arena + 4096;
    /* "Hi é€ 𝄞\n" in UTF-16LE, with a lone surrogate at the end: 32 bytes. */
    static const uint16_t wide[16] = {'H',  'i', ' ', 0xE9, 0x20AC, ' ', 0xD834, 0xDD1E,
                                      '\n', '%', 's', 0,    'x',    'y', 'z',    0xD800};
    memcpy(Text, wide, sizeof(wide));
    static const struct {
        USHORT Length, Max;
        BOOLEAN NullBuffer;
    } kinds[FUZZ_OBJECTS] = {
        {6, 16, 0}, {0, 0, 0}, {5, 6, 0},   {32, 32, 0},
        {32, 2, 0}, {8, 8, 1}, {31, 32, 0}, {1, 0xFFFF, 0},
    };
    for (int i = 0; i < FUZZ_OBJECTS; i++) {
        Objects[i].Length = kinds[i].Length;
        Objects[i].MaximumLength = kinds[i].Max;
        Objects[i].Buffer = kinds[i].NullBuffer ? NULL : Text;
    }
    for (int i = 0; i < FUZZ_SLOTS; i++)
        Slots[i] = (uint64_t)(uintptr_t)&Objects[i % FUZZ_OBJECTS];
    memcpy(Snapshot, arena, sizeof(Snapshot) - 64);
    memcpy(Snapshot + sizeof(Snapshot) - 64, Text, 64);
}

static void FuzzCheckObjects(void)
{
    if (memcmp(Snapshot, Objects, sizeof(Snapshot) - 64) != 0 ||
        memcmp(Snapshot + sizeof(Snapshot) - 64, Text, 64) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size)
{
    if (!Objects)
        FuzzSetUp();
    if (Size < 2 || Size > 4096)
        return 0;
    BOOLEAN wideFormat = Data[0] & 1, wideOut = (Data[0] >> 1) & 1;
    size_t cap = Data[1];
    Data += 2;
    Size -= 2;

    void *format;
    size_t percents = 0;
    if (wideFormat) {
        size_t n = Size / 2;
        uint16_t *w = malloc((n + 1) * sizeof(*w));
        if (!w)
            return 0;
        memcpy(w, Data, n * 2);
        w[n] = 0;
        for (size_t i = 0; i < n; i++)
            percents += w[i] == '%';
        format = w;
    } else {
        char *s = malloc(Size + 1);
        if (!s)
            return 0;
        memcpy(s, Data, Size);
        s[Size] = 0;
        for (size_t i = 0; i < Size; i++)
            percents += s[i] == '%';
        format = s;
    }
    if (percents > FUZZ_MAX_PERCENT) {
        free(format);
        return 0;
    }

    __builtin_ms_va_list ap = (__builtin_ms_va_list)(void *)Slots;
    if (!wideFormat && !wideOut) {
        char *buf = malloc(cap ? cap : 1);
        if (!buf)
            abort();
        int r = RtlpFormat(cap ? buf : NULL, cap, format, ap);
        if (cap) {
            size_t written = strnlen(buf, cap);
            if (written == cap || r < 0 || (size_t)r < written)
                abort();
        }
        free(buf);
    } else {
        size_t unit = wideOut ? sizeof(WCHAR) : 1;
        void *buf = malloc(cap ? cap * unit : 1);
        if (!buf)
            abort();
        RTLP_FORMAT_SINK sink = {cap ? buf : NULL, cap, 0, wideOut};
        RtlpFormatSink(&sink, format, wideFormat, &ap);
        free(buf);
    }
    FuzzCheckObjects();
    free(format);
    return 0;
}
