/* What the boot loader told the kernel: PVH hvm_start_info, copied early. */
#ifndef DRK_BOOTINFO_H
#define DRK_BOOTINFO_H

#include "types.h"

#define HVM_START_MAGIC 0x336ec578

/* The PVH boot structure (Xen public ABI, arch-x86/hvm/start_info.h). */
struct hvm_start_info {
    u32 magic;
    u32 version;
    u32 flags;
    u32 nr_modules;
    u64 modlist_paddr;
    u64 cmdline_paddr;
    u64 rsdp_paddr;
    u64 memmap_paddr;           /* version 1 */
    u32 memmap_entries;
    u32 reserved;
};

struct hvm_modlist_entry {
    u64 paddr;
    u64 size;
    u64 cmdline_paddr;
    u64 reserved;
};

struct hvm_memmap_table_entry {
    u64 addr;
    u64 size;
    u32 type;
    u32 reserved;
};

#define MEMMAP_RAM      1
#define MEMMAP_RESERVED 2
#define MEMMAP_ACPI     3

#define BOOT_MEMMAP_MAX 64
#define BOOT_CMDLINE_MAX 1024

struct boot_info {
    u32 start_info_version;
    char cmdline[BOOT_CMDLINE_MAX];
    struct hvm_memmap_table_entry memmap[BOOT_MEMMAP_MAX];
    u32 memmap_count;
    u64 initrd_phys;
    u64 initrd_size;
    u64 rsdp_phys;
};

extern struct boot_info boot_info;

void bootinfo_parse(u64 start_info_phys);
void bootinfo_print(void);

/* Command line: space-separated "flag" or "key=value" words. */
bool cmdline_has(const char *flag);
bool cmdline_value(const char *key, char *out, size_t size);
bool cmdline_u64(const char *key, u64 *out);

#endif
