/*
 * Interrupt and exception entry, the context switch and the first
 * instructions of new threads and of application processors.
 */
#include "layout.h"
#include "cpu.h"

/*
 * One 16-byte stub per vector: push a zero where the CPU pushes no error code
 * (so every frame has the same shape), push the vector, go to the common path.
 * idt_init() finds stub N at interrupt_stubs + 16 * N.
 */
    .text
    .balign 16
    .globl interrupt_stubs
interrupt_stubs:
    .set vector, 0
    .rept 256
    .balign 16
    .if (vector == 8) || ((vector >= 10) && (vector <= 14)) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushq $0
    .endif
    pushq $vector
    jmp interrupt_common
    .set vector, vector + 1
    .endr

/* Frame on entry: vector, error code, RIP, CS, RFLAGS, RSP, SS (struct trap_frame). */
interrupt_common:
    testb $3, 24(%rsp)          /* from user mode: switch to the kernel GS base */
    jz 1f
    swapgs
1:  pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    call interrupt_dispatch
/* Also where user_enter and the slow system-call return join: RSP points to a struct trap_frame. */
    .globl interrupt_return
interrupt_return:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  addq $16, %rsp              /* vector and error code */
    iretq

/*
 * SYSCALL lands here (MSR_LSTAR) with RCX = user RIP, R11 = user RFLAGS,
 * interrupts off (SFMASK), and the user's RSP and GS. The entry builds the
 * same struct trap_frame an interrupt from user mode would, so fork, exec
 * and faults treat both alike, and calls syscall_dispatch(frame).
 */
    .globl syscall_entry
syscall_entry:
    swapgs
    movq %rsp, %gs:CPU_OFFSET_USER_RSP
    movq %gs:CPU_OFFSET_KERNEL_RSP, %rsp
    pushq $(GDT_USER_DATA | 3)          /* ss */
    pushq %gs:CPU_OFFSET_USER_RSP       /* rsp */
    pushq %r11                          /* rflags */
    pushq $(GDT_USER_CODE | 3)          /* cs */
    pushq %rcx                          /* rip */
    pushq $0                            /* error code */
    pushq $SYSCALL_FRAME_VECTOR         /* vector: marks a system call */
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    xorl %ebp, %ebp                     /* ends kernel backtraces at the user boundary */
    cld
    movq %rsp, %rdi
    call syscall_dispatch               /* returns with interrupts off */

/*
 * Back to user mode by SYSRET, unless the frame's RIP is not canonical
 * (SYSRET would fault in ring 0 with the user's RSP): then IRETQ.
 * SYSRET takes RIP from RCX and RFLAGS from R11, so those two registers
 * come back as the return address and flags, as the ABI says.
 */
    movq 136(%rsp), %rcx                /* frame rip */
    shrq $47, %rcx
    jnz interrupt_return
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    addq $8, %rsp                       /* r11 */
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    addq $8, %rsp                       /* rcx */
    popq %rbx
    popq %rax
    movq 16(%rsp), %rcx                 /* rip (after vector and error code) */
    movq 32(%rsp), %r11                 /* rflags */
    movq 40(%rsp), %rsp                 /* user rsp */
    swapgs
    sysretq

/* void user_enter(struct trap_frame *frame): enters user mode with frame's registers. */
    .globl user_enter
user_enter:
    cli
    movq %rdi, %rsp
    jmp interrupt_return

/*
 * void switch_stacks(u64 *save_rsp, u64 new_rsp)
 * Saves the callee-saved registers on the current stack, stores RSP, and
 * resumes whatever was saved on the other stack the same way. A function
 * symbol with its size: debuggers and drk's tools find the context switch by
 * it (docs/guest-abi.md).
 */
    .globl switch_stacks
    .type switch_stacks, @function
switch_stacks:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size switch_stacks, . - switch_stacks

/*
 * A new thread's first switch "returns" here with the function in R12 and its
 * argument in R13 (see thread_create). RBP is 0, which ends backtraces.
 */
    .globl thread_start
thread_start:
    call sched_finish_switch
    sti
    movq %r13, %rdi
    call *%r12
    movl %eax, %edi
    call thread_exit
    ud2

/*
 * The 64-bit entry named in the trampoline header. RSP is the AP's stack,
 * CR3 the AP boot tables; nothing else may be assumed (a hypervisor can start
 * the AP here directly), so smp_ap_main loads GDT, IDT and page tables first.
 */
    .globl ap_entry64
ap_entry64:
    cli
    cld
    xorl %ebp, %ebp
    call smp_ap_main
1:  cli
    hlt
    jmp 1b
