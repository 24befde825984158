/*
 * A well-behaved module. It calls exported kernel functions and makes the
 * assembler emit each relocation type the loader supports, then checks that
 * the relocated values agree:
 *   R_X86_64_PLT32  calls to kernel functions
 *   R_X86_64_PC32   RIP-relative accesses to its own data
 *   R_X86_64_32S    absolute addresses as sign-extended 32-bit immediates
 *   R_X86_64_64     pointers stored in data
 */
#include "kernel.h"
#include "selftest.h"

static long table[4] = { 1, 2, 3, 4 };              /* .data */
static int calls;                                   /* .bss */
static const char greeting[] = "hello from a module";   /* .rodata */
/* Global, so gcc cannot fold them into constants: the loader must fill them (R_X86_64_64). */
long *good_table_pointer = table;
void *(*good_alloc_function)(size_t, gfp_t) = kmalloc;

static __noinline long *table_by_immediate(void)
{
    long *p;
    __asm__("movq $%c1, %0" : "=r"(p) : "i"(table));   /* R_X86_64_32S */
    return p;
}

static __noinline long *table_by_rip(void)
{
    long *p;
    __asm__("leaq %c1(%%rip), %0" : "=r"(p) : "i"(table));  /* R_X86_64_PC32 */
    return p;
}

static __noinline int kernel_calls(void)
{
    char *buf = kmalloc(64, GFP_KERNEL);            /* R_X86_64_PLT32 */
    if (!buf)
        return 0;
    snprintf(buf, 64, "%s", greeting);
    int ok = strcmp(buf, "hello from a module") == 0 && ksize(buf) >= 64;
    kfree(buf);
    void *p = good_alloc_function(16, GFP_KERNEL);
    ok &= p != NULL;
    kfree(p);
    return ok;
}

static int good_init(void)
{
    calls++;
    long sum = 0;
    for (int i = 0; i < 4; i++)
        sum += good_table_pointer[i];
    int agree = table_by_immediate() == table && table_by_rip() == table &&
                good_table_pointer == table && sum == 10 && good_alloc_function == kmalloc;
    printk("good: %s\n", greeting);
    selftest_module_report("good: relocations agree", agree);
    selftest_module_report("good: kernel calls", kernel_calls());
    selftest_module_report("good: init", calls);
    return 0;
}

static void good_exit(void)
{
    selftest_module_report("good: exit", calls);
}

MODULE_INIT(good_init);
MODULE_EXIT(good_exit);
