/* Starting the application processors through the low-memory trampoline. */
#ifndef DRK_SMP_H
#define DRK_SMP_H

#include "types.h"

/* The header at TRAMPOLINE_PHYS + TRAMPOLINE_HEADER_OFFSET (docs/guest-abi.md). */
struct trampoline_header {
    u64 magic;          /* TRAMPOLINE_MAGIC, "DRKSMPv1" */
    u64 entry64;        /* virtual address of the 64-bit entry, valid under cr3 */
    u64 cr3;            /* physical address of the page tables, below 4 GiB */
    u64 stack_top;      /* RSP for the AP */
};

void smp_boot_aps(void);
void smp_ap_main(void);

#endif
