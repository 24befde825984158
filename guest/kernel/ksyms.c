/* Looks addresses up in the symbol table that the second link pass embeds (.ksyms). */
#include "kernel.h"
#include "ksyms.h"

extern const u64 ksyms_count;
extern const u64 ksyms_addresses[];
extern const u32 ksyms_name_offsets[];
extern const char ksyms_names[];
extern char __text_start[], __text_end[];

const char *ksyms_lookup(u64 address, u64 *symbol_start)
{
    if (address < (u64)__text_start || address >= (u64)__text_end || ksyms_count == 0)
        return NULL;
    /* The last symbol at or below the address. */
    u64 lo = 0, hi = ksyms_count;
    while (hi - lo > 1) {
        u64 mid = lo + (hi - lo) / 2;
        if (ksyms_addresses[mid] <= address)
            lo = mid;
        else
            hi = mid;
    }
    if (ksyms_addresses[lo] > address)
        return NULL;
    *symbol_start = ksyms_addresses[lo];
    return &ksyms_names[ksyms_name_offsets[lo]];
}

u64 ksyms_count_get(void)
{
    return ksyms_count;
}
