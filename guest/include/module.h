/*
 * Loadable modules: ELF64 relocatable objects linked against the kernel's
 * exports. A module defines init_module() (0 on success) and, optionally,
 * cleanup_module(); MODULE_INIT/MODULE_EXIT name them.
 */
#ifndef DRK_MODULE_H
#define DRK_MODULE_H

#include "types.h"

#define MODULE_INIT(fn) int init_module(void) __attribute__((alias(#fn)))
#define MODULE_EXIT(fn) void cleanup_module(void) __attribute__((alias(#fn)))

#define MODULE_DESC_VERSION 1

enum module_event {
    MODULE_EVENT_LOAD = 1,      /* relocated, before init_module runs */
    MODULE_EVENT_UNLOAD = 2,    /* after cleanup_module, before the memory is freed */
};

/*
 * What drk_module_event() receives. The layout is an ABI for debuggers and
 * Drk's tools (docs/guest-abi.md gives the offsets); only append to it.
 */
struct module_desc {
    u32 version;                /* MODULE_DESC_VERSION */
    u32 event;                  /* enum module_event */
    const char *name;
    const char *path;           /* the object's path in the initrd, e.g. "modules/good.o" */
    u64 text_start, text_size;  /* executable sections */
    u64 rodata_start, rodata_size;
    u64 data_start, data_size;
    u64 bss_start, bss_size;
    const u64 *section_addrs;   /* load address of each ELF section, 0 if not loaded */
    u32 section_count;
    u32 reserved;
    const void *image;          /* the ELF object; valid during the call */
    u64 image_size;
};

/* Called after a module is loaded and before it is unloaded; empty on purpose. */
void drk_module_event(const struct module_desc *desc);

/* Loads "modules/<name>.o" from the initrd. */
int module_load(const char *name);
int module_load_image(const char *name, const char *path, const void *image, size_t size);
int module_unload(const char *name);
bool module_is_loaded(const char *name);
u32 modules_loaded(void);

/* Relocation counts of the last successful load, for the self-test. */
struct module_reloc_counts {
    u32 r64, pc32, plt32, r32s;
};
void module_last_reloc_counts(struct module_reloc_counts *out);
u64 module_events_seen(void);
const struct module_desc *module_last_event(void);

bool module_symbolize(u64 address, char *buf, size_t size);

/*
 * Module references: while a module is "held" it cannot be unloaded
 * (module_unload returns -EBUSY). The VFS holds the module whose
 * file_operations serve an open device node.
 */
struct module;
/* The module whose text, rodata, data or bss contains address; NULL for the kernel. */
struct module *module_of_address(u64 address);
/* Holds m; false if it is being unloaded. m NULL (the kernel) always succeeds. */
bool module_get(struct module *m);
void module_put(struct module *m);

#endif
