/*
 * compute: runs the integer compute kernel (guest/common/compute.c, linked
 * into this module) in kernel mode, for the compute-module workload. One
 * ioctl runs the whole loop, so the kernel-mode work dominates; the state
 * lives in a kmalloc'd block, since kernel stacks are small.
 */
#include "kernel.h"
#include "vfs.h"
#include "uaccess.h"
#include "uapi/devices.h"
#include "compute.h"

static long compute_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
    struct compute_request req;
    if (cmd != COMPUTE_IOC_RUN)
        return -ENOTTY;
    if (copy_from_user(&req, (const void __user *)arg, sizeof(req)))
        return -EFAULT;
    struct compute_state *state = kmalloc(COMPUTE_STATE_SIZE, GFP_KERNEL);
    if (!state)
        return -ENOMEM;
    compute_init(state);
    req.checksum = compute_run(state, req.iterations);
    kfree(state);
    return copy_to_user((void __user *)arg, &req, sizeof(req)) ? -EFAULT : 0;
}

static const struct file_operations compute_ops = {
    .ioctl = compute_ioctl,
};

static int compute_module_init(void)
{
    return register_device("compute", INODE_CHAR_DEVICE, &compute_ops, NULL);
}

static void compute_module_exit(void)
{
    unregister_device("compute");
}

MODULE_INIT(compute_module_init);
MODULE_EXIT(compute_module_exit);
