/*
 * printf-style formatting (format.h lists what it supports), built into both
 * the kernel and the user library. Pointers print as 0x and 16 digits.
 */
#include <stdint.h>
#include <stdbool.h>
#include "format.h"
#include "string.h"

struct out_buf {
    char *buf;
    size_t size;
    size_t len;     /* would-be length, may exceed size */
};

static void out_char(struct out_buf *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void out_padded(struct out_buf *o, const char *s, size_t n, int width, bool left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left && pad == '0' && n > 0 && (s[0] == '-' || s[0] == '+')) {
        out_char(o, *s++);      /* the sign goes before zero padding */
        n--;
    }
    if (!left)
        while (fill-- > 0)
            out_char(o, pad);
    for (size_t i = 0; i < n; i++)
        out_char(o, s[i]);
    if (left)
        while (fill-- > 0)
            out_char(o, ' ');
}

static size_t format_unsigned(char *tmp, uint64_t v, unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char rev[24];
    size_t n = 0;
    do {
        rev[n++] = digits[v % base];
        v /= base;
    } while (v);
    for (size_t i = 0; i < n; i++)
        tmp[i] = rev[n - 1 - i];
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out_buf o = { buf, size, 0 };
    char tmp[32];

    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            out_char(&o, *p);
            continue;
        }
        p++;
        bool left = false;
        char pad = ' ';
        for (;; p++) {
            if (*p == '-')
                left = true;
            else if (*p == '0')
                pad = '0';
            else
                break;
        }
        int width = 0;
        if (*p == '*') {
            width = va_arg(ap, int);
            p++;
        } else {
            while (*p >= '0' && *p <= '9')
                width = width * 10 + (*p++ - '0');
        }
        int precision = -1;
        if (*p == '.') {
            p++;
            precision = 0;
            if (*p == '*') {
                precision = va_arg(ap, int);
                p++;
            } else {
                while (*p >= '0' && *p <= '9')
                    precision = precision * 10 + (*p++ - '0');
            }
        }
        int longs = 0;
        while (*p == 'l' || *p == 'z' || *p == 'h') {
            if (*p != 'h')
                longs++;
            p++;
        }

        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            size_t n = 0;
            uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
            if (v < 0)
                tmp[n++] = '-';
            n += format_unsigned(tmp + n, mag, 10, false);
            out_padded(&o, tmp, n, width, left, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
            size_t n = format_unsigned(tmp, v, *p == 'u' ? 10 : 16, *p == 'X');
            out_padded(&o, tmp, n, width, left, pad);
            break;
        }
        case 'p': {
            uint64_t v = (uint64_t)va_arg(ap, void *);
            tmp[0] = '0';
            tmp[1] = 'x';
            size_t n = format_unsigned(tmp + 2, v, 16, false);
            /* Pointers print as 16 digits so columns line up. */
            char full[20] = "0x0000000000000000";
            memcpy(full + 18 - n, tmp + 2, n);
            out_padded(&o, full, 18, width, left, ' ');
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t n = precision >= 0 ? strnlen(s, (size_t)precision) : strlen(s);
            out_padded(&o, s, n, width, left, ' ');
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            out_padded(&o, tmp, 1, width, left, ' ');
            break;
        case '%':
            out_char(&o, '%');
            break;
        case '\0':
            p--;
            break;
        default:
            out_char(&o, '%');
            out_char(&o, *p);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
