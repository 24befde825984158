/*
 * The system call interface, shared by the kernel and user programs.
 *
 * A program executes SYSCALL with the number in RAX and up to six arguments
 * in RDI, RSI, RDX, R10, R8, R9; the result comes back in RAX (a negative
 * errno on failure); RCX and R11 are clobbered, every other register is
 * kept. Numbers, flags and structure layouts are Linux's wherever Linux has
 * the same call, so programs that only use those run natively on a Linux
 * host too; insmod and rmmod are Drk's own (numbers from 512 up).
 */
#ifndef DRK_UAPI_SYSCALL_H
#define DRK_UAPI_SYSCALL_H

#define SYS_read         0
#define SYS_write        1
#define SYS_open         2
#define SYS_close        3
#define SYS_lseek        8
#define SYS_mmap         9
#define SYS_munmap      11
#define SYS_ioctl       16
#define SYS_pipe        22
#define SYS_sched_yield 24
#define SYS_getpid      39
#define SYS_fork        57
#define SYS_execve      59
#define SYS_exit        60
#define SYS_wait4       61
#define SYS_mkdir       83
#define SYS_rmdir       84
#define SYS_unlink      87
#define SYS_insmod     512      /* insmod(const char *name): loads modules/NAME.o from the initrd */
#define SYS_rmmod      513      /* rmmod(const char *name) */

/* open() flags (octal, as Linux). */
#define O_RDONLY    00
#define O_WRONLY    01
#define O_RDWR      02
#define O_ACCMODE   03
#define O_CREAT     0100
#define O_EXCL      0200
#define O_TRUNC     01000
#define O_APPEND    02000

/* lseek() whence. */
#define SEEK_SET    0
#define SEEK_CUR    1
#define SEEK_END    2

/* mmap(): only private anonymous mappings exist. */
#define PROT_NONE       0x0
#define PROT_READ       0x1
#define PROT_WRITE      0x2
#define PROT_EXEC       0x4
#define MAP_PRIVATE     0x02
#define MAP_FIXED       0x10
#define MAP_ANONYMOUS   0x20
#define MAP_FAILED      ((void *)-1)

/* wait4(): options and the status word (exit code in bits 8-15, as Linux). */
#define WNOHANG             1
#define WEXITSTATUS(status) (((status) >> 8) & 0xff)

/* Exit codes of a process the kernel killed for a fault in user mode (128 + Linux's signal number). */
#define EXIT_KILLED_SEGV    139     /* page fault, general protection, stack fault */
#define EXIT_KILLED_ILL     132     /* invalid opcode */
#define EXIT_KILLED_FPE     136     /* divide error */
#define EXIT_KILLED_TRAP    133     /* any other exception */

/* Limits. */
#define PATH_MAX        256     /* including the NUL */
#define NAME_MAX        31      /* one path component */
#define ARG_MAX         4096    /* execve(): argument strings and pointers together */
#define ARGC_MAX        32
#define OPEN_MAX        16      /* file descriptors per process */
#define PIPE_BUF_SIZE   4096    /* a pipe's buffer */

#endif
