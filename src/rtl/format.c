/*
 * Windows' printf formatting, as the kernel's C runtime implements it.
 *
 * Rules (from Microsoft's format specification documentation):
 * - Integer sizes are LLP64: l is 32 bits; ll, I64, I (pointer size) and z,
 *   t, j are 64 bits; I32 is 32; h is short, hh char.
 * - %p prints the pointer as 16 uppercase hex digits, without 0x.
 * - %s/%c take narrow arguments in sprintf and wide ones in swprintf; %S/%C
 *   take the other width; h forces narrow, l and w force wide.
 * - %Z takes an ANSI_STRING *, %wZ a UNICODE_STRING *: exactly Length bytes
 *   are read, never past them; a NULL string pointer or NULL Buffer prints
 *   "(null)", as does a NULL %s argument.
 * - %n is disabled in the kernel's runtime: kmhost consumes its argument and
 *   writes nothing (never through the pointer).
 * - A conversion kmhost does not know is copied to the output as written
 *   ("%y" stays "%y"), so a mistake in a format shows in the output.
 * - Wide text is converted to UTF-8 for narrow output (unpaired surrogates
 *   become U+FFFD); narrow text is Windows-1252 when widened.
 * Width and precision count source characters; '*' takes an int argument and
 * a negative '*' width means left-justified.
 * Wide formats, wide arguments (%ws, %wZ's Buffer) and wide output buffers
 * are the caller's and may sit at any address: they are read and written
 * through KM_UNALIGNED_WCHAR pointers.
 */
#include "rtl.h"

#include <stdio.h>
#include <string.h>

enum { F_MINUS = 1, F_PLUS = 2, F_SPACE = 4, F_ZERO = 8, F_HASH = 16 };
enum { SZ_DEFAULT, SZ_HH, SZ_H, SZ_L, SZ_64, SZ_32, SZ_WIDE, SZ_LD };

typedef struct RTLP_SPEC {
    unsigned Flags;
    int Width;     /* -1: none */
    int Precision; /* -1: none */
    int Size;
} RTLP_SPEC;

static void Rtlp_put_unit(RTLP_FORMAT_SINK *S, unsigned U)
{
    if (S->Count < S->Cap) {
        if (S->WideOut)
            ((KM_UNALIGNED_WCHAR *)S->Buf)[S->Count] = (WCHAR)U;
        else
            ((char *)S->Buf)[S->Count] = (char)U;
    }
    S->Count++;
}

static void Rtlp_put_pad(RTLP_FORMAT_SINK *S, int N, char C)
{
    for (; N > 0; N--)
        Rtlp_put_unit(S, (unsigned char)C);
}

/* A narrow (ANSI) source byte. */
static void Rtlp_put_byte(RTLP_FORMAT_SINK *S, UCHAR B)
{
    Rtlp_put_unit(S, S->WideOut ? RtlpAnsiCharToUnicode(B) : B);
}

/* A Unicode code point. */
static void Rtlp_put_cp(RTLP_FORMAT_SINK *S, uint32_t Cp)
{
    if (S->WideOut) {
        if (Cp >= 0x10000) {
            Cp -= 0x10000;
            Rtlp_put_unit(S, 0xD800 | (Cp >> 10));
            Rtlp_put_unit(S, 0xDC00 | (Cp & 0x3FF));
        } else {
            Rtlp_put_unit(S, Cp);
        }
        return;
    }
    if (Cp < 0x80) {
        Rtlp_put_unit(S, Cp);
    } else if (Cp < 0x800) {
        Rtlp_put_unit(S, 0xC0 | (Cp >> 6));
        Rtlp_put_unit(S, 0x80 | (Cp & 0x3F));
    } else if (Cp < 0x10000) {
        Rtlp_put_unit(S, 0xE0 | (Cp >> 12));
        Rtlp_put_unit(S, 0x80 | ((Cp >> 6) & 0x3F));
        Rtlp_put_unit(S, 0x80 | (Cp & 0x3F));
    } else {
        Rtlp_put_unit(S, 0xF0 | (Cp >> 18));
        Rtlp_put_unit(S, 0x80 | ((Cp >> 12) & 0x3F));
        Rtlp_put_unit(S, 0x80 | ((Cp >> 6) & 0x3F));
        Rtlp_put_unit(S, 0x80 | (Cp & 0x3F));
    }
}

/* WCHARs Units[0..N) as code points; in wide output they are copied as is. */
static void Rtlp_put_wide(RTLP_FORMAT_SINK *S, const KM_UNALIGNED_WCHAR *Units, size_t N)
{
    for (size_t i = 0; i < N; i++) {
        uint32_t u = Units[i];
        if (S->WideOut) {
            Rtlp_put_unit(S, u);
            continue;
        }
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < N && Units[i + 1] >= 0xDC00 &&
            Units[i + 1] <= 0xDFFF) {
            u = 0x10000 + ((u - 0xD800) << 10) + (Units[i + 1] - 0xDC00);
            i++;
        } else if (u >= 0xD800 && u <= 0xDFFF) {
            u = 0xFFFD;
        }
        Rtlp_put_cp(S, u);
    }
}

static size_t Rtlp_min_len(size_t Len, int Precision)
{
    return (Precision >= 0 && (size_t)Precision < Len) ? (size_t)Precision : Len;
}

static void Rtlp_pad_before(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, size_t N)
{
    if (!(Sp->Flags & F_MINUS) && Sp->Width > 0 && (size_t)Sp->Width > N)
        Rtlp_put_pad(S, Sp->Width - (int)N, (Sp->Flags & F_ZERO) ? '0' : ' ');
}

static void Rtlp_pad_after(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, size_t N)
{
    if ((Sp->Flags & F_MINUS) && Sp->Width > 0 && (size_t)Sp->Width > N)
        Rtlp_put_pad(S, Sp->Width - (int)N, ' ');
}

static void Rtlp_narrow_text(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, const char *Text, size_t Len)
{
    size_t n = Rtlp_min_len(Len, Sp->Precision);
    Rtlp_pad_before(S, Sp, n);
    for (size_t i = 0; i < n; i++)
        Rtlp_put_byte(S, (UCHAR)Text[i]);
    Rtlp_pad_after(S, Sp, n);
}

static void Rtlp_wide_text(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, const KM_UNALIGNED_WCHAR *Text,
                           size_t Len)
{
    size_t n = Rtlp_min_len(Len, Sp->Precision);
    Rtlp_pad_before(S, Sp, n);
    Rtlp_put_wide(S, Text, n);
    Rtlp_pad_after(S, Sp, n);
}

static size_t Rtlp_narrow_len(const char *Text, int Precision)
{
    /* With a precision, the string need not be terminated. */
    return Precision >= 0 ? strnlen(Text, (size_t)Precision) : strlen(Text);
}

static size_t Rtlp_wide_len(const KM_UNALIGNED_WCHAR *Text, int Precision)
{
    size_t n = 0;
    while ((Precision < 0 || n < (size_t)Precision) && Text[n])
        n++;
    return n;
}

static void Rtlp_null_text(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp)
{
    Rtlp_narrow_text(S, Sp, "(null)", 6);
}

static void Rtlp_integer(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, char Conv, ULONG64 V,
                         BOOLEAN Negative)
{
    char digits[72];
    int nd = 0;
    unsigned base = Conv == 'o' ? 8 : (Conv == 'x' || Conv == 'X' || Conv == 'p') ? 16 : 10;
    const char *set = (Conv == 'x') ? "0123456789abcdef" : "0123456789ABCDEF";
    ULONGLONG v = V;
    while (v) {
        digits[nd++] = set[v % base];
        v /= base;
    }
    int prec = Sp->Precision;
    if (prec < 0)
        prec = 1;
    char prefix[3];
    int np = 0;
    if (Negative)
        prefix[np++] = '-';
    else if (Conv == 'd' || Conv == 'i') {
        if (Sp->Flags & F_PLUS)
            prefix[np++] = '+';
        else if (Sp->Flags & F_SPACE)
            prefix[np++] = ' ';
    }
    if ((Sp->Flags & F_HASH) && V != 0 && (Conv == 'x' || Conv == 'X')) {
        prefix[np++] = '0';
        prefix[np++] = Conv;
    }
    int zeros = prec > nd ? prec - nd : 0;
    if ((Sp->Flags & F_HASH) && Conv == 'o' && zeros == 0 && (nd == 0 || digits[nd - 1] != '0'))
        zeros = 1;
    int body = np + zeros + nd;
    if ((Sp->Flags & F_ZERO) && !(Sp->Flags & F_MINUS) && Sp->Precision < 0 && Sp->Width > body) {
        zeros += Sp->Width - body;
        body = Sp->Width;
    }
    if (!(Sp->Flags & F_MINUS) && Sp->Width > body)
        Rtlp_put_pad(S, Sp->Width - body, ' ');
    for (int i = 0; i < np; i++)
        Rtlp_put_unit(S, (unsigned char)prefix[i]);
    Rtlp_put_pad(S, zeros, '0');
    while (nd)
        Rtlp_put_unit(S, (unsigned char)digits[--nd]);
    if ((Sp->Flags & F_MINUS) && Sp->Width > body)
        Rtlp_put_pad(S, Sp->Width - body, ' ');
}

static void Rtlp_floating(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, char Conv, double V)
{
    char fmt[32], out[512];
    int n = 0;
    fmt[n++] = '%';
    if (Sp->Flags & F_MINUS)
        fmt[n++] = '-';
    if (Sp->Flags & F_PLUS)
        fmt[n++] = '+';
    if (Sp->Flags & F_SPACE)
        fmt[n++] = ' ';
    if (Sp->Flags & F_ZERO)
        fmt[n++] = '0';
    if (Sp->Flags & F_HASH)
        fmt[n++] = '#';
    fmt[n++] = '*';
    fmt[n++] = '.';
    fmt[n++] = '*';
    fmt[n++] = Conv;
    fmt[n] = 0;
    int prec = Sp->Precision < 0 ? 6 : (Sp->Precision > 100 ? 100 : Sp->Precision);
    int width = Sp->Width < 0 ? 0 : (Sp->Width > 400 ? 400 : Sp->Width);
    int len = snprintf(out, sizeof(out), fmt, width, prec, V);
    for (int i = 0; i < len && i < (int)sizeof(out) - 1; i++)
        Rtlp_put_unit(S, (unsigned char)out[i]);
}

typedef struct RTLP_FMT_IN {
    const void *Text;
    BOOLEAN Wide;
} RTLP_FMT_IN;

static unsigned Rtlp_fch(const RTLP_FMT_IN *F, size_t I)
{
    return F->Wide ? ((const KM_UNALIGNED_WCHAR *)F->Text)[I] : ((const unsigned char *)F->Text)[I];
}

static void Rtlp_literal(RTLP_FORMAT_SINK *S, const RTLP_FMT_IN *F, size_t From, size_t To)
{
    for (size_t i = From; i < To; i++) {
        unsigned c = Rtlp_fch(F, i);
        if (F->Wide == S->WideOut)
            Rtlp_put_unit(S, c);
        else if (F->Wide)
            Rtlp_put_wide(S, &(WCHAR){(WCHAR)c}, 1);
        else
            Rtlp_put_byte(S, (UCHAR)c);
    }
}

/* Reads the size prefix at *I; returns SZ_*. */
static int Rtlp_size(const RTLP_FMT_IN *F, size_t *I)
{
    unsigned c = Rtlp_fch(F, *I);
    switch (c) {
    case 'h':
        if (Rtlp_fch(F, *I + 1) == 'h') {
            *I += 2;
            return SZ_HH;
        }
        *I += 1;
        return SZ_H;
    case 'l':
        if (Rtlp_fch(F, *I + 1) == 'l') {
            *I += 2;
            return SZ_64;
        }
        *I += 1;
        return SZ_L;
    case 'L':
        *I += 1;
        return SZ_LD;
    case 'w':
        *I += 1;
        return SZ_WIDE;
    case 'z':
    case 't':
    case 'j':
    case 'q':
        *I += 1;
        return SZ_64;
    case 'I':
        if (Rtlp_fch(F, *I + 1) == '6' && Rtlp_fch(F, *I + 2) == '4') {
            *I += 3;
            return SZ_64;
        }
        if (Rtlp_fch(F, *I + 1) == '3' && Rtlp_fch(F, *I + 2) == '2') {
            *I += 3;
            return SZ_32;
        }
        *I += 1;
        return SZ_64;
    default:
        return SZ_DEFAULT;
    }
}

#define ARG(type) __builtin_va_arg(*Args, type)

static void Rtlp_signed(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, char Conv,
                        __builtin_ms_va_list *Args)
{
    LONGLONG v;
    switch (Sp->Size) {
    case SZ_64:
    case SZ_LD:
        v = ARG(long long);
        break;
    case SZ_H:
        v = (SHORT)ARG(int);
        break;
    case SZ_HH:
        v = (signed char)ARG(int);
        break;
    default:
        v = (LONG)ARG(int);
        break;
    }
    Rtlp_integer(S, Sp, Conv, v < 0 ? (ULONG64)0 - (ULONG64)v : (ULONG64)v, v < 0);
}

static void Rtlp_unsigned(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, char Conv,
                          __builtin_ms_va_list *Args)
{
    ULONGLONG v;
    switch (Sp->Size) {
    case SZ_64:
    case SZ_LD:
        v = ARG(unsigned long long);
        break;
    case SZ_H:
        v = (USHORT)ARG(unsigned);
        break;
    case SZ_HH:
        v = (UCHAR)ARG(unsigned);
        break;
    default:
        v = (ULONG)ARG(unsigned);
        break;
    }
    Rtlp_integer(S, Sp, Conv, v, FALSE);
}

/* Whether a %c/%s (Upper: %C/%S) argument is wide, given the size prefix. */
static BOOLEAN Rtlp_is_wide(const RTLP_FMT_IN *F, int Size, BOOLEAN Upper)
{
    if (Size == SZ_H || Size == SZ_HH)
        return FALSE;
    if (Size == SZ_L || Size == SZ_WIDE)
        return TRUE;
    return Upper ? !F->Wide : F->Wide;
}

static void Rtlp_counted(RTLP_FORMAT_SINK *S, const RTLP_SPEC *Sp, BOOLEAN Wide,
                         __builtin_ms_va_list *Args)
{
    if (Wide) {
        const UNICODE_STRING *u = ARG(const UNICODE_STRING *);
        if (!u || !u->Buffer)
            Rtlp_null_text(S, Sp);
        else
            Rtlp_wide_text(S, Sp, u->Buffer, u->Length / sizeof(WCHAR));
    } else {
        const ANSI_STRING *a = ARG(const ANSI_STRING *);
        if (!a || !a->Buffer)
            Rtlp_null_text(S, Sp);
        else
            Rtlp_narrow_text(S, Sp, (const char *)a->Buffer, a->Length);
    }
}

/* Handles the conversion character C; returns FALSE when it is unknown. */
static BOOLEAN Rtlp_convert(RTLP_FORMAT_SINK *S, const RTLP_FMT_IN *F, RTLP_SPEC *Sp, unsigned C,
                            __builtin_ms_va_list *Args)
{
    switch (C) {
    case 'd':
    case 'i':
        Rtlp_signed(S, Sp, (char)C, Args);
        return TRUE;
    case 'u':
    case 'o':
    case 'x':
    case 'X':
        Rtlp_unsigned(S, Sp, (char)C, Args);
        return TRUE;
    case 'p': {
        RTLP_SPEC p = *Sp;
        p.Precision = 16;
        p.Flags &= ~(unsigned)(F_HASH | F_ZERO | F_PLUS | F_SPACE);
        Rtlp_integer(S, &p, 'X', (ULONG64)(ULONG_PTR)ARG(void *), FALSE);
        return TRUE;
    }
    case 'c':
    case 'C': {
        int v = ARG(int);
        RTLP_SPEC c = *Sp;
        c.Precision = -1;
        if (Rtlp_is_wide(F, Sp->Size, C == 'C'))
            Rtlp_wide_text(S, &c, &(WCHAR){(WCHAR)v}, 1);
        else
            Rtlp_narrow_text(S, &c, &(char){(char)v}, 1);
        return TRUE;
    }
    case 's':
    case 'S':
        if (Rtlp_is_wide(F, Sp->Size, C == 'S')) {
            const KM_UNALIGNED_WCHAR *w = ARG(const WCHAR *);
            if (!w)
                Rtlp_null_text(S, Sp);
            else
                Rtlp_wide_text(S, Sp, w, Rtlp_wide_len(w, Sp->Precision));
        } else {
            const char *s = ARG(const char *);
            if (!s)
                Rtlp_null_text(S, Sp);
            else
                Rtlp_narrow_text(S, Sp, s, Rtlp_narrow_len(s, Sp->Precision));
        }
        return TRUE;
    case 'Z':
        Rtlp_counted(S, Sp, Sp->Size == SZ_WIDE || Sp->Size == SZ_L, Args);
        return TRUE;
    case 'n':
        (void)ARG(void *);
        return TRUE;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        Rtlp_floating(S, Sp, (char)C, ARG(double));
        return TRUE;
    default:
        return FALSE;
    }
}

static int Rtlp_number(const RTLP_FMT_IN *F, size_t *I)
{
    int v = 0;
    unsigned c;
    while ((c = Rtlp_fch(F, *I)) >= '0' && c <= '9') {
        if (v < 100000)
            v = v * 10 + (int)(c - '0');
        (*I)++;
    }
    return v;
}

void RtlpFormatSink(RTLP_FORMAT_SINK *Sink, const void *Format, BOOLEAN WideFormat,
                    __builtin_ms_va_list *Args)
{
    RTLP_FMT_IN f = {Format, WideFormat};
    size_t i = 0;
    if (!Format)
        return;
    for (;;) {
        size_t start = i;
        while (Rtlp_fch(&f, i) && Rtlp_fch(&f, i) != '%')
            i++;
        Rtlp_literal(Sink, &f, start, i);
        if (!Rtlp_fch(&f, i))
            return;
        size_t spec_start = i++;
        if (Rtlp_fch(&f, i) == '%') {
            Rtlp_put_unit(Sink, '%');
            i++;
            continue;
        }
        RTLP_SPEC sp = {0, -1, -1, SZ_DEFAULT};
        for (;; i++) {
            unsigned c = Rtlp_fch(&f, i);
            if (c == '-')
                sp.Flags |= F_MINUS;
            else if (c == '+')
                sp.Flags |= F_PLUS;
            else if (c == ' ')
                sp.Flags |= F_SPACE;
            else if (c == '0')
                sp.Flags |= F_ZERO;
            else if (c == '#')
                sp.Flags |= F_HASH;
            else
                break;
        }
        if (Rtlp_fch(&f, i) == '*') {
            i++;
            int w = ARG(int);
            if (w < 0) {
                sp.Flags |= F_MINUS;
                w = w == INT32_MIN ? INT32_MAX : -w;
            }
            sp.Width = w > 100000 ? 100000 : w;
        } else {
            sp.Width = Rtlp_number(&f, &i);
        }
        if (Rtlp_fch(&f, i) == '.') {
            i++;
            if (Rtlp_fch(&f, i) == '*') {
                i++;
                int p = ARG(int);
                sp.Precision = p < 0 ? -1 : (p > 100000 ? 100000 : p);
            } else {
                sp.Precision = Rtlp_number(&f, &i);
            }
        }
        sp.Size = Rtlp_size(&f, &i);
        unsigned conv = Rtlp_fch(&f, i);
        if (conv && Rtlp_convert(Sink, &f, &sp, conv, Args)) {
            i++;
            continue;
        }
        if (conv)
            i++;
        Rtlp_literal(Sink, &f, spec_start, i);
    }
}

int RtlpFormat(char *Buf, size_t Len, const char *Format, __builtin_ms_va_list Args)
{
    RTLP_FORMAT_SINK s = {Buf, Len ? Len - 1 : 0, 0, FALSE};
    RtlpFormatSink(&s, Format, FALSE, &Args);
    if (Len)
        Buf[s.Count < Len - 1 ? s.Count : Len - 1] = 0;
    return s.Count > INT32_MAX ? INT32_MAX : (int)s.Count;
}
