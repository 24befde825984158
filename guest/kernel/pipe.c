/*
 * Pipes: a PIPE_BUF_SIZE ring buffer between two open files. The wait
 * queue's lock guards the ring and the end counts; readers and writers wait
 * on the same queue and every change wakes them all (there are rarely more
 * than two). Data crosses to and from user memory through a small bounce
 * buffer outside the lock, since a copy may fault and map a page.
 *
 * Semantics are the POSIX ones for blocking pipes: read returns what is
 * there (waiting only while the pipe is empty and a writer exists, 0 at end
 * of file); write returns after everything is in the pipe, or -EPIPE when no
 * reader is left (there are no signals).
 */
#include "kernel.h"
#include "vfs.h"
#include "uaccess.h"

#define CHUNK 256

struct pipe {
    struct waitq wq;
    u8 *buf;
    u32 head;                   /* next byte to read */
    u32 count;                  /* bytes in the ring */
    u32 readers, writers;       /* open ends */
};

static bool readable_or_eof(struct pipe *p) { return p->count > 0 || p->writers == 0; }
static bool room_or_broken(struct pipe *p) { return p->count < PIPE_BUF_SIZE || p->readers == 0; }

static long pipe_read(struct file *f, void __user *buf, size_t count, u64 *pos)
{
    struct pipe *p = f->private_data;
    u8 chunk[CHUNK];
    size_t done = 0;
    if (count == 0)
        return 0;
    wait_event(&p->wq, readable_or_eof(p));
    while (done < count) {
        u64 flags = spin_lock_irqsave(&p->wq.lock);
        size_t n = MIN(MIN(count - done, (size_t)p->count), sizeof(chunk));
        for (size_t k = 0; k < n; k++)
            chunk[k] = p->buf[(p->head + k) % PIPE_BUF_SIZE];
        p->head = (p->head + (u32)n) % PIPE_BUF_SIZE;
        p->count -= (u32)n;
        spin_unlock_irqrestore(&p->wq.lock, flags);
        if (n == 0)
            break;
        wake_up_all(&p->wq);    /* writers waiting for room */
        if (copy_to_user((u8 __user *)buf + done, chunk, n))
            return done ? (long)done : -EFAULT;
        done += n;
    }
    return (long)done;
}

static long pipe_write(struct file *f, const void __user *buf, size_t count, u64 *pos)
{
    struct pipe *p = f->private_data;
    u8 chunk[CHUNK];
    size_t done = 0;
    while (done < count) {
        size_t n = MIN(count - done, sizeof(chunk));
        if (copy_from_user(chunk, (const u8 __user *)buf + done, n))
            return done ? (long)done : -EFAULT;
        size_t put = 0;
        while (put < n) {
            wait_event(&p->wq, room_or_broken(p));
            u64 flags = spin_lock_irqsave(&p->wq.lock);
            if (p->readers == 0) {
                spin_unlock_irqrestore(&p->wq.lock, flags);
                return done + put ? (long)(done + put) : -EPIPE;
            }
            size_t m = MIN(n - put, (size_t)(PIPE_BUF_SIZE - p->count));
            u32 tail = (p->head + p->count) % PIPE_BUF_SIZE;
            for (size_t k = 0; k < m; k++)
                p->buf[(tail + k) % PIPE_BUF_SIZE] = chunk[put + k];
            p->count += (u32)m;
            spin_unlock_irqrestore(&p->wq.lock, flags);
            wake_up_all(&p->wq);    /* readers waiting for data */
            put += m;
        }
        done += n;
    }
    return (long)done;
}

static void pipe_release(struct inode *inode, struct file *f)
{
    struct pipe *p = f->private_data;
    u64 flags = spin_lock_irqsave(&p->wq.lock);
    if ((f->flags & O_ACCMODE) == O_RDONLY)
        p->readers--;
    else
        p->writers--;
    bool last = p->readers == 0 && p->writers == 0;
    /*
     * Woken under the lock: once it drops, the other end's release may free
     * the pipe. The other side then sees end of file or a broken pipe.
     */
    if (!last)
        wake_up_all_locked(&p->wq);
    spin_unlock_irqrestore(&p->wq.lock, flags);
    if (last) {
        kfree(p->buf);
        kfree(p);
    }
}

static const struct file_operations pipe_read_ops = { .read = pipe_read, .release = pipe_release };
static const struct file_operations pipe_write_ops = { .write = pipe_write, .release = pipe_release };

int pipe_create(struct file *ends[2])
{
    struct pipe *p = kzalloc(sizeof(*p), GFP_KERNEL);
    if (!p)
        return -ENOMEM;
    p->buf = kmalloc(PIPE_BUF_SIZE, GFP_KERNEL);
    if (!p->buf) {
        kfree(p);
        return -ENOMEM;
    }
    waitq_init(&p->wq, "pipe");
    p->readers = p->writers = 1;
    ends[0] = vfs_file_anonymous(&pipe_read_ops, p, O_RDONLY);
    ends[1] = vfs_file_anonymous(&pipe_write_ops, p, O_WRONLY);
    if (!ends[0] || !ends[1]) {
        /* Closing what was made must not free the pipe twice: count only the ends that exist. */
        p->readers = ends[0] != NULL;
        p->writers = ends[1] != NULL;
        if (ends[0])
            file_put(ends[0]);
        if (ends[1])
            file_put(ends[1]);
        if (!ends[0] && !ends[1]) {
            kfree(p->buf);
            kfree(p);
        }
        return -ENOMEM;
    }
    return 0;
}
