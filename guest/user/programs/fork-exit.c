/* lmbench's fork+exit: fork a child that exits at once, and wait for it. */
#include "ulib.h"

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "fork-exit");
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++) {
        long pid = sys_fork();
        if (pid == 0)
            sys_exit((int)(i * 37 % 101));
        if (pid < 0)
            die("fork-exit: fork: %ld\n", pid);
        int status;
        if (sys_wait4((int)pid, &status, 0) != pid)
            die("fork-exit: wait failed\n");
        sum = sum * 31 + (u64)WEXITSTATUS(status);
    }
    u64 cycles = rdtsc() - start;
    workload_result("fork-exit", n, sum, cycles);
    return 0;
}
