/*
 * Context switches: two processes on one CPU hand it to each other with
 * sched_yield(), so each call is one switch (lmbench's lat_ctx passes a token
 * through pipes instead; the pipe workload covers that path).
 */
#include "ulib.h"

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "ctx-switch");
    long pid = sys_fork();
    if (pid < 0)
        die("ctx-switch: fork: %ld\n", pid);
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++)
        sum += (u64)sys_yield() + i;
    u64 cycles = rdtsc() - start;
    if (pid == 0)
        sys_exit(sum == n * (n - 1) / 2 ? 0 : 1);
    int status;
    if (sys_wait4((int)pid, &status, 0) != pid || WEXITSTATUS(status) != 0)
        die("ctx-switch: child failed (status %x)\n", status);
    workload_result("ctx-switch", n, checksum_add(CHECKSUM_INIT, sum), cycles);
    return 0;
}
