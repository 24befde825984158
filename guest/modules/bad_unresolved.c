/* Calls a function the kernel does not export: the loader must refuse it. */
#include "kernel.h"

void drk_no_such_function(void);

static int bad_init(void)
{
    drk_no_such_function();
    return 0;
}

MODULE_INIT(bad_init);
