/*
 * The in-memory file system: one tree of inodes under "/", holding
 * directories, regular files (in kmalloc'd pages, or read-only in place in
 * the initrd), device nodes (operations supplied by a driver) and anonymous
 * pipes. Paths are absolute ("/bin/pipe"; a path without the leading "/"
 * means the same). Open files are struct file; processes hold them in their
 * descriptor tables, fork shares them.
 */
#ifndef DRK_VFS_H
#define DRK_VFS_H

#include "types.h"
#include "uapi/syscall.h"

struct inode;
struct file;
struct module;

/* What a driver supplies for its device node; unset members mean "not supported". */
struct file_operations {
    int (*open)(struct inode *inode, struct file *file);
    void (*release)(struct inode *inode, struct file *file);
    long (*read)(struct file *file, void __user *buf, size_t count, u64 *pos);
    long (*write)(struct file *file, const void __user *buf, size_t count, u64 *pos);
    long (*ioctl)(struct file *file, unsigned int cmd, unsigned long arg);
};

enum inode_type {
    INODE_DIR = 1,
    INODE_FILE,
    INODE_CHAR_DEVICE,
    INODE_BLOCK_DEVICE,
    INODE_PIPE,
};

struct dirent {
    struct dirent *next;
    struct inode *inode;
    char name[NAME_MAX + 1];
};

struct inode {
    u32 ino;
    enum inode_type type;
    u32 nlink;                  /* directory entries naming it */
    u32 open_count;             /* struct files referring to it */
    u64 size;
    /* regular files: data in pages, or in place in the initrd (read-only) */
    u8 **pages;
    u64 page_slots;
    const u8 *initrd_data;
    /* directories */
    struct dirent *entries;
    struct inode *parent;
    /* device nodes */
    const struct file_operations *fops;
    void *device;               /* the driver's, for its operations */
    struct module *owner;       /* held while a file is open */
};

struct file {
    struct inode *inode;
    const struct file_operations *ops;
    u64 pos;
    u32 flags;                  /* O_* given to open */
    volatile u32 refs;          /* descriptors (in any process) referring to it */
    void *private_data;         /* the driver's, per open file */
};

void vfs_init(void);

/* Opens path (O_CREAT creates a regular file); *out holds one reference. */
int vfs_open(const char *path, int flags, struct file **out);
struct file *file_get(struct file *f);
void file_put(struct file *f);

long vfs_read(struct file *f, void __user *buf, size_t count);
long vfs_write(struct file *f, const void __user *buf, size_t count);
long vfs_lseek(struct file *f, s64 offset, int whence);
long vfs_ioctl(struct file *f, unsigned int cmd, unsigned long arg);
int vfs_mkdir(const char *path);
int vfs_rmdir(const char *path);
int vfs_unlink(const char *path);

/*
 * A regular file stored in one piece (files from the initrd): its data
 * stays valid while the file system exists. Used by exec.
 */
int vfs_file_data(const char *path, const u8 **data, size_t *size);
/* Whether path names something, and its type. */
bool vfs_lookup_type(const char *path, enum inode_type *type);

/*
 * Creates /dev/NAME with ops. The module that holds ops (if any) is kept
 * loaded while the node is open, so rmmod fails with -EBUSY meanwhile.
 */
int register_device(const char *name, enum inode_type type, const struct file_operations *ops, void *device);
int unregister_device(const char *name);

/* A file with no inode, served entirely by ops (pipe ends). */
struct file *vfs_file_anonymous(const struct file_operations *ops, void *private_data, u32 flags);

/* A pipe: two files, [0] reads and [1] writes (pipe.c). */
int pipe_create(struct file *ends[2]);

/* Live inodes and open files, for leak checks. */
u64 vfs_inodes_live(void);
u64 vfs_files_live(void);

#endif
