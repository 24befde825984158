/*
 * The integer compute kernel in kernel mode: the compute module runs the
 * same C as compute-user inside one ioctl, so both print the same checksum
 * for the same iteration count.
 */
#include "ulib.h"

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "compute-module");
    bool loaded = workload_insmod(COMPUTE_MODULE);
    long fd = sys_open(COMPUTE_PATH, O_RDWR);
    if (fd < 0)
        die("compute-module: open %s: %ld\n", COMPUTE_PATH, fd);
    struct compute_request req = { n, 0 };
    u64 start = rdtsc();
    long err = sys_ioctl((int)fd, COMPUTE_IOC_RUN, (unsigned long)&req);
    u64 cycles = rdtsc() - start;
    if (err < 0)
        die("compute-module: ioctl: %ld\n", err);
    sys_close((int)fd);
    workload_rmmod(COMPUTE_MODULE, loaded);
    workload_result("compute-module", n, req.checksum, cycles);
    return 0;
}
