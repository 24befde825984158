/* Spinlocks: LOCK CMPXCHG to take, a plain store to release (x86 stores are ordered). */
#ifndef DRK_SPINLOCK_H
#define DRK_SPINLOCK_H

#include "types.h"
#include "atomic.h"
#include "x86.h"

struct spinlock {
    volatile u32 locked;
    s32 owner_cpu;          /* for catching a CPU that re-takes its own lock */
    const char *name;
};

#define SPINLOCK_INIT(lock_name) { 0, -1, lock_name }

void spin_lock(struct spinlock *lock);
void spin_unlock(struct spinlock *lock);
bool spin_trylock(struct spinlock *lock);

static inline void spin_init(struct spinlock *lock, const char *name)
{
    lock->locked = 0;
    lock->owner_cpu = -1;
    lock->name = name;
}

static inline u64 spin_lock_irqsave(struct spinlock *lock)
{
    u64 flags = irq_save();
    spin_lock(lock);
    return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *lock, u64 flags)
{
    spin_unlock(lock);
    irq_restore(flags);
}

#endif
