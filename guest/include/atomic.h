/* LOCK-prefixed atomic operations. */
#ifndef DRK_ATOMIC_H
#define DRK_ATOMIC_H

#include "types.h"

static inline u32 atomic_cmpxchg32(volatile u32 *p, u32 expected, u32 desired)
{
    u32 prev;
    __asm__ __volatile__("lock cmpxchgl %2, %1"
                         : "=a"(prev), "+m"(*p)
                         : "r"(desired), "0"(expected)
                         : "memory", "cc");
    return prev;
}

static inline u64 atomic_cmpxchg64(volatile u64 *p, u64 expected, u64 desired)
{
    u64 prev;
    __asm__ __volatile__("lock cmpxchgq %2, %1"
                         : "=a"(prev), "+m"(*p)
                         : "r"(desired), "0"(expected)
                         : "memory", "cc");
    return prev;
}

/* Returns the value before the addition. */
static inline u64 atomic_fetch_add64(volatile u64 *p, u64 v)
{
    __asm__ __volatile__("lock xaddq %0, %1" : "+r"(v), "+m"(*p) : : "memory", "cc");
    return v;
}

static inline u32 atomic_fetch_add32(volatile u32 *p, u32 v)
{
    __asm__ __volatile__("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory", "cc");
    return v;
}

static inline void atomic_inc64(volatile u64 *p)
{
    __asm__ __volatile__("lock incq %0" : "+m"(*p) : : "memory", "cc");
}

static inline void atomic_dec64(volatile u64 *p)
{
    __asm__ __volatile__("lock decq %0" : "+m"(*p) : : "memory", "cc");
}

static inline u32 atomic_xchg32(volatile u32 *p, u32 v)
{
    __asm__ __volatile__("lock xchgl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
    return v;
}

static inline u64 atomic_xchg64(volatile u64 *p, u64 v)
{
    __asm__ __volatile__("lock xchgq %0, %1" : "+r"(v), "+m"(*p) : : "memory");
    return v;
}

static inline void atomic_and32(volatile u32 *p, u32 v)
{
    __asm__ __volatile__("lock andl %1, %0" : "+m"(*p) : "r"(v) : "memory", "cc");
}

static inline void atomic_or32(volatile u32 *p, u32 v)
{
    __asm__ __volatile__("lock orl %1, %0" : "+m"(*p) : "r"(v) : "memory", "cc");
}

static inline void atomic_dec32(volatile u32 *p)
{
    __asm__ __volatile__("lock decl %0" : "+m"(*p) : : "memory", "cc");
}

static inline void atomic_inc32(volatile u32 *p)
{
    __asm__ __volatile__("lock incl %0" : "+m"(*p) : : "memory", "cc");
}

#endif
