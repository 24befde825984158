/*
 * TLB shoot-down across CPUs. One request is in flight at a time: the sender
 * takes shootdown_lock, publishes the range and the set of CPUs that must
 * flush, sends them VECTOR_TLB_SHOOTDOWN and waits until each has cleared
 * its bit. A CPU that waits for shootdown_lock (perhaps with interrupts off)
 * keeps serving the request in flight, so two CPUs shooting down at the same
 * time cannot wait for each other.
 */
#include "kernel.h"
#include "apic.h"
#include "tlb.h"

/* Beyond this many pages a full flush (reloading CR3) is cheaper than INVLPG per page. */
#define FLUSH_ALL_PAGES 32

static struct spinlock shootdown_lock = SPINLOCK_INIT("tlb_shootdown");
static volatile u64 request_start, request_end;
static volatile u32 request_pending;    /* bit N: cpuN has yet to flush */
static volatile u64 sent, received;

static void flush_local(u64 start, u64 end)
{
    if (end - start > FLUSH_ALL_PAGES * PAGE_SIZE) {
        write_cr3(read_cr3());
        return;
    }
    for (u64 va = start & PAGE_MASK; va < end; va += PAGE_SIZE)
        invlpg(va);
}

/* Flushes for the request in flight if this CPU is one it waits for. */
static void serve_request(void)
{
    u32 bit = 1u << cpu_id();
    if (!(READ_ONCE(request_pending) & bit))
        return;
    flush_local(request_start, request_end);
    atomic_inc64(&received);
    atomic_and32(&request_pending, ~bit);
}

void tlb_shootdown_interrupt(void)
{
    serve_request();
}

void tlb_shootdown(u64 start, u64 end)
{
    if (cpu_count <= 1)
        return;
    u64 flags = irq_save();
    while (!spin_trylock(&shootdown_lock)) {
        serve_request();
        cpu_relax();
    }
    u32 me = cpu_id(), targets = 0;
    for (u32 i = 0; i < cpu_count; i++)
        if (i != me && READ_ONCE(cpus[i].online))
            targets |= 1u << i;
    if (targets) {
        request_start = start;
        request_end = end;
        barrier();              /* the range before the bits that make CPUs read it */
        WRITE_ONCE(request_pending, targets);
        for (u32 i = 0; i < cpu_count; i++)
            if (targets & (1u << i))
                lapic_send_ipi(cpus[i].apic_id, VECTOR_TLB_SHOOTDOWN);
        atomic_inc64(&sent);
        while (READ_ONCE(request_pending))
            cpu_relax();
    }
    spin_unlock(&shootdown_lock);
    irq_restore(flags);
}

u64 tlb_shootdowns_sent(void) { return READ_ONCE(sent); }
u64 tlb_shootdowns_received(void) { return READ_ONCE(received); }
