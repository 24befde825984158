/*
 * Kernel self-tests ("selftest" on the command line). They run in the init
 * thread and print from it alone, in a fixed order, so the output does not
 * depend on how threads interleave; worker threads only compute and the
 * results are checked after they are joined. Each suite also checks that it
 * leaked no memory and no threads. docs/guest-abi.md describes the output.
 */
#include "kernel.h"
#include "selftest.h"
#include "bootinfo.h"
#include "uaccess.h"
#include "vfs.h"
#include "irq.h"
#include "tlb.h"
#include "process.h"

static const char *suite_name;
static u32 suite_checks, suite_failures;

static void check(bool ok, const char *expr, int line)
{
    suite_checks++;
    if (!ok) {
        suite_failures++;
        printk("selftest: FAIL %s: selftest.c:%d: %s\n", suite_name, line, expr);
    }
}

#define CHECK(cond) check((cond), #cond, __LINE__)

/* ---- reports from test modules ---- */

/* The text is copied: a module's strings go away when it is unloaded. */
struct module_report {
    char what[48];
    long value;
};

static struct module_report reports[16];
static struct spinlock reports_lock = SPINLOCK_INIT("selftest_reports");

void selftest_module_report(const char *what, long value)
{
    u64 flags = spin_lock_irqsave(&reports_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(reports); i++) {
        if (!reports[i].what[0] || strcmp(reports[i].what, what) == 0) {
            strlcpy(reports[i].what, what, sizeof(reports[i].what));
            reports[i].value = value;
            break;
        }
    }
    spin_unlock_irqrestore(&reports_lock, flags);
}
EXPORT_SYMBOL(selftest_module_report);

static bool report_value(const char *what, long *value)
{
    for (unsigned i = 0; i < ARRAY_SIZE(reports); i++) {
        if (reports[i].what[0] && strcmp(reports[i].what, what) == 0) {
            *value = reports[i].value;
            return true;
        }
    }
    return false;
}

/* Forgets all reports. */
static void reports_clear(void)
{
    memset(reports, 0, sizeof(reports));
}

/* ---- printk formatting ---- */

static __printf(3, 4) void check_format(int line, const char *expected, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    bool ok = strcmp(buf, expected) == 0;
    check(ok, fmt, line);
    if (!ok)
        printk("selftest: printk: got '%s', expected '%s'\n", buf, expected);
}

#define FORMAT(expected, ...) check_format(__LINE__, expected, __VA_ARGS__)

static void test_printk(void)
{
    FORMAT("-42 7 4294967295", "%d %i %u", -42, 7, 4294967295u);
    FORMAT("beef BEEF ffffffff80000000", "%x %X %lx", 0xbeefu, 0xbeefu, 0xffffffff80000000ul);
    FORMAT("-9223372036854775808 18446744073709551615", "%ld %lu", (long)INT64_MIN, (unsigned long)UINT64_MAX);
    FORMAT("123 -5", "%zu %lld", (size_t)123, -5ll);
    FORMAT("[   42][42   ][-0042][00000abc]", "[%5d][%-5d][%05d][%08x]", 42, 42, -42, 0xabcu);
    FORMAT("0x0000000000001234", "%p", (void *)0x1234);
    FORMAT("[abc][ab][abc   ][   abc]", "[%s][%.2s][%-6s][%6s]", "abc", "abc", "abc", "abc");
    const char *volatile null_string = NULL;   /* volatile: gcc rejects a literal NULL for %s */
    FORMAT("(null)", "%s", null_string);
    FORMAT("z|  z|100%", "%c|%3c|100%%", 'z', 'z');
    FORMAT("[    7]", "[%*d]", 5, 7);
    char small[4];
    CHECK(snprintf(small, sizeof(small), "abcdef") == 6);
    CHECK(strcmp(small, "abc") == 0);
}

/* ---- page allocator ---- */

static void test_pmm(void)
{
    /* The free lists as boot and everything since left them. */
    CHECK(pmm_check() == 0);
    struct mem_stats before, during;
    mem_stats_get(&before);
    void *blocks[6];
    for (unsigned order = 0; order < 6; order++) {
        blocks[order] = alloc_pages(GFP_ZERO, order);
        CHECK(blocks[order] != NULL);
        if (!blocks[order])
            return;
        CHECK(virt_to_phys(blocks[order]) % (PAGE_SIZE << order) == 0);
        bool zero = true;
        for (u64 i = 0; i < (PAGE_SIZE << order) / 8; i++)
            zero &= ((u64 *)blocks[order])[i] == 0;
        CHECK(zero);
        memset(blocks[order], 0xa5, PAGE_SIZE << order);
    }
    mem_stats_get(&during);
    CHECK(during.alloc_pages_blocks == before.alloc_pages_blocks + 6);
    CHECK(during.pages_by_kind[PAGE_KIND_API] == before.pages_by_kind[PAGE_KIND_API] + 63);
    CHECK(during.pages_free == before.pages_free - 63);
    for (unsigned order = 0; order < 6; order++)
        free_pages(blocks[order], order);

    /* Many single pages, freed in a different order, must merge back completely. */
    enum { N = 200 };
    static void *pages[N];
    for (int i = 0; i < N; i++) {
        pages[i] = alloc_pages(GFP_KERNEL, 0);
        CHECK(pages[i] != NULL);
    }
    bool distinct = true;
    for (int i = 1; i < N; i++)
        distinct &= pages[i] != pages[i - 1];
    CHECK(distinct);
    for (int i = 0; i < N; i += 2)
        free_pages(pages[i], 0);
    for (int i = 1; i < N; i += 2)
        free_pages(pages[i], 0);
    struct mem_stats after;
    mem_stats_get(&after);
    CHECK(after.pages_free == before.pages_free);
    CHECK(after.alloc_pages_blocks == before.alloc_pages_blocks);
    CHECK(pmm_check() == 0);
    void *big = alloc_pages(GFP_KERNEL, MAX_PAGE_ORDER);
    CHECK(big != NULL);
    free_pages(big, MAX_PAGE_ORDER);
}

/* ---- page tables ---- */

extern char __text_start[], __rodata_start[], __data_start[];

static void test_vm(void)
{
    u64 pa, flags;
    const u64 *kpml4 = vm_kernel_pml4();

    CHECK(vm_translate(kpml4, (u64)__text_start, &pa, &flags));
    CHECK(!(flags & PTE_WRITE) && !(flags & PTE_NX));
    CHECK(pa == (u64)__text_start - KERNEL_VMA);
    CHECK(vm_translate(kpml4, (u64)__rodata_start, &pa, &flags));
    CHECK(!(flags & PTE_WRITE) && (flags & PTE_NX));
    CHECK(vm_translate(kpml4, (u64)__data_start, &pa, &flags));
    CHECK((flags & PTE_WRITE) && (flags & PTE_NX));
    CHECK(flags & PTE_GLOBAL);
    CHECK(vm_translate(kpml4, DIRECT_MAP_BASE + 0x123456, &pa, &flags));
    CHECK(pa == 0x123456 && (flags & PTE_NX) && (flags & PTE_GLOBAL));
    CHECK(read_cr4() & CR4_PGE);
    CHECK(!vm_translate(kpml4, 0, &pa, NULL));

    /* Kernel stacks sit above an unmapped guard page. */
    u8 *stack = kstack_alloc(KSTACK_PAGES);
    CHECK(stack != NULL);
    CHECK(vm_translate(kpml4, (u64)stack, &pa, NULL));
    CHECK(vm_translate(kpml4, (u64)stack + KSTACK_SIZE - 1, &pa, NULL));
    CHECK(!vm_translate(kpml4, (u64)stack - 1, &pa, NULL));
    struct thread *me = current_thread();
    CHECK(!vm_translate(kpml4, me->stack_base - PAGE_SIZE, &pa, NULL));
    kstack_free(stack, KSTACK_PAGES);
    CHECK(!vm_translate(kpml4, (u64)stack, &pa, NULL));

    /* A user address space: private lower half, shared kernel half. */
    struct mem_stats before, after;
    mem_stats_get(&before);
    struct address_space *as = as_create();
    CHECK(as != NULL);
    if (!as)
        return;
    const u64 user_va = 0x400000;
    CHECK(as_map_new_page(as, user_va, PTE_WRITE) == 0);
    CHECK(as_map_new_page(as, user_va + 0x200000000ul, 0) == 0);
    CHECK(as_map_new_page(as, user_va, PTE_WRITE) == -EEXIST);
    CHECK(as_map_new_page(as, KERNEL_VMA, 0) == -EINVAL);
    CHECK(as_translate(as, user_va + 8, &pa));
    *(volatile u64 *)phys_to_virt(pa) = 0x1122334455667788ul;
    CHECK(!vm_translate(kpml4, user_va, &pa, NULL));

    as_switch(as);
    CHECK(read_cr3() == as->root);
    u64 seen = *(volatile u64 *)(user_va + 8);
    *(volatile u64 *)(user_va + 16) = 99;
    /* The kernel half still works under the user tables. */
    CHECK(vm_translate(vm_kernel_pml4(), (u64)__text_start, &pa, NULL));
    as_switch(NULL);
    CHECK(read_cr3() == vm_kernel_root());
    CHECK(seen == 0x1122334455667788ul);
    CHECK(as_translate(as, user_va + 16, &pa) && *(u64 *)phys_to_virt(pa) == 99);
    CHECK(as->user_pages == 2);

    mem_stats_get(&after);
    CHECK(after.pages_by_kind[PAGE_KIND_USER] == before.pages_by_kind[PAGE_KIND_USER] + 2);
    CHECK(after.pages_by_kind[PAGE_KIND_USER_TABLE] > before.pages_by_kind[PAGE_KIND_USER_TABLE]);
    as_destroy(as);
    mem_stats_get(&after);
    CHECK(after.pages_by_kind[PAGE_KIND_USER] == before.pages_by_kind[PAGE_KIND_USER]);
    CHECK(after.pages_by_kind[PAGE_KIND_USER_TABLE] == before.pages_by_kind[PAGE_KIND_USER_TABLE]);
    CHECK(after.pages_by_kind[PAGE_KIND_PAGE_TABLE] == before.pages_by_kind[PAGE_KIND_PAGE_TABLE]);
}

/* ---- slab allocator ---- */

static int ctor_calls;

static void test_object_ctor(void *p)
{
    memset(p, 0x5a, 8);
    ctor_calls++;
}

static void test_slab(void)
{
    static const size_t sizes[] = { 1, 7, 8, 9, 16, 24, 33, 64, 100, 128, 200, 256, 500,
                                    512, 1000, 1024, 1500, 2048, 2049, 4096, 5000, 20000 };
    void *p[ARRAY_SIZE(sizes)];
    struct mem_stats before, during;
    mem_stats_get(&before);
    bool ok_size = true, ok_align = true;
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        p[i] = kmalloc(sizes[i], GFP_KERNEL);
        CHECK(p[i] != NULL);
        ok_size &= ksize(p[i]) >= sizes[i];
        ok_align &= ((u64)p[i] & 7) == 0;
        memset(p[i], (int)i, sizes[i]);
    }
    CHECK(ok_size);
    CHECK(ok_align);
    CHECK(ksize(p[0]) == 8);
    CHECK(ksize(p[18]) == 4096);        /* 2049 bytes: one page */
    CHECK(ksize(p[20]) == 8192);        /* 5000 bytes: two pages */
    CHECK(ksize(p[21]) == 32768);       /* 20000 bytes: order 3 */
    mem_stats_get(&during);
    CHECK(during.kmalloc_objects == before.kmalloc_objects + ARRAY_SIZE(sizes));
    bool intact = true;
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++)
        for (size_t j = 0; j < sizes[i]; j++)
            intact &= ((u8 *)p[i])[j] == (u8)i;
    CHECK(intact);
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++)
        kfree(p[i]);
    kfree(NULL);

    /* kzalloc returns zeroes even where a freed object was dirty. */
    u8 *dirty = kmalloc(96, GFP_KERNEL);
    memset(dirty, 0xff, 96);
    kfree(dirty);
    u8 *clean = kzalloc(96, GFP_KERNEL);
    bool zero = clean != NULL;
    for (int i = 0; clean && i < 96; i++)
        zero &= clean[i] == 0;
    CHECK(zero);
    kfree(clean);

    /* krealloc keeps the contents and the pointer when there is room. */
    char *s = krealloc(NULL, 10, GFP_KERNEL);
    CHECK(s != NULL);
    strlcpy(s, "drk-guest", 10);
    CHECK(krealloc(s, 12, GFP_KERNEL) == s);
    char *t = krealloc(s, 3000, GFP_KERNEL);
    CHECK(t != NULL && strcmp(t, "drk-guest") == 0);
    CHECK(ksize(t) >= 3000);
    CHECK(krealloc(t, 0, GFP_KERNEL) == NULL);

    /* Many small objects over several slabs. */
    enum { N = 600 };
    static void *objs[N];
    for (int i = 0; i < N; i++)
        objs[i] = kmalloc(48, GFP_KERNEL);
    bool all = true;
    for (int i = 0; i < N; i++)
        all &= objs[i] != NULL;
    CHECK(all);
    for (int i = N - 1; i >= 0; i--)
        kfree(objs[i]);

    /* A cache with alignment and a constructor. */
    struct kmem_cache *c = kmem_cache_create("selftest-object", 72, 64, 0, test_object_ctor);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(kmem_cache_create("bad-align", 16, 48, 0, NULL) == NULL);
    mem_stats_get(&during);
    CHECK(during.caches == before.caches + 1);
    ctor_calls = 0;
    enum { M = 100 };
    static void *cobjs[M];
    bool aligned = true, constructed = true;
    for (int i = 0; i < M; i++) {
        cobjs[i] = kmem_cache_alloc(c, GFP_KERNEL);
        aligned &= cobjs[i] && ((u64)cobjs[i] & 63) == 0;
        constructed &= cobjs[i] && ((u8 *)cobjs[i])[7] == 0x5a;
    }
    CHECK(aligned);
    CHECK(constructed);
    CHECK(ctor_calls == M);
    CHECK(kmem_cache_live_objects(c) == M);
    mem_stats_get(&during);
    CHECK(during.cache_objects == before.cache_objects + M);
    for (int i = 0; i < M; i++)
        kmem_cache_free(c, cobjs[i]);
    CHECK(kmem_cache_live_objects(c) == 0);
    kmem_cache_destroy(c);
}

/* ---- scheduler ---- */

struct counter_arg {
    int rounds;
    volatile int count;
};

static int count_and_yield(void *arg)
{
    struct counter_arg *a = arg;
    for (int i = 0; i < a->rounds; i++) {
        a->count++;
        if (i % 10 == 0)
            thread_yield();
    }
    return a->count;
}

static volatile bool preempt_flag, spinner_started;

/*
 * Never yields: once it has started, only a timer preemption lets the setter
 * run on the same CPU. It can be preempted before its first look at the flag
 * too (a tick pending when thread_start enables interrupts), which is why the
 * setter waits for spinner_started rather than for its turn.
 */
static int spin_until_flag(void *arg)
{
    WRITE_ONCE(spinner_started, true);
    while (!READ_ONCE(preempt_flag))
        cpu_relax();
    return 1;       /* reaching here at all means it was preempted */
}

/* Yields until the spinner runs, so the flag it sets can end the spinner's loop only after a preemption. */
static int set_flag(void *arg)
{
    while (!READ_ONCE(spinner_started))
        thread_yield();
    WRITE_ONCE(preempt_flag, true);
    return 7;
}

#define RING_SIZE 4

struct ring {
    struct waitq wq;
    u64 items[RING_SIZE];
    volatile u32 head, tail;    /* changed under wq.lock */
    u32 count;                  /* items to move */
    u64 sum;
};

static bool ring_has_room(struct ring *r) { return r->tail - r->head < RING_SIZE; }
static bool ring_has_item(struct ring *r) { return r->tail != r->head; }

static int producer(void *arg)
{
    struct ring *r = arg;
    for (u32 i = 1; i <= r->count; i++) {
        wait_event(&r->wq, ring_has_room(r));
        u64 flags = spin_lock_irqsave(&r->wq.lock);
        r->items[r->tail % RING_SIZE] = i;
        r->tail++;
        spin_unlock_irqrestore(&r->wq.lock, flags);
        wake_up_all(&r->wq);
    }
    return 0;
}

static int consumer(void *arg)
{
    struct ring *r = arg;
    for (u32 i = 0; i < r->count; i++) {
        wait_event(&r->wq, ring_has_item(r));
        u64 flags = spin_lock_irqsave(&r->wq.lock);
        r->sum += r->items[r->head % RING_SIZE];
        r->head++;
        spin_unlock_irqrestore(&r->wq.lock, flags);
        wake_up_all(&r->wq);
    }
    return 0;
}

static u64 ring_transfer(int producer_cpu, int consumer_cpu, u32 count)
{
    struct ring *r = kzalloc(sizeof(*r), GFP_KERNEL);
    if (!r)
        return 0;
    waitq_init(&r->wq, "ring");
    r->count = count;
    struct thread *c = thread_create("consumer", consumer, r, consumer_cpu);
    struct thread *p = thread_create("producer", producer, r, producer_cpu);
    CHECK(c != NULL && p != NULL);
    if (c)
        thread_join(c);
    if (p)
        thread_join(p);
    u64 sum = r->sum;
    kfree(r);
    return sum;
}

static struct mutex test_mutex = MUTEX_INIT("selftest");
static volatile int mutex_inside, mutex_overlaps;
static volatile u64 mutex_counter;

static int mutex_worker(void *arg)
{
    for (int i = 0; i < 50; i++) {
        mutex_lock(&test_mutex);
        if (mutex_inside++)
            mutex_overlaps++;
        u64 v = mutex_counter;
        thread_yield();         /* others run while we hold it, and must wait */
        mutex_counter = v + 1;
        mutex_inside--;
        mutex_unlock(&test_mutex);
    }
    return 0;
}

static void test_sched(void)
{
    struct counter_arg args[4];
    struct thread *threads[4];
    for (int i = 0; i < 4; i++) {
        args[i].rounds = 100 * (i + 1);
        args[i].count = 0;
        threads[i] = thread_create("counter", count_and_yield, &args[i], 0);
        CHECK(threads[i] != NULL);
    }
    bool counts = true;
    for (int i = 0; i < 4; i++)
        if (threads[i])
            counts &= thread_join(threads[i]) == 100 * (i + 1);
    CHECK(counts);

    preempt_flag = false;
    spinner_started = false;
    struct thread *spinner = thread_create("spinner", spin_until_flag, NULL, 0);
    struct thread *setter = thread_create("setter", set_flag, NULL, 0);
    CHECK(spinner && setter);
    if (spinner && setter) {
        CHECK(thread_join(spinner) == 1);
        CHECK(thread_join(setter) == 7);
    }

    u64 before = ticks_now();
    thread_sleep(3);
    CHECK(ticks_now() - before >= 3);

    CHECK(ring_transfer(0, 0, 100) == 5050);

    mutex_counter = 0;
    mutex_overlaps = 0;
    struct thread *m[3];
    for (int i = 0; i < 3; i++)
        m[i] = thread_create("mutex", mutex_worker, NULL, 0);
    for (int i = 0; i < 3; i++)
        if (m[i])
            thread_join(m[i]);
    CHECK(mutex_counter == 150);
    CHECK(mutex_overlaps == 0);
    CHECK(current_thread()->cpu == &cpus[0]);
}

/* ---- SMP ---- */

struct smp_arg {
    u32 expected_cpu;
    u32 seen_cpu;
    u64 ticks_seen;
};

static volatile u64 atomic_total;
static u64 locked_total;
static struct spinlock total_lock = SPINLOCK_INIT("selftest_total");

#define SMP_ROUNDS 20000

static int smp_worker(void *arg)
{
    struct smp_arg *a = arg;
    a->seen_cpu = cpu_id();
    for (int i = 0; i < SMP_ROUNDS; i++) {
        atomic_fetch_add64(&atomic_total, 1);
        u64 flags = spin_lock_irqsave(&total_lock);
        locked_total++;
        spin_unlock_irqrestore(&total_lock, flags);
    }
    thread_sleep(2);            /* needs this CPU's timer */
    a->ticks_seen = ticks_now();
    return 0;
}

static void test_smp(void)
{
    u32 n = cpu_count;
    CHECK(cpus_online() == n);
    struct smp_arg args[MAX_CPUS];
    struct thread *threads[MAX_CPUS];
    atomic_total = 0;
    locked_total = 0;
    for (u32 i = 0; i < n; i++) {
        args[i] = (struct smp_arg){ .expected_cpu = i };
        threads[i] = thread_create("smp", smp_worker, &args[i], (int)i);
        CHECK(threads[i] != NULL);
    }
    bool placed = true, ticking = true;
    for (u32 i = 0; i < n; i++) {
        if (!threads[i])
            continue;
        thread_join(threads[i]);
        placed &= args[i].seen_cpu == i;
        ticking &= args[i].ticks_seen >= 2;
    }
    CHECK(placed);
    CHECK(ticking);
    CHECK(atomic_total == (u64)n * SMP_ROUNDS);
    CHECK(locked_total == (u64)n * SMP_ROUNDS);
    CHECK(thread_create("nowhere", set_flag, NULL, (int)n) == NULL);
    /* A wait queue across CPUs: producer on the last CPU, consumer here. Every
     * item may need a wake-up IPI, slow under QEMU on a busy host, so few items. */
    CHECK(ring_transfer((int)n - 1, 0, 64) == 64 * 65 / 2);
}

/* ---- modules ---- */

static void test_modules(void)
{
    long value;
    struct module_reloc_counts counts;
    /* "modules=good" may have loaded it at boot: start from unloaded, and leave it as found. */
    bool preloaded = module_is_loaded("good");
    if (preloaded)
        CHECK(module_unload("good") == 0);
    u32 loaded_before = modules_loaded();
    u64 events = module_events_seen();
    reports_clear();

    CHECK(module_load("good") == 0);
    CHECK(module_is_loaded("good"));
    module_last_reloc_counts(&counts);
    printk("selftest: modules: good relocations R_X86_64_64=%u PC32=%u PLT32=%u 32S=%u\n",
           counts.r64, counts.pc32, counts.plt32, counts.r32s);
    CHECK(counts.r64 > 0 && counts.pc32 > 0 && counts.plt32 > 0 && counts.r32s > 0);
    CHECK(module_events_seen() == events + 1);
    const struct module_desc *d = module_last_event();
    CHECK(d && d->event == MODULE_EVENT_LOAD && strcmp(d->name, "good") == 0);
    CHECK(d && strcmp(d->path, "modules/good.o") == 0);
    CHECK(d && d->text_size > 0 && d->data_size > 0 && d->bss_size > 0 && d->rodata_size > 0);
    CHECK(d && d->text_start >= MODULE_AREA_BASE && d->version == MODULE_DESC_VERSION);
    CHECK(report_value("good: init", &value) && value == 1);
    CHECK(report_value("good: relocations agree", &value) && value == 1);
    CHECK(report_value("good: kernel calls", &value) && value == 1);
    CHECK(module_load("good") == -EEXIST);
    CHECK(module_unload("good") == 0);
    CHECK(report_value("good: exit", &value) && value == 1);
    CHECK(module_events_seen() == events + 2 && module_last_event()->event == MODULE_EVENT_UNLOAD);
    CHECK(!module_is_loaded("good"));
    CHECK(module_unload("good") == -ENOENT);

    /* Loading again gives fresh state. */
    reports_clear();
    CHECK(module_load("good") == 0);
    CHECK(report_value("good: init", &value) && value == 1);
    CHECK(module_unload("good") == 0);

    /* Bad modules are refused, leave nothing behind, and the kernel goes on. */
    u64 before = module_events_seen();
    CHECK(module_load("bad_unresolved") == -ENOEXEC);
    CHECK(module_load("bad_reloc") == -ENOEXEC);
    CHECK(module_load("bad_truncated") == -ENOEXEC);
    CHECK(module_load("no_such_module") == -ENOENT);
    CHECK(module_events_seen() == before);
    CHECK(module_load("bad_init") == -EIO);
    CHECK(module_events_seen() == before + 2);      /* loaded, then unloaded */
    CHECK(!module_is_loaded("bad_init"));
    CHECK(modules_loaded() == loaded_before);
    reports_clear();
    if (preloaded)
        CHECK(module_load("good") == 0);
}

/* ---- user memory access ---- */

static void test_uaccess(void)
{
    u8 buf[64];
    char str[16];
    const u64 user_va = 0x600000;
    /* Kernel addresses and ranges running past the user half are refused before any access. */
    CHECK(copy_from_user(buf, (const void __user *)KERNEL_VMA, 8) == 8);
    CHECK(copy_to_user((void __user *)DIRECT_MAP_BASE, buf, 8) == 8);
    CHECK(copy_to_user((void __user *)(USER_SPACE_END - 4), buf, 8) == 8);
    CHECK(copy_from_user(buf, (const void __user *)~0ul, 2) == 2);
    CHECK(strncpy_from_user(str, (const char __user *)KERNEL_VMA, sizeof(str)) == -EFAULT);

    /* A kernel thread has no process, so nothing is mapped on demand: faults go to the fixups. */
    struct address_space *as = as_create();
    CHECK(as != NULL);
    if (!as)
        return;
    CHECK(as_map_new_page(as, user_va, PTE_WRITE) == 0);
    CHECK(as_map_new_page(as, user_va + 2 * PAGE_SIZE, 0) == 0);   /* read-only */
    struct thread *me = current_thread();
    u64 flags = irq_save();
    me->as = as;                /* so a preemption switches back to it */
    as_switch(as);
    irq_restore(flags);

    memset(buf, 0x5a, sizeof(buf));
    CHECK(copy_to_user((void __user *)user_va, buf, sizeof(buf)) == 0);
    CHECK(*(volatile u8 *)(user_va + 63) == 0x5a);
    /* Straddling into the unmapped page: the first part is copied, the rest reported. */
    CHECK(copy_to_user((void __user *)(user_va + PAGE_SIZE - 10), buf, 30) == 20);
    CHECK(copy_from_user(buf, (const void __user *)(user_va + PAGE_SIZE - 10), 30) == 20);
    CHECK(copy_from_user(buf, (const void __user *)(user_va + PAGE_SIZE), 4) == 4);
    /* A read-only user page: reading works, writing faults (CR0.WP) and is caught. */
    CHECK(copy_from_user(buf, (const void __user *)(user_va + 2 * PAGE_SIZE), 8) == 0);
    CHECK(copy_to_user((void __user *)(user_va + 2 * PAGE_SIZE), buf, 8) == 8);
    CHECK(copy_from_user(buf, NULL, 1) == 1);

    memcpy((void *)user_va, "hello\0", 6);
    CHECK(strncpy_from_user(str, (const char __user *)user_va, sizeof(str)) == 5 && strcmp(str, "hello") == 0);
    CHECK(strncpy_from_user(str, (const char __user *)user_va, 5) == -ENAMETOOLONG && str[4] == 0);
    memset((void *)(user_va + PAGE_SIZE - 4), 'x', 4);
    CHECK(strncpy_from_user(str, (const char __user *)(user_va + PAGE_SIZE - 4), sizeof(str)) == -EFAULT);

    flags = irq_save();
    me->as = NULL;
    as_switch(NULL);
    irq_restore(flags);
    as_destroy(as);
}

/* ---- file system ---- */

static long selftest_dev_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
    return (long)cmd + 1;
}

static const struct file_operations selftest_dev_ops = { .ioctl = selftest_dev_ioctl };

static void test_vfs(void)
{
    enum inode_type type;
    u64 inodes = vfs_inodes_live(), files = vfs_files_live();
    CHECK(vfs_lookup_type("/", &type) && type == INODE_DIR);
    CHECK(vfs_lookup_type("/bin", &type) && type == INODE_DIR);
    CHECK(vfs_lookup_type("/bin/usertest", &type) && type == INODE_FILE);
    CHECK(vfs_lookup_type("modules/good.o", &type) && type == INODE_FILE);
    CHECK(vfs_lookup_type("/dev/console", &type) && type == INODE_CHAR_DEVICE);
    CHECK(vfs_lookup_type("/dev/null", &type) && vfs_lookup_type("/dev/zero", &type));
    CHECK(!vfs_lookup_type("/bin/nothing", &type));

    const u8 *data;
    size_t size;
    CHECK(vfs_file_data("/bin/hello", &data, &size) == 0 && size > 64 && memcmp(data, "\177ELF", 4) == 0);
    CHECK(vfs_file_data("/bin", &data, &size) == -EISDIR);
    CHECK(vfs_file_data("/dev/null", &data, &size) == -EACCES);

    CHECK(vfs_mkdir("/tmp/selftest") == 0);
    CHECK(vfs_mkdir("/tmp/selftest") == -EEXIST);
    CHECK(vfs_mkdir("/tmp/none/x") == -ENOENT);
    struct file *f;
    CHECK(vfs_open("/tmp/selftest/file", O_CREAT | O_RDWR, &f) == 0);
    CHECK(vfs_rmdir("/tmp/selftest") == -ENOTEMPTY);
    CHECK(vfs_unlink("/tmp/selftest/file") == 0);
    CHECK(vfs_inodes_live() == inodes + 2);     /* the directory, and the unlinked file still open */
    file_put(f);
    CHECK(vfs_inodes_live() == inodes + 1);
    CHECK(vfs_rmdir("/tmp/selftest") == 0);
    CHECK(vfs_rmdir("/") == -EEXIST);

    /* A device node with kernel operations; busy while open. */
    CHECK(register_device("selftest", INODE_CHAR_DEVICE, &selftest_dev_ops, NULL) == 0);
    CHECK(register_device("selftest", INODE_CHAR_DEVICE, &selftest_dev_ops, NULL) == -EEXIST);
    CHECK(register_device("a/b", INODE_CHAR_DEVICE, &selftest_dev_ops, NULL) == -EINVAL);
    CHECK(vfs_open("/dev/selftest", O_RDWR, &f) == 0);
    CHECK(vfs_ioctl(f, 41, 0) == 42);
    CHECK(vfs_read(f, NULL, 1) == -EINVAL);
    CHECK(unregister_device("selftest") == -EBUSY);
    CHECK(vfs_unlink("/dev/selftest") == -EPERM);
    file_put(f);
    CHECK(unregister_device("selftest") == 0);
    CHECK(unregister_device("selftest") == -ENOENT);
    CHECK(vfs_inodes_live() == inodes && vfs_files_live() == files);
}

/* ---- device interrupts ---- */

struct irq_probe {
    volatile u32 calls;
    volatile u32 last_cpu;
};

static void probe_handler(void *dev)
{
    struct irq_probe *p = dev;
    p->last_cpu = cpu_id();
    atomic_inc32(&p->calls);
}

static bool probe_called(struct irq_probe *p, u32 calls)
{
    /* Counted iterations, never time: the interrupt comes at once on real and emulated CPUs alike. */
    for (u64 i = 0; i < 100000000ul; i++) {
        if (READ_ONCE(p->calls) >= calls)
            return true;
        cpu_relax();
    }
    return false;
}

static void test_irq(void)
{
    struct irq_probe probe = { 0, 0 };
    int v = request_irq(probe_handler, "selftest", &probe);
    CHECK(v >= VECTOR_IRQ_FIRST && v < VECTOR_IRQ_FIRST + VECTOR_IRQ_COUNT);
    if (v < 0)
        return;
    CHECK(request_irq(NULL, "selftest", NULL) == -EINVAL);
    bool reached = true, right_cpu = true;
    for (u32 cpu = 0; cpu < cpu_count; cpu++) {
        irq_raise(v, cpu);
        reached &= probe_called(&probe, cpu + 1);
        right_cpu &= probe.last_cpu == cpu;
    }
    CHECK(reached);
    CHECK(right_cpu);
    CHECK(irq_count(v) == cpu_count);
    free_irq(v);
    irq_raise(v, 0);            /* ignored: nothing installed */
    CHECK(probe.calls == cpu_count);

    /* The vectors run out, and come back. */
    int taken[VECTOR_IRQ_COUNT + 1], n = 0;
    while (n <= VECTOR_IRQ_COUNT && (taken[n] = request_irq(probe_handler, "selftest", &probe)) >= 0)
        n++;
    CHECK(n <= VECTOR_IRQ_COUNT && taken[n] == -EBUSY);
    for (int i = 0; i < n; i++)
        free_irq(taken[i]);
    v = request_irq(probe_handler, "selftest", &probe);
    CHECK(v >= 0);
    free_irq(v);
}

/* ---- TLB shoot-down ---- */

static volatile u64 tlb_read_value;

static int read_word(void *arg)
{
    tlb_read_value = *(volatile u64 *)arg;     /* puts the translation in this CPU's TLB */
    return 0;
}

static void test_tlb(void)
{
    u64 sent = tlb_shootdowns_sent(), received = tlb_shootdowns_received();
    u64 *page = kstack_alloc(1);
    CHECK(page != NULL);
    if (!page)
        return;
    *page = 0x1234;
    struct thread *t = thread_create("tlb", read_word, page, (int)cpu_count - 1);
    CHECK(t != NULL);
    if (t)
        thread_join(t);
    CHECK(tlb_read_value == 0x1234);
    kstack_free(page, 1);       /* the other CPUs must forget the page before its frame is reused */
    if (cpu_count > 1) {
        CHECK(tlb_shootdowns_sent() > sent);
        CHECK(tlb_shootdowns_received() >= received + cpu_count - 1);
    } else {
        CHECK(tlb_shootdowns_sent() == sent);
    }
}

/* ---- user processes: every system call and every driver ---- */

static const char *const driver_modules[] = { "chardev", "ramblk", "loopback", "compute" };

static void test_user(void)
{
    /* usertest loads and unloads each driver itself: take away any loaded at boot, and put them back. */
    bool preloaded[ARRAY_SIZE(driver_modules)];
    for (unsigned i = 0; i < ARRAY_SIZE(driver_modules); i++) {
        preloaded[i] = module_is_loaded(driver_modules[i]);
        if (preloaded[i])
            CHECK(module_unload(driver_modules[i]) == 0);
    }
    const char *argv[] = { "usertest" };
    u64 processes = processes_live();
    struct process *p = process_spawn("/bin/usertest", 1, argv, 0);
    CHECK(p != NULL);
    if (p)
        CHECK(process_wait_spawned(p) == 0);
    CHECK(processes_live() == processes);
    for (unsigned i = 0; i < ARRAY_SIZE(driver_modules); i++)
        if (preloaded[i])
            CHECK(module_load(driver_modules[i]) == 0);
}

/* ---- runner ---- */

static bool same_usage(const struct mem_stats *a, const struct mem_stats *b)
{
    for (int k = 0; k < PAGE_KIND_COUNT; k++) {
        /* Kernel page tables grow as stacks and modules take new addresses; they are never freed. */
        if (k == PAGE_KIND_FREE || k == PAGE_KIND_PAGE_TABLE)
            continue;
        if (a->pages_by_kind[k] != b->pages_by_kind[k])
            return false;
    }
    return a->kmalloc_objects == b->kmalloc_objects && a->kmalloc_bytes == b->kmalloc_bytes &&
           a->cache_objects == b->cache_objects && a->caches == b->caches &&
           a->alloc_pages_blocks == b->alloc_pages_blocks;
}

static u32 suites_run, suites_failed;

static void run_suite(const char *name, void (*fn)(void))
{
    struct mem_stats before, after;
    suite_name = name;
    suite_checks = suite_failures = 0;
    u64 start = ticks_now();
    mem_stats_get(&before);
    u64 threads_before = threads_live();
    fn();
    mem_stats_get(&after);
    bool no_leak = same_usage(&before, &after);
    CHECK(no_leak);
    if (!no_leak)
        printk("selftest: %s: kmalloc objects %lu -> %lu, cache objects %lu -> %lu, free pages %lu -> %lu\n",
               name, before.kmalloc_objects, after.kmalloc_objects, before.cache_objects,
               after.cache_objects, before.pages_free, after.pages_free);
    CHECK(threads_live() == threads_before);
    suites_run++;
    if (suite_failures)
        suites_failed++;
    printk("[t] selftest: %s: %lu ticks\n", name, ticks_now() - start);
    printk("selftest: %s: %s (%u checks)\n", name, suite_failures ? "FAILED" : "ok", suite_checks);
}

int selftest_run(void)
{
    u64 start = ticks_now();
    printk("selftest: start\n");
    run_suite("printk", test_printk);
    run_suite("pmm", test_pmm);
    run_suite("vm", test_vm);
    run_suite("slab", test_slab);
    run_suite("sched", test_sched);
    run_suite("smp", test_smp);
    run_suite("modules", test_modules);
    run_suite("uaccess", test_uaccess);
    run_suite("vfs", test_vfs);
    run_suite("irq", test_irq);
    run_suite("tlb", test_tlb);
    run_suite("user", test_user);
    printk("[t] selftest: %lu ticks\n", ticks_now() - start);
    printk("selftest: %u of %u suites passed\n", suites_run - suites_failed, suites_run);
    return suites_failed ? EXIT_FAILED : EXIT_SUCCESS;
}
