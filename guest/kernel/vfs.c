/*
 * The in-memory file system (vfs.h). One mutex, fs_mutex, guards the tree,
 * inode counts and regular-file data; device and pipe operations run without
 * it, since they may wait for a long time.
 *
 * Regular files keep their data in whole pages (kmalloc'd, PAGE_SIZE each)
 * indexed by a krealloc'd array; holes read as zeroes. Files that come from
 * the initrd point into it and are read-only. An inode is freed when no
 * directory entry names it and no file has it open.
 */
#include "kernel.h"
#include "vfs.h"
#include "uaccess.h"
#include "initrd.h"

#define FILE_SIZE_MAX   (16ul << 20)    /* regular files: plenty for the workloads */

static struct mutex fs_mutex = MUTEX_INIT("fs");
static struct inode *root;
static u32 next_ino = 1;
static volatile u64 inodes_live, files_live;

/* ---- inodes ---- */

static struct inode *inode_new(enum inode_type type)
{
    struct inode *i = kzalloc(sizeof(*i), GFP_KERNEL);
    if (!i)
        return NULL;
    i->type = type;
    i->ino = next_ino++;
    atomic_inc64(&inodes_live);
    return i;
}

static void truncate_locked(struct inode *i)
{
    for (u64 p = 0; p < i->page_slots; p++)
        kfree(i->pages[p]);
    kfree(i->pages);
    i->pages = NULL;
    i->page_slots = 0;
    i->size = 0;
}

static void inode_release_if_unused(struct inode *i)
{
    if (i->nlink || i->open_count)
        return;
    truncate_locked(i);
    kfree(i);
    atomic_dec64(&inodes_live);
}

/* ---- directories and paths ---- */

static struct dirent *dir_find(struct inode *dir, const char *name)
{
    for (struct dirent *d = dir->entries; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

/* Appends, so a directory lists its entries in creation order. */
static int dir_add(struct inode *dir, const char *name, struct inode *child)
{
    struct dirent *d = kzalloc(sizeof(*d), GFP_KERNEL);
    if (!d)
        return -ENOMEM;
    strlcpy(d->name, name, sizeof(d->name));
    d->inode = child;
    struct dirent **pp = &dir->entries;
    while (*pp)
        pp = &(*pp)->next;
    *pp = d;
    child->nlink++;
    if (child->type == INODE_DIR)
        child->parent = dir;
    return 0;
}

static void dir_remove(struct inode *dir, struct dirent *d)
{
    for (struct dirent **pp = &dir->entries; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    d->inode->nlink--;
    kfree(d);
}

/* Copies the next component of *p into name; returns its length, 0 at the end, or -ENAMETOOLONG. */
static int next_component(const char **p, char name[NAME_MAX + 1])
{
    const char *s = *p;
    while (*s == '/')
        s++;
    size_t n = 0;
    while (s[n] && s[n] != '/')
        n++;
    if (n > NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(name, s, n);
    name[n] = 0;
    *p = s + n;
    return (int)n;
}

static bool is_last_component(const char *p)
{
    while (*p == '/')
        p++;
    return *p == 0;
}

/*
 * Walks path. With parent_out set, stops before the last component: returns
 * its directory in *parent_out and the name in last (which need not exist).
 */
static int walk_locked(const char *path, struct inode **out, struct inode **parent_out, char *last)
{
    struct inode *cur = root;
    char name[NAME_MAX + 1];
    const char *p = path;
    if (!*p)
        return -ENOENT;
    for (;;) {
        int n = next_component(&p, name);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        if (cur->type != INODE_DIR)
            return -ENOTDIR;
        if (parent_out && is_last_component(p)) {
            if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return -EINVAL;
            *parent_out = cur;
            strlcpy(last, name, NAME_MAX + 1);
            return 0;
        }
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            if (cur->parent)
                cur = cur->parent;
            continue;
        }
        struct dirent *d = dir_find(cur, name);
        if (!d)
            return -ENOENT;
        cur = d->inode;
    }
    if (parent_out)
        return -EEXIST;         /* the path names the root */
    *out = cur;
    return 0;
}

static int lookup_locked(const char *path, struct inode **out)
{
    return walk_locked(path, out, NULL, NULL);
}

static int parent_locked(const char *path, struct inode **dir, char last[NAME_MAX + 1])
{
    return walk_locked(path, NULL, dir, last);
}

/* Creates an inode of type under path (which must not exist yet). */
static int create_locked(const char *path, enum inode_type type, struct inode **out)
{
    struct inode *dir;
    char last[NAME_MAX + 1];
    int err = parent_locked(path, &dir, last);
    if (err)
        return err;
    if (dir_find(dir, last))
        return -EEXIST;
    struct inode *i = inode_new(type);
    if (!i)
        return -ENOMEM;
    err = dir_add(dir, last, i);
    if (err) {
        inode_release_if_unused(i);
        return err;
    }
    if (out)
        *out = i;
    return 0;
}

/* ---- open files ---- */

static struct file *file_new(struct inode *inode, const struct file_operations *ops, u32 flags)
{
    struct file *f = kzalloc(sizeof(*f), GFP_KERNEL);
    if (!f)
        return NULL;
    f->inode = inode;
    f->ops = ops;
    f->flags = flags;
    f->refs = 1;
    atomic_inc64(&files_live);
    return f;
}

static bool readable(const struct file *f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
static bool writable(const struct file *f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

int vfs_open(const char *path, int flags, struct file **out)
{
    bool write = (flags & O_ACCMODE) != O_RDONLY;
    if ((flags & O_ACCMODE) == O_ACCMODE)
        return -EINVAL;
    mutex_lock(&fs_mutex);
    struct inode *i;
    int err = lookup_locked(path, &i);
    if (err == -ENOENT && (flags & O_CREAT))
        err = create_locked(path, INODE_FILE, &i);
    else if (!err && (flags & O_CREAT) && (flags & O_EXCL))
        err = -EEXIST;
    if (!err && i->type == INODE_DIR && write)
        err = -EISDIR;
    if (!err && i->type == INODE_FILE && i->initrd_data && write)
        err = -EROFS;
    if (!err && (i->type == INODE_CHAR_DEVICE || i->type == INODE_BLOCK_DEVICE) && !module_get(i->owner))
        err = -ENODEV;          /* its driver is being unloaded */
    if (err) {
        mutex_unlock(&fs_mutex);
        return err;
    }
    bool device = i->type == INODE_CHAR_DEVICE || i->type == INODE_BLOCK_DEVICE;
    if (i->type == INODE_FILE && (flags & O_TRUNC) && write)
        truncate_locked(i);
    struct file *f = file_new(i, device ? i->fops : NULL, (u32)flags);
    if (!f) {
        if (device)
            module_put(i->owner);
        mutex_unlock(&fs_mutex);
        return -ENOMEM;
    }
    i->open_count++;
    mutex_unlock(&fs_mutex);

    if (f->ops && f->ops->open) {
        err = f->ops->open(i, f);
        if (err) {
            f->ops = NULL;      /* no release for a file that never opened */
            file_put(f);
            return err;
        }
    }
    *out = f;
    return 0;
}

struct file *file_get(struct file *f)
{
    atomic_inc32(&f->refs);
    return f;
}

void file_put(struct file *f)
{
    if (atomic_fetch_add32(&f->refs, (u32)-1) != 1)
        return;
    struct inode *i = f->inode;
    if (f->ops && f->ops->release)
        f->ops->release(i, f);
    if (i) {
        struct module *owner = NULL;
        bool device = i->type == INODE_CHAR_DEVICE || i->type == INODE_BLOCK_DEVICE;
        mutex_lock(&fs_mutex);
        if (device)
            owner = i->owner;
        i->open_count--;
        inode_release_if_unused(i);
        mutex_unlock(&fs_mutex);
        if (device)
            module_put(owner);
    }
    kfree(f);
    atomic_dec64(&files_live);
}

/* A file with no inode (a pipe end); ops serve everything. */
struct file *vfs_file_anonymous(const struct file_operations *ops, void *private_data, u32 flags)
{
    struct file *f = file_new(NULL, ops, flags);
    if (f)
        f->private_data = private_data;
    return f;
}

/* ---- regular file data ---- */

static long file_read_locked(struct inode *i, void __user *buf, size_t count, u64 *pos)
{
    if (*pos >= i->size)
        return 0;
    count = MIN(count, i->size - *pos);
    /* A copy that faults part way transfers what it could, as read(2) does. */
    size_t done = 0;
    while (done < count) {
        u64 at = *pos + done;
        u64 page = at / PAGE_SIZE, offset = at % PAGE_SIZE;
        size_t n = MIN(count - done, PAGE_SIZE - offset);
        static const u8 zeroes[PAGE_SIZE];
        const u8 *src;
        if (i->initrd_data)
            src = i->initrd_data + at;
        else
            src = page < i->page_slots && i->pages[page] ? i->pages[page] + offset : zeroes;
        u64 left = copy_to_user((u8 __user *)buf + done, src, n);
        done += n - left;
        if (left)
            break;
    }
    if (!done && count)
        return -EFAULT;
    *pos += done;
    return (long)done;
}

static long file_write_locked(struct inode *i, const void __user *buf, size_t count, u64 *pos)
{
    if (*pos >= FILE_SIZE_MAX)
        return count ? -EFBIG : 0;
    count = MIN(count, FILE_SIZE_MAX - *pos);
    u64 pages_needed = (*pos + count + PAGE_SIZE - 1) / PAGE_SIZE;
    if (pages_needed > i->page_slots) {
        u8 **grown = krealloc(i->pages, pages_needed * sizeof(u8 *), GFP_KERNEL);
        if (!grown)
            return -ENOMEM;
        memset(grown + i->page_slots, 0, (pages_needed - i->page_slots) * sizeof(u8 *));
        i->pages = grown;
        i->page_slots = pages_needed;
    }
    size_t done = 0;
    while (done < count) {
        u64 at = *pos + done;
        u64 page = at / PAGE_SIZE, offset = at % PAGE_SIZE;
        size_t n = MIN(count - done, PAGE_SIZE - offset);
        if (!i->pages[page]) {
            i->pages[page] = kzalloc(PAGE_SIZE, GFP_KERNEL);
            if (!i->pages[page])
                break;
        }
        u64 left = copy_from_user(i->pages[page] + offset, (const u8 __user *)buf + done, n);
        done += n - left;
        if (left) {
            if (!done)
                return -EFAULT;
            break;
        }
    }
    if (!done && count)
        return -ENOMEM;
    *pos += done;
    i->size = MAX(i->size, *pos);
    return (long)done;
}

long vfs_read(struct file *f, void __user *buf, size_t count)
{
    if (!readable(f))
        return -EBADF;
    if (f->ops)
        return f->ops->read ? f->ops->read(f, buf, count, &f->pos) : -EINVAL;
    struct inode *i = f->inode;
    if (i->type == INODE_DIR)
        return -EISDIR;
    mutex_lock(&fs_mutex);
    long n = file_read_locked(i, buf, count, &f->pos);
    mutex_unlock(&fs_mutex);
    return n;
}

long vfs_write(struct file *f, const void __user *buf, size_t count)
{
    if (!writable(f))
        return -EBADF;
    if (f->ops)
        return f->ops->write ? f->ops->write(f, buf, count, &f->pos) : -EINVAL;
    mutex_lock(&fs_mutex);
    if (f->flags & O_APPEND)
        f->pos = f->inode->size;
    long n = file_write_locked(f->inode, buf, count, &f->pos);
    mutex_unlock(&fs_mutex);
    return n;
}

long vfs_lseek(struct file *f, s64 offset, int whence)
{
    struct inode *i = f->inode;
    if (!i || i->type == INODE_CHAR_DEVICE)
        return -ESPIPE;
    s64 base;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = (s64)f->pos; break;
    case SEEK_END:
        if (i->type != INODE_FILE)
            return -EINVAL;
        base = (s64)READ_ONCE(i->size);
        break;
    default: return -EINVAL;
    }
    s64 pos = base + offset;
    if (pos < 0 || (offset > 0 && pos < base))
        return -EINVAL;
    f->pos = (u64)pos;
    return pos;
}

long vfs_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
    if (f->ops && f->ops->ioctl)
        return f->ops->ioctl(f, cmd, arg);
    return -ENOTTY;
}

/* ---- the name space ---- */

int vfs_mkdir(const char *path)
{
    mutex_lock(&fs_mutex);
    int err = create_locked(path, INODE_DIR, NULL);
    mutex_unlock(&fs_mutex);
    return err;
}

/* Removes the entry for path if check() allows; shared by rmdir and unlink. */
static int remove_entry(const char *path, int (*check)(struct inode *i))
{
    mutex_lock(&fs_mutex);
    struct inode *dir;
    char last[NAME_MAX + 1];
    int err = parent_locked(path, &dir, last);
    struct dirent *d = NULL;
    if (!err) {
        d = dir_find(dir, last);
        err = d ? check(d->inode) : -ENOENT;
    }
    if (!err) {
        struct inode *i = d->inode;
        dir_remove(dir, d);
        inode_release_if_unused(i);
    }
    mutex_unlock(&fs_mutex);
    return err;
}

static int rmdir_check(struct inode *i)
{
    if (i->type != INODE_DIR)
        return -ENOTDIR;
    if (i->entries)
        return -ENOTEMPTY;
    return 0;
}

static int unlink_check(struct inode *i)
{
    if (i->type == INODE_DIR)
        return -EISDIR;
    if (i->type != INODE_FILE)
        return -EPERM;          /* device nodes belong to their drivers */
    if (i->initrd_data)
        return -EROFS;
    return 0;
}

int vfs_rmdir(const char *path) { return remove_entry(path, rmdir_check); }
int vfs_unlink(const char *path) { return remove_entry(path, unlink_check); }

int vfs_file_data(const char *path, const u8 **data, size_t *size)
{
    mutex_lock(&fs_mutex);
    struct inode *i;
    int err = lookup_locked(path, &i);
    if (!err && i->type == INODE_DIR)
        err = -EISDIR;
    else if (!err && i->type != INODE_FILE)
        err = -EACCES;
    else if (!err && !i->initrd_data)
        err = -ENOEXEC;         /* only files from the initrd are stored in one piece */
    if (!err) {
        *data = i->initrd_data;
        *size = i->size;
    }
    mutex_unlock(&fs_mutex);
    return err;
}

bool vfs_lookup_type(const char *path, enum inode_type *type)
{
    mutex_lock(&fs_mutex);
    struct inode *i;
    bool found = lookup_locked(path, &i) == 0;
    if (found)
        *type = i->type;
    mutex_unlock(&fs_mutex);
    return found;
}

/* ---- device nodes ---- */

int register_device(const char *name, enum inode_type type, const struct file_operations *ops, void *device)
{
    char path[8 + NAME_MAX + 1];
    if (type != INODE_CHAR_DEVICE && type != INODE_BLOCK_DEVICE)
        return -EINVAL;
    if (strlen(name) > NAME_MAX || strchr(name, '/'))
        return -EINVAL;
    snprintf(path, sizeof(path), "/dev/%s", name);
    mutex_lock(&fs_mutex);
    struct inode *i;
    int err = create_locked(path, type, &i);
    if (!err) {
        i->fops = ops;
        i->device = device;
        i->owner = module_of_address((u64)ops);
    }
    mutex_unlock(&fs_mutex);
    return err;
}
EXPORT_SYMBOL(register_device);

int unregister_device(const char *name)
{
    char path[8 + NAME_MAX + 1];
    snprintf(path, sizeof(path), "/dev/%s", name);
    mutex_lock(&fs_mutex);
    struct inode *dir;
    char last[NAME_MAX + 1];
    int err = parent_locked(path, &dir, last);
    struct dirent *d = NULL;
    if (!err) {
        d = dir_find(dir, last);
        if (!d || (d->inode->type != INODE_CHAR_DEVICE && d->inode->type != INODE_BLOCK_DEVICE))
            err = -ENOENT;
        else if (d->inode->open_count)
            err = -EBUSY;
    }
    if (!err) {
        struct inode *i = d->inode;
        dir_remove(dir, d);
        inode_release_if_unused(i);
    }
    mutex_unlock(&fs_mutex);
    return err;
}
EXPORT_SYMBOL(unregister_device);

/* ---- built-in devices ---- */

static long dev_console_read(struct file *f, void __user *buf, size_t count, u64 *pos)
{
    return 0;                   /* no console input: end of file */
}

static long dev_console_write(struct file *f, const void __user *buf, size_t count, u64 *pos)
{
    char chunk[256];
    size_t done = 0;
    while (done < count) {
        size_t n = MIN(count - done, sizeof(chunk));
        if (copy_from_user(chunk, (const u8 __user *)buf + done, n))
            return done ? (long)done : -EFAULT;
        console_write(chunk, n);
        done += n;
    }
    return (long)done;
}

static long null_read(struct file *f, void __user *buf, size_t count, u64 *pos)
{
    return 0;
}

static long null_write(struct file *f, const void __user *buf, size_t count, u64 *pos)
{
    return (long)count;
}

static long zero_read(struct file *f, void __user *buf, size_t count, u64 *pos)
{
    static const u8 zeroes[256];
    size_t done = 0;
    while (done < count) {
        size_t n = MIN(count - done, sizeof(zeroes));
        if (copy_to_user((u8 __user *)buf + done, zeroes, n))
            return done ? (long)done : -EFAULT;
        done += n;
    }
    return (long)done;
}

static const struct file_operations console_ops = { .read = dev_console_read, .write = dev_console_write };
static const struct file_operations null_ops = { .read = null_read, .write = null_write };
static const struct file_operations zero_ops = { .read = zero_read, .write = null_write };

/* ---- start-up ---- */

struct populate {
    u32 files, dirs, failures;
};

/* Mirrors one initrd entry; its parents come first in the archive (mkinitrd writes them so). */
static void populate_visit(const char *name, u32 mode, const void *data, size_t size, void *ctx)
{
    struct populate *pop = ctx;
    struct inode *i;
    int err;
    if ((mode & 0170000) == 0040000) {
        err = create_locked(name, INODE_DIR, &i);
        if (err == -EEXIST)
            err = 0;
        pop->dirs += err == 0;
    } else if ((mode & 0170000) == 0100000) {
        err = create_locked(name, INODE_FILE, &i);
        if (!err) {
            i->initrd_data = data;
            i->size = size;
            pop->files++;
        }
    } else {
        return;
    }
    if (err) {
        pop->failures++;
        printk("vfs: initrd entry '%s' not added (error %d)\n", name, err);
    }
}

void vfs_init(void)
{
    root = inode_new(INODE_DIR);
    if (!root)
        panic("vfs: no memory for the root directory");
    root->nlink = 1;            /* never freed */
    mutex_lock(&fs_mutex);
    struct populate pop = { 0, 0, 0 };
    initrd_for_each(populate_visit, &pop);
    int err = 0;
    enum inode_type type;
    mutex_unlock(&fs_mutex);
    if (!vfs_lookup_type("/dev", &type))
        err |= vfs_mkdir("/dev");
    if (!vfs_lookup_type("/tmp", &type))
        err |= vfs_mkdir("/tmp");
    err |= register_device("console", INODE_CHAR_DEVICE, &console_ops, NULL);
    err |= register_device("null", INODE_CHAR_DEVICE, &null_ops, NULL);
    err |= register_device("zero", INODE_CHAR_DEVICE, &zero_ops, NULL);
    if (err)
        panic("vfs: cannot create /dev, /tmp or the built-in devices");
    printk("vfs: %u files and %u directories from the initrd, /dev/console /dev/null /dev/zero\n",
           pop.files, pop.dirs);
}

u64 vfs_inodes_live(void) { return READ_ONCE(inodes_live); }
u64 vfs_files_live(void) { return READ_ONCE(files_live); }
