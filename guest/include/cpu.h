/* Per-CPU data, reached through the GS base while in the kernel. */
#ifndef DRK_CPU_H
#define DRK_CPU_H

/* Offsets used by assembly (entry paths read these through %gs). */
#define CPU_OFFSET_SELF         0
#define CPU_OFFSET_CURRENT      8
#define CPU_OFFSET_KERNEL_RSP   16
#define CPU_OFFSET_USER_RSP     24

#ifndef __ASSEMBLER__

#include "types.h"
#include "spinlock.h"

struct thread;

struct tss {
    u32 reserved0;
    u64 rsp0;
    u64 rsp1;
    u64 rsp2;
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
} __packed;

struct run_queue {
    struct spinlock lock;
    struct thread *head;
    struct thread *tail;
    struct thread *sleepers;    /* sleeping on a tick count, sorted by wake tick */
    struct thread *dead;        /* detached threads to free after the switch */
    u64 length;
};

struct cpu {
    struct cpu *self;           /* %gs:0, so C can find its cpu in one load */
    struct thread *current;     /* %gs:8 */
    u64 kernel_rsp;             /* %gs:16: stack for SYSCALL entry (part 2) */
    u64 user_rsp;               /* %gs:24: user RSP saved by SYSCALL entry (part 2) */
    u32 id;                     /* 0 .. cpu_count-1, 0 is the boot CPU */
    u32 apic_id;
    volatile bool online;
    volatile bool need_resched;
    volatile u64 ticks;
    struct run_queue rq;
    struct thread *idle;
    struct thread *switch_prev; /* the thread switched away from, finished by the next one */
    u64 gdt[8] __aligned(16);   /* the TSS descriptor takes entries 6 and 7 */
    struct tss tss __aligned(16);
    void *ist_stacks[2];
};

extern struct cpu cpus[MAX_CPUS];
extern u32 cpu_count;           /* CPUs the kernel uses (found by acpi.c) */
extern u32 cpu_apic_ids[MAX_CPUS];

static inline struct cpu *this_cpu(void)
{
    struct cpu *cpu;
    __asm__ __volatile__("movq %%gs:0, %0" : "=r"(cpu));
    return cpu;
}

static inline u32 cpu_id(void) { return this_cpu()->id; }

void cpu_early_init(void);
void cpu_init(struct cpu *cpu);
void cpu_setup_ist_stacks(struct cpu *cpu);
u32 cpus_online(void);

#endif
#endif
