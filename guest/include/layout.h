/*
 * The guest's memory layout: fixed addresses shared by C, assembly and the
 * linker script. docs/guest-abi.md explains each region.
 */
#ifndef DRK_LAYOUT_H
#define DRK_LAYOUT_H

#ifdef __ASSEMBLER__
#define UL(x) x
#else
#define UL(x) x##UL
#endif

#define PAGE_SIZE           UL(4096)
#define PAGE_SHIFT          12

/* The kernel image: loaded at 1 MiB physical, linked at -2 GiB + physical. */
#define KERNEL_PHYS_BASE    UL(0x100000)
#define KERNEL_VMA          UL(0xffffffff80000000)

/* All RAM (and the whole first 4 GiB, for MMIO) at a fixed offset. */
#define DIRECT_MAP_BASE     UL(0xffff800000000000)

/* Kernel thread stacks, each with an unmapped guard page below it. */
#define KSTACK_AREA_BASE    UL(0xffffff0000000000)
#define KSTACK_AREA_END     UL(0xffffff8000000000)

/* Modules live in the top 2 GiB so that -mcmodel=kernel code can reach them. */
#define MODULE_AREA_BASE    UL(0xffffffffc0000000)
#define MODULE_AREA_END     UL(0xfffffffff0000000)

/* The lower half belongs to user address spaces. */
#define USER_SPACE_END      UL(0x0000800000000000)

/* Inside a user address space (docs/guest-abi.md, section 2). */
#define USER_IMAGE_MIN      UL(0x0000000000010000)  /* lowest address a program may be linked at */
#define USER_MMAP_BASE      UL(0x0000100000000000)  /* anonymous mmap() regions */
#define USER_MMAP_END       UL(0x0000600000000000)
#define USER_STACK_TOP      UL(0x0000700000000000)  /* the stack grows down from here */
#define USER_STACK_SIZE     UL(0x100000)            /* 1 MiB, mapped on demand */

/* AP start-up trampoline (SIPI vector 0x08), see trampoline.S. */
#define TRAMPOLINE_PHYS     UL(0x8000)
#define TRAMPOLINE_HEADER_OFFSET   0x08
/* "DRKSMPv1" read as a little-endian 64-bit value. */
#define TRAMPOLINE_MAGIC    UL(0x3176504d534b5244)

#define KSTACK_PAGES        4
#define KSTACK_SIZE         (KSTACK_PAGES * PAGE_SIZE)

/* Segment selectors of the kernel's GDT; user ones are laid out for SYSRET. */
#define GDT_KERNEL_CODE     0x08
#define GDT_KERNEL_DATA     0x10
#define GDT_USER_CODE32     0x18
#define GDT_USER_DATA       0x20
#define GDT_USER_CODE       0x28
#define GDT_TSS             0x30

/* Interrupt vectors above the 32 exceptions. */
#define VECTOR_TIMER        0x40
#define VECTOR_RESCHEDULE   0x41
#define VECTOR_TLB_SHOOTDOWN 0x42
/* Device interrupts handed out by request_irq(): drivers' simulated hardware raises them as IPIs. */
#define VECTOR_IRQ_FIRST    0x50
#define VECTOR_IRQ_COUNT    16
#define VECTOR_SPURIOUS     0xff
/* Not a vector: the "vector" field of a struct trap_frame built by the system-call entry. */
#define SYSCALL_FRAME_VECTOR 0x100

/* Exit statuses written to the isa-debug-exit port (QEMU exits with 2*status+1). */
#define EXIT_SUCCESS        0
#define EXIT_FAILED         1       /* a self-test or a workload failed */
#define EXIT_OOPS           2

#define MAX_CPUS            16

#endif
