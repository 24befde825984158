/* User memory access (uaccess.h) and the exception table. */
#include "kernel.h"
#include "uaccess.h"

u64 uaccess_copy(void *dst, const void *src, u64 n);
s64 uaccess_strncpy(char *dst, const char *src, u64 max);

extern const struct exception_entry __ex_table_start[], __ex_table_end[];

u64 exception_fixup(u64 rip)
{
    for (const struct exception_entry *e = __ex_table_start; e < __ex_table_end; e++)
        if (e->insn == rip)
            return e->fixup;
    return 0;
}

__hookable unsigned long copy_to_user(void __user *to, const void *from, unsigned long n)
{
    if (!user_range_ok((u64)to, n))
        return n;
    return uaccess_copy((void *)to, from, n);
}
EXPORT_SYMBOL(copy_to_user);

__hookable unsigned long copy_from_user(void *to, const void __user *from, unsigned long n)
{
    if (!user_range_ok((u64)from, n))
        return n;
    return uaccess_copy(to, (const void *)from, n);
}
EXPORT_SYMBOL(copy_from_user);

__hookable long strncpy_from_user(char *dst, const char __user *src, long size)
{
    u64 addr = (u64)src;
    if (size <= 0 || addr >= USER_SPACE_END)
        return -EFAULT;
    /* Never read past the end of the user half, even looking for the NUL. */
    u64 max = MIN((u64)size, USER_SPACE_END - addr);
    s64 n = uaccess_strncpy(dst, (const char *)src, max);
    if (n < 0) {
        dst[0] = 0;
        return -EFAULT;
    }
    if ((u64)n == max) {
        dst[size - 1] = 0;
        return max == (u64)size ? -ENAMETOOLONG : -EFAULT;
    }
    return n;
}
EXPORT_SYMBOL(strncpy_from_user);
