/*
 * Page faults on fresh anonymous memory: map 1 MiB at a time, write one word
 * in each page (each write faults in a zeroed page), unmap. Iterations are
 * pages touched.
 */
#include "ulib.h"

#define CHUNK_PAGES 256
#define PAGE 4096

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "page-fault");
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 done = 0; done < n;) {
        u64 pages = n - done < CHUNK_PAGES ? n - done : CHUNK_PAGES;
        u8 *p = sys_mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mmap_failed(p))
            die("page-fault: mmap: %ld\n", (long)p);
        for (u64 k = 0; k < pages; k++) {
            u64 *word = (u64 *)(p + k * PAGE + (k % 512) * 8);
            sum += *word;               /* a fresh page reads as zero */
            *word = done + k;
            sum = sum * 31 + *word;
        }
        if (sys_munmap(p, pages * PAGE) < 0)
            die("page-fault: munmap failed\n");
        done += pages;
    }
    u64 cycles = rdtsc() - start;
    workload_result("page-fault", n, sum, cycles);
    return 0;
}
