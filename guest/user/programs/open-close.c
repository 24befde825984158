/*
 * lmbench's open/close: open a file (/tmp/open-close.PID, made first) and
 * close it again. The PID keeps two native runs on one host apart.
 */
#include "ulib.h"

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "open-close");
    char path[64];
    snprintf(path, sizeof(path), "/tmp/open-close.%ld", sys_getpid());
    long fd = sys_open(path, O_CREAT | O_WRONLY | O_TRUNC);
    if (fd < 0)
        die("open-close: create %s: %ld\n", path, fd);
    sys_close((int)fd);
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++) {
        fd = sys_open(path, O_RDONLY);
        if (fd < 0)
            die("open-close: open: %ld\n", fd);
        sum = sum * 31 + (u64)fd;
        sys_close((int)fd);
    }
    u64 cycles = rdtsc() - start;
    sys_unlink(path);
    workload_result("open-close", n, sum, cycles);
    return 0;
}
