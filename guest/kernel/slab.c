/*
 * The slab allocator. A cache hands out objects of one size from slabs: a
 * naturally aligned block of pages that starts with a struct slab header,
 * followed by the objects; free objects are chained through their first
 * word. A slab whose last object is freed goes straight back to the page
 * allocator, so an idle cache holds no pages and leak checks are exact.
 *
 * kmalloc uses power-of-two caches up to KMALLOC_MAX_CACHE_SIZE and whole
 * page blocks above. Every public function is __hookable and calls only the
 * static helpers here, never another public one, so a tool that wraps them
 * sees each request once.
 */
#include "kernel.h"

#define SLAB_MIN_OBJECTS 8

struct slab {
    struct kmem_cache *cache;
    struct slab *next;
    struct slab *prev;
    void *free_list;
    u32 in_use;
    u32 pad;
};

struct kmem_cache {
    char name[32];
    size_t object_size;         /* what the creator asked for */
    size_t stride;              /* object size rounded up to the alignment */
    size_t first_offset;        /* of the first object in a slab */
    u32 objects_per_slab;
    u32 order;                  /* slab size: 2^order pages */
    bool is_kmalloc;
    void (*ctor)(void *);
    struct spinlock lock;
    struct slab *partial;       /* slabs with free objects */
    struct slab *full;
    u64 live_objects;
    u64 slabs;
    struct kmem_cache *next_cache;
};

static struct kmem_cache cache_of_caches;
static struct kmem_cache kmalloc_caches[9];     /* 8 .. 2048 bytes */
static struct spinlock caches_lock = SPINLOCK_INIT("caches");
static struct kmem_cache *all_caches;
static u64 user_caches;
static u64 kmalloc_large_objects, kmalloc_large_bytes;

static void list_add(struct slab **head, struct slab *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
}

static void list_del(struct slab **head, struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void cache_setup(struct kmem_cache *c, const char *name, size_t size, size_t align,
                        void (*ctor)(void *), bool is_kmalloc)
{
    memset(c, 0, sizeof(*c));
    strlcpy(c->name, name, sizeof(c->name));
    if (align < 8)
        align = 8;
    c->object_size = size;
    c->stride = ALIGN_UP(MAX(size, (size_t)8), align);
    c->first_offset = ALIGN_UP(sizeof(struct slab), align);
    c->order = 0;
    while (((PAGE_SIZE << c->order) - c->first_offset) / c->stride < SLAB_MIN_OBJECTS &&
           c->order < MAX_PAGE_ORDER)
        c->order++;
    c->objects_per_slab = (u32)(((PAGE_SIZE << c->order) - c->first_offset) / c->stride);
    c->ctor = ctor;
    c->is_kmalloc = is_kmalloc;
    spin_init(&c->lock, "kmem_cache");
}

static struct slab *slab_new(struct kmem_cache *c)
{
    void *pages = page_alloc(c->order, PAGE_KIND_SLAB, false);
    if (!pages)
        return NULL;
    page_set_cache(pages, c->order, c);
    struct slab *s = pages;
    memset(s, 0, sizeof(*s));
    s->cache = c;
    char *obj = (char *)pages + c->first_offset;
    /* Chain in address order so objects are handed out lowest first. */
    void **link = &s->free_list;
    for (u32 i = 0; i < c->objects_per_slab; i++, obj += c->stride) {
        *link = obj;
        link = (void **)obj;
    }
    *link = NULL;
    c->slabs++;
    return s;
}

static void *cache_alloc(struct kmem_cache *c)
{
    u64 flags = spin_lock_irqsave(&c->lock);
    struct slab *s = c->partial;
    if (!s) {
        s = slab_new(c);
        if (!s) {
            spin_unlock_irqrestore(&c->lock, flags);
            return NULL;
        }
        list_add(&c->partial, s);
    }
    void *obj = s->free_list;
    s->free_list = *(void **)obj;
    s->in_use++;
    if (!s->free_list) {
        list_del(&c->partial, s);
        list_add(&c->full, s);
    }
    c->live_objects++;
    spin_unlock_irqrestore(&c->lock, flags);
    /* The constructor runs on every allocation: free objects hold the free-list link. */
    if (c->ctor)
        c->ctor(obj);
    return obj;
}

static struct slab *slab_of(struct kmem_cache *c, const void *p)
{
    return (struct slab *)ALIGN_DOWN((u64)p, PAGE_SIZE << c->order);
}

static void cache_free(struct kmem_cache *c, void *obj)
{
    struct slab *s = slab_of(c, obj);
    u64 offset = (u64)obj - (u64)s;
    if (s->cache != c || offset < c->first_offset || (offset - c->first_offset) % c->stride)
        panic("slab: %p is not an object of cache '%s'", obj, c->name);
    u64 flags = spin_lock_irqsave(&c->lock);
    bool was_full = s->free_list == NULL;
    *(void **)obj = s->free_list;
    s->free_list = obj;
    s->in_use--;
    c->live_objects--;
    if (was_full) {
        list_del(&c->full, s);
        list_add(&c->partial, s);
    }
    if (s->in_use == 0) {
        list_del(&c->partial, s);
        c->slabs--;
        spin_unlock_irqrestore(&c->lock, flags);
        page_free(s, c->order);
        return;
    }
    spin_unlock_irqrestore(&c->lock, flags);
}

/* ---- kmalloc family ---- */

static struct kmem_cache *kmalloc_cache_for(size_t size)
{
    size_t class_size = 8;
    for (unsigned i = 0; i < ARRAY_SIZE(kmalloc_caches); i++, class_size <<= 1)
        if (size <= class_size)
            return &kmalloc_caches[i];
    return NULL;
}

static unsigned large_order(size_t size)
{
    unsigned order = 0;
    while ((PAGE_SIZE << order) < size)
        order++;
    return order;
}

static size_t usable_size(const void *p)
{
    unsigned int order;
    enum page_kind kind = page_kind_of(p, &order);
    if (kind == PAGE_KIND_KMALLOC_LARGE)
        return PAGE_SIZE << order;
    struct kmem_cache *c = page_cache(p);
    if (!c || !c->is_kmalloc)
        panic("kmalloc: %p was not allocated by kmalloc", p);
    return c->stride;
}

static void *kmalloc_internal(size_t size, bool zero)
{
    if (size == 0)
        size = 1;       /* a real, distinct object: simpler for checkers than a magic pointer */
    void *p;
    struct kmem_cache *c = kmalloc_cache_for(size);
    if (c) {
        p = cache_alloc(c);
        if (p && zero)
            memset(p, 0, c->stride);
        return p;
    }
    unsigned order = large_order(size);
    p = page_alloc(order, PAGE_KIND_KMALLOC_LARGE, zero);
    if (p) {
        u64 flags = spin_lock_irqsave(&caches_lock);
        kmalloc_large_objects++;
        kmalloc_large_bytes += PAGE_SIZE << order;
        spin_unlock_irqrestore(&caches_lock, flags);
    }
    return p;
}

static void kfree_internal(const void *p)
{
    if (!p)
        return;
    unsigned int order;
    if (page_kind_of(p, &order) == PAGE_KIND_KMALLOC_LARGE) {
        u64 flags = spin_lock_irqsave(&caches_lock);
        kmalloc_large_objects--;
        kmalloc_large_bytes -= PAGE_SIZE << order;
        spin_unlock_irqrestore(&caches_lock, flags);
        page_free((void *)p, order);
        return;
    }
    struct kmem_cache *c = page_cache(p);
    if (!c || !c->is_kmalloc)
        panic("kfree: %p was not allocated by kmalloc", p);
    cache_free(c, (void *)p);
}

__hookable void *kmalloc(size_t size, gfp_t flags)
{
    return kmalloc_internal(size, (flags & GFP_ZERO) != 0);
}
EXPORT_SYMBOL(kmalloc);

__hookable void *kzalloc(size_t size, gfp_t flags)
{
    return kmalloc_internal(size, true);
}
EXPORT_SYMBOL(kzalloc);

__hookable void kfree(const void *p)
{
    kfree_internal(p);
}
EXPORT_SYMBOL(kfree);

__hookable size_t ksize(const void *p)
{
    return p ? usable_size(p) : 0;
}
EXPORT_SYMBOL(ksize);

/* Grows or shrinks p; keeps it in place when it already has room. */
__hookable void *krealloc(void *p, size_t new_size, gfp_t flags)
{
    if (!p)
        return kmalloc_internal(new_size, (flags & GFP_ZERO) != 0);
    if (new_size == 0) {
        kfree_internal(p);
        return NULL;
    }
    size_t old_size = usable_size(p);
    if (new_size <= old_size)
        return p;
    void *q = kmalloc_internal(new_size, (flags & GFP_ZERO) != 0);
    if (!q)
        return NULL;
    memcpy(q, p, old_size);
    kfree_internal(p);
    return q;
}
EXPORT_SYMBOL(krealloc);

/* ---- caches ---- */

__hookable struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
                                                unsigned int flags, void (*ctor)(void *))
{
    if (size == 0 || size > (PAGE_SIZE << MAX_PAGE_ORDER) / SLAB_MIN_OBJECTS ||
        (align & (align - 1)) || align > PAGE_SIZE)
        return NULL;
    struct kmem_cache *c = cache_alloc(&cache_of_caches);
    if (!c)
        return NULL;
    cache_setup(c, name, size, align, ctor, false);
    u64 lock_flags = spin_lock_irqsave(&caches_lock);
    c->next_cache = all_caches;
    all_caches = c;
    user_caches++;
    spin_unlock_irqrestore(&caches_lock, lock_flags);
    return c;
}
EXPORT_SYMBOL(kmem_cache_create);

__hookable void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t flags)
{
    void *p = cache_alloc(cache);
    if (p && (flags & GFP_ZERO))
        memset(p, 0, cache->object_size);
    return p;
}
EXPORT_SYMBOL(kmem_cache_alloc);

__hookable void kmem_cache_free(struct kmem_cache *cache, void *p)
{
    if (p)
        cache_free(cache, p);
}
EXPORT_SYMBOL(kmem_cache_free);

__hookable void kmem_cache_destroy(struct kmem_cache *cache)
{
    if (!cache)
        return;
    if (READ_ONCE(cache->live_objects)) {
        /* Freeing the slabs would leave dangling objects; keep the cache instead. */
        printk("kmem_cache_destroy: cache '%s' still has %lu objects, not destroyed\n",
               cache->name, cache->live_objects);
        return;
    }
    u64 flags = spin_lock_irqsave(&caches_lock);
    for (struct kmem_cache **pp = &all_caches; *pp; pp = &(*pp)->next_cache) {
        if (*pp == cache) {
            *pp = cache->next_cache;
            break;
        }
    }
    user_caches--;
    spin_unlock_irqrestore(&caches_lock, flags);
    cache_free(&cache_of_caches, cache);
}
EXPORT_SYMBOL(kmem_cache_destroy);

u64 kmem_cache_live_objects(const struct kmem_cache *cache)
{
    return READ_ONCE(cache->live_objects);
}

void slab_stats_fill(struct mem_stats *out)
{
    u64 objects = 0, bytes = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(kmalloc_caches); i++) {
        u64 flags = spin_lock_irqsave(&kmalloc_caches[i].lock);
        objects += kmalloc_caches[i].live_objects;
        bytes += kmalloc_caches[i].live_objects * kmalloc_caches[i].stride;
        spin_unlock_irqrestore(&kmalloc_caches[i].lock, flags);
    }
    u64 flags = spin_lock_irqsave(&caches_lock);
    out->kmalloc_objects = objects + kmalloc_large_objects;
    out->kmalloc_bytes = bytes + kmalloc_large_bytes;
    out->caches = user_caches;
    for (struct kmem_cache *c = all_caches; c; c = c->next_cache)
        out->cache_objects += READ_ONCE(c->live_objects);
    spin_unlock_irqrestore(&caches_lock, flags);
}

void slab_init(void)
{
    static const char *names[] = {
        "kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-128",
        "kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048",
    };
    cache_setup(&cache_of_caches, "kmem_cache", sizeof(struct kmem_cache), 8, NULL, false);
    size_t size = 8;
    for (unsigned i = 0; i < ARRAY_SIZE(kmalloc_caches); i++, size <<= 1)
        cache_setup(&kmalloc_caches[i], names[i], size, size < PAGE_SIZE ? size : PAGE_SIZE, NULL, true);
}
