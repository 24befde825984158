/*
 * The IDT and what happens on each vector.
 *
 * Exceptions: in user mode, a page fault in a region the process may map on
 * demand maps a page; anything else kills the process (process.c). In the
 * kernel, a page fault on a user address is first served the same way
 * (copy_to_user into a fresh stack page), then looked up in the exception
 * table (a fault in copy_to_user and friends continues at its fixup and
 * becomes -EFAULT). Every other kernel exception is fatal: it prints an oops
 * (vector, RIP, CR2, error code, registers, a frame-pointer backtrace with
 * symbol names) and powers off with EXIT_OOPS. #DF and NMI run on IST stacks
 * so that a kernel stack overflow into the guard page can still be reported.
 */
#include "kernel.h"
#include "trap.h"
#include "apic.h"
#include "ksyms.h"
#include "irq.h"
#include "tlb.h"
#include "process.h"
#include "uaccess.h"

/* entry.S builds and reads these frames by offset. */
static_assert(offsetof(struct trap_frame, vector) == 120, "trap_frame layout");
static_assert(offsetof(struct trap_frame, rip) == 136, "trap_frame layout");
static_assert(sizeof(struct trap_frame) == 176, "trap_frame layout");

struct idt_gate {
    u64 low;
    u64 high;
};

static struct idt_gate idt[256] __aligned(16);
static volatile u32 oops_in_progress;
extern char interrupt_stubs[];
extern char boot_stack_bottom[], boot_stack_top[];

static const char *const exception_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
    "invalid opcode", "device not available", "double fault", "coprocessor segment overrun",
    "invalid TSS", "segment not present", "stack-segment fault", "general protection fault",
    "page fault", "reserved (15)", "x87 floating-point error", "alignment check", "machine check",
    "SIMD floating-point error", "virtualization exception", "control protection exception",
    "reserved (22)", "reserved (23)", "reserved (24)", "reserved (25)", "reserved (26)",
    "reserved (27)", "hypervisor injection", "VMM communication", "security exception",
    "reserved (31)",
};

const char *exception_name(u64 vector)
{
    return vector < 32 ? exception_names[vector] : "interrupt";
}

void idt_init(void)
{
    for (u64 v = 0; v < 256; v++) {
        u64 handler = (u64)interrupt_stubs + 16 * v;
        u64 ist = v == 8 ? 1 : (v == 2 || v == 18) ? 2 : 0;
        idt[v].low = (handler & 0xffff) | ((u64)GDT_KERNEL_CODE << 16) | (ist << 32) |
                     (0x8eul << 40) /* present, DPL 0, interrupt gate */ |
                     (((handler >> 16) & 0xffff) << 48);
        idt[v].high = handler >> 32;
    }
}

void idt_load(void)
{
    struct __packed { u16 limit; u64 base; } idtr = { sizeof(idt) - 1, (u64)idt };
    __asm__ __volatile__("lidt %0" : : "m"(idtr));
}

/* ---- symbols and backtraces ---- */

bool symbolize(u64 address, char *buf, size_t size)
{
    u64 start;
    const char *name = ksyms_lookup(address, &start);
    if (name) {
        snprintf(buf, size, "%s+0x%lx", name, address - start);
        return true;
    }
    if (module_symbolize(address, buf, size))
        return true;
    snprintf(buf, size, "?");
    return false;
}

static bool on_stack(u64 lo, u64 hi, u64 address, u64 len)
{
    return address >= lo && address + len <= hi;
}

/* Only frames on a stack we know are followed, so a corrupt chain cannot fault. */
static bool on_known_stack(u64 address, u64 len)
{
    struct cpu *c = this_cpu();
    struct thread *t = c->current;
    if (t && on_stack(t->stack_base, t->stack_top, address, len))
        return true;
    if (on_stack((u64)boot_stack_bottom, (u64)boot_stack_top, address, len))
        return true;
    for (int i = 0; i < 2; i++)
        if (c->ist_stacks[i] && on_stack((u64)c->ist_stacks[i], (u64)c->ist_stacks[i] + KSTACK_SIZE, address, len))
            return true;
    return false;
}

static void print_frame(u64 address)
{
    char sym[96];
    symbolize(address, sym, sizeof(sym));
    printk("  [<%016lx>] %s\n", address, sym);
}

static bool in_text(u64 address)
{
    u64 start;
    char sym[8];
    return ksyms_lookup(address, &start) || module_symbolize(address, sym, sizeof(sym));
}

/* An address in text right after a CALL rel32 (opcode 0xe8) is probably a return address. */
static bool looks_like_return_address(u64 address)
{
    return in_text(address) && in_text(address - 5) && *(const u8 *)(address - 5) == 0xe8;
}

#define BACKTRACE_MAX_FRAMES 32

static void backtrace_print_callers(u64 rbp)
{
    for (int depth = 0;; depth++) {
        if ((rbp & 7) || !on_known_stack(rbp, 16))
            break;
        if (depth == BACKTRACE_MAX_FRAMES) {
            printk("  ... (more frames)\n");
            break;
        }
        u64 next = ((u64 *)rbp)[0];
        u64 ret = ((u64 *)rbp)[1];
        if (ret == 0)
            break;
        print_frame(ret);
        if (next <= rbp)        /* callers' frames are higher up */
            break;
        rbp = next;
    }
}

void backtrace_print(u64 rip, u64 rbp)
{
    print_frame(rip);
    backtrace_print_callers(rbp);
}

/* ---- oops ---- */

static void describe_page_fault(u64 error, char *buf, size_t size)
{
    snprintf(buf, size, " (%s, %s, %s mode)",
             error & 16 ? "instruction fetch" : error & 2 ? "write" : "read",
             error & 1 ? "protection violation" : "page not present",
             error & 4 ? "user" : "kernel");
}

static bool in_guard_page(u64 address)
{
    struct thread *t = this_cpu()->current;
    if (t && address < t->stack_base && address >= t->stack_base - PAGE_SIZE)
        return true;
    return address < (u64)boot_stack_bottom && address >= (u64)boot_stack_bottom - PAGE_SIZE;
}

static __noreturn void oops(struct trap_frame *f)
{
    irq_disable();
    /* One report: a second CPU that faults meanwhile just stops. */
    if (atomic_xchg32(&oops_in_progress, 1))
        halt_forever();
    console_force_unlock();

    struct cpu *c = this_cpu();
    u64 cr2 = read_cr2();
    char detail[80] = "";
    char sym[96];
    if (f->vector == 14)
        describe_page_fault(f->error_code, detail, sizeof(detail));

    printk("\nOOPS: %s (vector %lu) on cpu %u\n", exception_names[f->vector & 31], f->vector, c->id);
    symbolize(f->rip, sym, sizeof(sym));
    printk("RIP: %04lx:%016lx %s\n", f->cs, f->rip, sym);
    printk("CR2: %016lx\n", cr2);
    printk("error code: %04lx%s\n", f->error_code, detail);
    if ((f->vector == 14 || f->vector == 8) && in_guard_page(f->vector == 14 ? cr2 : f->rsp))
        printk("kernel stack overflow: the access hit the guard page below the stack\n");
    printk("RSP: %04lx:%016lx RFLAGS: %08lx\n", f->ss, f->rsp, f->rflags);
    printk("RAX: %016lx RBX: %016lx RCX: %016lx\n", f->rax, f->rbx, f->rcx);
    printk("RDX: %016lx RSI: %016lx RDI: %016lx\n", f->rdx, f->rsi, f->rdi);
    printk("RBP: %016lx R8:  %016lx R9:  %016lx\n", f->rbp, f->r8, f->r9);
    printk("R10: %016lx R11: %016lx R12: %016lx\n", f->r10, f->r11, f->r12);
    printk("R13: %016lx R14: %016lx R15: %016lx\n", f->r13, f->r14, f->r15);
    printk("CR0: %016lx CR3: %016lx CR4: %016lx\n", read_cr0(), read_cr3(), read_cr4());
    if (c->current)
        printk("thread: %s (id %u)\n", c->current->name, c->current->id);
    printk("Call trace:\n");
    /*
     * gcc sets up no frame in leaf functions, so a fault in one would hide its
     * caller: the return address is then still on top of the stack. Printed
     * with "?" because it is a guess, as Linux does.
     */
    if (on_known_stack(f->rsp, 8)) {
        u64 top = *(u64 *)f->rsp;
        u64 chained = on_known_stack(f->rbp, 16) ? ((u64 *)f->rbp)[1] : 0;
        if (top != chained && looks_like_return_address(top)) {
            print_frame(f->rip);
            symbolize(top, sym, sizeof(sym));
            printk("  [<%016lx>] ? %s\n", top, sym);
            backtrace_print_callers(f->rbp);
            goto done;
        }
    }
    backtrace_print(f->rip, f->rbp);
done:
    printk("oops: kernel halted\n");
    poweroff(EXIT_OOPS);
}

/* ---- dispatch ---- */

static void exception(struct trap_frame *f)
{
    if (f->cs & 3) {
        process_user_fault(f);  /* returns only if the fault was served */
        return;
    }
    if (f->vector == 14) {
        u64 cr2 = read_cr2();
        if (cr2 < USER_SPACE_END && process_demand_fault(cr2, f->error_code))
            return;
    }
    u64 fixup = exception_fixup(f->rip);
    if (fixup) {
        f->rip = fixup;
        return;
    }
    oops(f);
}

void interrupt_dispatch(struct trap_frame *f)
{
    u64 vector = f->vector;
    struct cpu *c = this_cpu();
    if (vector < 32) {
        exception(f);
        if (c->need_resched && c->current && (f->cs & 3))
            schedule();
        return;
    }

    switch (vector) {
    case VECTOR_TIMER:
        lapic_eoi();
        sched_tick();
        break;
    case VECTOR_RESCHEDULE:
        lapic_eoi();
        c->need_resched = true;
        break;
    case VECTOR_TLB_SHOOTDOWN:
        lapic_eoi();
        tlb_shootdown_interrupt();
        break;
    case VECTOR_SPURIOUS:
        return;                 /* spurious interrupts take no EOI */
    default:
        lapic_eoi();
        if (irq_dispatch(vector))
            break;
        /* A device vector whose handler was freed while an interrupt was on its way is not news. */
        if (vector < VECTOR_IRQ_FIRST || vector >= VECTOR_IRQ_FIRST + VECTOR_IRQ_COUNT)
            printk("interrupt: unexpected vector %lu on cpu %u\n", vector, c->id);
        break;
    }
    /* Preempt: this is the only place a running thread is switched out involuntarily. */
    if (c->need_resched && c->current)
        schedule();
}
