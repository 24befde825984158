/* Everything a kernel source file or a module usually needs. */
#ifndef DRK_KERNEL_H
#define DRK_KERNEL_H

#include "types.h"
#include "string.h"
#include "printk.h"
#include "atomic.h"
#include "spinlock.h"
#include "x86.h"
#include "mm.h"
#include "slab.h"
#include "cpu.h"
#include "sched.h"
#include "export.h"
#include "module.h"

#endif
