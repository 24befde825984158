/*
 * Reaching user memory from the kernel. A user pointer is never
 * dereferenced directly: these functions check that the range lies in the
 * user half, and a fault inside them (an unmapped or read-only page) is
 * caught through the exception table and turned into an error instead of an
 * oops. Faults on pages a process may map on demand (its stack, mmap()
 * regions) are served first, as if the process itself had touched them.
 *
 * copy_to_user, copy_from_user and strncpy_from_user are __hookable so a
 * memory checker can see every transfer across the boundary.
 */
#ifndef DRK_UACCESS_H
#define DRK_UACCESS_H

#include "types.h"

/* Copies n bytes; returns how many could NOT be copied (0 on success), as Linux does. */
unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);
unsigned long copy_from_user(void *to, const void __user *from, unsigned long n);
/*
 * Copies a NUL-terminated string of at most size-1 characters into dst
 * (always terminated). Returns its length, -ENAMETOOLONG if it does not fit,
 * -EFAULT on a bad address.
 */
long strncpy_from_user(char *dst, const char __user *src, long size);

/* Whether [addr, addr + n) lies in the user half (says nothing about mappings). */
static inline bool user_range_ok(u64 addr, u64 n)
{
    return addr <= USER_SPACE_END && n <= USER_SPACE_END - addr;
}

/* The exception table: a fault at insn continues at fixup (trap.c). */
struct exception_entry {
    u64 insn;
    u64 fixup;
};

/* The fixup for a faulting kernel RIP, or 0. */
u64 exception_fixup(u64 rip);

#endif
