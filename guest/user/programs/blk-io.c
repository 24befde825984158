/*
 * Block-device I/O: write a 4 KiB block to the ramblk RAM disk and read it
 * back, walking over the disk; each transfer is one request through the
 * driver's queue, its kernel thread and its completion interrupt.
 */
#include "ulib.h"

#define BLOCK 4096

static u64 out[BLOCK / 8], in[BLOCK / 8];

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "blk-io");
    bool loaded = workload_insmod(RAMBLK_MODULE);
    long fd = sys_open(RAMBLK_PATH, O_RDWR);
    if (fd < 0)
        die("blk-io: open %s: %ld\n", RAMBLK_PATH, fd);
    long sectors = sys_ioctl((int)fd, RAMBLK_IOC_SECTORS, 0);
    if (sectors < BLOCK / RAMBLK_SECTOR_SIZE)
        die("blk-io: disk of %ld sectors\n", sectors);
    u64 blocks = (u64)sectors / (BLOCK / RAMBLK_SECTOR_SIZE);
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++) {
        long at = (long)((i * 7 % blocks) * BLOCK);     /* 7 is prime to the block count: all blocks get used */
        out[0] = i;
        out[i % (BLOCK / 8)] += i;
        long w = -1, r = -1;
        if (sys_lseek((int)fd, at, SEEK_SET) == at)
            w = sys_write((int)fd, out, BLOCK);
        if (sys_lseek((int)fd, at, SEEK_SET) == at)
            r = sys_read((int)fd, in, BLOCK);
        if (w != BLOCK || r != BLOCK)
            die("blk-io: iteration %lu: write %ld, read %ld\n", i, w, r);
        sum = sum * 31 + in[0];
        sum = sum * 31 + in[i % (BLOCK / 8)];
    }
    u64 cycles = rdtsc() - start;
    sys_close((int)fd);
    workload_rmmod(RAMBLK_MODULE, loaded);
    workload_result("blk-io", n, sum, cycles);
    return 0;
}
