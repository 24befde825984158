/*
 * The local APIC in xAPIC mode, reached through the direct map (which covers
 * the first 4 GiB, so its MMIO page too). The legacy PIC is only masked: all
 * interrupts come from the local APIC (timer, IPIs).
 */
#include "kernel.h"
#include "apic.h"
#include "bootinfo.h"

#define LAPIC_ID            0x020
#define LAPIC_TPR           0x080
#define LAPIC_EOI           0x0b0
#define LAPIC_SVR           0x0f0
#define LAPIC_ESR           0x280
#define LAPIC_ICR_LOW       0x300
#define LAPIC_ICR_HIGH      0x310
#define LAPIC_LVT_TIMER     0x320
#define LAPIC_LVT_LINT0     0x350
#define LAPIC_LVT_LINT1     0x360
#define LAPIC_LVT_ERROR     0x370
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE  0x3e0

#define LVT_MASKED          (1u << 16)
#define LVT_TIMER_PERIODIC  (1u << 17)
#define SVR_ENABLE          (1u << 8)
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT    (1u << 14)
#define ICR_INIT            (5u << 8)
#define ICR_STARTUP         (6u << 8)

static volatile u32 *lapic;

static inline u32 lapic_read(u32 reg) { return lapic[reg / 4]; }
static inline void lapic_write(u32 reg, u32 value) { lapic[reg / 4] = value; }

void pic_mask_all(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

void lapic_init(u64 phys)
{
    lapic = phys_to_virt(phys);
}

/* Per CPU: software-enable the APIC with our spurious vector, mask what we do not use. */
void lapic_cpu_init(void)
{
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
    lapic_write(LAPIC_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
}

/*
 * The timer's initial count: TIMER_INITIAL_COUNT, or "timer=N" from the command line. A small N
 * ticks far more often, which the selftest uses to shake out races that the 10 ms tick hides.
 */
static u32 timer_initial_count(void)
{
    u64 n;
    if (cmdline_u64("timer", &n) && n >= TIMER_MIN_COUNT && n <= 0xffffffffu)
        return (u32)n;
    return TIMER_INITIAL_COUNT;
}

void lapic_timer_start(void)
{
    lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_16);
    lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | VECTOR_TIMER);
    lapic_write(LAPIC_TIMER_INITIAL, timer_initial_count());
}

void lapic_eoi(void)
{
    lapic_write(LAPIC_EOI, 0);
}

u32 lapic_id(void)
{
    return lapic_read(LAPIC_ID) >> 24;
}

static void lapic_send(u32 apic_id, u32 icr_low)
{
    lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
    lapic_write(LAPIC_ICR_LOW, icr_low);
    while (lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING)
        cpu_relax();
}

void lapic_send_init(u32 apic_id)
{
    lapic_send(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_startup(u32 apic_id, u32 vector)
{
    lapic_send(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | (vector & 0xff));
}

void lapic_send_ipi(u32 apic_id, u32 vector)
{
    u64 flags = irq_save();
    lapic_send(apic_id, ICR_LEVEL_ASSERT | (vector & 0xff));
    irq_restore(flags);
}
