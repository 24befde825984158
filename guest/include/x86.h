/* Wrappers for the privileged and port instructions the kernel uses. */
#ifndef DRK_X86_H
#define DRK_X86_H

#include "types.h"

#define MSR_EFER            0xc0000080
#define MSR_STAR            0xc0000081
#define MSR_LSTAR           0xc0000082
#define MSR_SFMASK          0xc0000084
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_KERNEL_GS_BASE  0xc0000102

#define EFER_SCE            (1u << 0)
#define EFER_LME            (1u << 8)
#define EFER_NXE            (1u << 11)

#define CR0_PE              (1ul << 0)
#define CR0_MP              (1ul << 1)
#define CR0_EM              (1ul << 2)
#define CR0_NE              (1ul << 5)
#define CR0_WP              (1ul << 16)
#define CR0_PG              (1ul << 31)

#define CR4_PGE             (1ul << 7)

#define RFLAGS_IF           (1ul << 9)

static inline void outb(u16 port, u8 value)
{
    __asm__ __volatile__("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline u8 inb(u16 port)
{
    u8 value;
    __asm__ __volatile__("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline void outl(u16 port, u32 value)
{
    __asm__ __volatile__("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 value)
{
    __asm__ __volatile__("wrmsr" : : "c"(msr), "a"((u32)value), "d"((u32)(value >> 32)) : "memory");
}

static inline u64 read_cr0(void) { u64 v; __asm__ __volatile__("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u64 read_cr2(void) { u64 v; __asm__ __volatile__("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u64 read_cr3(void) { u64 v; __asm__ __volatile__("mov %%cr3, %0" : "=r"(v)); return v; }
static inline u64 read_cr4(void) { u64 v; __asm__ __volatile__("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(u64 v) { __asm__ __volatile__("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u64 v) { __asm__ __volatile__("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(u64 v) { __asm__ __volatile__("mov %0, %%cr4" : : "r"(v) : "memory"); }

static inline void invlpg(u64 va)
{
    __asm__ __volatile__("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }
static inline void irq_disable(void) { __asm__ __volatile__("cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ __volatile__("sti" ::: "memory"); }

/* STI delays interrupts by one instruction, so no wake-up slips in before HLT. */
static inline void irq_enable_and_halt(void) { __asm__ __volatile__("sti; hlt" ::: "memory"); }

static inline u64 read_rflags(void)
{
    u64 flags;
    __asm__ __volatile__("pushfq; popq %0" : "=r"(flags) : : "memory");
    return flags;
}

/* Disables interrupts and returns the previous RFLAGS for irq_restore. */
static inline u64 irq_save(void)
{
    u64 flags = read_rflags();
    irq_disable();
    return flags;
}

/* irq_save only ever clears IF, so restoring means re-enabling if it was set. */
static inline void irq_restore(u64 flags)
{
    if (flags & RFLAGS_IF)
        irq_enable();
}

static inline bool irqs_enabled(void) { return (read_rflags() & RFLAGS_IF) != 0; }

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static inline u64 read_rbp(void)
{
    u64 rbp;
    __asm__ __volatile__("movq %%rbp, %0" : "=r"(rbp));
    return rbp;
}

static inline __noreturn void halt_forever(void)
{
    for (;;)
        __asm__ __volatile__("cli; hlt" ::: "memory");
}

#endif
