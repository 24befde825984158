/*
 * User processes. A process is one kernel thread (which runs its user code
 * and its system calls), an address space, a table of open files and its
 * place in the process tree. It runs on the CPU it was created on, as all
 * threads do: fork puts the child on the parent's CPU.
 */
#ifndef DRK_PROCESS_H
#define DRK_PROCESS_H

#include "types.h"
#include "sched.h"
#include "trap.h"
#include "uapi/syscall.h"

struct file;
struct address_space;

/* A range of the address space whose pages are made, zeroed, on first touch (stack, mmap). */
struct vma {
    struct vma *next;           /* sorted by address */
    u64 start, end;
    u64 pte_flags;              /* PTE_WRITE, PTE_NX */
};

enum process_state {
    PROCESS_RUNNING,
    PROCESS_ZOMBIE,             /* exited, waiting to be reaped */
};

struct process {
    int pid;
    char name[16];
    volatile enum process_state state;
    int exit_code;
    struct process *parent;     /* NULL: spawned by the kernel, or orphaned */
    bool kernel_spawned;        /* reaped by process_wait_spawned */
    struct process *children;   /* the rest of the tree is under proc_lock */
    struct process *sibling;
    struct thread *thread;
    struct address_space *as;
    struct vma *vmas;
    struct file *files[OPEN_MAX];
    struct waitq child_wait;    /* the parent sleeps here in wait4 */
    struct trap_frame start_frame;  /* where a new process enters user mode */
};

static inline struct process *current_process(void)
{
    return current_thread()->proc;
}

/* Starts path (from the initrd) as a new process on cpu; argv is argc strings. */
struct process *process_spawn(const char *path, int argc, const char *const *argv, int cpu);
/* Waits for a process made by process_spawn, reaps it and returns its exit code. */
int process_wait_spawned(struct process *p);
__noreturn void process_exit(int code);

/* A fault in user mode: maps a page on demand or kills the process (never returns then). */
void process_user_fault(struct trap_frame *f);
/* A kernel page fault on a user address of the current process: true if a page was mapped. */
bool process_demand_fault(u64 address, u64 error_code);

/* System calls (syscall.c dispatches). */
long sys_fork(struct trap_frame *f);
long sys_execve(struct trap_frame *f, const char __user *path, const char __user *const __user *argv);
long sys_wait4(int pid, int __user *status, int options);
long sys_getpid(void);
long sys_mmap(u64 addr, u64 length, u64 prot, u64 flags, s64 fd, u64 offset);
long sys_munmap(u64 addr, u64 length);

/* Descriptor table of the current process. */
int fd_install(struct file *f);
struct file *fd_get(int fd);    /* with a reference; NULL if not open */
int fd_close(int fd);

/*
 * The program loader (exec.c): builds a new address space for the ELF
 * executable at path with the given arguments. On success *as, *vmas,
 * *entry and *sp describe it.
 */
int exec_load(const char *path, int argc, const char *const *argv,
              struct address_space **as, struct vma **vmas, u64 *entry, u64 *sp);
void vmas_free(struct vma *v);

u64 processes_live(void);

#endif
