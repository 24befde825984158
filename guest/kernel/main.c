/*
 * kernel_entry, reached from boot.S on the boot CPU, and the init thread,
 * which loads the modules named on the command line and runs the self-tests.
 */
#include "kernel.h"
#include "bootinfo.h"
#include "trap.h"
#include "apic.h"
#include "acpi.h"
#include "smp.h"
#include "initrd.h"
#include "selftest.h"
#include "ksyms.h"
#include "vfs.h"
#include "workload.h"

__noreturn void kernel_entry(u64 start_info_phys);

extern char boot_stack_bottom[], boot_stack_top[];

__noreturn void poweroff(int status)
{
    printk("poweroff: status %d\n", status);
    /* isa-debug-exit: QEMU exits with 2 * status + 1. */
    outl(0xf4, (u32)status);
    printk("poweroff: no isa-debug-exit device at port 0xf4, halting\n");
    halt_forever();
}

__noreturn void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    irq_disable();
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    console_force_unlock();
    printk("PANIC: %s\n", buf);
    printk("Call trace:\n");
    backtrace_print((u64)__builtin_return_address(0), read_rbp());
    poweroff(EXIT_OOPS);
}

static const char *cpu_source_name(enum cpu_source s)
{
    switch (s) {
    case CPU_SOURCE_MADT: return "ACPI MADT";
    case CPU_SOURCE_CMDLINE: return "ncpus= option";
    default: return "default";
    }
}

/* Numbers the CPUs: the boot CPU is cpu0, the others follow in table order. */
static void number_cpus(void)
{
    u32 bsp = lapic_id();
    u32 ids[MAX_CPUS], n = 0;
    ids[n++] = bsp;
    for (u32 i = 0; i < cpu_count && n < cpu_count; i++)
        if (cpu_apic_ids[i] != bsp)
            ids[n++] = cpu_apic_ids[i];
    for (u32 i = 0; i < cpu_count; i++) {
        cpu_apic_ids[i] = ids[i];
        cpus[i].id = i;
        cpus[i].apic_id = ids[i];
    }
    if (strcmp(acpi_rsdp_source(), "none") == 0)
        printk("[m] acpi: no RSDP\n");
    else
        printk("[m] acpi: RSDP from %s\n", acpi_rsdp_source());
    printk("[m] cpu: %u cpu%s (%s), boot cpu apic id %u\n", cpu_count, cpu_count == 1 ? "" : "s",
           cpu_source_name(acpi_cpu_source()), bsp);
}

/* ---- deliberate crashes, to test oops reports ("crash=..." option) ---- */

static volatile int crash_never;

static __noinline int recurse_forever(int depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    if (crash_never)
        return 0;
    return recurse_forever(depth + 1) + pad[0];
}

static void crash(const char *how)
{
    printk("crash: %s\n", how);
    if (strcmp(how, "null") == 0) {
        volatile int *null = (volatile int *)(u64)crash_never;
        printk("crash: read %d\n", *null);
    } else if (strcmp(how, "stack") == 0) {
        recurse_forever(0);
    } else {
        printk("crash: unknown kind '%s' (null, stack)\n", how);
    }
}

static void load_boot_modules(void)
{
    char list[256];
    if (!cmdline_value("modules", list, sizeof(list)))
        return;
    char *p = list;
    while (*p) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        if (*p)
            module_load(p);     /* failures are reported, boot goes on */
        if (!comma)
            break;
        p = comma + 1;
    }
}

static int init_main(void *arg)
{
    u64 start_ticks = ticks_now();
    initrd_init();
    vfs_init();
    load_boot_modules();
    char how[32];
    if (cmdline_value("crash", how, sizeof(how)))
        crash(how);
    int status = EXIT_SUCCESS;
    if (cmdline_has("selftest"))
        status = selftest_run();
    char list[256];
    if (cmdline_value("run", list, sizeof(list))) {
        int run_status = workloads_run(list);
        if (status == EXIT_SUCCESS)
            status = run_status;
    }
    printk("[t] init: done after %lu ticks\n", ticks_now() - start_ticks);
    poweroff(status);
}

__noreturn void kernel_entry(u64 start_info_phys)
{
    cpu_early_init();
    console_init();
    printk("Drk guest kernel\n");
    bootinfo_parse(start_info_phys);
    bootinfo_print();
    acpi_find_cpus();               /* before the page allocator may reuse ACPI memory */
    idt_init();
    cpu_init(&cpus[0]);
    pmm_init();
    vm_init();
    slab_init();
    cpu_setup_ist_stacks(&cpus[0]);
    pic_mask_all();
    lapic_init(acpi_lapic_phys());
    lapic_cpu_init();
    number_cpus();
    printk("ksyms: %lu symbols\n", ksyms_count_get());

    sched_init_cpu(&cpus[0], (u64)boot_stack_bottom, (u64)boot_stack_top);
    cpus[0].online = true;
    lapic_timer_start();
    smp_boot_aps();
    if (!thread_create("init", init_main, NULL, 0))
        panic("cannot create the init thread");
    sched_idle_loop();
}
