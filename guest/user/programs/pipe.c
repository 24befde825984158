/* lmbench's pipe latency: a word goes to a child through one pipe and comes back changed through another. */
#include "ulib.h"

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "pipe");
    int down[2], up[2];
    if (sys_pipe(down) < 0 || sys_pipe(up) < 0)
        die("pipe: pipe failed\n");
    long pid = sys_fork();
    if (pid < 0)
        die("pipe: fork: %ld\n", pid);
    if (pid == 0) {
        sys_close(down[1]);
        sys_close(up[0]);
        for (u64 i = 0; i < n; i++) {
            u64 v;
            if (sys_read(down[0], &v, sizeof(v)) != sizeof(v))
                sys_exit(2);
            v = v * 3 + 1;
            if (sys_write(up[1], &v, sizeof(v)) != sizeof(v))
                sys_exit(3);
        }
        sys_exit(0);
    }
    sys_close(down[0]);
    sys_close(up[1]);
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++) {
        u64 v = i;
        if (sys_write(down[1], &v, sizeof(v)) != sizeof(v) || sys_read(up[0], &v, sizeof(v)) != sizeof(v))
            die("pipe: round trip %lu failed\n", i);
        sum = sum * 31 + v;
    }
    u64 cycles = rdtsc() - start;
    int status;
    if (sys_wait4((int)pid, &status, 0) != pid || WEXITSTATUS(status) != 0)
        die("pipe: child failed (status %x)\n", status);
    sys_close(down[1]);
    sys_close(up[0]);
    workload_result("pipe", n, sum, cycles);
    return 0;
}
