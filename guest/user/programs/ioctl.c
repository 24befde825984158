/* A char-device ioctl loop: each call updates the chardev module's accumulator under its lock. */
#include "ulib.h"

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "ioctl");
    bool loaded = workload_insmod(CHARDEV_MODULE);
    long fd = sys_open(CHARDEV_PATH, O_RDWR);
    if (fd < 0)
        die("ioctl: open %s: %ld\n", CHARDEV_PATH, fd);
    if (sys_ioctl((int)fd, CHARDEV_IOC_RESET, 0) < 0)
        die("ioctl: reset failed\n");
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++) {
        long r = sys_ioctl((int)fd, CHARDEV_IOC_ADD, i);
        if (r < 0)
            die("ioctl: %ld\n", r);
        sum = sum * 31 + (u64)r;
    }
    u64 cycles = rdtsc() - start;
    sys_close((int)fd);
    workload_rmmod(CHARDEV_MODULE, loaded);
    workload_result("ioctl", n, sum, cycles);
    return 0;
}
