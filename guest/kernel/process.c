/*
 * User processes (process.h): creation, fork, exec, exit and wait, the
 * descriptor table, anonymous memory and faults in user mode.
 *
 * The process tree is guarded by proc_lock. A process that exits becomes a
 * zombie until its parent reaps it with wait4, which joins its thread (so
 * the kernel stack is freed) and frees it. Processes started by the kernel
 * (the workload runner, the self-tests) are reaped by process_wait_spawned.
 * Children left behind by an exiting parent are orphans and free
 * themselves when they exit.
 */
#include "kernel.h"
#include "process.h"
#include "vfs.h"
#include "uaccess.h"

void user_enter(struct trap_frame *frame) __noreturn;

#define PF_PRESENT  1ul
#define PF_WRITE    2ul
#define PF_FETCH    16ul

static struct spinlock proc_lock = SPINLOCK_INIT("process_tree");
static struct waitq spawned_wait = WAITQ_INIT("spawned");
static volatile u32 next_pid = 1;
static volatile u64 live;

static const char *basename(const char *path)
{
    const char *slash = NULL;
    for (const char *p = path; *p; p++)
        if (*p == '/' && p[1])
            slash = p;
    return slash ? slash + 1 : path;
}

static struct process *process_alloc(const char *name)
{
    struct process *p = kzalloc(sizeof(*p), GFP_KERNEL);
    if (!p)
        return NULL;
    p->pid = (int)atomic_fetch_add32(&next_pid, 1);
    strlcpy(p->name, name, sizeof(p->name));
    waitq_init(&p->child_wait, "child_wait");
    atomic_inc64(&live);
    return p;
}

static void process_free(struct process *p)
{
    vmas_free(p->vmas);
    kfree(p);
    atomic_dec64(&live);
}

u64 processes_live(void)
{
    return READ_ONCE(live);
}

/* Frees a zombie: its thread (kernel stack) and the process itself. */
static void reap(struct process *p)
{
    thread_join(p->thread);
    process_free(p);
}

static void frame_for_user_entry(struct trap_frame *f, u64 entry, u64 sp)
{
    memset(f, 0, sizeof(*f));
    f->rip = entry;
    f->rsp = sp;
    f->cs = GDT_USER_CODE | 3;
    f->ss = GDT_USER_DATA | 3;
    f->rflags = RFLAGS_IF | 2;      /* bit 1 is always set */
}

/* The first code a process's thread runs: it enters user mode and never comes back here. */
static int process_thread_main(void *arg)
{
    struct process *p = arg;
    struct thread *t = current_thread();
    irq_disable();
    p->thread = t;
    t->proc = p;
    t->as = p->as;
    as_switch(p->as);
    struct trap_frame frame = p->start_frame;
    user_enter(&frame);
}

/* ---- descriptors ---- */

int fd_install(struct file *f)
{
    struct process *p = current_process();
    for (int fd = 0; fd < OPEN_MAX; fd++) {
        if (!p->files[fd]) {
            p->files[fd] = f;
            return fd;
        }
    }
    return -EMFILE;
}

struct file *fd_get(int fd)
{
    struct process *p = current_process();
    if (fd < 0 || fd >= OPEN_MAX || !p->files[fd])
        return NULL;
    return file_get(p->files[fd]);
}

int fd_close(int fd)
{
    struct process *p = current_process();
    if (fd < 0 || fd >= OPEN_MAX || !p->files[fd])
        return -EBADF;
    struct file *f = p->files[fd];
    p->files[fd] = NULL;
    file_put(f);
    return 0;
}

static void close_all(struct process *p)
{
    for (int fd = 0; fd < OPEN_MAX; fd++) {
        if (p->files[fd]) {
            file_put(p->files[fd]);
            p->files[fd] = NULL;
        }
    }
}

/* ---- creation ---- */

struct process *process_spawn(const char *path, int argc, const char *const *argv, int cpu)
{
    struct address_space *as;
    struct vma *vmas;
    u64 entry, sp;
    int err = exec_load(path, argc, argv, &as, &vmas, &entry, &sp);
    if (err) {
        printk("process: cannot start %s: error %d\n", path, err);
        return NULL;
    }
    struct process *p = process_alloc(basename(path));
    struct file *console = NULL;
    if (p)
        err = vfs_open("/dev/console", O_RDWR, &console);
    if (!p || err) {
        as_destroy(as);
        vmas_free(vmas);
        if (p)
            process_free(p);
        return NULL;
    }
    p->as = as;
    p->vmas = vmas;
    p->kernel_spawned = true;
    p->files[0] = console;          /* standard input, output and error */
    p->files[1] = file_get(console);
    p->files[2] = file_get(console);
    frame_for_user_entry(&p->start_frame, entry, sp);
    struct thread *t = thread_create(p->name, process_thread_main, p, cpu);
    if (!t) {
        close_all(p);
        as_destroy(p->as);
        process_free(p);
        return NULL;
    }
    p->thread = t;
    return p;
}

static bool has_exited(struct process *p)
{
    return p->state == PROCESS_ZOMBIE;
}

int process_wait_spawned(struct process *p)
{
    wait_event(&spawned_wait, has_exited(p));
    int code = p->exit_code;
    reap(p);
    return code;
}

static struct vma *vmas_clone(const struct vma *v, bool *ok)
{
    struct vma *head = NULL, **tail = &head;
    *ok = true;
    for (; v; v = v->next) {
        struct vma *c = kmalloc(sizeof(*c), GFP_KERNEL);
        if (!c) {
            *ok = false;
            break;
        }
        *c = *v;
        c->next = NULL;
        *tail = c;
        tail = &c->next;
    }
    return head;
}

void vmas_free(struct vma *v)
{
    while (v) {
        struct vma *next = v->next;
        kfree(v);
        v = next;
    }
}

long sys_fork(struct trap_frame *f)
{
    struct process *parent = current_process();
    struct process *child = process_alloc(parent->name);
    if (!child)
        return -ENOMEM;
    bool ok;
    child->vmas = vmas_clone(parent->vmas, &ok);
    child->as = ok ? as_clone(parent->as) : NULL;
    if (!child->as) {
        process_free(child);
        return -ENOMEM;
    }
    for (int fd = 0; fd < OPEN_MAX; fd++)
        if (parent->files[fd])
            child->files[fd] = file_get(parent->files[fd]);
    /* The child returns from the same system call, with 0. */
    child->start_frame = *f;
    child->start_frame.rax = 0;
    child->parent = parent;

    u64 flags = spin_lock_irqsave(&proc_lock);
    child->sibling = parent->children;
    parent->children = child;
    spin_unlock_irqrestore(&proc_lock, flags);

    struct thread *t = thread_create(child->name, process_thread_main, child, -1);
    if (!t) {
        flags = spin_lock_irqsave(&proc_lock);
        parent->children = child->sibling;
        spin_unlock_irqrestore(&proc_lock, flags);
        close_all(child);
        as_destroy(child->as);
        process_free(child);
        return -ENOMEM;
    }
    child->thread = t;
    return child->pid;
}

/* ---- exec ---- */

long sys_execve(struct trap_frame *f, const char __user *upath, const char __user *const __user *uargv)
{
    /* One buffer: the path, then the argument strings packed one after another. */
    char *buf = kmalloc(PATH_MAX + ARG_MAX, GFP_KERNEL);
    const char **argv = kmalloc(ARGC_MAX * sizeof(char *), GFP_KERNEL);
    long err = 0;
    int argc = 0;
    if (!buf || !argv) {
        err = -ENOMEM;
        goto out;
    }
    err = strncpy_from_user(buf, upath, PATH_MAX);
    if (err < 0)
        goto out;
    err = 0;
    char *strings = buf + PATH_MAX;
    size_t used = 0;
    for (;;) {
        u64 uarg;
        if (copy_from_user(&uarg, uargv + argc, sizeof(uarg))) {
            err = -EFAULT;
            goto out;
        }
        if (!uarg)
            break;
        if (argc == ARGC_MAX || used >= ARG_MAX) {
            err = -E2BIG;
            goto out;
        }
        long n = strncpy_from_user(strings + used, (const char __user *)uarg, (long)(ARG_MAX - used));
        if (n < 0) {
            err = n == -ENAMETOOLONG ? -E2BIG : n;
            goto out;
        }
        argv[argc++] = strings + used;
        used += (size_t)n + 1;
    }

    struct address_space *as;
    struct vma *vmas;
    u64 entry, sp;
    err = exec_load(buf, argc, argv, &as, &vmas, &entry, &sp);
    if (err)
        goto out;       /* the old image is untouched */

    struct process *p = current_process();
    struct thread *t = current_thread();
    struct address_space *old = p->as;
    u64 flags = irq_save();     /* the scheduler must never see the thread between two images */
    t->as = as;
    p->as = as;
    as_switch(as);
    irq_restore(flags);
    as_destroy(old);
    vmas_free(p->vmas);
    p->vmas = vmas;
    strlcpy(p->name, basename(buf), sizeof(p->name));
    strlcpy(t->name, p->name, sizeof(t->name));
    frame_for_user_entry(f, entry, sp);
out:
    kfree(argv);
    kfree(buf);
    return err;
}

/* ---- exit and wait ---- */

__noreturn void process_exit(int code)
{
    struct thread *t = current_thread();
    struct process *p = t->proc;
    close_all(p);
    u64 flags = irq_save();
    t->as = NULL;
    as_switch(NULL);
    irq_restore(flags);
    as_destroy(p->as);
    p->as = NULL;
    vmas_free(p->vmas);
    p->vmas = NULL;

    /* Children: zombies are reaped now, the others become orphans. */
    flags = spin_lock_irqsave(&proc_lock);
    struct process *c = p->children, *zombies = NULL;
    p->children = NULL;
    while (c) {
        struct process *next = c->sibling;
        c->parent = NULL;
        if (c->state == PROCESS_ZOMBIE) {
            c->sibling = zombies;
            zombies = c;
        }
        c = next;
    }
    spin_unlock_irqrestore(&proc_lock, flags);
    while (zombies) {
        struct process *next = zombies->sibling;
        reap(zombies);
        zombies = next;
    }

    flags = spin_lock_irqsave(&proc_lock);
    p->exit_code = code;
    struct process *parent = p->parent;
    bool orphan = !parent && !p->kernel_spawned;
    if (!orphan)
        p->state = PROCESS_ZOMBIE;
    spin_unlock_irqrestore(&proc_lock, flags);
    if (orphan) {
        /* Nobody will wait: free everything now and let the scheduler free the thread. */
        t->proc = NULL;
        process_free(p);
        t->detached = true;
    } else {
        wake_up_all(parent ? &parent->child_wait : &spawned_wait);
    }
    thread_exit(code);
}

struct child_query {
    struct process *parent;
    int pid;
};

/* Finds a child matching pid (-1: any); sets *zombie to one that has exited. */
static bool find_child(struct process *parent, int pid, struct process **zombie)
{
    bool any = false;
    *zombie = NULL;
    u64 flags = spin_lock_irqsave(&proc_lock);
    for (struct process *c = parent->children; c; c = c->sibling) {
        if (pid > 0 && c->pid != pid)
            continue;
        any = true;
        if (c->state == PROCESS_ZOMBIE) {
            *zombie = c;
            break;
        }
    }
    spin_unlock_irqrestore(&proc_lock, flags);
    return any;
}

static bool child_ready(struct child_query *q)
{
    struct process *z;
    bool any = find_child(q->parent, q->pid, &z);
    return !any || z;
}

long sys_wait4(int pid, int __user *status, int options)
{
    struct process *me = current_process();
    if (pid == 0 || pid < -1 || (options & ~WNOHANG))
        return -EINVAL;
    struct child_query q = { me, pid };
    for (;;) {
        struct process *z;
        if (!find_child(me, pid, &z))
            return -ECHILD;
        if (z) {
            int word = (z->exit_code & 0xff) << 8;
            /* The status first: a bad pointer leaves the child to be waited for again. */
            if (status && copy_to_user(status, &word, sizeof(word)))
                return -EFAULT;
            u64 flags = spin_lock_irqsave(&proc_lock);
            for (struct process **pp = &me->children; *pp; pp = &(*pp)->sibling) {
                if (*pp == z) {
                    *pp = z->sibling;
                    break;
                }
            }
            spin_unlock_irqrestore(&proc_lock, flags);
            int zpid = z->pid;
            reap(z);
            return zpid;
        }
        if (options & WNOHANG)
            return 0;
        wait_event(&me->child_wait, child_ready(&q));
    }
}

long sys_getpid(void)
{
    return current_process()->pid;
}

/* ---- anonymous memory ---- */

static struct vma *vma_find(struct process *p, u64 address)
{
    for (struct vma *v = p->vmas; v; v = v->next)
        if (address >= v->start && address < v->end)
            return v;
    return NULL;
}

long sys_mmap(u64 addr, u64 length, u64 prot, u64 flags, s64 fd, u64 offset)
{
    struct process *p = current_process();
    if ((flags & ~(u64)(MAP_PRIVATE | MAP_ANONYMOUS)) || !(flags & MAP_PRIVATE) || !(flags & MAP_ANONYMOUS))
        return -EINVAL;         /* private anonymous memory is all there is; no MAP_FIXED */
    if (prot & ~(u64)(PROT_READ | PROT_WRITE | PROT_EXEC))
        return -EINVAL;
    if (length == 0 || length > USER_MMAP_END - USER_MMAP_BASE)
        return length ? -ENOMEM : -EINVAL;
    u64 len = ALIGN_UP(length, PAGE_SIZE);

    /* First fit above USER_MMAP_BASE in the sorted region list. */
    u64 start = USER_MMAP_BASE;
    struct vma **link = &p->vmas;
    for (struct vma *v = p->vmas; v; link = &v->next, v = v->next) {
        if (v->end <= start)
            continue;
        if (v->start >= start + len)
            break;
        start = v->end;
    }
    if (start + len > USER_MMAP_END)
        return -ENOMEM;
    struct vma *v = kzalloc(sizeof(*v), GFP_KERNEL);
    if (!v)
        return -ENOMEM;
    v->start = start;
    v->end = start + len;
    /* x86 pages are always readable; PROT_NONE regions are never mapped (see process_demand_fault). */
    v->pte_flags = ((prot & PROT_WRITE) ? PTE_WRITE : 0) | ((prot & PROT_EXEC) ? 0 : PTE_NX) |
                   (prot == PROT_NONE ? PTE_PRESENT : 0);
    v->next = *link;
    *link = v;
    return (long)start;
}

long sys_munmap(u64 addr, u64 length)
{
    struct process *p = current_process();
    if ((addr & (PAGE_SIZE - 1)) || length == 0 || !user_range_ok(addr, length))
        return -EINVAL;
    u64 end = ALIGN_UP(addr + length, PAGE_SIZE);
    /* Trim, split or drop every region that overlaps [addr, end). */
    for (struct vma **pp = &p->vmas; *pp;) {
        struct vma *v = *pp;
        if (v->end <= addr || v->start >= end) {
            pp = &v->next;
            continue;
        }
        if (v->start < addr && v->end > end) {
            struct vma *tail = kmalloc(sizeof(*tail), GFP_KERNEL);
            if (!tail)
                return -ENOMEM;
            *tail = *v;
            tail->start = end;
            v->end = addr;
            v->next = tail;
            break;
        }
        if (v->start < addr) {
            v->end = addr;
            pp = &v->next;
        } else if (v->end > end) {
            v->start = end;
            pp = &v->next;
        } else {
            *pp = v->next;
            kfree(v);
        }
    }
    as_unmap_range(p->as, addr, end);
    return 0;
}

/* ---- faults ---- */

bool process_demand_fault(u64 address, u64 error_code)
{
    struct thread *t = current_thread();
    struct process *p = t->proc;
    if (!p || !p->as || address >= USER_SPACE_END || (error_code & PF_PRESENT))
        return false;
    struct vma *v = vma_find(p, address);
    if (!v || (v->pte_flags & PTE_PRESENT))         /* PROT_NONE */
        return false;
    if ((error_code & PF_WRITE) && !(v->pte_flags & PTE_WRITE))
        return false;
    if ((error_code & PF_FETCH) && (v->pte_flags & PTE_NX))
        return false;
    return as_map_new_page(p->as, ALIGN_DOWN(address, PAGE_SIZE), v->pte_flags) == 0;
}

static int exit_code_for(u64 vector)
{
    switch (vector) {
    case 0: return EXIT_KILLED_FPE;
    case 6: return EXIT_KILLED_ILL;
    case 12: case 13: case 14: return EXIT_KILLED_SEGV;
    default: return EXIT_KILLED_TRAP;
    }
}

void process_user_fault(struct trap_frame *f)
{
    u64 cr2 = read_cr2();
    if (f->vector == 14 && process_demand_fault(cr2, f->error_code))
        return;
    struct process *p = current_process();
    if (!p)
        panic("fault in user mode without a process (vector %lu)", f->vector);
    if (f->vector == 14)
        printk("process %d (%s) killed: %s at rip %lx, address %lx, error code %lx\n", p->pid, p->name,
               exception_name(f->vector), f->rip, cr2, f->error_code);
    else
        printk("process %d (%s) killed: %s at rip %lx, error code %lx\n", p->pid, p->name,
               exception_name(f->vector), f->rip, f->error_code);
    irq_enable();
    process_exit(exit_code_for(f->vector));
}
