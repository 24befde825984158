/*
 * Device interrupt vectors for drivers (irq.h). A handler is called with the
 * EOI already sent, interrupts off, on whatever thread was interrupted.
 * free_irq waits until no CPU is inside the handler, so a module can free
 * its code and data right after.
 */
#include "kernel.h"
#include "apic.h"
#include "irq.h"

struct irq_action {
    irq_handler_t handler;
    void *dev;
    const char *name;
    volatile u32 running;       /* CPUs inside the handler */
    volatile u64 count;
};

static struct irq_action actions[VECTOR_IRQ_COUNT];
static struct spinlock irq_lock = SPINLOCK_INIT("irq");

static struct irq_action *action_of(u64 vector)
{
    if (vector < VECTOR_IRQ_FIRST || vector >= VECTOR_IRQ_FIRST + VECTOR_IRQ_COUNT)
        return NULL;
    return &actions[vector - VECTOR_IRQ_FIRST];
}

int request_irq(irq_handler_t handler, const char *name, void *dev)
{
    if (!handler)
        return -EINVAL;
    u64 flags = spin_lock_irqsave(&irq_lock);
    for (int i = 0; i < VECTOR_IRQ_COUNT; i++) {
        struct irq_action *a = &actions[i];
        if (a->handler)
            continue;
        a->dev = dev;
        a->name = name;
        a->count = 0;
        barrier();
        WRITE_ONCE(a->handler, handler);
        spin_unlock_irqrestore(&irq_lock, flags);
        return VECTOR_IRQ_FIRST + i;
    }
    spin_unlock_irqrestore(&irq_lock, flags);
    return -EBUSY;
}
EXPORT_SYMBOL(request_irq);

void free_irq(int vector)
{
    struct irq_action *a = action_of((u64)vector);
    if (!a)
        return;
    /*
     * XCHG, not a plain store: it is a full barrier, so the read of "running"
     * below cannot pass it. A CPU that read the handler before it was
     * cleared counted itself first and is waited for.
     */
    u64 flags = spin_lock_irqsave(&irq_lock);
    atomic_xchg64((volatile u64 *)&a->handler, 0);
    spin_unlock_irqrestore(&irq_lock, flags);
    while (READ_ONCE(a->running))
        cpu_relax();
}
EXPORT_SYMBOL(free_irq);

void irq_raise(int vector, u32 cpu)
{
    if (!action_of((u64)vector) || cpu >= cpu_count)
        return;
    lapic_send_ipi(cpus[cpu].apic_id, (u32)vector);
}
EXPORT_SYMBOL(irq_raise);

bool irq_dispatch(u64 vector)
{
    struct irq_action *a = action_of(vector);
    if (!a)
        return false;
    atomic_inc32(&a->running);
    irq_handler_t handler = READ_ONCE(a->handler);
    if (handler) {
        atomic_inc64(&a->count);
        handler(a->dev);
    }
    atomic_dec32(&a->running);
    return handler != NULL;
}

u64 irq_count(int vector)
{
    struct irq_action *a = action_of((u64)vector);
    return a ? READ_ONCE(a->count) : 0;
}
