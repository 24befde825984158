/* Read and write on a device: 64 bytes out and back through the chardev module's loopback buffer. */
#include "ulib.h"

#define CHUNK_WORDS 8

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "dev-rw");
    bool loaded = workload_insmod(CHARDEV_MODULE);
    long fd = sys_open(CHARDEV_PATH, O_RDWR);
    if (fd < 0)
        die("dev-rw: open %s: %ld\n", CHARDEV_PATH, fd);
    u64 out[CHUNK_WORDS], in[CHUNK_WORDS];
    u64 sum = CHECKSUM_INIT;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++) {
        for (int k = 0; k < CHUNK_WORDS; k++)
            out[k] = i * 0x9e3779b97f4a7c15ull + (u64)k;
        long w = sys_write((int)fd, out, sizeof(out));
        long r = sys_read((int)fd, in, sizeof(in));
        if (w != sizeof(out) || r != sizeof(in))
            die("dev-rw: iteration %lu: write %ld, read %ld\n", i, w, r);
        sum = sum * 31 + (in[0] ^ in[CHUNK_WORDS - 1]);
    }
    u64 cycles = rdtsc() - start;
    sys_close((int)fd);
    workload_rmmod(CHARDEV_MODULE, loaded);
    workload_result("dev-rw", n, sum, cycles);
    return 0;
}
