/*
 * mkinitrd OUTPUT PATH=FILE...
 *
 * Writes a cpio "newc" archive (the format of Linux initramfs) holding each
 * FILE under the archive path PATH, plus directory entries for the parents.
 * Owner, times and inode numbers are fixed so the archive is reproducible.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned next_ino = 1;

static void pad4(FILE *out, long written)
{
    while (written % 4) {
        fputc(0, out);
        written++;
    }
}

static void write_entry(FILE *out, const char *name, unsigned mode, const unsigned char *data, unsigned long size)
{
    unsigned long name_size = strlen(name) + 1;
    char header[256];
    snprintf(header, sizeof(header),
             "070701%08X%08X%08X%08X%08X%08X%08lX%08X%08X%08X%08X%08lX%08X",
             next_ino++, mode, 0u, 0u, 1u, 0u, size, 0u, 0u, 0u, 0u, name_size, 0u);
    fwrite(header, 1, 110, out);
    fwrite(name, 1, name_size, out);
    pad4(out, 110 + (long)name_size);
    if (size) {
        fwrite(data, 1, size, out);
        pad4(out, (long)size);
    }
}

#define MAX_DIRS 256
static char *dirs[MAX_DIRS];
static int dir_count;

/* Emits an entry for each parent directory of path not written yet. */
static void write_parents(FILE *out, const char *path)
{
    for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
        size_t len = (size_t)(slash - path);
        int known = 0;
        for (int i = 0; i < dir_count; i++)
            if (strlen(dirs[i]) == len && strncmp(dirs[i], path, len) == 0)
                known = 1;
        if (known)
            continue;
        if (dir_count == MAX_DIRS) {
            fprintf(stderr, "mkinitrd: too many directories\n");
            exit(1);
        }
        dirs[dir_count] = strndup(path, len);
        write_entry(out, dirs[dir_count], 0040755, NULL, 0);
        dir_count++;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mkinitrd OUTPUT PATH=FILE...\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "wb");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "mkinitrd: '%s' is not PATH=FILE\n", argv[i]);
            return 2;
        }
        *eq = 0;
        const char *path = argv[i], *file = eq + 1;
        FILE *in = fopen(file, "rb");
        if (!in) {
            perror(file);
            return 1;
        }
        fseek(in, 0, SEEK_END);
        long size = ftell(in);
        fseek(in, 0, SEEK_SET);
        unsigned char *data = malloc(size ? (size_t)size : 1);
        if (!data || fread(data, 1, (size_t)size, in) != (size_t)size) {
            fprintf(stderr, "mkinitrd: cannot read %s\n", file);
            return 1;
        }
        fclose(in);
        write_parents(out, path);
        write_entry(out, path, 0100644, data, (unsigned long)size);
        free(data);
    }
    write_entry(out, "TRAILER!!!", 0, NULL, 0);
    /* Pad to a multiple of 512 bytes like cpio does. */
    long end = ftell(out);
    while (end % 512) {
        fputc(0, out);
        end++;
    }
    return fclose(out) == 0 ? 0 : 1;
}
