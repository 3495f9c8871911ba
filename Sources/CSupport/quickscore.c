// QuickScorer's prefix-table scoring (Sources/HotPath/Models/QuickScorer.swift) for small
// models on CPUs with AVX-512: the trees' leaf bits fit a row of at most 256 bytes (eight
// registers), and the features the splits use have few enough distinct thresholds to compare
// them all at once.
//
// A feature's rank j = #{thresholds < v} is counted, not looked up: eight thresholds per
// compare into a mask, a popcount per mask. That is three dependent steps from the value to
// the rank, where ThresholdGrid's lookup is a subtract, a multiply, a clamp, a conversion and
// two dependent loads. The row for j (or the NaN row) is ANDed into the accumulator in
// registers; then each tree's exit leaf is the lowest set bit of its word, and each class sums
// its trees' leaves in tree order from 0.0 — LightGBM's own order, so the sums are the
// library's to the bit (C without -ffast-math keeps the order as written).
// Everything the call reads sits in the plan built at load time; the call writes only `out`
// and its own stack.
#include "CSupport.h"

#if defined(__x86_64__)
#include <immintrin.h>

// Each class's sequential sum over its trees t = c, c + classes, …; LOAD(t) reads tree t's
// WIDTH-bit word from the ANDed bits. Its lowest set bit is the exit leaf (no row clears a
// tree's exit bit, so the word is never zero).
#define HP_SUMS(LOAD, WIDTH)                                                                      \
    do {                                                                                          \
        for (int32_t c = 0; c < classes; c++) {                                                   \
            double s = 0.0;                                                                       \
            for (int32_t t = c; t < trees; t += classes)                                          \
                s += leaves[(int64_t)t * (WIDTH) + (int64_t)_tzcnt_u64((uint64_t)(LOAD))];        \
            out[c] = s;                                                                           \
        }                                                                                         \
    } while (0)

// One copy per row width, ROW = 32 · WORDS bytes, so the accumulators stay in registers.
#define HP_QS_COPY(name, WORDS)                                                                           \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,popcnt,bmi")))                             \
    static void name(const hp_qs_plan *p, const double *x, double *out) {                                  \
        const hp_qs_feature *f = p->features;                                                            \
        const double *th = p->thresholds;                                                                 \
        const uint8_t *table = p->table;                                                                  \
        __m256i a[WORDS];                                                                                 \
        for (int k = 0; k < (WORDS); k++) a[k] = _mm256_set1_epi8(-1);                                    \
        for (int32_t u = 0; u < p->used; u++) {                                                           \
            const double v = x[f[u].index];                                                               \
            const __m512d xv = _mm512_set1_pd(v);                                                         \
            int32_t rank = 0;                                                                             \
            for (int32_t b = 0; b < f[u].blocks; b++)                                                     \
                rank += __builtin_popcount(_mm512_cmp_pd_mask(_mm512_load_pd(th + 8 * b), xv, _CMP_LT_OQ)); \
            th += 8 * f[u].blocks;                                                                        \
            const uint8_t *row = table + (v != v ? f[u].nan_row : f[u].first_row + rank * 32 * (WORDS));   \
            for (int k = 0; k < (WORDS); k++) a[k] = _mm256_and_si256(a[k], _mm256_load_si256((const __m256i *)(row + 32 * k))); \
        }                                                                                                 \
        _Alignas(64) uint8_t bits[32 * (WORDS)];                                                          \
        for (int k = 0; k < (WORDS); k++) _mm256_store_si256((__m256i *)(bits + 32 * k), a[k]);           \
        const double *leaves = p->leaves;                                                                 \
        const int32_t trees = p->trees, classes = p->classes;                                             \
        switch (p->word_bytes) {                                                                          \
        case 1: HP_SUMS(((const uint8_t *)bits)[t], 8); break;                                            \
        case 2: HP_SUMS(((const uint16_t *)bits)[t], 16); break;                                          \
        case 4: HP_SUMS(((const uint32_t *)bits)[t], 32); break;                                          \
        default: HP_SUMS(((const uint64_t *)bits)[t], 64); break;                                         \
        }                                                                                                 \
    }
HP_QS_COPY(scores1, 1)
HP_QS_COPY(scores2, 2)
HP_QS_COPY(scores3, 3)
HP_QS_COPY(scores4, 4)
HP_QS_COPY(scores5, 5)
HP_QS_COPY(scores6, 6)
HP_QS_COPY(scores7, 7)
HP_QS_COPY(scores8, 8)
#undef HP_QS_COPY
#undef HP_SUMS
#endif

hp_qs_scores_fn hp_qs_scores_best(int32_t row_bytes) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!hp_portable_forced() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
    {
        static const hp_qs_scores_fn copies[8] = {scores1, scores2, scores3, scores4, scores5, scores6, scores7, scores8};
        if (row_bytes > 0 && row_bytes % 32 == 0 && row_bytes <= 256) return copies[row_bytes / 32 - 1];
    }
#endif
    (void)row_bytes;
    return 0;
}
