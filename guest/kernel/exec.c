/*
 * The program loader: static ELF64 executables (ET_EXEC, linked at a fixed
 * address in the user half) from the initrd. Every PT_LOAD segment is copied
 * into fresh pages of a new address space, so a process never shares frames
 * with the initrd or with another process. The stack is a 1 MiB region below
 * USER_STACK_TOP mapped on demand; its top page is made now and holds the
 * arguments the way Linux lays them out, so one crt0 serves both:
 *
 *   sp -> argc, argv[0] ... argv[argc-1], NULL, NULL (no environment),
 *         AT_NULL auxiliary entry (two zero words), then the strings
 */
#include "kernel.h"
#include "elf.h"
#include "process.h"
#include "vfs.h"

#define STACK_ARGS_SIZE PAGE_SIZE       /* the first stack page holds all of the arguments */

static bool segment_ok(const struct elf64_phdr *ph, size_t file_size)
{
    if (ph->p_filesz > ph->p_memsz || ph->p_offset > file_size || ph->p_filesz > file_size - ph->p_offset)
        return false;
    if (ph->p_vaddr < USER_IMAGE_MIN || ph->p_memsz > USER_MMAP_BASE || ph->p_vaddr > USER_MMAP_BASE - ph->p_memsz)
        return false;
    return true;
}

static u64 segment_pte_flags(const struct elf64_phdr *ph)
{
    return ((ph->p_flags & PF_W) ? PTE_WRITE : 0) | ((ph->p_flags & PF_X) ? 0 : PTE_NX);
}

/* Maps and fills one segment. Pages shared with the previous segment get the union of both permissions. */
static int load_segment(struct address_space *as, const u8 *image, const struct elf64_phdr *ph)
{
    u64 flags = segment_pte_flags(ph);
    u64 start = ALIGN_DOWN(ph->p_vaddr, PAGE_SIZE), end = ALIGN_UP(ph->p_vaddr + ph->p_memsz, PAGE_SIZE);
    for (u64 va = start; va < end; va += PAGE_SIZE) {
        int err = as_map_new_page(as, va, flags);
        if (err == -EEXIST)
            err = as_widen_page(as, va, flags);
        if (err)
            return err;
    }
    /* Copy through the direct map: the new address space is not the one loaded in CR3. */
    u64 copied = 0;
    while (copied < ph->p_filesz) {
        u64 va = ph->p_vaddr + copied, pa;
        u64 n = MIN(ph->p_filesz - copied, PAGE_SIZE - (va & (PAGE_SIZE - 1)));
        if (!as_translate(as, va, &pa))
            return -EFAULT;
        memcpy(phys_to_virt(pa), image + ph->p_offset + copied, n);
        copied += n;
    }
    return 0;       /* the rest of p_memsz (bss) is already zero: fresh pages are */
}

/* Writes the argument block into the top stack page; returns the initial RSP. */
static int build_stack(struct address_space *as, int argc, const char *const *argv, u64 *sp_out)
{
    u64 page_va = USER_STACK_TOP - PAGE_SIZE, pa;
    int err = as_map_new_page(as, page_va, PTE_WRITE | PTE_NX);
    if (err)
        return err;
    as_translate(as, page_va, &pa);
    u8 *page = phys_to_virt(pa);

    /* Strings at the top, then the pointer block below them, 16-byte aligned. */
    u64 strings = STACK_ARGS_SIZE;
    u64 addrs[ARGC_MAX];
    for (int i = argc - 1; i >= 0; i--) {
        size_t len = strlen(argv[i]) + 1;
        if (len > strings)
            return -E2BIG;
        strings -= len;
        memcpy(page + strings, argv[i], len);
        addrs[i] = page_va + strings;
    }
    u64 words = 1 + (u64)argc + 1 + 1 + 2;     /* argc, argv, NULL, envp NULL, AT_NULL */
    if (strings < words * 8 + 16)
        return -E2BIG;
    u64 block = ALIGN_DOWN(strings - words * 8, 16);
    u64 *w = (u64 *)(page + block);
    *w++ = (u64)argc;
    for (int i = 0; i < argc; i++)
        *w++ = addrs[i];
    *w++ = 0;
    *w++ = 0;
    *w++ = 0;
    *w++ = 0;
    *sp_out = page_va + block;
    return 0;
}

int exec_load(const char *path, int argc, const char *const *argv,
              struct address_space **as_out, struct vma **vmas_out, u64 *entry, u64 *sp)
{
    const u8 *image;
    size_t size;
    if (argc < 0 || argc > ARGC_MAX)
        return -E2BIG;
    int err = vfs_file_data(path, &image, &size);
    if (err)
        return err;
    const struct elf64_ehdr *eh = (const struct elf64_ehdr *)image;
    if (size < sizeof(*eh) || memcmp(eh->e_ident, "\177ELF", 4) != 0 || eh->e_ident[4] != ELFCLASS64 ||
        eh->e_ident[5] != ELFDATA2LSB || eh->e_type != ET_EXEC || eh->e_machine != EM_X86_64 ||
        eh->e_phentsize != sizeof(struct elf64_phdr) || eh->e_phnum == 0 ||
        eh->e_phoff > size || (u64)eh->e_phnum * sizeof(struct elf64_phdr) > size - eh->e_phoff)
        return -ENOEXEC;
    const struct elf64_phdr *ph = (const struct elf64_phdr *)(image + eh->e_phoff);

    struct address_space *as = as_create();
    if (!as)
        return -ENOMEM;
    bool entry_ok = false;
    for (u32 i = 0; i < eh->e_phnum && !err; i++) {
        if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
            continue;
        if (!segment_ok(&ph[i], size)) {
            err = -ENOEXEC;
            break;
        }
        err = load_segment(as, image, &ph[i]);
        if ((ph[i].p_flags & PF_X) && eh->e_entry >= ph[i].p_vaddr && eh->e_entry < ph[i].p_vaddr + ph[i].p_memsz)
            entry_ok = true;
    }
    if (!err && !entry_ok)
        err = -ENOEXEC;
    struct vma *stack = NULL;
    if (!err) {
        stack = kzalloc(sizeof(*stack), GFP_KERNEL);
        if (!stack)
            err = -ENOMEM;
    }
    if (!err)
        err = build_stack(as, argc, argv, sp);
    if (err) {
        kfree(stack);
        as_destroy(as);
        return err;
    }
    stack->start = USER_STACK_TOP - USER_STACK_SIZE;
    stack->end = USER_STACK_TOP;
    stack->pte_flags = PTE_WRITE | PTE_NX;
    *as_out = as;
    *vmas_out = stack;
    *entry = eh->e_entry;
    return 0;
}
