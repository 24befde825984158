/*
 * The physical page allocator: a buddy allocator over the PVH memory map.
 * Blocks are 2^order pages, naturally aligned, handed out as direct-map
 * addresses. One page_info per frame records what each block is used for,
 * which is also how kfree and ksize find out what they were given.
 */
#include "kernel.h"
#include "bootinfo.h"

struct page_info {
    u8 kind;                    /* enum page_kind, set on the head page of a block */
    u8 order;
    u8 is_head;
    u8 reserved;
    u32 pad;
    struct kmem_cache *cache;   /* slab pages: the owning cache (on every page of the slab) */
    struct page_info *next;     /* free list links */
    struct page_info *prev;
};

static struct page_info *page_infos;
static u64 page_frames;                         /* frames covered by page_infos */
static u64 infos_phys, infos_phys_end;          /* where page_infos lies */
static struct page_info *free_lists[MAX_PAGE_ORDER + 1];
static struct spinlock pmm_lock = SPINLOCK_INIT("pmm");
static u64 pages_total;
static u64 pages_by_kind[PAGE_KIND_COUNT];
static u64 alloc_pages_blocks;

extern char _end[];

static inline u64 pfn_of(const struct page_info *p) { return (u64)(p - page_infos); }

static void free_list_push(unsigned order, struct page_info *p)
{
    p->prev = NULL;
    p->next = free_lists[order];
    if (p->next)
        p->next->prev = p;
    free_lists[order] = p;
}

static void free_list_remove(unsigned order, struct page_info *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        free_lists[order] = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
}

/* Frees a block, merging with its buddy as long as the buddy is free and whole. */
static void buddy_free(u64 pfn, unsigned order)
{
    while (order < MAX_PAGE_ORDER) {
        u64 buddy = pfn ^ (1ul << order);
        if (buddy + (1ul << order) > page_frames)
            break;
        struct page_info *b = &page_infos[buddy];
        if (!b->is_head || b->kind != PAGE_KIND_FREE || b->order != order)
            break;
        free_list_remove(order, b);
        b->is_head = 0;
        pfn = MIN(pfn, buddy);
        order++;
    }
    struct page_info *p = &page_infos[pfn];
    p->is_head = 1;
    p->kind = PAGE_KIND_FREE;
    p->order = (u8)order;
    free_list_push(order, p);
}

static struct page_info *buddy_alloc(unsigned order)
{
    unsigned o = order;
    while (o <= MAX_PAGE_ORDER && !free_lists[o])
        o++;
    if (o > MAX_PAGE_ORDER)
        return NULL;
    struct page_info *p = free_lists[o];
    free_list_remove(o, p);
    u64 pfn = pfn_of(p);
    /* Split, giving back the upper halves. */
    while (o > order) {
        o--;
        struct page_info *upper = &page_infos[pfn + (1ul << o)];
        upper->is_head = 1;
        upper->kind = PAGE_KIND_FREE;
        upper->order = (u8)o;
        free_list_push(o, upper);
    }
    p->is_head = 1;
    p->order = (u8)order;
    return p;
}

void *page_alloc(unsigned int order, enum page_kind kind, bool zero)
{
    if (order > MAX_PAGE_ORDER)
        return NULL;
    u64 flags = spin_lock_irqsave(&pmm_lock);
    struct page_info *p = buddy_alloc(order);
    if (p) {
        p->kind = (u8)kind;
        pages_by_kind[PAGE_KIND_FREE] -= 1ul << order;
        pages_by_kind[kind] += 1ul << order;
        if (kind == PAGE_KIND_API)
            alloc_pages_blocks++;
    }
    spin_unlock_irqrestore(&pmm_lock, flags);
    if (!p)
        return NULL;
    void *va = phys_to_virt(pfn_of(p) << PAGE_SHIFT);
    if (zero)
        memset(va, 0, PAGE_SIZE << order);
    return va;
}

void page_free(void *addr, unsigned int order)
{
    u64 pa = virt_to_phys(addr);
    u64 pfn = pa >> PAGE_SHIFT;
    if ((pa & ((PAGE_SIZE << order) - 1)) || pfn >= page_frames)
        panic("page_free: bad address %p (order %u)", addr, order);
    u64 flags = spin_lock_irqsave(&pmm_lock);
    struct page_info *p = &page_infos[pfn];
    if (!p->is_head || p->kind == PAGE_KIND_FREE || p->kind == PAGE_KIND_RESERVED || p->order != order)
        panic("page_free: %p is not an allocated block of order %u", addr, order);
    if (p->kind == PAGE_KIND_API)
        alloc_pages_blocks--;
    pages_by_kind[p->kind] -= 1ul << order;
    pages_by_kind[PAGE_KIND_FREE] += 1ul << order;
    for (u64 i = 0; i < (1ul << order); i++)
        p[i].cache = NULL;
    buddy_free(pfn, order);
    spin_unlock_irqrestore(&pmm_lock, flags);
}

__hookable void *alloc_pages(gfp_t flags, unsigned int order)
{
    return page_alloc(order, PAGE_KIND_API, (flags & GFP_ZERO) != 0);
}
EXPORT_SYMBOL(alloc_pages);

__hookable void free_pages(void *addr, unsigned int order)
{
    if (!addr)
        return;
    unsigned int actual;
    if (page_kind_of(addr, &actual) != PAGE_KIND_API)
        panic("free_pages: %p was not allocated by alloc_pages", addr);
    page_free(addr, order);
}
EXPORT_SYMBOL(free_pages);

struct page_info *page_info_of(const void *addr)
{
    u64 v = (u64)addr;
    if (v < DIRECT_MAP_BASE)
        return NULL;
    u64 pfn = (v - DIRECT_MAP_BASE) >> PAGE_SHIFT;
    return pfn < page_frames ? &page_infos[pfn] : NULL;
}

/* Kind and order of the block starting at addr, or PAGE_KIND_RESERVED if none does. */
enum page_kind page_kind_of(const void *addr, unsigned int *order)
{
    struct page_info *p = page_info_of(addr);
    if (!p || !p->is_head || ((u64)addr & (PAGE_SIZE - 1)))
        return PAGE_KIND_RESERVED;
    *order = p->order;
    return (enum page_kind)p->kind;
}

void page_set_cache(void *addr, unsigned int order, struct kmem_cache *cache)
{
    struct page_info *p = page_info_of(addr);
    for (u64 i = 0; i < (1ul << order); i++)
        p[i].cache = cache;
}

struct kmem_cache *page_cache(const void *addr)
{
    struct page_info *p = page_info_of(addr);
    return p ? p->cache : NULL;
}

void mem_stats_get(struct mem_stats *out)
{
    memset(out, 0, sizeof(*out));
    u64 flags = spin_lock_irqsave(&pmm_lock);
    out->pages_total = pages_total;
    out->pages_free = pages_by_kind[PAGE_KIND_FREE];
    for (int i = 0; i < PAGE_KIND_COUNT; i++)
        out->pages_by_kind[i] = pages_by_kind[i];
    out->alloc_pages_blocks = alloc_pages_blocks;
    spin_unlock_irqrestore(&pmm_lock, flags);
    slab_stats_fill(out);
}
EXPORT_SYMBOL(mem_stats_get);

static bool overlaps(u64 a_start, u64 a_end, u64 b_start, u64 b_end)
{
    return a_start < b_end && b_start < a_end;
}

/*
 * The frames the allocator must never hand out (besides non-RAM), page-aligned, set by pmm_init:
 * BIOS data, ACPI and the AP trampoline below 1 MiB, the boot code and kernel image, the initrd,
 * and the page descriptors.
 */
struct reserved_range {
    u64 start, end;
};
static struct reserved_range reserved[4];
static u32 reserved_count;

static void reserve(u64 start, u64 end)
{
    if (start >= end)
        return;
    if (reserved_count == ARRAY_SIZE(reserved))
        panic("pmm: more than %lu reserved ranges", (u64)ARRAY_SIZE(reserved));
    reserved[reserved_count++] = (struct reserved_range){ start, end };
}

/* Whether [pa, pa_end) holds a reserved frame. */
static bool range_is_reserved(u64 pa, u64 pa_end)
{
    for (u32 i = 0; i < reserved_count; i++)
        if (overlaps(pa, pa_end, reserved[i].start, reserved[i].end))
            return true;
    return false;
}

/* Where the reserved range holding the frame at pa ends, or pa when that frame is not reserved. */
static u64 reserved_end(u64 pa)
{
    for (u32 i = 0; i < reserved_count; i++)
        if (pa >= reserved[i].start && pa < reserved[i].end)
            return reserved[i].end;
    return pa;
}

/* Whether [pa, pa_end) lies in one RAM range of the memory map. */
static bool range_is_ram(u64 pa, u64 pa_end)
{
    for (u32 i = 0; i < boot_info.memmap_count; i++) {
        const struct hvm_memmap_table_entry *e = &boot_info.memmap[i];
        if (e->type == MEMMAP_RAM && pa >= e->addr && pa_end <= e->addr + e->size)
            return true;
    }
    return false;
}

/*
 * The largest order of a block at pa that is naturally aligned, ends by end and holds no reserved
 * frame: boot frees RAM in such blocks, as Linux hands memblock's free ranges to the buddy
 * allocator, not a page at a time. Freed in ascending order, they leave the same free lists as
 * freeing every page would (the buddy decomposition of the free frames is unique, and each block
 * is completed in the same order), in a small fraction of the instructions.
 */
static unsigned free_run_order(u64 pa, u64 end)
{
    unsigned order = 0;
    while (order < MAX_PAGE_ORDER) {
        u64 size = PAGE_SIZE << (order + 1);
        if ((pa & (size - 1)) || pa + size > end)
            break;
        if (range_is_reserved(pa, pa + size))
            break;
        order++;
    }
    return order;
}

void pmm_init(void)
{
    u64 top = 0;
    for (u32 i = 0; i < boot_info.memmap_count; i++) {
        const struct hvm_memmap_table_entry *e = &boot_info.memmap[i];
        if (e->type == MEMMAP_RAM)
            top = MAX(top, e->addr + e->size);
    }
    page_frames = top >> PAGE_SHIFT;
    u64 infos_size = ALIGN_UP(page_frames * sizeof(struct page_info), PAGE_SIZE);

    /* Place the page_info array in the first RAM range above the kernel and initrd that fits. */
    u64 kernel_end = ALIGN_UP(virt_to_phys(_end), PAGE_SIZE);
    u64 initrd_end = ALIGN_UP(boot_info.initrd_phys + boot_info.initrd_size, PAGE_SIZE);
    u64 infos_start = 0;
    for (u32 i = 0; i < boot_info.memmap_count && !infos_start; i++) {
        const struct hvm_memmap_table_entry *e = &boot_info.memmap[i];
        if (e->type != MEMMAP_RAM)
            continue;
        u64 start = ALIGN_UP(MAX(e->addr, kernel_end), PAGE_SIZE);
        u64 end = ALIGN_DOWN(e->addr + e->size, PAGE_SIZE);
        if (boot_info.initrd_size && overlaps(start, start + infos_size, boot_info.initrd_phys, initrd_end))
            start = initrd_end;
        if (start + infos_size <= end)
            infos_start = start;
    }
    if (!infos_start)
        panic("pmm: no room for %lu page descriptors", page_frames);
    page_infos = phys_to_virt(infos_start);
    infos_phys = infos_start;
    infos_phys_end = infos_start + infos_size;
    /*
     * No frame is a block yet. Only a block's head page says what the block is (every reader
     * looks at is_head first, and page_kind_of calls any other frame reserved), so frames never
     * given to the allocator need no mark of their own.
     */
    memset(page_infos, 0, infos_size);

    reserve(0, 0x100000);
    reserve(KERNEL_PHYS_BASE, kernel_end);
    if (boot_info.initrd_size)
        reserve(boot_info.initrd_phys & PAGE_MASK, initrd_end);
    reserve(infos_phys, infos_phys_end);

    for (u32 i = 0; i < boot_info.memmap_count; i++) {
        const struct hvm_memmap_table_entry *e = &boot_info.memmap[i];
        if (e->type != MEMMAP_RAM)
            continue;
        u64 start = ALIGN_UP(e->addr, PAGE_SIZE);
        u64 end = ALIGN_DOWN(e->addr + e->size, PAGE_SIZE);
        for (u64 pa = start; pa < end;) {
            u64 skip = reserved_end(pa);     /* a reserved range is passed over whole */
            if (skip > pa) {
                pa = skip;
                continue;
            }
            unsigned order = free_run_order(pa, end);
            u64 pages = 1ul << order;
            pages_total += pages;
            pages_by_kind[PAGE_KIND_FREE] += pages;
            buddy_free(pa >> PAGE_SHIFT, order);
            pa += pages << PAGE_SHIFT;
        }
    }
    printk("[m] mem: %lu KiB managed, %lu KiB of page descriptors\n",
           pages_total * (PAGE_SIZE / 1024), infos_size / 1024);
}

/*
 * What a buddy allocator's free lists must hold at any moment: every block on list o is a free
 * head of order o, aligned to its size, in RAM and clear of reserved frames, with no free buddy of
 * its order (a free merges at once); together they are the free pages. Returns the violations
 * found, 0 when the lists are sound (the selftest checks it after boot and after its frees).
 */
unsigned pmm_check(void)
{
    unsigned bad = 0;
    u64 listed = 0;
    u64 flags = spin_lock_irqsave(&pmm_lock);
    for (unsigned o = 0; o <= MAX_PAGE_ORDER; o++) {
        for (struct page_info *p = free_lists[o]; p; p = p->next) {
            u64 pfn = pfn_of(p);
            u64 pa = pfn << PAGE_SHIFT, size = PAGE_SIZE << o;
            if (!p->is_head || p->kind != PAGE_KIND_FREE || p->order != o || (pa & (size - 1))
                || pfn + (1ul << o) > page_frames || !range_is_ram(pa, pa + size) || range_is_reserved(pa, pa + size))
                bad++;
            u64 buddy = pfn ^ (1ul << o);
            if (o < MAX_PAGE_ORDER && buddy + (1ul << o) <= page_frames) {
                const struct page_info *b = &page_infos[buddy];
                if (b->is_head && b->kind == PAGE_KIND_FREE && b->order == o)
                    bad++;
            }
            listed += 1ul << o;
        }
    }
    if (listed != pages_by_kind[PAGE_KIND_FREE])
        bad++;
    spin_unlock_irqrestore(&pmm_lock, flags);
    return bad;
}
