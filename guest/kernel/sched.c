/*
 * Kernel threads and the scheduler. Each CPU has its own run queue and never
 * takes threads from another: a thread runs on the CPU it was created for,
 * so placement is deterministic. Scheduling is round robin; the timer tick
 * asks for a switch whenever another thread is runnable, and the switch
 * happens when the interrupt returns (trap.c).
 *
 * A switch holds the CPU's run-queue lock from schedule() until the next
 * thread is on its own stack (sched_finish_switch), so a thread is never
 * picked while its registers are still being saved.
 */
#include "kernel.h"
#include "apic.h"
#include "mm.h"

void switch_stacks(u64 *save_rsp, u64 new_rsp);
void thread_start(void);
void sched_finish_switch(void);

static struct kmem_cache *thread_cache;
static volatile u32 next_thread_id;
static volatile u64 live_threads;

static void rq_push(struct run_queue *rq, struct thread *t)
{
    t->rq_next = NULL;
    if (rq->tail)
        rq->tail->rq_next = t;
    else
        rq->head = t;
    rq->tail = t;
    rq->length++;
}

static struct thread *rq_pop(struct run_queue *rq)
{
    struct thread *t = rq->head;
    if (t) {
        rq->head = t->rq_next;
        if (!rq->head)
            rq->tail = NULL;
        t->rq_next = NULL;
        rq->length--;
    }
    return t;
}

static struct thread *thread_alloc(const char *name)
{
    if (!thread_cache)
        thread_cache = kmem_cache_create("thread", sizeof(struct thread), 16, 0, NULL);
    struct thread *t = kmem_cache_alloc(thread_cache, GFP_ZERO);
    if (!t)
        return NULL;
    strlcpy(t->name, name, sizeof(t->name));
    t->id = atomic_fetch_add32(&next_thread_id, 1);
    waitq_init(&t->exit_wait, "thread_exit");
    return t;
}

void sched_init_cpu(struct cpu *c, u64 stack_base, u64 stack_top)
{
    char name[16];
    spin_init(&c->rq.lock, "run_queue");
    snprintf(name, sizeof(name), "idle/%u", c->id);
    struct thread *idle = thread_alloc(name);
    if (!idle)
        panic("sched: no memory for the idle thread");
    idle->cpu = c;
    idle->is_idle = true;
    idle->state = THREAD_RUNNING;
    idle->on_cpu = true;
    idle->stack_base = stack_base;
    idle->stack_top = stack_top;
    c->idle = idle;
    c->current = idle;
    c->tss.rsp0 = stack_top;
    c->kernel_rsp = stack_top;
}

static void free_thread(struct thread *t)
{
    if (t->owns_stack)
        kstack_free((void *)t->stack_base, KSTACK_PAGES);
    kmem_cache_free(thread_cache, t);
    atomic_dec64(&live_threads);
}

/* Wakes t if it sleeps; the caller may hold a wait-queue lock (wait queue before run queue). */
static void thread_wake(struct thread *t)
{
    struct cpu *c = t->cpu;
    bool remote = false;
    u64 flags = spin_lock_irqsave(&c->rq.lock);
    if (t->state == THREAD_SLEEPING) {
        t->state = THREAD_RUNNABLE;
        /* A thread still on its way into schedule() is queued there instead. */
        if (c->current != t) {
            rq_push(&c->rq, t);
            if (c == this_cpu())
                c->need_resched = c->current->is_idle;
            else
                remote = true;
        }
    }
    spin_unlock_irqrestore(&c->rq.lock, flags);
    if (remote)
        lapic_send_ipi(c->apic_id, VECTOR_RESCHEDULE);
}

static struct thread *thread_create_on(const char *name, thread_fn fn, void *arg, int cpu, bool detached)
{
    if (cpu >= (int)cpu_count)
        return NULL;
    struct cpu *c = cpu < 0 ? this_cpu() : &cpus[cpu];
    if (!c->online)
        return NULL;
    struct thread *t = thread_alloc(name);
    if (!t)
        return NULL;
    void *stack = kstack_alloc(KSTACK_PAGES);
    if (!stack) {
        kmem_cache_free(thread_cache, t);
        return NULL;
    }
    t->cpu = c;
    t->fn = fn;
    t->arg = arg;
    t->detached = detached;
    t->owns_stack = true;
    t->stack_base = (u64)stack;
    t->stack_top = (u64)stack + KSTACK_SIZE;

    /* The frame switch_stacks pops: r15 r14 r13 r12 rbx rbp, then returns to thread_start. */
    u64 *frame = (u64 *)(t->stack_top - 56);
    frame[0] = 0;               /* r15 */
    frame[1] = 0;               /* r14 */
    frame[2] = (u64)arg;        /* r13 */
    frame[3] = (u64)fn;         /* r12 */
    frame[4] = 0;               /* rbx */
    frame[5] = 0;               /* rbp: ends backtraces */
    frame[6] = (u64)thread_start;
    t->saved_rsp = (u64)frame;
    t->state = THREAD_SLEEPING;
    atomic_inc64(&live_threads);
    thread_wake(t);
    return t;
}

struct thread *thread_create(const char *name, thread_fn fn, void *arg, int cpu)
{
    return thread_create_on(name, fn, arg, cpu, false);
}
EXPORT_SYMBOL(thread_create);

struct thread *thread_create_detached(const char *name, thread_fn fn, void *arg, int cpu)
{
    return thread_create_on(name, fn, arg, cpu, true);
}

/* Runs on the next thread's stack right after a switch; the run-queue lock is held. */
void sched_finish_switch(void)
{
    struct cpu *c = this_cpu();
    struct thread *prev = c->switch_prev;
    c->switch_prev = NULL;
    barrier();
    WRITE_ONCE(prev->on_cpu, false);
    if (prev->state == THREAD_DEAD && prev->detached) {
        prev->rq_next = c->rq.dead;
        c->rq.dead = prev;
    }
    struct thread *dead = c->rq.dead;
    c->rq.dead = NULL;
    spin_unlock(&c->rq.lock);
    while (dead) {
        struct thread *next = dead->rq_next;
        free_thread(dead);
        dead = next;
    }
}

void schedule(void)
{
    u64 flags = irq_save();
    struct cpu *c = this_cpu();
    if (!c->current) {
        irq_restore(flags);
        return;
    }
    spin_lock(&c->rq.lock);
    struct thread *prev = c->current;
    if (prev->state == THREAD_RUNNING)
        prev->state = THREAD_RUNNABLE;
    if (prev->state == THREAD_RUNNABLE && !prev->is_idle)
        rq_push(&c->rq, prev);
    struct thread *next = rq_pop(&c->rq);
    if (!next)
        next = c->idle;
    c->need_resched = false;
    next->state = THREAD_RUNNING;
    if (next == prev) {
        spin_unlock(&c->rq.lock);
        irq_restore(flags);
        return;
    }
    next->on_cpu = true;
    c->current = next;
    c->switch_prev = prev;
    c->tss.rsp0 = next->stack_top;
    c->kernel_rsp = next->stack_top;
    if (next->as != prev->as)
        as_switch(next->as);
    switch_stacks(&prev->saved_rsp, next->saved_rsp);
    sched_finish_switch();
    irq_restore(flags);
}

void thread_yield(void)
{
    schedule();
}
EXPORT_SYMBOL(thread_yield);

__noreturn void thread_exit(int code)
{
    irq_disable();
    struct thread *t = current_thread();
    if (t->is_idle)
        panic("thread_exit: the idle thread cannot exit");
    t->exit_code = code;
    spin_lock(&t->exit_wait.lock);
    t->state = THREAD_DEAD;
    struct thread *w = t->exit_wait.head;
    t->exit_wait.head = t->exit_wait.tail = NULL;
    while (w) {
        struct thread *next = w->wait_next;
        w->wait_next = NULL;
        thread_wake(w);
        w = next;
    }
    spin_unlock(&t->exit_wait.lock);
    schedule();
    panic("thread_exit: a dead thread ran again");
}

int thread_join(struct thread *t)
{
    if (t->detached || t == current_thread())
        return -EINVAL;
    wait_event(&t->exit_wait, t->state == THREAD_DEAD);
    /* Its CPU may still be leaving its stack. */
    while (READ_ONCE(t->on_cpu))
        cpu_relax();
    int code = t->exit_code;
    free_thread(t);
    return code;
}
EXPORT_SYMBOL(thread_join);

void thread_sleep(u64 ticks)
{
    u64 flags = irq_save();
    struct cpu *c = this_cpu();
    struct thread *t = c->current;
    spin_lock(&c->rq.lock);
    t->wake_tick = c->ticks + ticks;
    t->state = THREAD_SLEEPING;
    struct thread **pp = &c->rq.sleepers;
    while (*pp && (*pp)->wake_tick <= t->wake_tick)
        pp = &(*pp)->sleep_next;
    t->sleep_next = *pp;
    *pp = t;
    spin_unlock(&c->rq.lock);
    schedule();
    irq_restore(flags);
}
EXPORT_SYMBOL(thread_sleep);

void sched_tick(void)
{
    struct cpu *c = this_cpu();
    if (!c->current)
        return;
    spin_lock(&c->rq.lock);
    c->ticks++;
    while (c->rq.sleepers && c->rq.sleepers->wake_tick <= c->ticks) {
        struct thread *t = c->rq.sleepers;
        c->rq.sleepers = t->sleep_next;
        t->sleep_next = NULL;
        if (t->state == THREAD_SLEEPING) {
            t->state = THREAD_RUNNABLE;
            rq_push(&c->rq, t);
        }
    }
    if (c->rq.head)
        c->need_resched = true;
    spin_unlock(&c->rq.lock);
}

u64 ticks_now(void)
{
    return READ_ONCE(this_cpu()->ticks);
}
EXPORT_SYMBOL(ticks_now);

u64 threads_live(void)
{
    return READ_ONCE(live_threads);
}

__noreturn void sched_idle_loop(void)
{
    for (;;) {
        irq_disable();
        if (READ_ONCE(this_cpu()->rq.head))
            schedule();
        irq_enable_and_halt();
    }
}

/* ---- wait queues ---- */

void waitq_init(struct waitq *wq, const char *name)
{
    spin_init(&wq->lock, name);
    wq->head = wq->tail = NULL;
}
EXPORT_SYMBOL(waitq_init);

void waitq_sleep_locked(struct waitq *wq, u64 irq_flags)
{
    struct thread *t = current_thread();
    t->wait_next = NULL;
    if (wq->tail)
        wq->tail->wait_next = t;
    else
        wq->head = t;
    wq->tail = t;
    t->state = THREAD_SLEEPING;
    spin_unlock(&wq->lock);     /* interrupts stay off until schedule() is done */
    schedule();
    irq_restore(irq_flags);
}
EXPORT_SYMBOL(waitq_sleep_locked);

static void wake_locked(struct waitq *wq, bool all)
{
    while (wq->head) {
        struct thread *t = wq->head;
        wq->head = t->wait_next;
        if (!wq->head)
            wq->tail = NULL;
        t->wait_next = NULL;
        thread_wake(t);
        if (!all)
            break;
    }
}

void wake_up_all(struct waitq *wq)
{
    u64 flags = spin_lock_irqsave(&wq->lock);
    wake_locked(wq, true);
    spin_unlock_irqrestore(&wq->lock, flags);
}
EXPORT_SYMBOL(wake_up_all);

void wake_up_all_locked(struct waitq *wq)
{
    wake_locked(wq, true);
}
EXPORT_SYMBOL(wake_up_all_locked);

void wake_up_one(struct waitq *wq)
{
    u64 flags = spin_lock_irqsave(&wq->lock);
    wake_locked(wq, false);
    spin_unlock_irqrestore(&wq->lock, flags);
}
EXPORT_SYMBOL(wake_up_one);

/* ---- mutexes ---- */

void mutex_lock(struct mutex *m)
{
    struct thread *me = current_thread();
    for (;;) {
        u64 flags = spin_lock_irqsave(&m->wq.lock);
        if (!m->owner) {
            m->owner = me;
            spin_unlock_irqrestore(&m->wq.lock, flags);
            return;
        }
        if (m->owner == me)
            panic("mutex: thread %s locks a mutex it holds", me->name);
        waitq_sleep_locked(&m->wq, flags);
    }
}
EXPORT_SYMBOL(mutex_lock);

void mutex_unlock(struct mutex *m)
{
    u64 flags = spin_lock_irqsave(&m->wq.lock);
    m->owner = NULL;
    wake_locked(&m->wq, false);
    spin_unlock_irqrestore(&m->wq.lock, flags);
}
EXPORT_SYMBOL(mutex_unlock);
