/*
 * The slab allocator and kmalloc. A memory checker intercepts these by their
 * symbols, so every public function here is a real global function, and none
 * calls another: each request reaches exactly one of them.
 */
#ifndef DRK_SLAB_H
#define DRK_SLAB_H

#include "types.h"

#define KMALLOC_MAX_CACHE_SIZE  2048    /* larger requests take whole pages */

void *kmalloc(size_t size, gfp_t flags);
void *kzalloc(size_t size, gfp_t flags);
void *krealloc(void *p, size_t new_size, gfp_t flags);
void kfree(const void *p);
size_t ksize(const void *p);

struct kmem_cache;
struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
                                     unsigned int flags, void (*ctor)(void *));
void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t flags);
void kmem_cache_free(struct kmem_cache *cache, void *p);
void kmem_cache_destroy(struct kmem_cache *cache);

void slab_init(void);
struct mem_stats;
void slab_stats_fill(struct mem_stats *out);
/* Counts the caller's own cache, for tests. */
u64 kmem_cache_live_objects(const struct kmem_cache *cache);

#endif
