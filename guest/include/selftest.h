/* The kernel self-tests run by the "selftest" option. */
#ifndef DRK_SELFTEST_H
#define DRK_SELFTEST_H

#include "types.h"

int selftest_run(void);
/* Modules report what they observed through this export. */
void selftest_module_report(const char *what, long value);

#endif
