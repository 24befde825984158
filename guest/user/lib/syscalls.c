/*
 * System call wrappers: SYSCALL with the number in RAX and arguments in RDI,
 * RSI, RDX, R10, R8, R9; RCX and R11 are clobbered (uapi/syscall.h).
 */
#include "ulib.h"

long syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    long ret;
    register long r10 __asm__("r10") = a3;
    register long r8 __asm__("r8") = a4;
    register long r9 __asm__("r9") = a5;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return ret;
}

static inline long syscall3(long nr, long a0, long a1, long a2)
{
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "rcx", "r11", "memory");
    return ret;
}

long sys_read(int fd, void *buf, size_t count) { return syscall3(SYS_read, fd, (long)buf, (long)count); }
long sys_write(int fd, const void *buf, size_t count) { return syscall3(SYS_write, fd, (long)buf, (long)count); }
long sys_open(const char *path, int flags) { return syscall3(SYS_open, (long)path, flags, 0644); }
long sys_close(int fd) { return syscall3(SYS_close, fd, 0, 0); }
long sys_lseek(int fd, long offset, int whence) { return syscall3(SYS_lseek, fd, offset, whence); }

void *sys_mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)
{
    return (void *)syscall6(SYS_mmap, (long)addr, (long)length, prot, flags, fd, offset);
}

long sys_munmap(void *addr, size_t length) { return syscall3(SYS_munmap, (long)addr, (long)length, 0); }
long sys_ioctl(int fd, unsigned long cmd, unsigned long arg) { return syscall3(SYS_ioctl, fd, (long)cmd, (long)arg); }
long sys_pipe(int fds[2]) { return syscall3(SYS_pipe, (long)fds, 0, 0); }
long sys_yield(void) { return syscall3(SYS_sched_yield, 0, 0, 0); }
long sys_getpid(void) { return syscall3(SYS_getpid, 0, 0, 0); }
long sys_fork(void) { return syscall3(SYS_fork, 0, 0, 0); }

long sys_execve(const char *path, char *const argv[], char *const envp[])
{
    return syscall3(SYS_execve, (long)path, (long)argv, (long)envp);
}

__noreturn void sys_exit(int code)
{
    syscall3(SYS_exit, code, 0, 0);
    for (;;)
        ;
}

long sys_wait4(int pid, int *status, int options) { return syscall6(SYS_wait4, pid, (long)status, options, 0, 0, 0); }
long sys_mkdir(const char *path, int mode) { return syscall3(SYS_mkdir, (long)path, mode, 0); }
long sys_rmdir(const char *path) { return syscall3(SYS_rmdir, (long)path, 0, 0); }
long sys_unlink(const char *path) { return syscall3(SYS_unlink, (long)path, 0, 0); }
long sys_insmod(const char *name) { return syscall3(SYS_insmod, (long)name, 0, 0); }
long sys_rmmod(const char *name) { return syscall3(SYS_rmmod, (long)name, 0, 0); }
