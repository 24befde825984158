/*
 * printf-style formatting: %d %i %u %x %X %p %s %c %%, the l/ll/z length
 * modifiers, a field width with the '-' and '0' flags. Enough for result
 * lines and test messages; no floating point exists here.
 */
#include "ulib.h"

struct sink {
    char *buf;
    size_t size;
    size_t len;                 /* what the full output would take */
};

static void put(struct sink *s, char c)
{
    if (s->len + 1 < s->size)
        s->buf[s->len] = c;
    s->len++;
}

static void put_field(struct sink *s, const char *text, size_t n, int width, bool left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left && pad == '0' && n && text[0] == '-') {
        put(s, '-');            /* the sign goes before the zeroes */
        text++;
        n--;
    }
    while (!left && fill-- > 0)
        put(s, pad);
    for (size_t i = 0; i < n; i++)
        put(s, text[i]);
    while (left && fill-- > 0)
        put(s, ' ');
}

/* Writes v in base into the end of tmp; returns where the digits start. */
static char *digits(char tmp[24], u64 v, unsigned base, bool upper)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = tmp + 23;
    *p = 0;
    do {
        *--p = set[v % base];
        v /= base;
    } while (v);
    return p;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { buf, size, 0 };
    char tmp[24];
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&s, *f);
            continue;
        }
        f++;
        bool left = false;
        char pad = ' ';
        for (; *f == '-' || *f == '0'; f++) {
            if (*f == '-')
                left = true;
            else
                pad = '0';
        }
        int width = 0;
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        bool wide = false;
        while (*f == 'l' || *f == 'z') {
            wide = true;
            f++;
        }
        switch (*f) {
        case 'd':
        case 'i': {
            s64 v = wide ? va_arg(ap, s64) : va_arg(ap, int);
            char *p = digits(tmp, v < 0 ? -(u64)v : (u64)v, 10, false);
            if (v < 0)
                *--p = '-';
            put_field(&s, p, strlen(p), width, left, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            u64 v = wide ? va_arg(ap, u64) : va_arg(ap, unsigned int);
            char *p = digits(tmp, v, *f == 'u' ? 10 : 16, *f == 'X');
            put_field(&s, p, strlen(p), width, left, pad);
            break;
        }
        case 'p': {
            char *p = digits(tmp, (u64)va_arg(ap, void *), 16, false);
            put(&s, '0');
            put(&s, 'x');
            put_field(&s, p, strlen(p), width > 2 ? width - 2 : 0, left, pad);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            put_field(&s, str, strlen(str), width, left, ' ');
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            put_field(&s, &c, 1, width, left, ' ');
            break;
        }
        case '%':
            put(&s, '%');
            break;
        case 0:
            f--;
            break;
        default:
            put(&s, '%');
            put(&s, *f);
            break;
        }
    }
    if (size)
        buf[s.len < size ? s.len : size - 1] = 0;
    return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static int vprint(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    sys_write(1, buf, len);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprint(fmt, ap);
    va_end(ap);
    return n;
}

__noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
    sys_exit(1);
}
