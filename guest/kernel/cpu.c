/* Per-CPU state: GDT, TSS with the IST stacks, GS base. */
#include "kernel.h"
#include "trap.h"

struct cpu cpus[MAX_CPUS];
u32 cpu_count = 1;
EXPORT_SYMBOL(cpu_count);
u32 cpu_apic_ids[MAX_CPUS];

extern char early_ist_top[];
void syscall_init(void);

#define IST_DOUBLE_FAULT    1   /* TSS.ist[0] */
#define IST_NMI             2

/* Points GS at the boot CPU's data before anything (spinlocks) calls cpu_id(). */
void cpu_early_init(void)
{
    cpus[0].self = &cpus[0];
    wrmsr(MSR_GS_BASE, (u64)&cpus[0]);
}

static u64 tss_descriptor_low(const struct tss *tss)
{
    u64 base = (u64)tss, limit = sizeof(*tss) - 1;
    return (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ul << 40) |
           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
}

void cpu_init(struct cpu *c)
{
    c->self = c;
    c->gdt[0] = 0;
    c->gdt[1] = 0x00af9a000000ffff;     /* kernel code, 64-bit */
    c->gdt[2] = 0x00cf92000000ffff;     /* kernel data */
    c->gdt[3] = 0x00cffa000000ffff;     /* user code, 32-bit (unused; SYSRET's layout needs it) */
    c->gdt[4] = 0x00cff2000000ffff;     /* user data */
    c->gdt[5] = 0x00affa000000ffff;     /* user code, 64-bit */
    c->gdt[6] = tss_descriptor_low(&c->tss);
    c->gdt[7] = (u64)&c->tss >> 32;
    memset(&c->tss, 0, sizeof(c->tss));
    c->tss.iomap_base = sizeof(struct tss);
    c->tss.ist[IST_DOUBLE_FAULT - 1] = (u64)early_ist_top;
    c->tss.ist[IST_NMI - 1] = (u64)early_ist_top;

    struct __packed { u16 limit; u64 base; } gdtr = { sizeof(c->gdt) - 1, (u64)c->gdt };

    __asm__ __volatile__(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movl %2, %%eax\n\t"
        "movl %%eax, %%ds\n\t"
        "movl %%eax, %%es\n\t"
        "movl %%eax, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"
        "movl %%eax, %%fs\n\t"
        "movl %%eax, %%gs\n\t"
        "ltr %w3"
        : : "m"(gdtr), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA), "r"(GDT_TSS)
        : "rax", "memory");
    idt_load();
    /* Loading GS cleared its base; the kernel's per-CPU pointer goes back in. */
    wrmsr(MSR_GS_BASE, (u64)c);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
    syscall_init();
    /* x87 instructions fault (#NM) and SSE ones are undefined (CR4.OSFXSR clear): none may run. */
    write_cr0((read_cr0() | CR0_EM | CR0_NE | CR0_WP) & ~CR0_MP);
    /* Global pages: the kernel's never-changing mappings survive address-space switches (vm.c). */
    write_cr4(read_cr4() | CR4_PGE);
}

void cpu_setup_ist_stacks(struct cpu *c)
{
    for (int i = 0; i < 2; i++) {
        c->ist_stacks[i] = kstack_alloc(KSTACK_PAGES);
        if (!c->ist_stacks[i])
            panic("cpu%u: no memory for IST stacks", c->id);
        c->tss.ist[i] = (u64)c->ist_stacks[i] + KSTACK_SIZE;
    }
}

u32 cpus_online(void)
{
    u32 n = 0;
    for (u32 i = 0; i < cpu_count; i++)
        n += READ_ONCE(cpus[i].online);
    return n;
}
