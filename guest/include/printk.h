/* Console output: the 16550 UART and printk (snprintf and vsnprintf are common/format.h). */
#ifndef DRK_PRINTK_H
#define DRK_PRINTK_H

#include "types.h"
#include "format.h"

void console_init(void);
void console_write(const char *s, size_t n);
/* Breaks a console lock held by a CPU that died, so an oops can still print. */
void console_force_unlock(void);

int printk(const char *fmt, ...) __printf(1, 2);
int vprintk(const char *fmt, va_list ap);

__noreturn void panic(const char *fmt, ...) __printf(1, 2);
__noreturn void poweroff(int status);

#define BUG_ON(cond) do { if (unlikely(cond)) panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); } while (0)

#endif
