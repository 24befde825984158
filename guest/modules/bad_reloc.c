/* Carries an R_X86_64_PC64 relocation, a type the loader does not support. */
#include "kernel.h"

__asm__(".pushsection .data\n"
        ".balign 8\n"
        "bad_reloc_slot:\n"
        ".reloc bad_reloc_slot, R_X86_64_PC64, printk\n"
        ".quad 0\n"
        ".popsection\n");

static int bad_init(void)
{
    return 0;
}

MODULE_INIT(bad_init);
