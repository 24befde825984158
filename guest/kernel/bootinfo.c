/*
 * Reads the PVH hvm_start_info. Everything is copied into kernel memory before
 * the page allocator runs, so the loader's structures may then be reused.
 */
#include "kernel.h"
#include "bootinfo.h"

struct boot_info boot_info;

static const char *memmap_type_name(u32 type)
{
    switch (type) {
    case MEMMAP_RAM: return "usable";
    case MEMMAP_RESERVED: return "reserved";
    case MEMMAP_ACPI: return "acpi";
    case 4: return "acpi-nvs";
    case 5: return "unusable";
    default: return "other";
    }
}

void bootinfo_parse(u64 start_info_phys)
{
    const struct hvm_start_info *si = phys_to_virt(start_info_phys);

    if (start_info_phys == 0 || si->magic != HVM_START_MAGIC)
        panic("boot: no hvm_start_info at 0x%lx (RBX/EBX must point to it)", start_info_phys);
    boot_info.start_info_version = si->version;

    if (si->cmdline_paddr) {
        const char *cmdline = phys_to_virt(si->cmdline_paddr);
        strlcpy(boot_info.cmdline, cmdline, sizeof(boot_info.cmdline));
    }

    if (si->version < 1 || si->memmap_paddr == 0 || si->memmap_entries == 0)
        panic("boot: hvm_start_info has no memory map (version %u)", si->version);
    const struct hvm_memmap_table_entry *map = phys_to_virt(si->memmap_paddr);
    /* QEMU's PVH option ROM counts a zero entry at the end; skip empty ones. */
    u32 n = 0;
    for (u32 i = 0; i < si->memmap_entries && n < BOOT_MEMMAP_MAX; i++)
        if (map[i].size != 0)
            boot_info.memmap[n++] = map[i];
    boot_info.memmap_count = n;

    if (si->nr_modules > 0 && si->modlist_paddr) {
        const struct hvm_modlist_entry *mod = phys_to_virt(si->modlist_paddr);
        boot_info.initrd_phys = mod[0].paddr;
        boot_info.initrd_size = mod[0].size;
    }
    boot_info.rsdp_phys = si->rsdp_paddr;
}

void bootinfo_print(void)
{
    printk("[m] boot: hvm_start_info version %u, %u memory map entries\n",
           boot_info.start_info_version, boot_info.memmap_count);
    for (u32 i = 0; i < boot_info.memmap_count; i++) {
        const struct hvm_memmap_table_entry *e = &boot_info.memmap[i];
        printk("[m] boot: mem [%016lx-%016lx] %s\n", e->addr, e->addr + e->size - 1,
               memmap_type_name(e->type));
    }
}

/* Finds word `key` (alone or as "key=...") and returns the value part, or NULL. */
static const char *cmdline_find(const char *key, size_t *value_len, bool *has_value)
{
    size_t key_len = strlen(key);
    const char *p = boot_info.cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *word = p;
        while (*p && *p != ' ')
            p++;
        size_t word_len = p - word;
        if (word_len >= key_len && memcmp(word, key, key_len) == 0) {
            if (word_len == key_len) {
                *has_value = false;
                *value_len = 0;
                return word + key_len;
            }
            if (word[key_len] == '=') {
                *has_value = true;
                *value_len = word_len - key_len - 1;
                return word + key_len + 1;
            }
        }
    }
    return NULL;
}

bool cmdline_has(const char *flag)
{
    size_t len;
    bool has_value;
    return cmdline_find(flag, &len, &has_value) != NULL && !has_value;
}

bool cmdline_value(const char *key, char *out, size_t size)
{
    size_t len;
    bool has_value;
    const char *v = cmdline_find(key, &len, &has_value);
    if (!v || !has_value || size == 0)
        return false;
    size_t n = MIN(len, size - 1);
    memcpy(out, v, n);
    out[n] = 0;
    return true;
}

bool cmdline_u64(const char *key, u64 *out)
{
    size_t len;
    bool has_value;
    const char *v = cmdline_find(key, &len, &has_value);
    return v && has_value && parse_u64(v, len, out);
}
