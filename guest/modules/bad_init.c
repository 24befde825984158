/* Loads fine but its init fails: the kernel must unload it again. */
#include "kernel.h"

static int bad_init(void)
{
    return -EIO;
}

MODULE_INIT(bad_init);
