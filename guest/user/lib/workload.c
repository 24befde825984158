/* What every workload program shares: its arguments, its checksum and its result line. */
#include "ulib.h"

struct suite_entry {
    const char *name;
    u64 iterations;
};

#define SUITE_ENTRY(name, iterations) { name, iterations },
static const struct suite_entry suite[] = { WORKLOAD_SUITE(SUITE_ENTRY) };

u64 workload_iterations(int argc, char **argv, const char *name)
{
    u64 n = WORKLOAD_DEFAULT_ITERATIONS;
    for (unsigned i = 0; i < ARRAY_SIZE(suite); i++)
        if (strcmp(suite[i].name, name) == 0)
            n = suite[i].iterations;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "iterations=", 11) == 0)
            a += 11;
        if (!parse_u64(a, strlen(a), &n))
            die("%s: bad argument '%s' (want iterations=N)\n", argv[0], argv[i]);
    }
    return n;
}

u64 checksum_add(u64 sum, u64 value)
{
    for (int i = 0; i < 8; i++) {
        sum ^= (value >> (8 * i)) & 0xff;
        sum *= 0x100000001b3ull;        /* the 64-bit FNV prime */
    }
    return sum;
}

void workload_result(const char *name, u64 iterations, u64 checksum, u64 cycles)
{
    printf("result workload=%s iterations=%lu checksum=0x%016lx cycles=%lu\n", name, iterations, checksum, cycles);
}

bool workload_insmod(const char *name)
{
    long err = sys_insmod(name);
    if (err == -EEXIST)
        return false;       /* loaded at boot ("modules="): leave it loaded */
    if (err < 0)
        die("%s: insmod failed: %ld\n", name, err);
    return true;
}

void workload_rmmod(const char *name, bool loaded_here)
{
    if (!loaded_here)
        return;
    long err = sys_rmmod(name);
    if (err < 0)
        die("%s: rmmod failed: %ld\n", name, err);
}
