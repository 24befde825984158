/*
 * The initrd is a cpio archive in the "newc" format: per file a 110-byte
 * ASCII header ("070701" and 13 eight-digit hex fields), the NUL-terminated
 * name, padding to 4 bytes, the data, padding to 4 bytes; "TRAILER!!!" ends
 * it. guest/tools/mkinitrd.c writes it.
 */
#include "kernel.h"
#include "initrd.h"
#include "bootinfo.h"

static const u8 *initrd;
static size_t initrd_size;

#define NEWC_HEADER_SIZE 110
#define NEWC_FILESIZE    6      /* field indices */
#define NEWC_NAMESIZE    11
#define NEWC_MODE        1

/* Header fields are eight hex digits without a prefix. */
static bool field(const u8 *header, int index, u64 *out)
{
    u64 v = 0;
    const u8 *p = header + 6 + index * 8;
    for (int i = 0; i < 8; i++) {
        u8 c = p[i];
        u64 d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        v = v * 16 + d;
    }
    *out = v;
    return true;
}

/* Calls visit for each entry until it returns true; false on a malformed archive. */
static bool walk(bool (*visit)(const char *name, u32 mode, const void *data, size_t size, void *ctx), void *ctx)
{
    size_t off = 0;
    while (off + NEWC_HEADER_SIZE <= initrd_size) {
        const u8 *h = initrd + off;
        u64 name_size, file_size, mode;
        if (memcmp(h, "070701", 6) != 0 || !field(h, NEWC_NAMESIZE, &name_size) ||
            !field(h, NEWC_FILESIZE, &file_size) || !field(h, NEWC_MODE, &mode))
            return false;
        size_t name_off = off + NEWC_HEADER_SIZE;
        if (name_size == 0 || name_off + name_size > initrd_size)
            return false;
        const char *name = (const char *)initrd + name_off;
        if (name[name_size - 1] != 0)
            return false;
        if (strcmp(name, "TRAILER!!!") == 0)
            return true;
        size_t data_off = ALIGN_UP(name_off + name_size, 4);
        if (data_off + file_size > initrd_size)
            return false;
        if (visit(name, (u32)mode, initrd + data_off, file_size, ctx))
            return true;
        off = ALIGN_UP(data_off + file_size, 4);
    }
    return false;
}

static bool is_regular(u32 mode)
{
    return (mode & 0170000) == 0100000;
}

static bool count_visit(const char *name, u32 mode, const void *data, size_t size, void *ctx)
{
    if (is_regular(mode))
        (*(u32 *)ctx)++;
    return false;
}

struct find_ctx {
    const char *path;
    const void *data;
    size_t size;
    bool found;
};

static bool find_visit(const char *name, u32 mode, const void *data, size_t size, void *ctx)
{
    struct find_ctx *f = ctx;
    if (!is_regular(mode) || strcmp(name, f->path) != 0)
        return false;
    f->data = data;
    f->size = size;
    f->found = true;
    return true;
}

void initrd_init(void)
{
    if (!boot_info.initrd_size) {
        printk("initrd: none\n");
        return;
    }
    initrd = phys_to_virt(boot_info.initrd_phys);
    initrd_size = boot_info.initrd_size;
    u32 files = 0;
    if (!walk(count_visit, &files)) {
        printk("initrd: not a cpio newc archive, ignored\n");
        initrd = NULL;
        initrd_size = 0;
        return;
    }
    printk("initrd: %u files, %lu bytes\n", files, (u64)initrd_size);
}

bool initrd_find(const char *path, const void **data, size_t *size)
{
    if (!initrd)
        return false;
    struct find_ctx f = { path, NULL, 0, false };
    walk(find_visit, &f);
    if (f.found) {
        *data = f.data;
        *size = f.size;
    }
    return f.found;
}

u32 initrd_file_count(void)
{
    u32 files = 0;
    if (initrd)
        walk(count_visit, &files);
    return files;
}

struct for_each_ctx {
    void (*visit)(const char *name, u32 mode, const void *data, size_t size, void *ctx);
    void *ctx;
};

static bool for_each_visit(const char *name, u32 mode, const void *data, size_t size, void *ctx)
{
    struct for_each_ctx *e = ctx;
    e->visit(name, mode, data, size, e->ctx);
    return false;
}

void initrd_for_each(void (*visit)(const char *name, u32 mode, const void *data, size_t size, void *ctx), void *ctx)
{
    struct for_each_ctx e = { visit, ctx };
    if (initrd)
        walk(for_each_visit, &e);
}
