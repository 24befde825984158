/*
 * The module loader: ELF64 relocatable objects (gcc -c, -mcmodel=kernel or
 * large) linked against the kernel's EXPORT_SYMBOL table.
 *
 * Allocated sections are grouped into four page-aligned regions in the module
 * area: text (executable), rodata, data (writable) and bss. Only the
 * relocations R_X86_64_64, PC32, PLT32 and 32S are applied; anything else,
 * an unresolved symbol or a malformed or truncated object refuses the module
 * with one line saying why, and the kernel goes on.
 *
 * drk_module_event() is called after relocation and before init_module (so a
 * tool sees the code before any of it runs) and after cleanup_module, before
 * the memory is freed.
 */
#include "kernel.h"
#include "elf.h"
#include "initrd.h"

#define MODULE_NAME_MAX 32
#define MODULE_PATH_MAX 64

enum region { REGION_TEXT, REGION_RODATA, REGION_DATA, REGION_BSS, REGION_COUNT };
static const char *const region_names[REGION_COUNT] = { "text", "rodata", "data", "bss" };

struct module_symbol {
    u64 address;
    u64 size;
    const char *name;
};

struct module {
    struct module *next;
    char name[MODULE_NAME_MAX];
    char path[MODULE_PATH_MAX];
    u8 *region[REGION_COUNT];
    u64 region_size[REGION_COUNT];      /* bytes used; the allocation is page-rounded */
    u64 *section_addrs;
    u32 section_count;
    struct module_symbol *symbols;      /* functions, for backtraces */
    u32 symbol_count;
    char *symbol_names;
    void (*exit)(void);
    u32 refs;                           /* module_get holds, under ref_lock */
    bool unloading;                     /* set by module_unload: no new holds */
    struct module_desc desc;
};

static struct module *volatile modules;
static struct mutex module_mutex = MUTEX_INIT("modules");
static struct module_reloc_counts last_counts;
static volatile u64 events_seen;
static const struct module_desc *last_event;
static u32 module_count;
static struct spinlock ref_lock = SPINLOCK_INIT("module_refs");

extern const struct kernel_symbol __ksymtab_start[], __ksymtab_end[];

/* ---- the debugger interface ---- */

/* The descriptor's layout is documented in docs/guest-abi.md; keep them in step. */
static_assert(offsetof(struct module_desc, name) == 8, "module_desc layout");
static_assert(offsetof(struct module_desc, text_start) == 24, "module_desc layout");
static_assert(offsetof(struct module_desc, rodata_start) == 40, "module_desc layout");
static_assert(offsetof(struct module_desc, data_start) == 56, "module_desc layout");
static_assert(offsetof(struct module_desc, bss_start) == 72, "module_desc layout");
static_assert(offsetof(struct module_desc, section_addrs) == 88, "module_desc layout");
static_assert(offsetof(struct module_desc, section_count) == 96, "module_desc layout");
static_assert(offsetof(struct module_desc, image) == 104, "module_desc layout");
static_assert(sizeof(struct module_desc) == 120, "module_desc layout");

/*
 * Empty on purpose: debuggers and Drk's tools stop here and read *desc.
 * __hookable keeps the symbol and every call to it; the asm makes the
 * argument and memory live so gcc cannot drop the call or the descriptor.
 */
__hookable void drk_module_event(const struct module_desc *desc)
{
    __asm__ __volatile__("" : : "r"(desc) : "memory");
}

static void notify(struct module *m, enum module_event event)
{
    m->desc.event = event;
    atomic_inc64(&events_seen);
    last_event = &m->desc;
    drk_module_event(&m->desc);
}

/* ---- exports ---- */

const struct kernel_symbol *export_find(const char *name)
{
    for (const struct kernel_symbol *s = __ksymtab_start; s < __ksymtab_end; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* ---- loading ---- */

struct loader {
    struct module *m;
    const u8 *image;
    size_t size;
    const struct elf64_ehdr *eh;
    const struct elf64_shdr *sh;
    const char *shstrtab;
    u64 shstrtab_size;
    const struct elf64_sym *syms;
    u32 sym_count;
    const char *strtab;
    u64 strtab_size;
    u64 *sym_values;
    struct module_reloc_counts counts;
    char error[160];
};

static __printf(2, 3) int refuse(struct loader *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->error, sizeof(l->error), fmt, ap);
    va_end(ap);
    return -ENOEXEC;
}

static const char *section_name(struct loader *l, u32 index)
{
    u32 off = l->sh[index].sh_name;
    if (!l->shstrtab || off >= l->shstrtab_size)
        return "?";
    return l->shstrtab + off;
}

static const char *symbol_name(struct loader *l, const struct elf64_sym *s)
{
    if (s->st_name >= l->strtab_size)
        return "?";
    return l->strtab + s->st_name;
}

static bool range_ok(struct loader *l, u64 offset, u64 length)
{
    return offset <= l->size && length <= l->size - offset;
}

/* Whether a string table ends with a NUL, so names cannot run past it. */
static bool strtab_ok(const char *table, u64 size)
{
    return size > 0 && table[size - 1] == 0;
}

static int check_headers(struct loader *l)
{
    const struct elf64_ehdr *eh = l->eh;
    if (l->size < sizeof(*eh))
        return refuse(l, "truncated ELF: %lu bytes, shorter than the ELF header", (u64)l->size);
    if (memcmp(eh->e_ident, "\177ELF", 4) != 0)
        return refuse(l, "not an ELF file");
    if (eh->e_ident[4] != ELFCLASS64 || eh->e_ident[5] != ELFDATA2LSB)
        return refuse(l, "not a little-endian ELF64 file");
    if (eh->e_type != ET_REL)
        return refuse(l, "not a relocatable object (e_type %u)", eh->e_type);
    if (eh->e_machine != EM_X86_64)
        return refuse(l, "not an x86-64 object (e_machine %u)", eh->e_machine);
    if (eh->e_shentsize != sizeof(struct elf64_shdr) || eh->e_shnum == 0 || eh->e_shstrndx >= eh->e_shnum)
        return refuse(l, "bad section header table");
    if (!range_ok(l, eh->e_shoff, (u64)eh->e_shnum * sizeof(struct elf64_shdr)))
        return refuse(l, "truncated ELF: section headers end past the end of the file (%lu bytes)", (u64)l->size);
    /* cpio aligns files to 4 bytes only; x86 does not mind unaligned reads. */
    l->sh = (const struct elf64_shdr *)(l->image + eh->e_shoff);
    for (u32 i = 0; i < eh->e_shnum; i++) {
        const struct elf64_shdr *s = &l->sh[i];
        if (s->sh_type != SHT_NOBITS && !range_ok(l, s->sh_offset, s->sh_size))
            return refuse(l, "truncated ELF: section %u ends past the end of the file (%lu bytes)", i, (u64)l->size);
        if (s->sh_addralign > PAGE_SIZE || (s->sh_addralign & (s->sh_addralign - 1)))
            return refuse(l, "section %u has alignment %lu", i, s->sh_addralign);
    }
    const struct elf64_shdr *shstr = &l->sh[eh->e_shstrndx];
    l->shstrtab = (const char *)l->image + shstr->sh_offset;
    l->shstrtab_size = shstr->sh_size;
    if (!strtab_ok(l->shstrtab, l->shstrtab_size))
        return refuse(l, "bad section name table");
    return 0;
}

static enum region region_of(const struct elf64_shdr *s)
{
    if (s->sh_flags & SHF_EXECINSTR)
        return REGION_TEXT;
    if (s->sh_type == SHT_NOBITS)
        return REGION_BSS;
    if (s->sh_flags & SHF_WRITE)
        return REGION_DATA;
    return REGION_RODATA;
}

static int layout_and_copy(struct loader *l)
{
    struct module *m = l->m;
    u32 n = l->eh->e_shnum;
    u64 offsets[REGION_COUNT] = { 0 };
    u64 *section_offset = kzalloc(n * sizeof(u64), GFP_KERNEL);
    m->section_addrs = kzalloc(n * sizeof(u64), GFP_KERNEL);
    m->section_count = n;
    if (!section_offset || !m->section_addrs) {
        kfree(section_offset);
        return refuse(l, "out of memory");
    }
    for (u32 i = 0; i < n; i++) {
        const struct elf64_shdr *s = &l->sh[i];
        if (!(s->sh_flags & SHF_ALLOC) || s->sh_size == 0)
            continue;
        enum region r = region_of(s);
        u64 align = s->sh_addralign ? s->sh_addralign : 1;
        section_offset[i] = ALIGN_UP(offsets[r], align);
        offsets[r] = section_offset[i] + s->sh_size;
    }
    for (int r = 0; r < REGION_COUNT; r++) {
        m->region_size[r] = offsets[r];
        if (!offsets[r])
            continue;
        m->region[r] = module_area_alloc(offsets[r]);   /* zeroed, so bss needs nothing */
        if (!m->region[r]) {
            kfree(section_offset);
            return refuse(l, "out of memory for %s (%lu bytes)", region_names[r], offsets[r]);
        }
    }
    for (u32 i = 0; i < n; i++) {
        const struct elf64_shdr *s = &l->sh[i];
        if (!(s->sh_flags & SHF_ALLOC) || s->sh_size == 0)
            continue;
        u8 *dst = m->region[region_of(s)] + section_offset[i];
        m->section_addrs[i] = (u64)dst;
        if (s->sh_type != SHT_NOBITS)
            memcpy(dst, l->image + s->sh_offset, s->sh_size);
    }
    kfree(section_offset);
    return 0;
}

static int find_symtab(struct loader *l)
{
    for (u32 i = 0; i < l->eh->e_shnum; i++) {
        const struct elf64_shdr *s = &l->sh[i];
        if (s->sh_type != SHT_SYMTAB)
            continue;
        if (s->sh_entsize != sizeof(struct elf64_sym) || s->sh_link >= l->eh->e_shnum)
            return refuse(l, "bad symbol table");
        const struct elf64_shdr *str = &l->sh[s->sh_link];
        l->syms = (const struct elf64_sym *)(l->image + s->sh_offset);
        l->sym_count = (u32)(s->sh_size / sizeof(struct elf64_sym));
        l->strtab = (const char *)l->image + str->sh_offset;
        l->strtab_size = str->sh_size;
        if (!strtab_ok(l->strtab, l->strtab_size))
            return refuse(l, "bad symbol name table");
        return 0;
    }
    return refuse(l, "no symbol table");
}

static int resolve_symbols(struct loader *l)
{
    l->sym_values = kzalloc((l->sym_count + 1) * sizeof(u64), GFP_KERNEL);
    if (!l->sym_values)
        return refuse(l, "out of memory");
    u32 unresolved = 0;
    const char *first_unresolved = NULL;
    for (u32 i = 1; i < l->sym_count; i++) {
        const struct elf64_sym *s = &l->syms[i];
        const char *name = symbol_name(l, s);
        if (s->st_shndx == SHN_UNDEF) {
            const struct kernel_symbol *k = export_find(name);
            if (k) {
                l->sym_values[i] = (u64)k->address;
            } else if (ELF64_ST_BIND(s->st_info) != STB_WEAK) {
                if (!unresolved++)
                    first_unresolved = name;
            }
        } else if (s->st_shndx == SHN_ABS) {
            l->sym_values[i] = s->st_value;
        } else if (s->st_shndx == SHN_COMMON) {
            return refuse(l, "common symbol '%s' (build modules with -fno-common)", name);
        } else if (s->st_shndx >= SHN_LORESERVE || s->st_shndx >= l->eh->e_shnum) {
            return refuse(l, "symbol '%s' in unsupported section %u", name, s->st_shndx);
        } else if (l->m->section_addrs[s->st_shndx]) {
            l->sym_values[i] = l->m->section_addrs[s->st_shndx] + s->st_value;
        }
    }
    if (unresolved == 1)
        return refuse(l, "unresolved symbol '%s'", first_unresolved);
    if (unresolved > 1)
        return refuse(l, "unresolved symbol '%s' and %u more", first_unresolved, unresolved - 1);
    return 0;
}

static const char *reloc_type_name(u32 type)
{
    switch (type) {
    case 0: return "R_X86_64_NONE";
    case 1: return "R_X86_64_64";
    case 2: return "R_X86_64_PC32";
    case 3: return "R_X86_64_GOT32";
    case 4: return "R_X86_64_PLT32";
    case 8: return "R_X86_64_RELATIVE";
    case 9: return "R_X86_64_GOTPCREL";
    case 10: return "R_X86_64_32";
    case 11: return "R_X86_64_32S";
    case 24: return "R_X86_64_PC64";
    case 41: return "R_X86_64_GOTPCRELX";
    case 42: return "R_X86_64_REX_GOTPCRELX";
    default: return "unknown";
    }
}

static int apply_relocations(struct loader *l, u32 rela_index)
{
    const struct elf64_shdr *rs = &l->sh[rela_index];
    u32 target = rs->sh_info;
    if (target >= l->eh->e_shnum || rs->sh_entsize != sizeof(struct elf64_rela))
        return refuse(l, "bad relocation section %s", section_name(l, rela_index));
    if (!l->m->section_addrs[target])
        return 0;   /* debug info and other sections that are not loaded */
    u64 base = l->m->section_addrs[target];
    u64 target_size = l->sh[target].sh_size;
    const struct elf64_rela *rel = (const struct elf64_rela *)(l->image + rs->sh_offset);
    u64 count = rs->sh_size / sizeof(*rel);

    for (u64 i = 0; i < count; i++) {
        u32 type = ELF64_R_TYPE(rel[i].r_info);
        u32 sym = ELF64_R_SYM(rel[i].r_info);
        if (sym >= l->sym_count)
            return refuse(l, "relocation %lu in %s names symbol %u of %u", i, section_name(l, rela_index), sym, l->sym_count);
        u64 width = type == R_X86_64_64 ? 8 : 4;
        if (rel[i].r_offset > target_size || width > target_size - rel[i].r_offset)
            return refuse(l, "relocation %lu in %s is outside its section", i, section_name(l, rela_index));
        u64 S = l->sym_values[sym];
        s64 A = rel[i].r_addend;
        u64 P = base + rel[i].r_offset;
        void *where = (void *)P;
        switch (type) {
        case R_X86_64_64: {
            u64 v = S + A;
            memcpy(where, &v, 8);
            l->counts.r64++;
            break;
        }
        case R_X86_64_PC32:
        case R_X86_64_PLT32: {
            s64 v = (s64)(S + A - P);
            if (v != (s32)v)
                return refuse(l, "%s to '%s' out of range", reloc_type_name(type), symbol_name(l, &l->syms[sym]));
            s32 v32 = (s32)v;
            memcpy(where, &v32, 4);
            if (type == R_X86_64_PC32)
                l->counts.pc32++;
            else
                l->counts.plt32++;
            break;
        }
        case R_X86_64_32S: {
            s64 v = (s64)(S + A);
            if (v != (s32)v)
                return refuse(l, "R_X86_64_32S to '%s' out of range", symbol_name(l, &l->syms[sym]));
            s32 v32 = (s32)v;
            memcpy(where, &v32, 4);
            l->counts.r32s++;
            break;
        }
        default:
            return refuse(l, "unsupported relocation type %u (%s) in %s", type, reloc_type_name(type),
                          section_name(l, rela_index));
        }
    }
    return 0;
}

static int relocate(struct loader *l)
{
    for (u32 i = 0; i < l->eh->e_shnum; i++) {
        if (l->sh[i].sh_type == SHT_REL)
            return refuse(l, "SHT_REL relocations (without addends) are not supported");
        if (l->sh[i].sh_type == SHT_RELA) {
            int err = apply_relocations(l, i);
            if (err)
                return err;
        }
    }
    return 0;
}

/* Keeps the function symbols (names copied) so backtraces can name module code. */
static int keep_symbols(struct loader *l)
{
    struct module *m = l->m;
    u32 count = 0;
    u64 names = 0;
    for (u32 i = 1; i < l->sym_count; i++) {
        const struct elf64_sym *s = &l->syms[i];
        if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && l->sym_values[i] && s->st_shndx < l->eh->e_shnum) {
            count++;
            names += strlen(symbol_name(l, s)) + 1;
        }
    }
    if (!count)
        return 0;
    m->symbols = kmalloc(count * sizeof(*m->symbols), GFP_KERNEL);
    m->symbol_names = kmalloc(names, GFP_KERNEL);
    if (!m->symbols || !m->symbol_names)
        return refuse(l, "out of memory");
    char *p = m->symbol_names;
    for (u32 i = 1; i < l->sym_count; i++) {
        const struct elf64_sym *s = &l->syms[i];
        if (!(ELF64_ST_TYPE(s->st_info) == STT_FUNC && l->sym_values[i] && s->st_shndx < l->eh->e_shnum))
            continue;
        const char *name = symbol_name(l, s);
        size_t len = strlen(name) + 1;
        memcpy(p, name, len);
        m->symbols[m->symbol_count++] = (struct module_symbol){ l->sym_values[i], s->st_size, p };
        p += len;
    }
    return 0;
}

static u64 find_function(struct loader *l, const char *name)
{
    for (u32 i = 1; i < l->sym_count; i++) {
        const struct elf64_sym *s = &l->syms[i];
        if (ELF64_ST_BIND(s->st_info) != STB_LOCAL && s->st_shndx != SHN_UNDEF &&
            s->st_shndx < l->eh->e_shnum && (l->sh[s->st_shndx].sh_flags & SHF_EXECINSTR) &&
            strcmp(symbol_name(l, s), name) == 0)
            return l->sym_values[i];
    }
    return 0;
}

static void module_free(struct module *m)
{
    for (int r = 0; r < REGION_COUNT; r++)
        if (m->region[r])
            module_area_free(m->region[r], m->region_size[r]);
    kfree(m->section_addrs);
    kfree(m->symbols);
    kfree(m->symbol_names);
    kfree(m);
}

static void list_remove(struct module *m)
{
    for (struct module *volatile *pp = &modules; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            return;
        }
    }
}

static struct module *find_locked(const char *name)
{
    for (struct module *m = modules; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

static void fill_desc(struct module *m, const void *image, size_t size)
{
    struct module_desc *d = &m->desc;
    d->version = MODULE_DESC_VERSION;
    d->name = m->name;
    d->path = m->path;
    d->text_start = (u64)m->region[REGION_TEXT];
    d->text_size = m->region_size[REGION_TEXT];
    d->rodata_start = (u64)m->region[REGION_RODATA];
    d->rodata_size = m->region_size[REGION_RODATA];
    d->data_start = (u64)m->region[REGION_DATA];
    d->data_size = m->region_size[REGION_DATA];
    d->bss_start = (u64)m->region[REGION_BSS];
    d->bss_size = m->region_size[REGION_BSS];
    d->section_addrs = m->section_addrs;
    d->section_count = m->section_count;
    d->image = image;
    d->image_size = size;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= MODULE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int module_load_image(const char *name, const char *path, const void *image, size_t size)
{
    if (!name_ok(name)) {
        printk("module: refused: bad module name\n");
        return -EINVAL;
    }
    mutex_lock(&module_mutex);
    if (find_locked(name)) {
        mutex_unlock(&module_mutex);
        printk("module %s: refused: already loaded\n", name);
        return -EEXIST;
    }
    struct loader l;
    memset(&l, 0, sizeof(l));
    l.image = image;
    l.size = size;
    l.eh = image;
    l.m = kzalloc(sizeof(struct module), GFP_KERNEL);
    if (!l.m) {
        mutex_unlock(&module_mutex);
        return -ENOMEM;
    }
    struct module *m = l.m;
    strlcpy(m->name, name, sizeof(m->name));
    strlcpy(m->path, path ? path : "", sizeof(m->path));

    int err = check_headers(&l);
    if (!err)
        err = find_symtab(&l);
    if (!err)
        err = layout_and_copy(&l);
    if (!err)
        err = resolve_symbols(&l);
    if (!err)
        err = relocate(&l);
    if (!err)
        err = keep_symbols(&l);
    u64 init = 0;
    if (!err) {
        init = find_function(&l, "init_module");
        m->exit = (void (*)(void))find_function(&l, "cleanup_module");
        if (!init)
            err = refuse(&l, "no init_module function");
    }
    kfree(l.sym_values);
    if (err) {
        printk("module %s: refused: %s\n", name, l.error);
        module_free(m);
        mutex_unlock(&module_mutex);
        return err;
    }

    /* Relocation done: text becomes read-only and executable, rodata read-only. */
    if (m->region[REGION_TEXT])
        module_area_protect(m->region[REGION_TEXT], m->region_size[REGION_TEXT], true, false);
    if (m->region[REGION_RODATA])
        module_area_protect(m->region[REGION_RODATA], m->region_size[REGION_RODATA], false, false);

    fill_desc(m, image, size);
    m->next = modules;
    modules = m;
    last_counts = l.counts;
    notify(m, MODULE_EVENT_LOAD);

    int ret = ((int (*)(void))init)();
    if (ret != 0) {
        printk("module %s: refused: init_module returned %d\n", name, ret);
        notify(m, MODULE_EVENT_UNLOAD);
        list_remove(m);
        module_free(m);
        mutex_unlock(&module_mutex);
        return ret < 0 ? ret : -EINVAL;
    }
    module_count++;
    printk("module %s: loaded (text %lu, rodata %lu, data %lu, bss %lu bytes)\n", name,
           m->region_size[REGION_TEXT], m->region_size[REGION_RODATA],
           m->region_size[REGION_DATA], m->region_size[REGION_BSS]);
    mutex_unlock(&module_mutex);
    return 0;
}

int module_load(const char *name)
{
    char path[MODULE_PATH_MAX];
    const void *image;
    size_t size;
    if (!name_ok(name)) {
        printk("module: refused: bad module name\n");
        return -EINVAL;
    }
    snprintf(path, sizeof(path), "modules/%s.o", name);
    if (!initrd_find(path, &image, &size)) {
        printk("module %s: not found (no %s in the initrd)\n", name, path);
        return -ENOENT;
    }
    return module_load_image(name, path, image, size);
}

int module_unload(const char *name)
{
    mutex_lock(&module_mutex);
    struct module *m = find_locked(name);
    if (!m) {
        mutex_unlock(&module_mutex);
        printk("module %s: not loaded\n", name);
        return -ENOENT;
    }
    /* Checked and marked in one step, so no hold can slip in between. */
    u64 flags = spin_lock_irqsave(&ref_lock);
    u32 refs = m->refs;
    if (!refs)
        m->unloading = true;
    spin_unlock_irqrestore(&ref_lock, flags);
    if (refs) {
        mutex_unlock(&module_mutex);
        printk("module %s: busy (%u users)\n", name, refs);
        return -EBUSY;
    }
    if (m->exit)
        m->exit();
    notify(m, MODULE_EVENT_UNLOAD);
    list_remove(m);
    module_count--;
    module_free(m);
    printk("module %s: unloaded\n", name);
    mutex_unlock(&module_mutex);
    return 0;
}

bool module_is_loaded(const char *name)
{
    mutex_lock(&module_mutex);
    bool loaded = find_locked(name) != NULL;
    mutex_unlock(&module_mutex);
    return loaded;
}

u32 modules_loaded(void) { return module_count; }

void module_last_reloc_counts(struct module_reloc_counts *out) { *out = last_counts; }
u64 module_events_seen(void) { return events_seen; }
const struct module_desc *module_last_event(void) { return last_event; }

/* Lock-free on purpose: an oops inside a module's init runs with the mutex held. */
bool module_symbolize(u64 address, char *buf, size_t size)
{
    for (struct module *m = modules; m; m = m->next) {
        u64 text = (u64)m->region[REGION_TEXT];
        if (address < text || address >= text + m->region_size[REGION_TEXT])
            continue;
        const struct module_symbol *best = NULL;
        for (u32 i = 0; i < m->symbol_count; i++) {
            const struct module_symbol *s = &m->symbols[i];
            if (s->address <= address && (!best || s->address > best->address))
                best = s;
        }
        if (best)
            snprintf(buf, size, "%s+0x%lx [%s]", best->name, address - best->address, m->name);
        else
            snprintf(buf, size, "%s+0x%lx [%s]", region_names[REGION_TEXT], address - text, m->name);
        return true;
    }
    return false;
}

/*
 * Lock-free like module_symbolize: callers are a module's own init or exit
 * (which hold module_mutex) or hold the module, so the list cannot change
 * under them in a way that matters.
 */
struct module *module_of_address(u64 address)
{
    for (struct module *m = modules; m; m = m->next)
        for (int r = 0; r < REGION_COUNT; r++)
            if (m->region[r] && address >= (u64)m->region[r] && address < (u64)m->region[r] + m->region_size[r])
                return m;
    return NULL;
}

bool module_get(struct module *m)
{
    if (!m)
        return true;
    u64 flags = spin_lock_irqsave(&ref_lock);
    bool ok = !m->unloading;
    if (ok)
        m->refs++;
    spin_unlock_irqrestore(&ref_lock, flags);
    return ok;
}

void module_put(struct module *m)
{
    if (!m)
        return;
    u64 flags = spin_lock_irqsave(&ref_lock);
    if (m->refs == 0)
        panic("module %s: module_put without a hold", m->name);
    m->refs--;
    spin_unlock_irqrestore(&ref_lock, flags);
}
