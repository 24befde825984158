/*
 * Starting the application processors. The boot CPU copies the trampoline to
 * TRAMPOLINE_PHYS, writes its header (entry, CR3, stack) and sends
 * INIT-SIPI(-SIPI) to one AP at a time, waiting until that AP says it is
 * online. All waits count iterations, never time, so a deterministic
 * emulator takes the same path every run.
 */
#include "kernel.h"
#include "smp.h"
#include "apic.h"
#include "trap.h"

extern char trampoline_start[], trampoline_end[];
void ap_entry64(void);

/* docs/guest-abi.md documents this layout; trampoline.S builds it. */
static_assert(sizeof(struct trampoline_header) == 32, "trampoline header layout");
static_assert(offsetof(struct trampoline_header, entry64) == 8, "trampoline header layout");
static_assert(offsetof(struct trampoline_header, cr3) == 16, "trampoline header layout");
static_assert(offsetof(struct trampoline_header, stack_top) == 24, "trampoline header layout");

/* The AP being started; only one is in flight at a time. */
static struct cpu *volatile starting_cpu;
static u64 ap_boot_root;

#define AP_WAIT_SPINS   50000000ul
#define IPI_DELAY_SPINS 100000ul

static void spin_delay(u64 spins)
{
    for (u64 i = 0; i < spins; i++)
        cpu_relax();
}

static bool wait_online(struct cpu *c, u64 spins)
{
    for (u64 i = 0; i < spins; i++) {
        if (READ_ONCE(c->online))
            return true;
        cpu_relax();
    }
    return false;
}

static bool start_ap(struct cpu *c, struct trampoline_header *header)
{
    void *stack = kstack_alloc(KSTACK_PAGES);
    if (!stack)
        return false;
    c->ist_stacks[0] = c->ist_stacks[1] = NULL;
    header->entry64 = (u64)ap_entry64;
    header->cr3 = ap_boot_root;
    header->stack_top = (u64)stack + KSTACK_SIZE;
    c->kernel_rsp = header->stack_top;      /* tells smp_ap_main its stack */
    starting_cpu = c;
    barrier();

    lapic_send_init(c->apic_id);
    spin_delay(IPI_DELAY_SPINS);
    lapic_send_startup(c->apic_id, TRAMPOLINE_PHYS >> 12);
    if (wait_online(c, IPI_DELAY_SPINS))
        return true;
    /* Real hardware may miss the first SIPI; a second one is the documented retry. */
    lapic_send_startup(c->apic_id, TRAMPOLINE_PHYS >> 12);
    if (wait_online(c, AP_WAIT_SPINS))
        return true;
    return false;
}

void smp_boot_aps(void)
{
    if (cpu_count <= 1)
        return;
    u8 *trampoline = phys_to_virt(TRAMPOLINE_PHYS);
    memcpy(trampoline, trampoline_start, trampoline_end - trampoline_start);
    struct trampoline_header *header = (void *)(trampoline + TRAMPOLINE_HEADER_OFFSET);
    if (header->magic != TRAMPOLINE_MAGIC)
        panic("smp: trampoline header not at offset %d", TRAMPOLINE_HEADER_OFFSET);
    ap_boot_root = vm_ap_boot_tables_create();

    u32 started = 1;
    for (u32 i = 1; i < cpu_count; i++) {
        struct cpu *c = &cpus[i];
        if (!start_ap(c, header)) {
            /* CPU numbers stay dense: stop at the first AP that does not come up. */
            printk("smp: cpu%u (apic id %u) did not start\n", i, c->apic_id);
            break;
        }
        started++;
        printk("smp: cpu%u online (apic id %u)\n", i, c->apic_id);
    }
    starting_cpu = NULL;
    vm_ap_boot_tables_destroy(ap_boot_root);
    cpu_count = started;
    printk("smp: %u cpus online\n", cpus_online());
}

/* Called by ap_entry64 on the AP's stack; see the contract there. */
__noreturn void smp_ap_main(void)
{
    struct cpu *c = starting_cpu;
    cpu_init(c);
    write_cr3(vm_kernel_root());
    cpu_setup_ist_stacks(c);
    lapic_cpu_init();
    u64 top = c->kernel_rsp;
    sched_init_cpu(c, top - KSTACK_SIZE, top);
    lapic_timer_start();
    WRITE_ONCE(c->online, true);
    sched_idle_loop();
}
