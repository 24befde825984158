/* Kernel threads, the per-CPU round-robin scheduler, wait queues and mutexes. */
#ifndef DRK_SCHED_H
#define DRK_SCHED_H

#include "types.h"
#include "spinlock.h"
#include "cpu.h"

enum thread_state {
    THREAD_RUNNABLE,
    THREAD_RUNNING,
    THREAD_SLEEPING,
    THREAD_DEAD,
};

typedef int (*thread_fn)(void *arg);
struct address_space;
struct process;

struct waitq {
    struct spinlock lock;
    struct thread *head;
    struct thread *tail;
};

#define WAITQ_INIT(name) { SPINLOCK_INIT(name), NULL, NULL }

struct thread {
    u64 saved_rsp;              /* valid while switched out */
    struct cpu *cpu;            /* threads never migrate */
    volatile enum thread_state state;
    volatile bool on_cpu;       /* still running on its stack (until the switch completes) */
    bool detached;
    bool is_idle;
    u32 id;
    char name[16];
    u64 stack_base;             /* lowest mapped byte */
    u64 stack_top;
    bool owns_stack;
    thread_fn fn;
    void *arg;
    int exit_code;
    u64 wake_tick;
    struct thread *rq_next;
    struct thread *wait_next;
    struct thread *sleep_next;
    struct waitq exit_wait;
    struct address_space *as;   /* NULL for kernel threads */
    struct process *proc;       /* the user process this thread runs, or NULL */
};

static inline struct thread *current_thread(void)
{
    struct thread *t;
    __asm__ __volatile__("movq %%gs:8, %0" : "=r"(t));
    return t;
}

void sched_init_cpu(struct cpu *cpu, u64 stack_base, u64 stack_top);
__noreturn void sched_idle_loop(void);

/* cpu < 0: the calling thread's CPU. The thread starts runnable. */
struct thread *thread_create(const char *name, thread_fn fn, void *arg, int cpu);
struct thread *thread_create_detached(const char *name, thread_fn fn, void *arg, int cpu);
__noreturn void thread_exit(int code);
int thread_join(struct thread *t);
void thread_yield(void);
void thread_sleep(u64 ticks);
void schedule(void);
void sched_tick(void);
u64 ticks_now(void);
u64 threads_live(void);

/* Wait queues: sleep until a condition holds, re-checked under the queue's lock. */
void waitq_init(struct waitq *wq, const char *name);
void waitq_sleep_locked(struct waitq *wq, u64 irq_flags);
void wake_up_all(struct waitq *wq);
void wake_up_one(struct waitq *wq);
/* Wakes all with wq->lock already held: for waking from a structure that may be freed once the lock drops. */
void wake_up_all_locked(struct waitq *wq);

#define wait_event(wq, cond)                                        \
    do {                                                            \
        for (;;) {                                                  \
            u64 __flags = spin_lock_irqsave(&(wq)->lock);           \
            if (cond) {                                             \
                spin_unlock_irqrestore(&(wq)->lock, __flags);       \
                break;                                              \
            }                                                       \
            waitq_sleep_locked((wq), __flags);                      \
        }                                                           \
    } while (0)

/* A sleeping lock for long sections (module loading). */
struct mutex {
    struct waitq wq;
    struct thread *owner;
};

#define MUTEX_INIT(name) { WAITQ_INIT(name), NULL }

void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

#endif
