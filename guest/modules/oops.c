/* Dereferences NULL in its init: the kernel must print an oops and stop. */
#include "kernel.h"

int *volatile oops_pointer;     /* NULL, and gcc cannot prove it */

/* noipa: gcc would otherwise move the load into the caller (.isra). */
static __attribute__((noipa)) int oops_read(int *p)
{
    return *p + 1;
}

static __attribute__((noipa)) int oops_trigger(void)
{
    int v = oops_read(oops_pointer);
    __asm__ __volatile__("" ::: "memory");  /* not a tail call: keep this frame */
    return v;
}

static int oops_init(void)
{
    printk("oops: dereferencing NULL\n");
    return oops_trigger() == 0 ? 0 : -EINVAL;
}

MODULE_INIT(oops_init);
