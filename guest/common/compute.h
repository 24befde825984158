/*
 * The integer compute kernel shared by the compute-user workload (user
 * mode), the compute module (kernel mode) and the native host build: the
 * same C, so all three compute the same checksum for the same iterations.
 * Freestanding: no library calls, no floating point, no allocation (the
 * caller provides the state, COMPUTE_STATE_SIZE bytes, 8-byte aligned).
 */
#ifndef DRK_COMPUTE_H
#define DRK_COMPUTE_H

#include <stdint.h>

#define COMPUTE_STATE_SIZE 3072

struct compute_state;

void compute_init(struct compute_state *s);
/* Runs iterations rounds and returns the checksum of everything computed. */
uint64_t compute_run(struct compute_state *s, uint64_t iterations);

#endif
