/*
 * An integer benchmark kernel in the spirit of Embench: each iteration runs
 * one step of five small programs over a few KiB of state, so that a binary
 * translator sees the usual mix of a real integer program:
 *
 *   crc      table-driven CRC-32 over 32 bytes        loads, shifts, table lookups
 *   matmult  4x4 integer matrix product               loads, multiplies, stores
 *   sort     insertion sort of 12 pseudo-random keys  data-dependent branches
 *   vm       a 16-instruction bytecode interpreter    a switch (indirect jump) per instruction
 *   tree     recursive evaluation of an expression    calls, returns, calls through pointers
 *
 * Everything is exact integer arithmetic with fixed seeds, so the checksum
 * depends only on the iteration count.
 */
#include "compute.h"

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

#define DATA_BYTES  1024
#define SORT_KEYS   12
#define VM_MEMORY   64
#define TREE_NODES  15          /* a complete binary tree: 7 operators over 8 leaves */

struct compute_state {
    u32 crc_table[256];
    u8 data[DATA_BYTES];
    int32_t a[4][4], b[4][4], c[4][4];
    u32 keys[SORT_KEYS];
    u32 vm_memory[VM_MEMORY];
    u32 tree_value[TREE_NODES];
    u8 tree_op[TREE_NODES];
    u64 rng;
};

_Static_assert(sizeof(struct compute_state) <= COMPUTE_STATE_SIZE, "COMPUTE_STATE_SIZE too small");

/* xorshift64: cheap, exact and the same everywhere. */
static u64 next_random(struct compute_state *s)
{
    u64 x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x;
}

static u64 mix(u64 sum, u64 v)
{
    sum ^= v + 0x9e3779b97f4a7c15ull + (sum << 6) + (sum >> 2);
    return sum;
}

/* ---- crc ---- */

static __attribute__((noinline)) u32 crc32(const u32 *table, const u8 *p, u32 n, u32 crc)
{
    crc = ~crc;
    for (u32 i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- matmult ---- */

static __attribute__((noinline)) void matmult(int32_t c[4][4], int32_t a[4][4], int32_t b[4][4])
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int32_t sum = 0;
            for (int k = 0; k < 4; k++)
                sum += a[i][k] * b[k][j];
            c[i][j] = sum;
        }
}

/* ---- sort ---- */

static __attribute__((noinline)) void insertion_sort(u32 *keys, int n)
{
    for (int i = 1; i < n; i++) {
        u32 key = keys[i];
        int j = i - 1;
        while (j >= 0 && keys[j] > key) {
            keys[j + 1] = keys[j];
            j--;
        }
        keys[j + 1] = key;
    }
}

/* ---- vm ---- */

enum op { OP_LOADI, OP_LOAD, OP_STORE, OP_ADD, OP_XOR, OP_MUL, OP_ROL, OP_DEC, OP_JNZ, OP_HALT };

struct insn {
    u8 op, a, b;
    u32 imm;
};

/*
 * r0 = seed; four times: r1 = mem[r0], r1 = r1 * 0x9e3779b1 ^ r0, rotate,
 * mem[r0] = r1, r0 += r1. The accumulator r2 is the program's result.
 */
static const struct insn vm_program[] = {
    { OP_LOADI, 3, 0, 4 },          /* r3 = loop count */
    { OP_LOAD, 1, 0, 0 },           /* 1: r1 = mem[r0 % 64] */
    { OP_LOADI, 4, 0, 0x9e3779b1 },
    { OP_MUL, 1, 4, 0 },
    { OP_XOR, 1, 0, 0 },
    { OP_ROL, 1, 0, 7 },
    { OP_STORE, 1, 0, 0 },          /* mem[r0 % 64] = r1 */
    { OP_ADD, 0, 1, 0 },
    { OP_XOR, 2, 1, 0 },
    { OP_ROL, 2, 0, 3 },
    { OP_DEC, 3, 0, 0 },
    { OP_JNZ, 3, 0, 1 },            /* back to 1 while r3 != 0 */
    { OP_ADD, 2, 0, 0 },
    { OP_HALT, 0, 0, 0 },
};

static __attribute__((noinline)) u32 vm_run(u32 *memory, u32 seed)
{
    u32 r[8] = { seed, 0, seed ^ 0x5a5a5a5a, 0, 0, 0, 0, 0 };
    for (u32 pc = 0;;) {
        const struct insn *in = &vm_program[pc++];
        switch (in->op) {
        case OP_LOADI: r[in->a] = in->imm; break;
        case OP_LOAD:  r[in->a] = memory[r[in->b] % VM_MEMORY]; break;
        case OP_STORE: memory[r[in->b] % VM_MEMORY] = r[in->a]; break;
        case OP_ADD:   r[in->a] += r[in->b]; break;
        case OP_XOR:   r[in->a] ^= r[in->b]; break;
        case OP_MUL:   r[in->a] *= r[in->b]; break;
        case OP_ROL:   r[in->a] = (r[in->a] << in->imm) | (r[in->a] >> (32 - in->imm)); break;
        case OP_DEC:   r[in->a]--; break;
        case OP_JNZ:   if (r[in->a]) pc = in->imm; break;
        default:       return r[2];
        }
    }
}

/* ---- tree ---- */

typedef u32 (*tree_fn)(u32, u32);

static u32 op_add(u32 x, u32 y) { return x + y; }
static u32 op_sub(u32 x, u32 y) { return x - y; }
static u32 op_mul(u32 x, u32 y) { return x * y + 1; }
static u32 op_xor(u32 x, u32 y) { return (x ^ y) + (x >> 3); }

/* ops is filled in by compute_run, so every call through it is an indirect call to a local function. */
static __attribute__((noinline)) u32 tree_eval(const struct compute_state *s, const tree_fn *ops, int node)
{
    if (node >= TREE_NODES / 2)
        return s->tree_value[node];     /* a leaf */
    u32 left = tree_eval(s, ops, 2 * node + 1);
    u32 right = tree_eval(s, ops, 2 * node + 2);
    return ops[s->tree_op[node] & 3](left, right);
}

/* ---- the benchmark ---- */

void compute_init(struct compute_state *s)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        s->crc_table[i] = c;
    }
    s->rng = 0x2545f4914f6cdd1dull;
    for (u32 i = 0; i < DATA_BYTES; i++)
        s->data[i] = (u8)next_random(s);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            s->a[i][j] = (int32_t)(next_random(s) % 2001) - 1000;
            s->b[i][j] = (int32_t)(next_random(s) % 2001) - 1000;
        }
    for (u32 i = 0; i < VM_MEMORY; i++)
        s->vm_memory[i] = (u32)next_random(s);
    for (u32 i = 0; i < TREE_NODES; i++) {
        s->tree_value[i] = (u32)next_random(s);
        s->tree_op[i] = (u8)next_random(s);
    }
}

u64 compute_run(struct compute_state *s, u64 iterations)
{
    tree_fn ops[4] = { op_add, op_sub, op_mul, op_xor };
    u64 sum = 0;
    u32 crc = 0;
    for (u64 it = 0; it < iterations; it++) {
        /* crc: over a window that walks through the data, then stir the data. */
        u32 offset = (u32)(it * 32) % DATA_BYTES;
        crc = crc32(s->crc_table, s->data + offset, 32, crc);
        s->data[(offset + crc) % DATA_BYTES] ^= (u8)crc;

        /* matmult: c = a * b, then feed one element of c back into b. */
        matmult(s->c, s->a, s->b);
        s->b[it % 4][(it / 4) % 4] = (s->c[(it + 1) % 4][it % 4] % 1999) - 999;

        /* sort: fresh keys every time, so the branches vary. */
        for (int k = 0; k < SORT_KEYS; k++)
            s->keys[k] = (u32)next_random(s) % 1000;
        insertion_sort(s->keys, SORT_KEYS);

        /* vm and tree: seeded from the others, so nothing can be skipped. */
        u32 v = vm_run(s->vm_memory, crc ^ s->keys[SORT_KEYS / 2]);
        s->tree_value[TREE_NODES / 2 + (it % 8)] = v ^ (u32)s->c[0][0];
        s->tree_op[it % (TREE_NODES / 2)] = (u8)(v >> 8);
        u32 t = tree_eval(s, ops, 0);

        sum = mix(sum, ((u64)crc << 32) | t);
        sum = mix(sum, ((u64)s->keys[0] << 32) | (u32)s->c[3][3]);
    }
    return sum;
}
