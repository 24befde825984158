/* Physical pages, page tables, address spaces and kernel stacks. */
#ifndef DRK_MM_H
#define DRK_MM_H

#include "types.h"

#define PAGE_MASK       (~(PAGE_SIZE - 1))
#define MAX_PAGE_ORDER  10          /* largest block: 4 MiB */

static inline void *phys_to_virt(u64 pa) { return (void *)(pa + DIRECT_MAP_BASE); }

/* Physical address of a direct-map or kernel-image address. */
static inline u64 virt_to_phys(const void *va)
{
    u64 v = (u64)va;
    return v >= KERNEL_VMA ? v - KERNEL_VMA : v - DIRECT_MAP_BASE;
}

/* What a block of pages is used for; the statistics count pages per kind. */
enum page_kind {
    PAGE_KIND_FREE,
    PAGE_KIND_RESERVED,     /* firmware, kernel image, initrd, page descriptors */
    PAGE_KIND_API,          /* alloc_pages() */
    PAGE_KIND_SLAB,
    PAGE_KIND_KMALLOC_LARGE,
    PAGE_KIND_PAGE_TABLE,
    PAGE_KIND_STACK,
    PAGE_KIND_MODULE,
    PAGE_KIND_USER,         /* pages owned by a user address space */
    PAGE_KIND_USER_TABLE,   /* page tables of user address spaces (the kernel's own are never freed) */
    PAGE_KIND_COUNT
};

/* Allocator statistics; part 2 compares snapshots to find leaks. */
struct mem_stats {
    u64 pages_total;                    /* pages the page allocator manages */
    u64 pages_free;
    u64 pages_by_kind[PAGE_KIND_COUNT];
    u64 alloc_pages_blocks;             /* live alloc_pages() blocks */
    u64 kmalloc_objects;                /* live kmalloc/kzalloc/krealloc objects */
    u64 kmalloc_bytes;                  /* their usable size (ksize) */
    u64 cache_objects;                  /* live kmem_cache_alloc objects */
    u64 caches;                         /* caches created by kmem_cache_create */
};

void mem_stats_get(struct mem_stats *out);

/* Page-level allocator: blocks of 2^order pages, naturally aligned, direct-map addresses. */
void *alloc_pages(gfp_t flags, unsigned int order);
void free_pages(void *addr, unsigned int order);

/* Kernel-internal variants that tools do not see as API calls. */
void *page_alloc(unsigned int order, enum page_kind kind, bool zero);
void page_free(void *addr, unsigned int order);
struct page_info *page_info_of(const void *addr);
struct kmem_cache;
void page_set_cache(void *addr, unsigned int order, struct kmem_cache *cache);
struct kmem_cache *page_cache(const void *addr);
enum page_kind page_kind_of(const void *addr, unsigned int *order);

void pmm_init(void);
unsigned pmm_check(void);

/* Page-table entry bits. */
#define PTE_PRESENT     (1ul << 0)
#define PTE_WRITE       (1ul << 1)
#define PTE_USER        (1ul << 2)
#define PTE_ACCESSED    (1ul << 5)
#define PTE_DIRTY       (1ul << 6)
#define PTE_HUGE        (1ul << 7)
#define PTE_GLOBAL      (1ul << 8)  /* kept across CR3 writes (CR4.PGE): never-changing kernel mappings only */
#define PTE_OWNED       (1ul << 9)  /* software bit: the frame belongs to the address space */
#define PTE_NX          (1ul << 63)
#define PTE_ADDR_MASK   0x000ffffffffff000ul

void vm_init(void);
u64 vm_kernel_root(void);
int vm_map_page(u64 *pml4, u64 va, u64 pa, u64 flags);
u64 vm_unmap_page(u64 *pml4, u64 va);
int vm_protect_page(u64 *pml4, u64 va, u64 flags);
bool vm_translate(const u64 *pml4, u64 va, u64 *pa, u64 *flags);
u64 *vm_kernel_pml4(void);

/* Page tables for starting APs: the kernel's plus an identity map of the first 1 GiB. */
u64 vm_ap_boot_tables_create(void);
void vm_ap_boot_tables_destroy(u64 root);

/* Kernel stacks with an unmapped guard page below; return the lowest mapped address. */
void *kstack_alloc(unsigned int pages);
void kstack_free(void *base, unsigned int pages);

/* Pages in the module area (text and data of loaded modules). */
void *module_area_alloc(size_t bytes);
void module_area_free(void *base, size_t bytes);
int module_area_protect(void *base, size_t bytes, bool exec, bool write);

/* A user address space: the lower half is private, the kernel half is shared. */
struct address_space {
    u64 root;           /* physical address of the PML4, what CR3 holds */
    u64 *pml4;
    u64 user_pages;     /* frames it owns */
};

struct address_space *as_create(void);
void as_destroy(struct address_space *as);
void as_switch(struct address_space *as);   /* NULL: the kernel's own tables */
int as_map_new_page(struct address_space *as, u64 va, u64 flags);
bool as_translate(struct address_space *as, u64 va, u64 *pa);
/* Unmaps [start, end) and frees the frames; only the calling CPU's TLB is flushed (see tlb.h). */
void as_unmap_range(struct address_space *as, u64 start, u64 end);
/* A copy of every user page of src (fork); NULL when out of memory. */
struct address_space *as_clone(struct address_space *src);
/* Makes a mapped page more permissive (adds PTE_WRITE, drops PTE_NX as flags ask). */
int as_widen_page(struct address_space *as, u64 va, u64 flags);

#endif
