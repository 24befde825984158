/* Spinlocks. Interrupt state is the caller's business (spin_lock_irqsave). */
#include "kernel.h"

void spin_lock(struct spinlock *lock)
{
    s32 me = (s32)cpu_id();
    while (atomic_cmpxchg32(&lock->locked, 0, 1) != 0) {
        if (READ_ONCE(lock->owner_cpu) == me)
            panic("spinlock '%s' taken twice by cpu %d", lock->name, me);
        while (READ_ONCE(lock->locked))
            cpu_relax();
    }
    lock->owner_cpu = me;
}
EXPORT_SYMBOL(spin_lock);

bool spin_trylock(struct spinlock *lock)
{
    if (atomic_cmpxchg32(&lock->locked, 0, 1) != 0)
        return false;
    lock->owner_cpu = (s32)cpu_id();
    return true;
}

void spin_unlock(struct spinlock *lock)
{
    lock->owner_cpu = -1;
    barrier();
    WRITE_ONCE(lock->locked, 0);
}
EXPORT_SYMBOL(spin_unlock);
