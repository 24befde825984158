/*
 * loopback: a network device whose wire leads back to itself, with
 * socket-like endpoints on top (uapi/devices.h describes what programs see).
 *
 * Sending (write) allocates a packet, copies the payload in and puts it on
 * the device's transmit queue. The driver's kernel thread plays the wire and
 * the NIC: it takes everything queued, computes each packet's checksum (as
 * checksum offload would), puts the packets in the receive ring and raises
 * the receive interrupt at cpu0, where a NIC's interrupt would be routed.
 * The interrupt handler checks the checksums and hands each packet to the
 * endpoint bound to its destination port, waking its reader; packets for
 * nobody are dropped. Receiving (read) takes one packet off the endpoint.
 *
 * One spinlock guards the queues, the endpoint list and the statistics; the
 * handler wakes readers with it held, so an endpoint being closed (which
 * takes the lock to unlink itself) is never woken after it is freed.
 */
#include "kernel.h"
#include "vfs.h"
#include "irq.h"
#include "uaccess.h"
#include "uapi/devices.h"

#define IRQ_CPU 0

struct packet {
    struct packet *next;
    u16 src, dst;
    u16 checksum;
    u32 len;
    u8 data[];
};

struct endpoint {
    struct endpoint *next;
    u16 port, peer;
    struct packet *rx_head, *rx_tail;
    struct waitq wait;
};

struct queue {
    struct packet *head, *tail;
};

struct loopback {
    struct spinlock lock;
    struct endpoint *endpoints;
    struct queue tx;            /* sent, waiting for the wire */
    struct queue rx;            /* off the wire, waiting for the interrupt handler */
    bool stopping;
    struct waitq wire_wait;
    struct thread *thread;
    int vector;
    struct loopback_stats stats;
};

static struct loopback *dev;

static void enqueue(struct queue *q, struct packet *p)
{
    p->next = NULL;
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
}

static struct packet *take_all(struct queue *q)
{
    struct packet *p = q->head;
    q->head = q->tail = NULL;
    return p;
}

static void free_list(struct packet *p)
{
    while (p) {
        struct packet *next = p->next;
        kfree(p);
        p = next;
    }
}

/* The Internet checksum: the ones' complement of the ones' complement sum of 16-bit words. */
static u16 checksum(const u8 *data, u32 len)
{
    u32 sum = 0;
    for (u32 i = 0; i + 1 < len; i += 2)
        sum += (u32)data[i] << 8 | data[i + 1];
    if (len & 1)
        sum += (u32)data[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (u16)~sum;
}

/* ---- the wire ---- */

static bool wire_has_work(struct loopback *d)
{
    return READ_ONCE(d->tx.head) != NULL || READ_ONCE(d->stopping);
}

static int loopback_thread(void *arg)
{
    struct loopback *d = arg;
    for (;;) {
        wait_event(&d->wire_wait, wire_has_work(d));
        u64 flags = spin_lock_irqsave(&d->lock);
        struct packet *list = take_all(&d->tx);
        bool stop = !list && d->stopping;
        spin_unlock_irqrestore(&d->lock, flags);
        if (stop)
            return 0;
        if (!list)
            continue;
        for (struct packet *p = list; p; p = p->next)
            p->checksum = checksum(p->data, p->len);
        flags = spin_lock_irqsave(&d->lock);
        while (list) {
            struct packet *next = list->next;
            enqueue(&d->rx, list);
            list = next;
        }
        spin_unlock_irqrestore(&d->lock, flags);
        irq_raise(d->vector, IRQ_CPU);
    }
}

/* ---- receive interrupt ---- */

static struct endpoint *find_endpoint(struct loopback *d, u16 port)
{
    for (struct endpoint *e = d->endpoints; e; e = e->next)
        if (e->port == port)
            return e;
    return NULL;
}

static void loopback_interrupt(void *arg)
{
    struct loopback *d = arg;
    struct packet *dropped = NULL;
    spin_lock(&d->lock);
    d->stats.interrupts++;
    struct packet *p = take_all(&d->rx);
    while (p) {
        struct packet *next = p->next;
        struct endpoint *e = p->dst ? find_endpoint(d, p->dst) : NULL;
        if (e && checksum(p->data, p->len) == p->checksum) {
            p->next = NULL;
            if (e->rx_tail)
                e->rx_tail->next = p;
            else
                e->rx_head = p;
            e->rx_tail = p;
            d->stats.packets_delivered++;
            wake_up_all(&e->wait);
        } else {
            p->next = dropped;
            dropped = p;
            d->stats.packets_dropped++;
        }
        p = next;
    }
    spin_unlock(&d->lock);
    free_list(dropped);
}

/* ---- endpoints ---- */

static int loopback_open(struct inode *inode, struct file *f)
{
    struct loopback *d = inode->device;
    struct endpoint *e = kzalloc(sizeof(*e), GFP_KERNEL);
    if (!e)
        return -ENOMEM;
    waitq_init(&e->wait, "loopback_rx");
    f->private_data = e;
    u64 flags = spin_lock_irqsave(&d->lock);
    e->next = d->endpoints;
    d->endpoints = e;
    spin_unlock_irqrestore(&d->lock, flags);
    return 0;
}

static void loopback_release(struct inode *inode, struct file *f)
{
    struct loopback *d = inode->device;
    struct endpoint *e = f->private_data;
    u64 flags = spin_lock_irqsave(&d->lock);
    for (struct endpoint **pp = &d->endpoints; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    struct packet *pending = e->rx_head;
    spin_unlock_irqrestore(&d->lock, flags);
    free_list(pending);
    kfree(e);
}

static long loopback_write(struct file *f, const void __user *buf, size_t count, u64 *pos)
{
    struct loopback *d = f->inode->device;
    struct endpoint *e = f->private_data;
    if (!e->peer || count > LOOPBACK_MTU)
        return -EINVAL;
    struct packet *p = kmalloc(sizeof(*p) + count, GFP_KERNEL);
    if (!p)
        return -ENOMEM;
    if (copy_from_user(p->data, buf, count)) {
        kfree(p);
        return -EFAULT;
    }
    p->len = (u32)count;
    p->src = e->port;
    p->dst = e->peer;
    p->checksum = 0;
    u64 flags = spin_lock_irqsave(&d->lock);
    enqueue(&d->tx, p);
    d->stats.packets_sent++;
    d->stats.bytes += count;
    spin_unlock_irqrestore(&d->lock, flags);
    wake_up_all(&d->wire_wait);
    return (long)count;
}

static bool has_packet(struct endpoint *e)
{
    return READ_ONCE(e->rx_head) != NULL;
}

static long loopback_read(struct file *f, void __user *buf, size_t count, u64 *pos)
{
    struct loopback *d = f->inode->device;
    struct endpoint *e = f->private_data;
    struct packet *p = NULL;
    while (!p) {                /* another reader of the same file (after fork) may win the packet */
        wait_event(&e->wait, has_packet(e));
        u64 flags = spin_lock_irqsave(&d->lock);
        p = e->rx_head;
        if (p) {
            e->rx_head = p->next;
            if (!e->rx_head)
                e->rx_tail = NULL;
        }
        spin_unlock_irqrestore(&d->lock, flags);
    }
    size_t n = MIN(count, (size_t)p->len);     /* like a datagram: the rest is lost */
    long ret = copy_to_user(buf, p->data, n) ? -EFAULT : (long)n;
    kfree(p);
    return ret;
}

static long loopback_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
    struct loopback *d = f->inode->device;
    struct endpoint *e = f->private_data;
    long ret = 0;
    struct loopback_stats stats;
    if ((cmd == LOOPBACK_IOC_BIND || cmd == LOOPBACK_IOC_CONNECT) && (arg == 0 || arg > 65535))
        return -EINVAL;
    u64 flags = spin_lock_irqsave(&d->lock);
    switch (cmd) {
    case LOOPBACK_IOC_BIND:
        if (find_endpoint(d, (u16)arg))
            ret = -EBUSY;
        else
            e->port = (u16)arg;
        break;
    case LOOPBACK_IOC_CONNECT:
        e->peer = (u16)arg;
        break;
    case LOOPBACK_IOC_STATS:
        stats = d->stats;
        break;
    default:
        ret = -ENOTTY;
        break;
    }
    spin_unlock_irqrestore(&d->lock, flags);
    if (cmd == LOOPBACK_IOC_STATS && copy_to_user((void __user *)arg, &stats, sizeof(stats)))
        ret = -EFAULT;
    return ret;
}

static const struct file_operations loopback_ops = {
    .open = loopback_open,
    .release = loopback_release,
    .read = loopback_read,
    .write = loopback_write,
    .ioctl = loopback_ioctl,
};

/* ---- module ---- */

static void stop_thread(struct loopback *d)
{
    u64 flags = spin_lock_irqsave(&d->lock);
    d->stopping = true;
    spin_unlock_irqrestore(&d->lock, flags);
    wake_up_all(&d->wire_wait);
    thread_join(d->thread);
}

static int loopback_init(void)
{
    struct loopback *d = kzalloc(sizeof(*d), GFP_KERNEL);
    if (!d)
        return -ENOMEM;
    spin_init(&d->lock, "loopback");
    waitq_init(&d->wire_wait, "loopback_wire");
    d->vector = request_irq(loopback_interrupt, "loopback", d);
    if (d->vector < 0) {
        int err = d->vector;
        kfree(d);
        return err;
    }
    d->thread = thread_create("loopback", loopback_thread, d, (int)cpu_count - 1);
    int err = d->thread ? register_device("loopback", INODE_CHAR_DEVICE, &loopback_ops, d) : -ENOMEM;
    if (err) {
        if (d->thread)
            stop_thread(d);
        free_irq(d->vector);
        kfree(d);
        return err;
    }
    dev = d;
    return 0;
}

/* No endpoint is open (the VFS holds the module meanwhile); packets still queued are dropped. */
static void loopback_exit(void)
{
    unregister_device("loopback");
    stop_thread(dev);
    free_irq(dev->vector);
    free_list(take_all(&dev->tx));
    free_list(take_all(&dev->rx));
    kfree(dev);
    dev = NULL;
}

MODULE_INIT(loopback_init);
MODULE_EXIT(loopback_exit);
