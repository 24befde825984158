/*
 * System calls: the SYSCALL MSRs and the dispatcher that entry.S calls with
 * the caller's registers saved as a struct trap_frame (uapi/syscall.h has
 * the calling convention). Every user pointer goes through uaccess.h, so a
 * bad one gives -EFAULT, never an oops.
 */
#include "kernel.h"
#include "process.h"
#include "vfs.h"
#include "uaccess.h"

void syscall_entry(void);

#define RFLAGS_TF   (1ul << 8)
#define RFLAGS_DF   (1ul << 10)
#define RFLAGS_NT   (1ul << 14)
#define RFLAGS_AC   (1ul << 18)

static volatile u64 syscalls_made;

/*
 * Per CPU. STAR[47:32] selects the kernel's CS (SS is the next selector);
 * STAR[63:48] is the base SYSRET uses: CS = base + 16, SS = base + 8, both
 * with RPL 3, which is why the GDT has the 32-bit user code segment at 0x18.
 * SFMASK clears IF (the entry runs with interrupts off until it is on the
 * kernel stack), TF, DF, NT and AC.
 */
void syscall_init(void)
{
    wrmsr(MSR_STAR, ((u64)GDT_USER_CODE32 << 48) | ((u64)GDT_KERNEL_CODE << 32));
    wrmsr(MSR_LSTAR, (u64)syscall_entry);
    wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
}

static long with_file(int fd, long (*op)(struct file *f, u64 a, u64 b), u64 a, u64 b)
{
    struct file *f = fd_get(fd);
    if (!f)
        return -EBADF;
    long ret = op(f, a, b);
    file_put(f);
    return ret;
}

static long do_read(struct file *f, u64 buf, u64 count) { return vfs_read(f, (void __user *)buf, count); }
static long do_write(struct file *f, u64 buf, u64 count) { return vfs_write(f, (const void __user *)buf, count); }
static long do_lseek(struct file *f, u64 offset, u64 whence) { return vfs_lseek(f, (s64)offset, (int)whence); }
static long do_ioctl(struct file *f, u64 cmd, u64 arg) { return vfs_ioctl(f, (unsigned int)cmd, arg); }

/* Copies a path from user space into buf (PATH_MAX bytes). */
static long get_path(char *buf, u64 upath)
{
    long n = strncpy_from_user(buf, (const char __user *)upath, PATH_MAX);
    return n < 0 ? n : 0;
}

static long sys_open(u64 upath, u64 flags)
{
    char path[PATH_MAX];
    long err = get_path(path, upath);
    if (err)
        return err;
    struct file *f;
    err = vfs_open(path, (int)flags, &f);
    if (err)
        return err;
    int fd = fd_install(f);
    if (fd < 0)
        file_put(f);
    return fd;
}

static long sys_pipe(u64 ufds)
{
    struct file *ends[2];
    int err = pipe_create(ends);
    if (err)
        return err;
    int fds[2] = { fd_install(ends[0]), -1 };
    if (fds[0] >= 0)
        fds[1] = fd_install(ends[1]);
    if (fds[1] < 0 || copy_to_user((void __user *)ufds, fds, sizeof(fds))) {
        long ret = fds[1] < 0 ? -EMFILE : -EFAULT;
        if (fds[0] >= 0)
            fd_close(fds[0]);
        else
            file_put(ends[0]);
        if (fds[1] >= 0)
            fd_close(fds[1]);
        else
            file_put(ends[1]);
        return ret;
    }
    return 0;
}

static long path_call(u64 upath, int (*op)(const char *path))
{
    char path[PATH_MAX];
    long err = get_path(path, upath);
    return err ? err : op(path);
}

/* Module names are short; longer ones are refused by the loader anyway. */
static long module_call(u64 uname, int (*op)(const char *name))
{
    char name[64];
    long n = strncpy_from_user(name, (const char __user *)uname, sizeof(name));
    if (n < 0)
        return n == -ENAMETOOLONG ? -EINVAL : n;
    return op(name);
}

void syscall_dispatch(struct trap_frame *f)
{
    u64 a0 = f->rdi, a1 = f->rsi, a2 = f->rdx, a3 = f->r10, a4 = f->r8, a5 = f->r9;
    long ret;
    irq_enable();
    atomic_inc64(&syscalls_made);
    switch (f->rax) {
    case SYS_read:        ret = with_file((int)a0, do_read, a1, a2); break;
    case SYS_write:       ret = with_file((int)a0, do_write, a1, a2); break;
    case SYS_open:        ret = sys_open(a0, a1); break;
    case SYS_close:       ret = fd_close((int)a0); break;
    case SYS_lseek:       ret = with_file((int)a0, do_lseek, a1, a2); break;
    case SYS_mmap:        ret = sys_mmap(a0, a1, a2, a3, (s64)a4, a5); break;
    case SYS_munmap:      ret = sys_munmap(a0, a1); break;
    case SYS_ioctl:       ret = with_file((int)a0, do_ioctl, a1, a2); break;
    case SYS_pipe:        ret = sys_pipe(a0); break;
    case SYS_sched_yield: thread_yield(); ret = 0; break;
    case SYS_getpid:      ret = sys_getpid(); break;
    case SYS_fork:        ret = sys_fork(f); break;
    case SYS_execve:      ret = sys_execve(f, (const char __user *)a0, (const char __user *const __user *)a1); break;
    case SYS_exit:        process_exit((int)(a0 & 0xff));
    case SYS_wait4:       ret = sys_wait4((int)a0, (int __user *)a1, (int)a2); break;
    case SYS_mkdir:       ret = path_call(a0, vfs_mkdir); break;
    case SYS_rmdir:       ret = path_call(a0, vfs_rmdir); break;
    case SYS_unlink:      ret = path_call(a0, vfs_unlink); break;
    case SYS_insmod:      ret = module_call(a0, module_load); break;
    case SYS_rmmod:       ret = module_call(a0, module_unload); break;
    default:              ret = -ENOSYS; break;
    }
    f->rax = (u64)ret;
    irq_disable();
}

u64 syscalls_count(void)
{
    return READ_ONCE(syscalls_made);
}
