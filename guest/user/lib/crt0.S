/*
 * Program entry. The kernel (like Linux, which also runs these programs
 * natively) starts a process with RSP 16-byte aligned and pointing at argc,
 * followed by the argv pointers. main's return value is the exit code.
 */
    .text
    .globl _start
_start:
    xorl %ebp, %ebp             /* ends frame-pointer chains */
    movq (%rsp), %rdi           /* argc */
    leaq 8(%rsp), %rsi          /* argv */
    andq $-16, %rsp
    call main
    movl %eax, %edi
    call sys_exit
    ud2
