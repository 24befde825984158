/*
 * TLB shoot-down: after the kernel unmaps or write-protects kernel virtual
 * addresses, every other CPU drops its cached translations for them before
 * the frames are reused. User address spaces need none: a process runs on
 * one CPU only, so its translations are only ever cached there.
 */
#ifndef DRK_TLB_H
#define DRK_TLB_H

#include "types.h"

/*
 * Flushes [start, end) on every other online CPU and waits until all have.
 * The caller must hold no spinlock (another CPU may be spinning on it with
 * interrupts off); interrupts may be on or off.
 */
void tlb_shootdown(u64 start, u64 end);
/* The VECTOR_TLB_SHOOTDOWN handler. */
void tlb_shootdown_interrupt(void);
u64 tlb_shootdowns_sent(void);
u64 tlb_shootdowns_received(void);

#endif
