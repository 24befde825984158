/*
 * The two ways into the kernel, which meet at boot64:
 *  - pvh_entry32: QEMU's PVH boot (32-bit protected mode, paging off,
 *    EBX = hvm_start_info). We build long mode ourselves.
 *  - entry64 (the ELF entry point): a loader that already runs the CPU in long
 *    mode (Drk's hypervisor) jumps here; RBX = hvm_start_info.
 * Both switch to the boot page tables below, which identity-map the first
 * 4 GiB, map it again at DIRECT_MAP_BASE and map the first 1 GiB at -2 GiB,
 * then call kernel_entry(start_info_phys) on the boot stack.
 */
#include "layout.h"

#define PTE_P_W     0x003
#define PDE_2M      0x083       /* present, writable, 2 MiB page */

/*
 * The PVH note: QEMU reads the 32-bit entry from it (an 8-byte value). The
 * Makefile defines pvh_note_entry: pvh_entry32 in kernel.elf, and
 * loader64_shim in kernel-entry64.elf, a test image that enters through
 * entry64 the way Drk's loader will.
 */
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                     /* name size */
    .long 8                     /* descriptor size */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad pvh_note_entry
    .balign 4

    .section .boot.text, "ax"
    .code32
    .globl pvh_entry32
pvh_entry32:
    cli
    cld
    movl %ebx, %edi             /* keep hvm_start_info across the mode switch */
    lgdt boot_gdt_ptr
    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx      /* EFER */
    rdmsr
    orl $0x900, %eax            /* LME | NXE */
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax       /* PG | WP | PE */
    movl %eax, %cr0
    ljmp $0x08, $boot64

    .code64
    .globl entry64
entry64:
    cli
    cld
    movl %ebx, %edi
    lgdt boot_gdt_ptr(%rip)
    movl $boot_pml4, %eax
    movq %rax, %cr3
    movabsq $boot_stack_top, %rsp   /* mapped now; the loader gave us no stack */
    pushq $0x08
    leaq boot64(%rip), %rax
    pushq %rax
    lretq

boot64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movabsq $boot_stack_top, %rsp
    movl %edi, %edi             /* upper half is undefined after the 32-bit path */
    xorl %ebp, %ebp             /* ends the frame-pointer chain */
    movabsq $kernel_entry, %rax
    callq *%rax
1:  cli
    hlt
    jmp 1b

/*
 * Test only (kernel-entry64.elf): plays the part of a 64-bit loader. It
 * enters long mode with page tables that identity-map 4 GiB, leaves RSP
 * unusable (non-canonical) and jumps to entry64 with RBX = hvm_start_info,
 * which is exactly what docs/guest-abi.md promises and nothing more.
 */
    .code32
    .globl loader64_shim
loader64_shim:
    cli
    lgdt boot_gdt_ptr
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx
    rdmsr
    orl $0x900, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax
    movl %eax, %cr0
    ljmp $0x08, $1f
    .code64
1:  movl %ebx, %ebx
    movabsq $0xdead00000000dead, %rsp
    jmp entry64

    .section .boot.data, "aw"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .balign 4096
boot_pml4:
    .quad boot_pdpt_low + PTE_P_W               /* identity */
    .fill 255, 8, 0
    .quad boot_pdpt_low + PTE_P_W               /* DIRECT_MAP_BASE */
    .fill 254, 8, 0
    .quad boot_pdpt_high + PTE_P_W              /* -512 GiB .. top */
boot_pdpt_low:
    .quad boot_pd + PTE_P_W
    .quad boot_pd + 0x1000 + PTE_P_W
    .quad boot_pd + 0x2000 + PTE_P_W
    .quad boot_pd + 0x3000 + PTE_P_W
    .fill 508, 8, 0
boot_pdpt_high:
    .fill 510, 8, 0
    .quad boot_pd + PTE_P_W                     /* -2 GiB: first 1 GiB */
    .quad 0
boot_pd:
    .set page, 0
    .rept 2048
    .quad (page << 21) + PDE_2M
    .set page, page + 1
    .endr

/* Stacks of the boot CPU, each above a guard page that vm_init leaves unmapped. */
    .section .bss.boot_stacks, "aw", @nobits
    .balign 4096
    .globl boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:
    .skip 4096
boot_stack_bottom:
    .skip KSTACK_SIZE
boot_stack_top:
    .globl early_ist_guard, early_ist_top
early_ist_guard:
    .skip 4096
    .skip 4096
early_ist_top:
