/*
 * EXPORT_SYMBOL: the kernel functions and variables modules may use. Each
 * export is a record in section __ksymtab, collected by the linker script.
 */
#ifndef DRK_EXPORT_H
#define DRK_EXPORT_H

#include "types.h"

struct kernel_symbol {
    const void *address;
    const char *name;
};

#define EXPORT_SYMBOL(sym)                                                   \
    static const char __kstrtab_##sym[] = #sym;                              \
    static const struct kernel_symbol __ksymtab_##sym                        \
        __attribute__((section("__ksymtab"), used, aligned(8))) = {          \
            (const void *)&sym, __kstrtab_##sym }

const struct kernel_symbol *export_find(const char *name);

#endif
