/*
 * AP start-up trampoline. smp.c copies it to TRAMPOLINE_PHYS and fills in the
 * header; a SIPI with vector TRAMPOLINE_PHYS >> 12 starts an AP at its first
 * byte in real mode. It enters long mode with the header's CR3 and jumps to
 * the header's 64-bit entry with the header's stack. A hypervisor that knows
 * the header (magic "DRKSMPv1" at offset 8) may skip the code and start the
 * AP at the entry directly; docs/guest-abi.md gives the contract.
 */
#include "layout.h"

#define T(x) ((x) - trampoline_start + TRAMPOLINE_PHYS)

    .section .rodata.trampoline, "a"
    .balign 16
    .globl trampoline_start, trampoline_end
    .code16
trampoline_start:
    jmp trampoline_real
    .org trampoline_start + TRAMPOLINE_HEADER_OFFSET
trampoline_header:
    .quad TRAMPOLINE_MAGIC
    .quad 0                     /* entry64 */
    .quad 0                     /* cr3 */
    .quad 0                     /* stack_top */

trampoline_real:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl trampoline_gdt_ptr - trampoline_start
    movl %cr0, %eax
    orl $1, %eax                /* PE */
    movl %eax, %cr0
    ljmpl $0x18, $T(trampoline32)

    .code32
trampoline32:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl T(trampoline_header + 16), %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx      /* EFER */
    rdmsr
    orl $0x900, %eax            /* LME | NXE */
    wrmsr
    movl %cr0, %eax
    orl $0x80010000, %eax       /* PG | WP */
    movl %eax, %cr0
    ljmp $0x08, $T(trampoline64)

    .code64
trampoline64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movq T(trampoline_header + 24), %rsp
    movq T(trampoline_header + 8), %rax
    jmpq *%rax

    .balign 8
trampoline_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
    .quad 0x00cf9a000000ffff    /* 0x18: 32-bit code */
trampoline_gdt_ptr:
    .word 31
    .long T(trampoline_gdt)
trampoline_end:
