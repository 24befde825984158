/*
 * The workload suite: names, in the order "run=all" runs them, and default
 * iteration counts, sized so that run=all takes a few seconds in QEMU TCG.
 * Shared by the kernel's runner and the programs (which use the default
 * when started without "iterations=N", e.g. natively on a host).
 */
#ifndef DRK_UAPI_WORKLOADS_H
#define DRK_UAPI_WORKLOADS_H

#define WORKLOAD_SUITE(X)           \
    X("null-syscall",   400000)     \
    X("dev-rw",          30000)     \
    X("open-close",      30000)     \
    X("pipe",            10000)     \
    X("ctx-switch",      20000)     \
    X("fork-exit",         500)     \
    X("page-fault",      12288)     \
    X("file-io",          3000)     \
    X("ioctl",          200000)     \
    X("blk-io",           3000)     \
    X("loopback",         4000)     \
    X("compute-user",    40000)     \
    X("compute-module",  40000)

/* Programs in /bin that are not in the suite (usertest...) get this many. */
#define WORKLOAD_DEFAULT_ITERATIONS 1000

#endif
