/* The workload runner: "run=NAME,..." or "run=all" on the command line. */
#ifndef DRK_WORKLOAD_H
#define DRK_WORKLOAD_H

/* Runs the named workloads in order; returns the exit status to power off with. */
int workloads_run(const char *list);

#endif
