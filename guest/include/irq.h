/*
 * Device interrupts for drivers. Drk's machine has no devices beyond the
 * UART and the APIC, so drivers simulate their hardware (usually with a
 * kernel thread) and the "hardware" signals completion the way a real one
 * does: it raises the driver's interrupt vector at a CPU, here as a fixed
 * IPI, and the driver's handler runs in interrupt context with the EOI done.
 */
#ifndef DRK_IRQ_H
#define DRK_IRQ_H

#include "types.h"

typedef void (*irq_handler_t)(void *dev);

/* Allocates a vector (VECTOR_IRQ_FIRST...) and installs handler; negative errno on failure. */
int request_irq(irq_handler_t handler, const char *name, void *dev);
/* Uninstalls; returns after no CPU runs the handler any more. Later deliveries are ignored. */
void free_irq(int vector);
/* What the simulated hardware does: deliver vector to cpu (may be the caller's). */
void irq_raise(int vector, u32 cpu);
/* Called by interrupt_dispatch for vectors in the device range; false if none is installed. */
bool irq_dispatch(u64 vector);
u64 irq_count(int vector);

#endif
