/*
 * The console: COM1 (16550 UART at 0x3f8), polled, and printk. Lines end in
 * "\r\n" on the wire, like a Linux serial console; docs/guest-abi.md says how
 * output is compared.
 */
#include "kernel.h"

#define COM1            0x3f8
#define UART_DATA       0
#define UART_IER        1
#define UART_FCR        2
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_LSR_THRE   0x20

static struct spinlock console_lock = SPINLOCK_INIT("console");

void console_init(void)
{
    outb(COM1 + UART_IER, 0x00);    /* polled: no UART interrupts */
    outb(COM1 + UART_LCR, 0x80);    /* divisor latch */
    outb(COM1 + UART_DATA, 0x01);   /* 115200 baud */
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, 0x03);    /* 8N1 */
    outb(COM1 + UART_FCR, 0xc7);    /* FIFO on, cleared */
    outb(COM1 + UART_MCR, 0x03);    /* DTR, RTS */
}

static void uart_putc(char c)
{
    while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
        cpu_relax();
    outb(COM1 + UART_DATA, (u8)c);
}

static void console_write_locked(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            uart_putc('\r');
        uart_putc(s[i]);
    }
}

void console_write(const char *s, size_t n)
{
    u64 flags = spin_lock_irqsave(&console_lock);
    console_write_locked(s, n);
    spin_unlock_irqrestore(&console_lock, flags);
}

void console_force_unlock(void)
{
    spin_init(&console_lock, "console");
}

/* The formatter is common/format.c, shared with the user library; modules use it through these exports. */
EXPORT_SYMBOL(vsnprintf);
EXPORT_SYMBOL(snprintf);

int vprintk(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    console_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}

int printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintk(fmt, ap);
    va_end(ap);
    return n;
}
EXPORT_SYMBOL(printk);
