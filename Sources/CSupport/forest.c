// The blocked tree walk of BinnedForest (Sources/HotPath/Models/BinnedForest.swift), for CPUs
// with AVX-512 BW/VL/DQ. A block is three levels of one tree in 64 bytes:
//   bytes  0..15  the rank slot of each of its 7 nodes (heap order; u16); the 8th is a node
//                 that is never true
//   bytes 16..31  each node's `lo` (u16): the node sends a row right when rank >= lo
//   bytes 32..63  its 8 exits (i32): >= 64 is the next block's distance ahead in bytes; < 0 is
//                 ~leaf, the leaf's node index counted from the tree's root
// A lane's state is its block's byte offset, or ~leaf once it has one. A step looks up all the
// block's nodes' ranks at once (one permute over the row's 64 u16 rank slots, held in two
// registers; for 128 or 256 slots, two or four permutes and blends), compares them with the
// `lo`s in one instruction, and maps the 7-bit result to the exit the path takes through a
// table: three levels for one dependent block load, where the scalar walk waits on a node
// load and a rank load per level.
// A lane holding a leaf reads block 0, whose exits are all 0, and so keeps its state with no
// branch: next = exit + (exit < 0 ? 0 : state); which lanes finish early is unpredictable.
// Twelve trees are walked at once so their loads overlap; fewer or more measured slower
// (BENCHMARKS.md, "Design measurements").
#include "CSupport.h"

#if defined(__x86_64__)
#include <immintrin.h>

// The ranks of a block's eight nodes: slots 0..63 from r0:r1 (one permute); with more slots
// (`TABLES` of 64: 2 or 4) the other tables' permutes are blended in by each index's bits 6
// and 7.
#define HP_PERMUTE(a, b) _mm512_castsi512_si128(_mm512_permutex2var_epi16(a, idx, b))
#define HP_ABOVE(bit) _mm_test_epi16_mask(_mm512_castsi512_si128(idx), _mm_set1_epi16(bit))
#define HP_RANKS(idx, TABLES)                                                                         \
    ((TABLES) == 1 ? HP_PERMUTE(r0, r1)                                                               \
     : (TABLES) == 2 ? _mm_mask_blend_epi16(HP_ABOVE(64), HP_PERMUTE(r0, r1), HP_PERMUTE(r2, r3))     \
     : _mm_mask_blend_epi16(HP_ABOVE(128),                                                            \
                            _mm_mask_blend_epi16(HP_ABOVE(64), HP_PERMUTE(r0, r1), HP_PERMUTE(r2, r3)), \
                            _mm_mask_blend_epi16(HP_ABOVE(64), HP_PERMUTE(r4, r5), HP_PERMUTE(r6, r7))))

#define HP_STEP(s)                                                                                   \
    do {                                                                                             \
        const int32_t cur = (s);                                                                     \
        const uint8_t *blk = blocks + (cur & ~(cur >> 31));                                          \
        const __m512i idx = _mm512_zextsi128_si512(_mm_load_si128((const __m128i *)blk));            \
        const __m128i r = HP_RANKS(idx, TABLES);                                                     \
        const __m128i lo = _mm_load_si128((const __m128i *)(blk + 16));                              \
        /* all eight words: the unused eighth node is never true, so m < 128 */                     \
        const unsigned m = _cvtmask8_u32(_mm_cmpge_epu16_mask(r, lo));                               \
        const int32_t x = ((const int32_t *)(blk + 32))[path[m]];                                    \
        (s) = x + (cur & ~(x >> 31));                                                                \
        __asm__("" : "+r"(s)); /* one lane, one register: keeps clang from vectorising the lanes */ \
    } while (0)

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"), always_inline))
static inline void walk(const uint8_t *blocks, const int32_t *roots, const int32_t *depths, long trees,
                        const uint16_t *ranks, const uint8_t *path, int32_t *leaves, const int TABLES) {
    const __m512i r0 = _mm512_loadu_si512((const void *)ranks);
    const __m512i r1 = _mm512_loadu_si512((const void *)(ranks + 32));
    const __m512i r2 = TABLES > 1 ? _mm512_loadu_si512((const void *)(ranks + 64)) : r0;
    const __m512i r3 = TABLES > 1 ? _mm512_loadu_si512((const void *)(ranks + 96)) : r1;
    const __m512i r4 = TABLES > 2 ? _mm512_loadu_si512((const void *)(ranks + 128)) : r0;
    const __m512i r5 = TABLES > 2 ? _mm512_loadu_si512((const void *)(ranks + 160)) : r1;
    const __m512i r6 = TABLES > 2 ? _mm512_loadu_si512((const void *)(ranks + 192)) : r0;
    const __m512i r7 = TABLES > 2 ? _mm512_loadu_si512((const void *)(ranks + 224)) : r1;
    long t = 0;
    for (; t + 12 <= trees; t += 12) {
        int32_t s0 = roots[t], s1 = roots[t + 1], s2 = roots[t + 2], s3 = roots[t + 3];
        int32_t s4 = roots[t + 4], s5 = roots[t + 5], s6 = roots[t + 6], s7 = roots[t + 7];
        int32_t s8 = roots[t + 8], s9 = roots[t + 9], s10 = roots[t + 10], s11 = roots[t + 11];
        int32_t steps = 0;
        for (int k = 0; k < 12; k++) steps = depths[t + k] > steps ? depths[t + k] : steps;
        for (int32_t i = 0; i < steps; i++) {
            HP_STEP(s0); HP_STEP(s1); HP_STEP(s2); HP_STEP(s3);
            HP_STEP(s4); HP_STEP(s5); HP_STEP(s6); HP_STEP(s7);
            HP_STEP(s8); HP_STEP(s9); HP_STEP(s10); HP_STEP(s11);
        }
        leaves[t] = ~s0; leaves[t + 1] = ~s1; leaves[t + 2] = ~s2; leaves[t + 3] = ~s3;
        leaves[t + 4] = ~s4; leaves[t + 5] = ~s5; leaves[t + 6] = ~s6; leaves[t + 7] = ~s7;
        leaves[t + 8] = ~s8; leaves[t + 9] = ~s9; leaves[t + 10] = ~s10; leaves[t + 11] = ~s11;
    }
    for (; t < trees; t++) {
        int32_t s = roots[t];
        for (int32_t i = 0; i < depths[t]; i++) HP_STEP(s);
        leaves[t] = ~s;
    }
}
#undef HP_STEP
#undef HP_RANKS
#undef HP_ABOVE
#undef HP_PERMUTE

// One copy per table count, each with it a constant: 64 rank slots (up to 32 features), 128
// (up to 64) or 256 (up to 128).
#define HP_WALK_COPY(name, tables)                                                                   \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))                                    \
    static void name(const uint8_t *blocks, const int32_t *roots, const int32_t *depths, long trees, \
                     const uint16_t *ranks, const uint8_t *path, int32_t *leaves) {                  \
        walk(blocks, roots, depths, trees, ranks, path, leaves, tables);                             \
    }
HP_WALK_COPY(walk64, 1)
HP_WALK_COPY(walk128, 2)
HP_WALK_COPY(walk256, 4)
#undef HP_WALK_COPY
#endif

hp_forest_walk_fn hp_forest_walk_blocks(int slots) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!hp_portable_forced() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        return slots <= 64 ? walk64 : slots <= 128 ? walk128 : slots <= 256 ? walk256 : 0;
#endif
    return 0;
}
