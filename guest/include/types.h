/* Basic types and compiler helpers shared by the kernel and its modules. */
#ifndef DRK_TYPES_H
#define DRK_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>
#include "layout.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

/* Allocation flags; the kernel never sleeps for memory, so only zeroing exists. */
typedef unsigned int gfp_t;
#define GFP_KERNEL  0u
#define GFP_ZERO    1u

#define __noreturn      __attribute__((noreturn))
#define __packed        __attribute__((packed))
#define __aligned(n)    __attribute__((aligned(n)))
#define __used          __attribute__((used))
#define __printf(a, b)  __attribute__((format(printf, a, b)))
#define __noinline      __attribute__((noinline))

/*
 * An entry point that an external tool intercepts by its symbol (allocator
 * functions, drk_module_event). noinline alone is not enough: gcc may still
 * clone the function (.constprop/.isra) or inline its head (.part) and route
 * callers in the same file around the symbol. noipa forbids all of that.
 */
#define __hookable      __attribute__((noipa, used))

#define likely(x)       __builtin_expect(!!(x), 1)
#define unlikely(x)     __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)  (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b)       ((a) < (b) ? (a) : (b))
#define MAX(a, b)       ((a) > (b) ? (a) : (b))
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

#define static_assert   _Static_assert

#define barrier()       __asm__ __volatile__("" ::: "memory")
#define READ_ONCE(x)    (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* Error numbers, returned negated (shared with user programs). */
#include "uapi/errno.h"

/* Marks a pointer into user space: only copy_to_user and friends may use it. */
#define __user

#endif
