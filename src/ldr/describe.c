/*
 * LdrDescribeAddress: "kthreads.sys+0x1a2b (DriverEntry+0x1b)", or for
 * kmhost's own code "kmhost!KiWaitTest+0x2c" (hostsym.c), for reports
 * made from signal handlers and bug checks. Async-signal-safe: no locks, no
 * allocation, no stdio; it reads only immutable published records (see
 * registry.c) and formats with its own helpers.
 */
#include "ldr/ldr.h"

typedef struct LDRP_OUT {
    char *Buf;
    size_t Len;
    size_t Pos;
} LDRP_OUT;

static void LdrpPutString(LDRP_OUT *o, const char *s)
{
    for (; *s; s++)
        if (o->Pos + 1 < o->Len)
            o->Buf[o->Pos++] = *s;
}

/* "0x" and the hex digits of v: at least Width of them. */
static void LdrpPutHex(LDRP_OUT *o, uint64_t v, int Width)
{
    char tmp[19];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v || n < Width);
    char s[21] = {'0', 'x'};
    for (int i = 0; i < n; i++)
        s[2 + i] = tmp[n - 1 - i];
    s[2 + n] = 0;
    LdrpPutString(o, s);
}

void LdrDescribeAddress(const void *Address, char *Buf, size_t Len)
{
    LDRP_OUT o = {Buf, Len, 0};
    if (!Buf || !Len)
        return;
    const LDR_IMAGE *img = LdrFindImageByAddress(Address);
    char name[128];
    uintptr_t into;
    if (!img && LdrHostSymbol(Address, name, sizeof(name), &into)) {
        LdrpPutString(&o, "kmhost!");
        LdrpPutString(&o, name);
        LdrpPutString(&o, "+");
        LdrpPutHex(&o, into, 1);
    } else if (!img) {
        LdrpPutHex(&o, (uintptr_t)Address, 16);
    } else {
        const LDR_PRIVATE *p = img->Private;
        uint32_t rva = (uint32_t)((uintptr_t)Address - (uintptr_t)img->Base);
        LdrpPutString(&o, img->Name);
        LdrpPutString(&o, "+");
        LdrpPutHex(&o, rva, 1);
        const LDR_SYMBOL *s = LdrpFindSymbol(&p->Symbols, rva);
        if (s) {
            LdrpPutString(&o, " (");
            LdrpPutString(&o, p->Symbols.Names + s->NameOffset);
            if (rva != s->Rva) {
                LdrpPutString(&o, "+");
                LdrpPutHex(&o, rva - s->Rva, 1);
            }
            LdrpPutString(&o, ")");
        }
    }
    Buf[o.Pos] = 0;
}
