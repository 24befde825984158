/* The integer compute kernel (guest/common/compute.c) in user mode. */
#include "ulib.h"
#include "compute.h"

static u64 state[COMPUTE_STATE_SIZE / 8];

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "compute-user");
    struct compute_state *s = (struct compute_state *)state;
    compute_init(s);
    u64 start = rdtsc();
    u64 sum = compute_run(s, n);
    u64 cycles = rdtsc() - start;
    workload_result("compute-user", n, sum, cycles);
    return 0;
}
