/*
 * Page tables. The kernel's PML4 holds, in its upper half:
 *   DIRECT_MAP_BASE   all RAM and the first 4 GiB (2 MiB pages, NX)
 *   KSTACK_AREA_BASE  kernel stacks, 4 KiB pages, a guard page under each
 *   KERNEL_VMA        the kernel image, 4 KiB pages with section permissions
 *   MODULE_AREA_BASE  module text and data
 * User address spaces copy these upper-half entries, so kernel mappings made
 * later (stacks, modules) show up everywhere; the lower half is private. The
 * direct map and the kernel image never change, so they are global: a CR3
 * write (an address-space switch, or flush_local's full flush) keeps their TLB
 * entries. Stacks and modules are unmapped again, so they are not.
 * Kernel virtual ranges are never reused, so a stale pointer into a freed
 * stack or module faults; the frames behind them are reused, so other CPUs
 * drop their cached translations first (tlb_shootdown). User address spaces
 * are only ever loaded on their process's CPU and need local flushes only.
 */
#include "kernel.h"
#include "bootinfo.h"
#include "tlb.h"

static u64 *kernel_pml4;
static u64 kernel_root;
static struct spinlock kernel_vm_lock = SPINLOCK_INIT("kernel_vm");
static u64 kstack_next = KSTACK_AREA_BASE;
static u64 module_next = MODULE_AREA_BASE;

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __bss_end[], _end[], __kernel_start[];
extern char boot_stack_guard[], early_ist_guard[];

#define PML4_INDEX(va)  (((va) >> 39) & 511)
#define PDPT_INDEX(va)  (((va) >> 30) & 511)
#define PD_INDEX(va)    (((va) >> 21) & 511)
#define PT_INDEX(va)    (((va) >> 12) & 511)

static inline u64 *table_at(u64 entry) { return phys_to_virt(entry & PTE_ADDR_MASK); }

static u64 *new_table(enum page_kind kind)
{
    u64 *t = page_alloc(0, kind, true);
    if (!t)
        panic("vm: out of memory for page tables");
    return t;
}

/*
 * Next-level table under entry, created if asked. Intermediate entries are
 * permissive; leaves decide. Tables under user addresses belong to the
 * address space (freed with it), the kernel's are never freed.
 */
static u64 *next_table(u64 *entry, bool create, bool user)
{
    if (!(*entry & PTE_PRESENT)) {
        if (!create)
            return NULL;
        u64 *t = new_table(user ? PAGE_KIND_USER_TABLE : PAGE_KIND_PAGE_TABLE);
        *entry = virt_to_phys(t) | PTE_PRESENT | PTE_WRITE | (user ? PTE_USER : 0);
    } else if (*entry & PTE_HUGE) {
        return NULL;
    }
    return table_at(*entry);
}

static u64 *walk(u64 *pml4, u64 va, bool create)
{
    bool user = va < USER_SPACE_END;
    u64 *pdpt = next_table(&pml4[PML4_INDEX(va)], create, user);
    if (!pdpt)
        return NULL;
    u64 *pd = next_table(&pdpt[PDPT_INDEX(va)], create, user);
    if (!pd)
        return NULL;
    u64 *pt = next_table(&pd[PD_INDEX(va)], create, user);
    if (!pt)
        return NULL;
    return &pt[PT_INDEX(va)];
}

int vm_map_page(u64 *pml4, u64 va, u64 pa, u64 flags)
{
    u64 *pte = walk(pml4, va, true);
    if (!pte)
        return -EINVAL;
    if (*pte & PTE_PRESENT)
        return -EEXIST;
    *pte = (pa & PTE_ADDR_MASK) | flags | PTE_PRESENT;
    return 0;
}

u64 vm_unmap_page(u64 *pml4, u64 va)
{
    u64 *pte = walk(pml4, va, false);
    if (!pte)
        return 0;
    u64 old = *pte;
    *pte = 0;
    invlpg(va);
    return old;
}

int vm_protect_page(u64 *pml4, u64 va, u64 flags)
{
    u64 *pte = walk(pml4, va, false);
    if (!pte || !(*pte & PTE_PRESENT))
        return -ENOENT;
    *pte = (*pte & (PTE_ADDR_MASK | PTE_OWNED)) | flags | PTE_PRESENT;
    invlpg(va);
    return 0;
}

bool vm_translate(const u64 *pml4, u64 va, u64 *pa, u64 *flags)
{
    u64 e = pml4[PML4_INDEX(va)];
    if (!(e & PTE_PRESENT))
        return false;
    e = table_at(e)[PDPT_INDEX(va)];
    if (!(e & PTE_PRESENT))
        return false;
    if (e & PTE_HUGE) {
        *pa = (e & PTE_ADDR_MASK & ~((1ul << 30) - 1)) | (va & ((1ul << 30) - 1));
        goto found;
    }
    e = table_at(e)[PD_INDEX(va)];
    if (!(e & PTE_PRESENT))
        return false;
    if (e & PTE_HUGE) {
        *pa = (e & PTE_ADDR_MASK & ~((1ul << 21) - 1)) | (va & ((1ul << 21) - 1));
        goto found;
    }
    e = table_at(e)[PT_INDEX(va)];
    if (!(e & PTE_PRESENT))
        return false;
    *pa = (e & PTE_ADDR_MASK) | (va & (PAGE_SIZE - 1));
found:
    if (flags)
        *flags = e & ~PTE_ADDR_MASK;
    return true;
}

u64 *vm_kernel_pml4(void) { return kernel_pml4; }
u64 vm_kernel_root(void) { return kernel_root; }

static bool is_guard_page(u64 va)
{
    return va == (u64)boot_stack_guard || va == (u64)early_ist_guard;
}

static void map_kernel_image(void)
{
    for (u64 va = (u64)__kernel_start; va < (u64)_end; va += PAGE_SIZE) {
        u64 flags;
        if (is_guard_page(va))
            continue;
        if (va >= (u64)__text_start && va < (u64)__text_end)
            flags = 0;                                  /* read, execute */
        else if (va >= (u64)__rodata_start && va < (u64)__rodata_end)
            flags = PTE_NX;
        else if (va >= (u64)__data_start && va < (u64)__bss_end)
            flags = PTE_WRITE | PTE_NX;
        else
            flags = PTE_NX;                             /* .ksyms, padding */
        if (vm_map_page(kernel_pml4, va, va - KERNEL_VMA, flags | PTE_GLOBAL) != 0)
            panic("vm: cannot map the kernel image at %p", (void *)va);
    }
}

/*
 * The direct map in 2 MiB pages, a page directory (1 GiB) at a time: one walk from the top per
 * directory and then its 512 entries in a row, as Linux fills a level's table in one loop, rather
 * than a walk per entry. bytes is a multiple of 1 GiB.
 */
static void map_direct(u64 bytes)
{
    _Static_assert((DIRECT_MAP_BASE & ((1ul << 30) - 1)) == 0, "the direct map starts a page directory");
    for (u64 pa = 0; pa < bytes; pa += 1ul << 30) {
        u64 va = DIRECT_MAP_BASE + pa;
        u64 *pdpt = next_table(&kernel_pml4[PML4_INDEX(va)], true, false);
        u64 *pd = next_table(&pdpt[PDPT_INDEX(va)], true, false);
        u64 entry = pa | PTE_PRESENT | PTE_WRITE | PTE_HUGE | PTE_NX | PTE_GLOBAL;
        for (u32 i = 0; i < 512; i++, entry += 1ul << 21)
            pd[i] = entry;
    }
}

void vm_init(void)
{
    u64 top = 1ul << 32;
    for (u32 i = 0; i < boot_info.memmap_count; i++)
        if (boot_info.memmap[i].type == MEMMAP_RAM)
            top = MAX(top, boot_info.memmap[i].addr + boot_info.memmap[i].size);
    top = ALIGN_UP(top, 1ul << 30);

    kernel_pml4 = new_table(PAGE_KIND_PAGE_TABLE);
    kernel_root = virt_to_phys(kernel_pml4);
    map_direct(top);
    map_kernel_image();
    /* Create the upper-half PDPTs now so address spaces made later share them. */
    next_table(&kernel_pml4[PML4_INDEX(KSTACK_AREA_BASE)], true, false);
    next_table(&kernel_pml4[PML4_INDEX(MODULE_AREA_BASE)], true, false);
    write_cr3(kernel_root);
    printk("[m] vm: direct map of %lu MiB, kernel image %lu KiB\n", top >> 20,
           ((u64)_end - (u64)__kernel_start) / 1024);
}

/* ---- kernel virtual ranges: stacks and modules ---- */

static u64 kernel_range_reserve(u64 *next, u64 end, u64 bytes)
{
    u64 flags = spin_lock_irqsave(&kernel_vm_lock);
    u64 va = *next;
    if (va + bytes > end)
        va = 0;
    else
        *next = va + bytes;
    spin_unlock_irqrestore(&kernel_vm_lock, flags);
    return va;
}

static int map_fresh_pages(u64 va, u64 pages, enum page_kind kind, u64 flags)
{
    for (u64 i = 0; i < pages; i++) {
        void *frame = page_alloc(0, kind, true);
        if (!frame)
            return -ENOMEM;
        u64 lock_flags = spin_lock_irqsave(&kernel_vm_lock);
        int err = vm_map_page(kernel_pml4, va + i * PAGE_SIZE, virt_to_phys(frame), flags);
        spin_unlock_irqrestore(&kernel_vm_lock, lock_flags);
        if (err)
            panic("vm: cannot map %p", (void *)(va + i * PAGE_SIZE));
    }
    return 0;
}

/* The frames are freed only after every CPU has dropped the old translations. */
static void unmap_and_free(u64 va, u64 pages)
{
    u64 frames[16];
    u64 done = 0;
    while (done < pages) {
        u64 batch = MIN(pages - done, (u64)ARRAY_SIZE(frames));
        for (u64 i = 0; i < batch; i++) {
            u64 lock_flags = spin_lock_irqsave(&kernel_vm_lock);
            frames[i] = vm_unmap_page(kernel_pml4, va + (done + i) * PAGE_SIZE);
            spin_unlock_irqrestore(&kernel_vm_lock, lock_flags);
        }
        tlb_shootdown(va + done * PAGE_SIZE, va + (done + batch) * PAGE_SIZE);
        for (u64 i = 0; i < batch; i++)
            if (frames[i] & PTE_PRESENT)
                page_free(phys_to_virt(frames[i] & PTE_ADDR_MASK), 0);
        done += batch;
    }
}

void *kstack_alloc(unsigned int pages)
{
    u64 va = kernel_range_reserve(&kstack_next, KSTACK_AREA_END, (pages + 1ul) * PAGE_SIZE);
    if (!va)
        return NULL;
    va += PAGE_SIZE;    /* the guard page stays unmapped */
    if (map_fresh_pages(va, pages, PAGE_KIND_STACK, PTE_WRITE | PTE_NX) != 0) {
        unmap_and_free(va, pages);
        return NULL;
    }
    return (void *)va;
}

void kstack_free(void *base, unsigned int pages)
{
    unmap_and_free((u64)base, pages);
}

void *module_area_alloc(size_t bytes)
{
    u64 pages = ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE;
    /* One unmapped page after each allocation catches overruns. */
    u64 va = kernel_range_reserve(&module_next, MODULE_AREA_END, (pages + 1) * PAGE_SIZE);
    if (!va)
        return NULL;
    if (map_fresh_pages(va, pages, PAGE_KIND_MODULE, PTE_WRITE | PTE_NX) != 0) {
        unmap_and_free(va, pages);
        return NULL;
    }
    return (void *)va;
}

void module_area_free(void *base, size_t bytes)
{
    unmap_and_free((u64)base, ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE);
}

int module_area_protect(void *base, size_t bytes, bool exec, bool write)
{
    u64 flags = (exec ? 0 : PTE_NX) | (write ? PTE_WRITE : 0);
    int err = 0;
    for (u64 va = (u64)base; va < (u64)base + bytes && !err; va += PAGE_SIZE) {
        u64 lock_flags = spin_lock_irqsave(&kernel_vm_lock);
        err = vm_protect_page(kernel_pml4, va, flags);
        spin_unlock_irqrestore(&kernel_vm_lock, lock_flags);
    }
    /* Another CPU may still hold a writable translation. */
    tlb_shootdown((u64)base, (u64)base + bytes);
    return err;
}

/* ---- AP boot tables ---- */

u64 vm_ap_boot_tables_create(void)
{
    u64 *pml4 = new_table(PAGE_KIND_PAGE_TABLE);
    memcpy(pml4, kernel_pml4, PAGE_SIZE);
    u64 *pdpt = new_table(PAGE_KIND_PAGE_TABLE);
    u64 *pd = new_table(PAGE_KIND_PAGE_TABLE);
    for (u64 i = 0; i < 512; i++)
        pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
    pdpt[0] = virt_to_phys(pd) | PTE_PRESENT | PTE_WRITE;
    pml4[0] = virt_to_phys(pdpt) | PTE_PRESENT | PTE_WRITE;
    u64 root = virt_to_phys(pml4);
    if (root >= (1ul << 32))
        panic("vm: AP boot tables above 4 GiB");
    return root;
}

void vm_ap_boot_tables_destroy(u64 root)
{
    u64 *pml4 = phys_to_virt(root);
    u64 *pdpt = table_at(pml4[0]);
    page_free(table_at(pdpt[0]), 0);
    page_free(pdpt, 0);
    page_free(pml4, 0);
}

/* ---- user address spaces ---- */

struct address_space *as_create(void)
{
    struct address_space *as = kzalloc(sizeof(*as), GFP_KERNEL);
    if (!as)
        return NULL;
    as->pml4 = page_alloc(0, PAGE_KIND_USER_TABLE, true);
    if (!as->pml4) {
        kfree(as);
        return NULL;
    }
    memcpy(as->pml4 + 256, kernel_pml4 + 256, 256 * sizeof(u64));
    as->root = virt_to_phys(as->pml4);
    return as;
}

static void free_user_tables(u64 *table, int level)
{
    for (int i = 0; i < 512; i++) {
        u64 e = table[i];
        if (!(e & PTE_PRESENT))
            continue;
        if (level == 1) {
            if (e & PTE_OWNED)
                page_free(table_at(e), 0);
        } else {
            free_user_tables(table_at(e), level - 1);
        }
    }
    page_free(table, 0);
}

void as_destroy(struct address_space *as)
{
    if (!as)
        return;
    if (read_cr3() == as->root)
        write_cr3(kernel_root);
    for (int i = 0; i < 256; i++)
        if (as->pml4[i] & PTE_PRESENT)
            free_user_tables(table_at(as->pml4[i]), 3);
    page_free(as->pml4, 0);
    kfree(as);
}

void as_switch(struct address_space *as)
{
    u64 root = as ? as->root : kernel_root;
    if (read_cr3() != root)
        write_cr3(root);
}

int as_map_new_page(struct address_space *as, u64 va, u64 flags)
{
    if (va >= USER_SPACE_END || (va & (PAGE_SIZE - 1)))
        return -EINVAL;
    void *frame = page_alloc(0, PAGE_KIND_USER, true);
    if (!frame)
        return -ENOMEM;
    int err = vm_map_page(as->pml4, va, virt_to_phys(frame), flags | PTE_USER | PTE_OWNED);
    if (err) {
        page_free(frame, 0);
        return err;
    }
    as->user_pages++;
    return 0;
}

bool as_translate(struct address_space *as, u64 va, u64 *pa)
{
    return vm_translate(as->pml4, va, pa, NULL);
}

int as_widen_page(struct address_space *as, u64 va, u64 flags)
{
    u64 *pte = walk(as->pml4, va, false);
    if (!pte || !(*pte & PTE_PRESENT))
        return -ENOENT;
    u64 e = *pte | (flags & PTE_WRITE);
    if (!(flags & PTE_NX))
        e &= ~PTE_NX;
    *pte = e;
    return 0;
}

/* Unmaps the leaves of one page table in [start, end); frees owned frames. */
static void unmap_leaves(struct address_space *as, u64 *pt, u64 table_va, u64 start, u64 end)
{
    for (u64 i = 0; i < 512; i++) {
        u64 va = table_va + i * PAGE_SIZE;
        if (va < start || va >= end || !(pt[i] & PTE_PRESENT))
            continue;
        u64 old = pt[i];
        pt[i] = 0;
        if (read_cr3() == as->root)
            invlpg(va);
        if (old & PTE_OWNED) {
            page_free(table_at(old), 0);
            as->user_pages--;
        }
    }
}

/* Walks only the tables that exist, so a large sparse range costs little. */
static void unmap_range_level(struct address_space *as, u64 *table, int level, u64 table_va, u64 start, u64 end)
{
    u64 span = PAGE_SIZE << (9 * (level - 1));  /* bytes one entry covers */
    for (u64 i = 0; i < 512; i++) {
        u64 va = table_va + i * span;
        if (va + span <= start || va >= end || !(table[i] & PTE_PRESENT))
            continue;
        if (level == 2)
            unmap_leaves(as, table_at(table[i]), va, start, end);
        else
            unmap_range_level(as, table_at(table[i]), level - 1, va, start, end);
    }
}

void as_unmap_range(struct address_space *as, u64 start, u64 end)
{
    if (end > USER_SPACE_END)
        end = USER_SPACE_END;
    if (start >= end)
        return;
    unmap_range_level(as, as->pml4, 4, 0, start, end);
}

/* Copies the user mappings under one table of src into dst, level 1 being the leaves. */
static int clone_level(struct address_space *dst, u64 *table, int level, u64 table_va)
{
    u64 span = PAGE_SIZE << (9 * (level - 1));
    for (u64 i = 0; i < 512; i++) {
        u64 va = table_va + i * span;
        if (va >= USER_SPACE_END)
            break;
        u64 e = table[i];
        if (!(e & PTE_PRESENT))
            continue;
        if (level > 1) {
            int err = clone_level(dst, table_at(e), level - 1, va);
            if (err)
                return err;
            continue;
        }
        void *frame = page_alloc(0, PAGE_KIND_USER, false);
        if (!frame)
            return -ENOMEM;
        memcpy(frame, table_at(e), PAGE_SIZE);
        u64 flags = e & (PTE_WRITE | PTE_USER | PTE_NX);
        int err = vm_map_page(dst->pml4, va, virt_to_phys(frame), flags | PTE_OWNED);
        if (err) {
            page_free(frame, 0);
            return err;
        }
        dst->user_pages++;
    }
    return 0;
}

struct address_space *as_clone(struct address_space *src)
{
    struct address_space *dst = as_create();
    if (!dst)
        return NULL;
    if (clone_level(dst, src->pml4, 4, 0) != 0) {
        as_destroy(dst);
        return NULL;
    }
    return dst;
}
