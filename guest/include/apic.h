/* Local APIC (xAPIC MMIO), the masked legacy PIC, IPIs. */
#ifndef DRK_APIC_H
#define DRK_APIC_H

#include "types.h"

/* Nominal tick: 10 ms with QEMU's 1 GHz APIC bus; not calibrated. */
#define TIMER_DIVIDE_BY_16      0x3
#define TIMER_INITIAL_COUNT     625000
#define TIMER_MIN_COUNT         1000    /* "timer=" below this is ignored: ticks would starve the CPU */

void pic_mask_all(void);
void lapic_init(u64 phys);
void lapic_cpu_init(void);
void lapic_timer_start(void);
void lapic_eoi(void);
u32 lapic_id(void);
void lapic_send_init(u32 apic_id);
void lapic_send_startup(u32 apic_id, u32 vector);
void lapic_send_ipi(u32 apic_id, u32 vector);

#endif
