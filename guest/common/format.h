/*
 * printf-style formatting into a buffer, one copy for the kernel (printk) and
 * user programs (printf): %d %i %u %x %X %p %s %c %%, the l/ll/z/h length
 * modifiers, a field width (or '*') with the '-' and '0' flags, a precision
 * for %s. No floating point exists here.
 */
#ifndef DRK_COMMON_FORMAT_H
#define DRK_COMMON_FORMAT_H

#include <stddef.h>
#include <stdarg.h>

/* Returns the length the whole output would take; writes at most size - 1 characters and a NUL (if size is not 0). */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
