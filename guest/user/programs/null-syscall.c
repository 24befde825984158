/* lmbench's null system call: getpid() in a loop. */
#include "ulib.h"

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "null-syscall");
    long pid = sys_getpid();
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++)
        sum += (u64)(sys_getpid() - pid) + 1;   /* n whatever the pid */
    u64 cycles = rdtsc() - start;
    workload_result("null-syscall", n, checksum_add(CHECKSUM_INIT, sum), cycles);
    return 0;
}
