/*
 * How many CPUs, and their APIC IDs:
 *  1. the ACPI MADT: RSDP from hvm_start_info.rsdp_paddr, else a scan of the
 *     BIOS area 0xe0000-0xfffff; every enabled (or online-capable) local APIC
 *     entry is a CPU, in table order; "ncpus=N" may lower the count.
 *  2. without a MADT: "ncpus=N" on the command line, APIC IDs 0..N-1.
 *  3. otherwise one CPU.
 * The tables are read through the boot page tables' direct map of 4 GiB,
 * before the page allocator may reuse their memory.
 */
#include "kernel.h"
#include "acpi.h"
#include "bootinfo.h"

struct __packed acpi_rsdp {
    char signature[8];
    u8 checksum;
    char oem_id[6];
    u8 revision;
    u32 rsdt_address;
    u32 length;                 /* revision >= 2 */
    u64 xsdt_address;
    u8 extended_checksum;
    u8 reserved[3];
};

struct __packed acpi_header {
    char signature[4];
    u32 length;
    u8 revision;
    u8 checksum;
    char oem_id[6];
    char oem_table_id[8];
    u32 oem_revision;
    u32 creator_id;
    u32 creator_revision;
};

struct __packed acpi_madt {
    struct acpi_header header;
    u32 lapic_address;
    u32 flags;
    u8 entries[];
};

#define MADT_LOCAL_APIC             0
#define MADT_LOCAL_APIC_OVERRIDE    5
#define MADT_LAPIC_ENABLED          1
#define MADT_LAPIC_ONLINE_CAPABLE   2

static u64 lapic_phys = 0xfee00000;
static const char *rsdp_source = "none";
static enum cpu_source cpu_source = CPU_SOURCE_DEFAULT;

static bool checksum_ok(const void *p, u64 len)
{
    u8 sum = 0;
    for (u64 i = 0; i < len; i++)
        sum += ((const u8 *)p)[i];
    return sum == 0;
}

static const struct acpi_rsdp *rsdp_at(u64 pa)
{
    const struct acpi_rsdp *r = phys_to_virt(pa);
    if (memcmp(r->signature, "RSD PTR ", 8) != 0 || !checksum_ok(r, 20))
        return NULL;
    return r;
}

static const struct acpi_rsdp *find_rsdp(void)
{
    if (boot_info.rsdp_phys) {
        const struct acpi_rsdp *r = rsdp_at(boot_info.rsdp_phys);
        if (r) {
            rsdp_source = "hvm_start_info";
            return r;
        }
    }
    for (u64 pa = 0xe0000; pa < 0x100000; pa += 16) {
        const struct acpi_rsdp *r = rsdp_at(pa);
        if (r) {
            rsdp_source = "BIOS area scan";
            return r;
        }
    }
    return NULL;
}

static const struct acpi_header *table_at(u64 pa, const char *signature)
{
    if (pa == 0 || pa >= (1ul << 32))
        return NULL;
    const struct acpi_header *h = phys_to_virt(pa);
    if (memcmp(h->signature, signature, 4) != 0 || !checksum_ok(h, h->length))
        return NULL;
    return h;
}

static const struct acpi_madt *find_madt(void)
{
    const struct acpi_rsdp *rsdp = find_rsdp();
    if (!rsdp)
        return NULL;
    const struct acpi_header *root;
    u32 entry_size;
    if (rsdp->revision >= 2 && rsdp->xsdt_address && (root = table_at(rsdp->xsdt_address, "XSDT")))
        entry_size = 8;
    else if ((root = table_at(rsdp->rsdt_address, "RSDT")))
        entry_size = 4;
    else
        return NULL;
    const u8 *entries = (const u8 *)root + sizeof(*root);
    u32 count = (root->length - sizeof(*root)) / entry_size;
    for (u32 i = 0; i < count; i++) {
        u64 pa = 0;
        memcpy(&pa, entries + i * entry_size, entry_size);
        const struct acpi_header *h = table_at(pa, "APIC");
        if (h)
            return (const struct acpi_madt *)h;
    }
    return NULL;
}

void acpi_find_cpus(void)
{
    u64 requested = 0;
    bool has_request = cmdline_u64("ncpus", &requested) && requested > 0;
    const struct acpi_madt *madt = find_madt();

    if (madt) {
        u32 n = 0;
        lapic_phys = madt->lapic_address;
        const u8 *p = madt->entries;
        const u8 *end = (const u8 *)madt + madt->header.length;
        while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
            if (p[0] == MADT_LOCAL_APIC && p[1] >= 8) {
                u32 flags;
                memcpy(&flags, p + 4, 4);
                if ((flags & (MADT_LAPIC_ENABLED | MADT_LAPIC_ONLINE_CAPABLE)) && n < MAX_CPUS)
                    cpu_apic_ids[n++] = p[3];
            } else if (p[0] == MADT_LOCAL_APIC_OVERRIDE && p[1] >= 12) {
                memcpy(&lapic_phys, p + 4, 8);
            }
            p += p[1];
        }
        if (n > 0) {
            cpu_count = has_request ? MIN(n, (u32)requested) : n;
            cpu_source = CPU_SOURCE_MADT;
            return;
        }
    }
    if (has_request) {
        cpu_count = (u32)MIN(requested, (u64)MAX_CPUS);
        for (u32 i = 0; i < cpu_count; i++)
            cpu_apic_ids[i] = i;
        cpu_source = CPU_SOURCE_CMDLINE;
        return;
    }
    cpu_count = 1;
    cpu_apic_ids[0] = 0;
}

u64 acpi_lapic_phys(void) { return lapic_phys; }
const char *acpi_rsdp_source(void) { return rsdp_source; }
enum cpu_source acpi_cpu_source(void) { return cpu_source; }
