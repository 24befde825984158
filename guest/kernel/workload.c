/*
 * The workload runner ("run=" on the command line). Each workload is a user
 * program /bin/NAME in the initrd that runs a fixed number of iterations and
 * prints one result line (docs/guest-abi.md, section 15). The runner starts
 * them one at a time on cpu0, waits for each, and checks that the kernel got
 * back every byte and object the workload (and any driver module it loaded
 * and unloaded) used: one "memcheck" line per workload.
 *
 * Nothing here depends on time: iteration counts come from uapi/workloads.h
 * or the command line, and the output is printed by one process at a time.
 */
#include "kernel.h"
#include "bootinfo.h"
#include "process.h"
#include "vfs.h"
#include "uapi/workloads.h"

struct workload {
    const char *name;
    u64 iterations;             /* default */
};

#define WORKLOAD_ENTRY(name, iterations) { name, iterations },
static const struct workload suite[] = { WORKLOAD_SUITE(WORKLOAD_ENTRY) };

/* What must come back to where it was after a workload. */
struct usage {
    struct mem_stats mem;
    u64 pages_used;             /* every page not free, except kernel page tables (never freed) */
    u64 threads, processes, inodes, files;
};

static void usage_get(struct usage *u)
{
    mem_stats_get(&u->mem);
    u->pages_used = u->mem.pages_total - u->mem.pages_free - u->mem.pages_by_kind[PAGE_KIND_PAGE_TABLE];
    u->threads = threads_live();
    u->processes = processes_live();
    u->inodes = vfs_inodes_live();
    u->files = vfs_files_live();
}

/* Appends " key=+N" (or -N) to buf. */
static void add_delta(char *buf, size_t size, const char *key, u64 before, u64 after, bool *leak)
{
    s64 d = (s64)(after - before);
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, " %s=%s%ld", key, d >= 0 ? "+" : "", d);
    if (d)
        *leak = true;
}

static bool memcheck(const char *name, const struct usage *b, const struct usage *a)
{
    char line[320] = "";
    bool leak = false;
    add_delta(line, sizeof(line), "kmalloc_objects", b->mem.kmalloc_objects, a->mem.kmalloc_objects, &leak);
    add_delta(line, sizeof(line), "kmalloc_bytes", b->mem.kmalloc_bytes, a->mem.kmalloc_bytes, &leak);
    add_delta(line, sizeof(line), "cache_objects", b->mem.cache_objects, a->mem.cache_objects, &leak);
    add_delta(line, sizeof(line), "caches", b->mem.caches, a->mem.caches, &leak);
    add_delta(line, sizeof(line), "page_blocks", b->mem.alloc_pages_blocks, a->mem.alloc_pages_blocks, &leak);
    add_delta(line, sizeof(line), "pages", b->pages_used, a->pages_used, &leak);
    add_delta(line, sizeof(line), "threads", b->threads, a->threads, &leak);
    add_delta(line, sizeof(line), "processes", b->processes, a->processes, &leak);
    add_delta(line, sizeof(line), "inodes", b->inodes, a->inodes, &leak);
    add_delta(line, sizeof(line), "files", b->files, a->files, &leak);
    printk("memcheck workload=%s%s verdict=%s\n", name, line, leak ? "LEAK" : "ok");
    return !leak;
}

static u64 iterations_for(const char *name)
{
    u64 n = WORKLOAD_DEFAULT_ITERATIONS;
    for (unsigned i = 0; i < ARRAY_SIZE(suite); i++)
        if (strcmp(suite[i].name, name) == 0)
            n = suite[i].iterations;
    char key[64];
    cmdline_u64("iterations", &n);
    snprintf(key, sizeof(key), "iterations.%s", name);
    cmdline_u64(key, &n);
    return n;
}

/* Runs one program; true if it exited with 0 and leaked nothing. */
static bool run_one(const char *name)
{
    char path[PATH_MAX], arg[40];
    enum inode_type type;
    snprintf(path, sizeof(path), "/bin/%s", name);
    if (!vfs_lookup_type(path, &type) || type != INODE_FILE) {
        printk("run: %s: no such workload (no %s in the initrd)\n", name, path);
        return false;
    }
    snprintf(arg, sizeof(arg), "iterations=%lu", iterations_for(name));
    const char *argv[] = { name, arg };

    struct usage before, after;
    usage_get(&before);
    struct process *p = process_spawn(path, 2, argv, 0);
    if (!p) {
        printk("run: %s: cannot start\n", name);
        return false;
    }
    int code = process_wait_spawned(p);
    usage_get(&after);
    bool ok = memcheck(name, &before, &after);
    if (code != 0) {
        printk("run: %s: FAILED with exit code %d\n", name, code);
        ok = false;
    }
    return ok;
}

int workloads_run(const char *list)
{
    u64 start = ticks_now();
    u32 runs = 0, failed = 0;
    char buf[256];
    strlcpy(buf, list, sizeof(buf));
    char *p = buf;
    while (*p) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        if (strcmp(p, "all") == 0) {
            for (unsigned i = 0; i < ARRAY_SIZE(suite); i++, runs++)
                failed += !run_one(suite[i].name);
        } else if (*p) {
            failed += !run_one(p);
            runs++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    printk("[t] run: %lu ticks\n", ticks_now() - start);
    printk("run: %u of %u workloads passed\n", runs - failed, runs);
    return failed ? EXIT_FAILED : EXIT_SUCCESS;
}
