/*
 * The user library: system call wrappers, string functions, formatted
 * output and the helpers every workload uses (argument parsing, the result
 * line). Static, freestanding, integer-only (-mgeneral-regs-only), like the
 * kernel. Wrappers return what the kernel returns: a negative errno on
 * failure (there is no errno variable).
 */
#ifndef DRK_ULIB_H
#define DRK_ULIB_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>
#include "uapi/syscall.h"
#include "uapi/errno.h"
#include "uapi/devices.h"
#include "uapi/workloads.h"
/* Strings, memory and snprintf: the same copy as the kernel's (guest/common/). */
#include "string.h"
#include "format.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)  __attribute__((format(printf, a, b)))
#define __noreturn      __attribute__((noreturn))

/* ---- system calls ---- */

long sys_read(int fd, void *buf, size_t count);
long sys_write(int fd, const void *buf, size_t count);
long sys_open(const char *path, int flags);
long sys_close(int fd);
long sys_lseek(int fd, long offset, int whence);
void *sys_mmap(void *addr, size_t length, int prot, int flags, int fd, long offset);  /* MAP_FAILED-like: (void *)-errno */
long sys_munmap(void *addr, size_t length);
long sys_ioctl(int fd, unsigned long cmd, unsigned long arg);
long sys_pipe(int fds[2]);
long sys_yield(void);
long sys_getpid(void);
long sys_fork(void);
long sys_execve(const char *path, char *const argv[], char *const envp[]);
__noreturn void sys_exit(int code);
long sys_wait4(int pid, int *status, int options);
long sys_mkdir(const char *path, int mode);
long sys_rmdir(const char *path);
long sys_unlink(const char *path);
long sys_insmod(const char *name);
long sys_rmmod(const char *name);
/* Any call by number, for tests of bad arguments. */
long syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

static inline bool mmap_failed(const void *p) { return (u64)p >= (u64)-4095; }

/* ---- output ---- */

/* Formats into a buffer and writes it to fd 1 with one write(), so a line is never split. */
int printf(const char *fmt, ...) __printf(1, 2);
__noreturn void die(const char *fmt, ...) __printf(1, 2);

/* ---- workloads ---- */

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

/* The iteration count: "iterations=N" or a bare number in argv[1..], else the suite's default for name. */
u64 workload_iterations(int argc, char **argv, const char *name);
/* Folds a value into a running checksum (FNV-1a over its 8 bytes): order matters, values are exact. */
u64 checksum_add(u64 sum, u64 value);
#define CHECKSUM_INIT 0xcbf29ce484222325ull
/* Prints the result line: "result workload=NAME iterations=N checksum=0x... cycles=N". */
void workload_result(const char *name, u64 iterations, u64 checksum, u64 cycles);
/* Loads a driver module unless it already is; returns true if this call loaded it (so rmmod is ours). */
bool workload_insmod(const char *name);
void workload_rmmod(const char *name, bool loaded_here);

#endif
