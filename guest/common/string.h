/*
 * Freestanding string and memory functions, one copy built into both the
 * kernel (and so its modules, through its exports) and the user library. gcc
 * also emits calls to memcpy/memset/memmove itself.
 */
#ifndef DRK_COMMON_STRING_H
#define DRK_COMMON_STRING_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
size_t strlcpy(char *dst, const char *src, size_t size);
/* Parses the len characters at s as a decimal or 0x-prefixed hexadecimal number; false if any is not a digit. */
bool parse_u64(const char *s, size_t len, uint64_t *out);

#endif
