/* Freestanding string functions. The copy loops use REP MOVS/STOS so gcc cannot turn them back into calls to themselves. */
#include "kernel.h"

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}
EXPORT_SYMBOL(memcpy);

void *memmove(void *dst, const void *src, size_t n)
{
    if ((u64)dst <= (u64)src || (u64)dst >= (u64)src + n)
        return memcpy(dst, src, n);
    /* Overlapping with dst above src: copy backwards. */
    u8 *d = (u8 *)dst + n - 1;
    const u8 *s = (const u8 *)src + n - 1;
    __asm__ __volatile__("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}
EXPORT_SYMBOL(memmove);

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}
EXPORT_SYMBOL(memset);

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}
EXPORT_SYMBOL(memcmp);

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}
EXPORT_SYMBOL(strlen);

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (u8)*a - (u8)*b;
}
EXPORT_SYMBOL(strcmp);

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return (u8)a[i] - (u8)b[i];
        if (!a[i])
            return 0;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
    }
    return len;
}
EXPORT_SYMBOL(strlcpy);

bool parse_u64(const char *s, size_t len, u64 *out)
{
    u64 v = 0;
    unsigned base = 10;
    size_t i = 0;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == len)
        return false;
    for (; i < len; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}
