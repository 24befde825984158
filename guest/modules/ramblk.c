/*
 * ramblk: a RAM disk driven the way a block driver drives a disk controller
 * (uapi/devices.h describes what programs see).
 *
 * read() and write() split a transfer into requests of at most
 * RAMBLK_MAX_REQUEST sectors (from a kmem_cache), queue them and wait. The
 * driver's kernel thread plays the controller: it takes requests off the
 * queue, moves the data between the request's buffer and the disk's pages,
 * puts the request on the completed list and raises the device interrupt at
 * the submitting CPU. The interrupt handler marks completed requests done
 * and wakes the submitters.
 *
 * The thread runs on the last CPU, so with two CPUs every request crosses
 * between them twice (a wake-up IPI there, the completion interrupt back).
 * Submitters wait on one device-wide queue, which outlives every request:
 * once a request is marked done its submitter may free it at once.
 */
#include "kernel.h"
#include "vfs.h"
#include "irq.h"
#include "uaccess.h"
#include "uapi/devices.h"

#define SECTORS_PER_PAGE    (PAGE_SIZE / RAMBLK_SECTOR_SIZE)
#define DISK_PAGES          (RAMBLK_SECTORS / SECTORS_PER_PAGE)
#define BOUNCE_BYTES        (RAMBLK_MAX_REQUEST * RAMBLK_SECTOR_SIZE)

struct request {
    struct request *next;
    bool write;
    u64 sector;
    u32 count;                  /* sectors */
    u8 *buffer;
    u32 cpu;                    /* where the completion interrupt goes */
    volatile bool done;
};

struct ramblk {
    struct spinlock lock;       /* the queue, the completed list, the statistics */
    struct request *queue_head, *queue_tail;
    struct request *completed;
    bool stopping;
    struct waitq work_wait;     /* the thread waits here for requests */
    struct waitq done_wait;     /* submitters wait here for completions */
    struct thread *thread;
    int vector;
    struct kmem_cache *requests;
    u8 *pages[DISK_PAGES];
    struct ramblk_stats stats;
};

static struct ramblk *dev;

/* ---- the "controller" ---- */

static void transfer(struct ramblk *d, struct request *r)
{
    for (u32 i = 0; i < r->count; i++) {
        u64 s = r->sector + i;
        u8 *disk = d->pages[s / SECTORS_PER_PAGE] + (s % SECTORS_PER_PAGE) * RAMBLK_SECTOR_SIZE;
        u8 *mem = r->buffer + (u64)i * RAMBLK_SECTOR_SIZE;
        if (r->write)
            memcpy(disk, mem, RAMBLK_SECTOR_SIZE);
        else
            memcpy(mem, disk, RAMBLK_SECTOR_SIZE);
    }
}

static bool has_work(struct ramblk *d)
{
    return READ_ONCE(d->queue_head) != NULL || READ_ONCE(d->stopping);
}

static int ramblk_thread(void *arg)
{
    struct ramblk *d = arg;
    for (;;) {
        wait_event(&d->work_wait, has_work(d));
        u64 flags = spin_lock_irqsave(&d->lock);
        struct request *r = d->queue_head;
        if (r) {
            d->queue_head = r->next;
            if (!d->queue_head)
                d->queue_tail = NULL;
        }
        bool stop = !r && d->stopping;
        spin_unlock_irqrestore(&d->lock, flags);
        if (stop)
            return 0;
        if (!r)
            continue;
        transfer(d, r);
        flags = spin_lock_irqsave(&d->lock);
        r->next = d->completed;
        d->completed = r;
        if (r->write)
            d->stats.sectors_written += r->count;
        else
            d->stats.sectors_read += r->count;
        spin_unlock_irqrestore(&d->lock, flags);
        irq_raise(d->vector, r->cpu);
    }
}

/* The completion interrupt. */
static void ramblk_interrupt(void *arg)
{
    struct ramblk *d = arg;
    spin_lock(&d->lock);
    struct request *r = d->completed;
    d->completed = NULL;
    d->stats.interrupts++;
    spin_unlock(&d->lock);
    while (r) {
        struct request *next = r->next;     /* read before "done": the submitter may free r then */
        WRITE_ONCE(r->done, true);
        r = next;
    }
    wake_up_all(&d->done_wait);
}

/* ---- the block layer: requests ---- */

static bool request_done(struct request *r)
{
    return READ_ONCE(r->done);
}

static int submit_and_wait(struct ramblk *d, bool write, u64 sector, u32 count, u8 *buffer)
{
    struct request *r = kmem_cache_alloc(d->requests, GFP_ZERO);
    if (!r)
        return -ENOMEM;
    r->write = write;
    r->sector = sector;
    r->count = count;
    r->buffer = buffer;
    r->cpu = cpu_id();
    u64 flags = spin_lock_irqsave(&d->lock);
    if (d->queue_tail)
        d->queue_tail->next = r;
    else
        d->queue_head = r;
    d->queue_tail = r;
    d->stats.requests++;
    spin_unlock_irqrestore(&d->lock, flags);
    wake_up_all(&d->work_wait);
    wait_event(&d->done_wait, request_done(r));
    kmem_cache_free(d->requests, r);
    return 0;
}

/* Sectors [*pos / 512, ...) that a transfer of count bytes may touch, or a negative errno. */
static long check_range(u64 pos, size_t count)
{
    if (pos % RAMBLK_SECTOR_SIZE || count % RAMBLK_SECTOR_SIZE)
        return -EINVAL;
    u64 first = pos / RAMBLK_SECTOR_SIZE;
    if (first >= RAMBLK_SECTORS)
        return 0;
    return (long)MIN(count / RAMBLK_SECTOR_SIZE, RAMBLK_SECTORS - first);
}

static long ramblk_rw(struct file *f, u8 __user *buf, size_t count, u64 *pos, bool write)
{
    struct ramblk *d = f->inode->device;
    long sectors = check_range(*pos, count);
    if (sectors <= 0)
        return sectors;
    u8 *bounce = kmalloc(BOUNCE_BYTES, GFP_KERNEL);
    if (!bounce)
        return -ENOMEM;
    long done = 0;              /* sectors */
    long err = 0;
    while (done < sectors && !err) {
        u32 n = (u32)MIN(sectors - done, (long)RAMBLK_MAX_REQUEST);
        u8 __user *at = buf + done * RAMBLK_SECTOR_SIZE;
        size_t bytes = (size_t)n * RAMBLK_SECTOR_SIZE;
        if (write && copy_from_user(bounce, at, bytes)) {
            err = -EFAULT;
            break;
        }
        err = submit_and_wait(d, write, *pos / RAMBLK_SECTOR_SIZE + (u64)done, n, bounce);
        if (!err && !write && copy_to_user(at, bounce, bytes))
            err = -EFAULT;
        if (!err)
            done += n;
    }
    kfree(bounce);
    *pos += (u64)done * RAMBLK_SECTOR_SIZE;
    return done ? done * RAMBLK_SECTOR_SIZE : err;
}

static long ramblk_read(struct file *f, void __user *buf, size_t count, u64 *pos)
{
    return ramblk_rw(f, buf, count, pos, false);
}

static long ramblk_write(struct file *f, const void __user *buf, size_t count, u64 *pos)
{
    return ramblk_rw(f, (u8 __user *)buf, count, pos, true);
}

static long ramblk_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
    struct ramblk *d = f->inode->device;
    if (cmd == RAMBLK_IOC_SECTORS)
        return RAMBLK_SECTORS;
    if (cmd != RAMBLK_IOC_STATS)
        return -ENOTTY;
    u64 flags = spin_lock_irqsave(&d->lock);
    struct ramblk_stats stats = d->stats;
    spin_unlock_irqrestore(&d->lock, flags);
    return copy_to_user((void __user *)arg, &stats, sizeof(stats)) ? -EFAULT : 0;
}

static const struct file_operations ramblk_ops = {
    .read = ramblk_read,
    .write = ramblk_write,
    .ioctl = ramblk_ioctl,
};

/* ---- module ---- */

static void ramblk_free(struct ramblk *d)
{
    for (u32 i = 0; i < DISK_PAGES; i++)
        free_pages(d->pages[i], 0);
    kmem_cache_destroy(d->requests);
    kfree(d);
}

static void stop_thread(struct ramblk *d)
{
    u64 flags = spin_lock_irqsave(&d->lock);
    d->stopping = true;
    spin_unlock_irqrestore(&d->lock, flags);
    wake_up_all(&d->work_wait);
    thread_join(d->thread);
}

static int ramblk_init(void)
{
    struct ramblk *d = kzalloc(sizeof(*d), GFP_KERNEL);
    if (!d)
        return -ENOMEM;
    spin_init(&d->lock, "ramblk");
    waitq_init(&d->work_wait, "ramblk_work");
    waitq_init(&d->done_wait, "ramblk_done");
    d->requests = kmem_cache_create("ramblk_request", sizeof(struct request), 8, 0, NULL);
    bool ok = d->requests != NULL;
    for (u32 i = 0; i < DISK_PAGES && ok; i++) {
        d->pages[i] = alloc_pages(GFP_ZERO, 0);
        ok = d->pages[i] != NULL;
    }
    if (!ok) {
        ramblk_free(d);
        return -ENOMEM;
    }
    d->vector = request_irq(ramblk_interrupt, "ramblk", d);
    if (d->vector < 0) {
        int err = d->vector;
        ramblk_free(d);
        return err;
    }
    d->thread = thread_create("ramblk", ramblk_thread, d, (int)cpu_count - 1);
    int err = d->thread ? register_device("ramblk", INODE_BLOCK_DEVICE, &ramblk_ops, d) : -ENOMEM;
    if (err) {
        if (d->thread)
            stop_thread(d);
        free_irq(d->vector);
        ramblk_free(d);
        return err;
    }
    dev = d;
    return 0;
}

/* No file is open and so no request is in flight (the VFS holds the module meanwhile). */
static void ramblk_exit(void)
{
    unregister_device("ramblk");
    stop_thread(dev);
    free_irq(dev->vector);
    ramblk_free(dev);
    dev = NULL;
}

MODULE_INIT(ramblk_init);
MODULE_EXIT(ramblk_exit);
