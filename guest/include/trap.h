/* The IDT, interrupt dispatch, oops reports and frame-pointer backtraces. */
#ifndef DRK_TRAP_H
#define DRK_TRAP_H

#include "types.h"

/* The stack layout built by interrupt_common in entry.S, lowest address first. */
struct trap_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector;
    u64 error_code;             /* 0 for vectors without one */
    u64 rip, cs, rflags, rsp, ss;
};

void idt_init(void);
/* "page fault" and so on for vectors 0-31. */
const char *exception_name(u64 vector);
void idt_load(void);
void interrupt_dispatch(struct trap_frame *frame);

/* Prints "[<address>] symbol+0xoff [module]" lines walking the RBP chain. */
void backtrace_print(u64 rip, u64 rbp);
/* Formats an address as symbol+0xoffset [module]; returns false if unknown. */
bool symbolize(u64 address, char *buf, size_t size);

#endif
