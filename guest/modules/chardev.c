/*
 * chardev: a character device shaped like a serial port with its transmit
 * line looped back to its receive line (uapi/devices.h describes what
 * programs see).
 *
 * write() copies the bytes into a freshly allocated buffer, queues them in
 * the transmit FIFO and "rings the doorbell": the simulated hardware raises
 * the device interrupt at the writing CPU. The interrupt handler, like a
 * UART's, moves what was transmitted into the receive FIFO and wakes
 * readers. read() waits while an interrupt is still due, then takes received
 * bytes. One spinlock guards the FIFOs and statistics; it is taken with
 * interrupts off everywhere, since the handler takes it too.
 */
#include "kernel.h"
#include "vfs.h"
#include "irq.h"
#include "uaccess.h"
#include "uapi/devices.h"

#define CHUNK 256

struct fifo {
    u8 *data;                   /* CHARDEV_BUFFER_SIZE bytes */
    u32 head;
    u32 count;
};

struct chardev {
    struct spinlock lock;
    struct fifo tx, rx;
    struct waitq rx_wait;
    u64 accumulator;
    struct chardev_stats stats;
    int vector;
};

/* What each open file keeps: its own traffic, for the statistics of a reader that asks. */
struct client {
    u64 written, read;
};

static struct chardev *dev;

/* The caller checked that n bytes fit. A ring's free space is at most two pieces. */
static void fifo_put(struct fifo *f, const u8 *src, u32 n)
{
    u32 tail = (f->head + f->count) % CHARDEV_BUFFER_SIZE;
    u32 first = MIN(n, CHARDEV_BUFFER_SIZE - tail);
    memcpy(f->data + tail, src, first);
    memcpy(f->data, src + first, n - first);
    f->count += n;
}

static u32 fifo_get(struct fifo *f, u8 *dst, u32 n)
{
    n = MIN(n, f->count);
    u32 first = MIN(n, CHARDEV_BUFFER_SIZE - f->head);
    memcpy(dst, f->data + f->head, first);
    memcpy(dst + first, f->data, n - first);
    f->head = (f->head + n) % CHARDEV_BUFFER_SIZE;
    f->count -= n;
    return n;
}

/* The device's interrupt: everything transmitted has arrived at the receiver. */
static void chardev_interrupt(void *arg)
{
    struct chardev *d = arg;
    u8 chunk[CHUNK];
    u32 n;
    spin_lock(&d->lock);        /* interrupts are already off in a handler */
    while ((n = fifo_get(&d->tx, chunk, sizeof(chunk))) != 0)
        fifo_put(&d->rx, chunk, n);
    d->stats.interrupts++;
    spin_unlock(&d->lock);
    wake_up_all(&d->rx_wait);   /* the device outlives every reader (rmmod waits for them) */
}

/* A reader may go on once data arrived, or once nothing is still in flight. */
static bool rx_ready(struct chardev *d)
{
    return READ_ONCE(d->rx.count) > 0 || READ_ONCE(d->tx.count) == 0;
}

static long chardev_read(struct file *f, void __user *buf, size_t count, u64 *pos)
{
    struct chardev *d = f->inode->device;
    struct client *c = f->private_data;
    u8 chunk[CHUNK];
    size_t done = 0;
    wait_event(&d->rx_wait, rx_ready(d));
    while (done < count) {
        u64 flags = spin_lock_irqsave(&d->lock);
        u32 n = fifo_get(&d->rx, chunk, (u32)MIN(count - done, sizeof(chunk)));
        d->stats.bytes_read += n;
        spin_unlock_irqrestore(&d->lock, flags);
        if (!n)
            break;
        if (copy_to_user((u8 __user *)buf + done, chunk, n))
            return done ? (long)done : -EFAULT;
        done += n;
    }
    c->read += done;
    return (long)done;
}

static long chardev_write(struct file *f, const void __user *buf, size_t count, u64 *pos)
{
    struct chardev *d = f->inode->device;
    struct client *c = f->private_data;
    if (count == 0)
        return 0;
    count = MIN(count, (size_t)CHARDEV_BUFFER_SIZE);
    u8 *bounce = kmalloc(count, GFP_KERNEL);
    if (!bounce)
        return -ENOMEM;
    if (copy_from_user(bounce, buf, count)) {
        kfree(bounce);
        return -EFAULT;
    }
    u64 flags = spin_lock_irqsave(&d->lock);
    u32 room = CHARDEV_BUFFER_SIZE - d->tx.count - d->rx.count;
    u32 n = (u32)MIN(count, (size_t)room);
    fifo_put(&d->tx, bounce, n);
    d->stats.bytes_written += n;
    spin_unlock_irqrestore(&d->lock, flags);
    kfree(bounce);
    if (!n)
        return -EAGAIN;         /* full until someone reads */
    c->written += n;
    irq_raise(d->vector, cpu_id());
    return n;
}

static long chardev_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
    struct chardev *d = f->inode->device;
    struct chardev_stats stats;
    long ret = 0;
    u64 flags = spin_lock_irqsave(&d->lock);
    d->stats.ioctls++;
    switch (cmd) {
    case CHARDEV_IOC_RESET:
        d->tx.count = d->rx.count = 0;
        d->accumulator = 0;
        break;
    case CHARDEV_IOC_ADD:
        d->accumulator = d->accumulator * 6364136223846793005ull + arg;
        ret = (long)(d->accumulator >> 33);
        break;
    case CHARDEV_IOC_STATS:
        stats = d->stats;
        stats.accumulator = d->accumulator;
        break;
    default:
        ret = -ENOTTY;
        break;
    }
    spin_unlock_irqrestore(&d->lock, flags);
    if (cmd == CHARDEV_IOC_STATS && copy_to_user((void __user *)arg, &stats, sizeof(stats)))
        ret = -EFAULT;
    return ret;
}

static int chardev_open(struct inode *inode, struct file *f)
{
    struct chardev *d = inode->device;
    struct client *c = kzalloc(sizeof(*c), GFP_KERNEL);
    if (!c)
        return -ENOMEM;
    f->private_data = c;
    u64 flags = spin_lock_irqsave(&d->lock);
    d->stats.opens++;
    spin_unlock_irqrestore(&d->lock, flags);
    return 0;
}

static void chardev_release(struct inode *inode, struct file *f)
{
    kfree(f->private_data);
}

static const struct file_operations chardev_ops = {
    .open = chardev_open,
    .release = chardev_release,
    .read = chardev_read,
    .write = chardev_write,
    .ioctl = chardev_ioctl,
};

static void chardev_free(struct chardev *d)
{
    kfree(d->tx.data);
    kfree(d->rx.data);
    kfree(d);
}

static int chardev_init(void)
{
    struct chardev *d = kzalloc(sizeof(*d), GFP_KERNEL);
    if (!d)
        return -ENOMEM;
    spin_init(&d->lock, "chardev");
    waitq_init(&d->rx_wait, "chardev_rx");
    d->tx.data = kmalloc(CHARDEV_BUFFER_SIZE, GFP_KERNEL);
    d->rx.data = kmalloc(CHARDEV_BUFFER_SIZE, GFP_KERNEL);
    if (!d->tx.data || !d->rx.data) {
        chardev_free(d);
        return -ENOMEM;
    }
    d->vector = request_irq(chardev_interrupt, "chardev", d);
    if (d->vector < 0) {
        int err = d->vector;
        chardev_free(d);
        return err;
    }
    int err = register_device("chardev", INODE_CHAR_DEVICE, &chardev_ops, d);
    if (err) {
        free_irq(d->vector);
        chardev_free(d);
        return err;
    }
    dev = d;
    return 0;
}

/* No file is open (the VFS holds the module while one is), so no reader waits. */
static void chardev_exit(void)
{
    unregister_device("chardev");
    free_irq(dev->vector);
    chardev_free(dev);
    dev = NULL;
}

MODULE_INIT(chardev_init);
MODULE_EXIT(chardev_exit);
