/*
 * The only instructions that reach user memory through user addresses on a
 * system call's behalf (copy_to_user and friends in uaccess.c). Each one
 * that may fault has an entry in __ex_table naming where to continue instead
 * of an oops (trap.c looks it up); the fixups return what the C callers turn
 * into -EFAULT. REP MOVSB faults precisely: RCX still counts the bytes not
 * moved.
 */
    .macro EXTABLE insn, fixup
    .pushsection __ex_table, "a"
    .balign 8
    .quad \insn, \fixup
    .popsection
    .endm

    .text
/* u64 uaccess_copy(void *dst, const void *src, u64 n): returns the bytes not copied. */
    .globl uaccess_copy
uaccess_copy:
    movq %rdx, %rcx
1:  rep movsb
2:  movq %rcx, %rax
    ret
    EXTABLE 1b, 2b

/*
 * s64 uaccess_strncpy(char *dst, const char *src, u64 max): copies bytes up
 * to and including a NUL, at most max of them. Returns the string's length,
 * max if no NUL came within max bytes, -1 on a fault.
 */
    .globl uaccess_strncpy
uaccess_strncpy:
    xorl %eax, %eax
    testq %rdx, %rdx
    jz 3f
1:  movb (%rsi,%rax), %cl
    movb %cl, (%rdi,%rax)
    testb %cl, %cl
    jz 3f
    incq %rax
    cmpq %rdx, %rax
    jb 1b
3:  ret
4:  movq $-1, %rax
    ret
    EXTABLE 1b, 4b
