/* The kernel's own symbol table, generated from nm by a second link pass. */
#ifndef DRK_KSYMS_H
#define DRK_KSYMS_H

#include "types.h"

/* Finds the text symbol containing address; returns its name and start. */
const char *ksyms_lookup(u64 address, u64 *symbol_start);
u64 ksyms_count_get(void);

#endif
