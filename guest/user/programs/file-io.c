/*
 * File create, write, read back and unlink: 4 KiB through the in-memory file
 * system each time, in /tmp/file-io.PID (the PID keeps two native runs on
 * one host apart).
 */
#include "ulib.h"

#define SIZE 4096

static u64 out[SIZE / 8], in[SIZE / 8];

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "file-io");
    char path[64];
    snprintf(path, sizeof(path), "/tmp/file-io.%ld", sys_getpid());
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++) {
        out[0] = i;
        out[i % (SIZE / 8)] ^= i * 0x9e3779b97f4a7c15ull;
        long fd = sys_open(path, O_CREAT | O_RDWR | O_TRUNC);
        if (fd < 0)
            die("file-io: create: %ld\n", fd);
        long w = sys_write((int)fd, out, SIZE);
        long s = sys_lseek((int)fd, 0, SEEK_SET);
        long r = sys_read((int)fd, in, SIZE);
        if (w != SIZE || s != 0 || r != SIZE)
            die("file-io: iteration %lu: write %ld, seek %ld, read %ld\n", i, w, s, r);
        sys_close((int)fd);
        if (sys_unlink(path) < 0)
            die("file-io: unlink failed\n");
        sum = sum * 31 + (in[0] ^ in[i % (SIZE / 8)] ^ in[SIZE / 8 - 1]);
    }
    u64 cycles = rdtsc() - start;
    workload_result("file-io", n, sum, cycles);
    return 0;
}
