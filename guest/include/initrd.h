/* The initrd: a cpio "newc" archive of modules and programs (docs/guest-abi.md). */
#ifndef DRK_INITRD_H
#define DRK_INITRD_H

#include "types.h"

void initrd_init(void);
bool initrd_find(const char *path, const void **data, size_t *size);
u32 initrd_file_count(void);
/* Calls visit for every entry (directories and regular files) in archive order. */
void initrd_for_each(void (*visit)(const char *name, u32 mode, const void *data, size_t size, void *ctx), void *ctx);

#endif
