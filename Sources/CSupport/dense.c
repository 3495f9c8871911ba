// Dense layer kernels, y = b + x·W with W stored [in][out], for the neural-network evaluator.
// Swift cannot compile one function for a wider target than the module, so the AVX2+FMA
// variant lives here behind a target attribute and is chosen once at load time
// (hp_dense_f32_best); the portable variant runs everywhere else.
// With `relu` set a kernel applies ReLU as it stores: y < 0 ? 0 : y, as ONNX Runtime's
// std::max(y, 0) does (a NaN and a −0 stay as they are; maxps(0, y) returns y unless 0 > y).
// Fused, it costs a max per register; as a pass of its own it was a scalar loop through the
// stored outputs.
#include "CSupport.h"

static inline float relu_scalar(float v, int relu) { return relu && v < 0 ? 0 : v; }

static void dense_portable(const float *x, const float *w, const float *b, float *y, int in, int out, int relu) {
    for (int j = 0; j < out; j++) y[j] = b[j];
    for (int i = 0; i < in; i++) {
        const float xi = x[i];
        const float *row = w + (long)i * out;
        for (int j = 0; j < out; j++) y[j] += xi * row[j];
    }
    for (int j = 0; j < out; j++) y[j] = relu_scalar(y[j], relu);
}

#if defined(__x86_64__)
#include <immintrin.h>
// Stores v, through ReLU when asked (0 first: a NaN stays NaN).
#define HP_STORE(p, v) _mm256_storeu_ps((p), relu ? _mm256_max_ps(_mm256_setzero_ps(), (v)) : (v))

__attribute__((target("avx2,fma")))
static void dense_avx2(const float *x, const float *w, const float *b, float *y, int in, int out, int relu) {
    int j = 0;
    // Eight accumulators (64 outputs) at a time: eight independent FMA chains hide the
    // FMA latency that a two-accumulator loop waits on.
    for (; j + 64 <= out; j += 64) {
        __m256 a[8];
        for (int k = 0; k < 8; k++) a[k] = _mm256_loadu_ps(b + j + 8 * k);
        for (int i = 0; i < in; i++) {
            const __m256 xi = _mm256_set1_ps(x[i]);
            const float *row = w + (long)i * out + j;
            for (int k = 0; k < 8; k++) a[k] = _mm256_fmadd_ps(xi, _mm256_loadu_ps(row + 8 * k), a[k]);
        }
        for (int k = 0; k < 8; k++) HP_STORE(y + j + 8 * k, a[k]);
    }
    for (; j + 32 <= out; j += 32) {
        __m256 a[4];
        for (int k = 0; k < 4; k++) a[k] = _mm256_loadu_ps(b + j + 8 * k);
        for (int i = 0; i < in; i++) {
            const __m256 xi = _mm256_set1_ps(x[i]);
            const float *row = w + (long)i * out + j;
            for (int k = 0; k < 4; k++) a[k] = _mm256_fmadd_ps(xi, _mm256_loadu_ps(row + 8 * k), a[k]);
        }
        for (int k = 0; k < 4; k++) HP_STORE(y + j + 8 * k, a[k]);
    }
    for (; j + 16 <= out; j += 16) {
        __m256 a0 = _mm256_loadu_ps(b + j), a1 = _mm256_loadu_ps(b + j + 8);
        for (int i = 0; i < in; i++) {
            const __m256 xi = _mm256_set1_ps(x[i]);
            const float *row = w + (long)i * out + j;
            a0 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(row), a0);
            a1 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(row + 8), a1);
        }
        HP_STORE(y + j, a0);
        HP_STORE(y + j + 8, a1);
    }
    for (; j + 8 <= out; j += 8) {
        __m256 a = _mm256_loadu_ps(b + j);
        for (int i = 0; i < in; i++) a = _mm256_fmadd_ps(_mm256_set1_ps(x[i]), _mm256_loadu_ps(w + (long)i * out + j), a);
        HP_STORE(y + j, a);
    }
    for (; j < out; j++) {
        float a = b[j];
        for (int i = 0; i < in; i++) a += x[i] * w[(long)i * out + j];
        y[j] = relu_scalar(a, relu);
    }
}
#undef HP_STORE
#endif

// Narrow layers (fewer outputs than one vector) from a transposed copy wt [out][in]: each
// output is a dot product with four independent accumulators, instead of a serial chain of
// `in` multiply-adds.
static void narrow_portable(const float *x, const float *wt, const float *b, float *y, int in, int out, int relu) {
    for (int j = 0; j < out; j++) {
        const float *row = wt + (long)j * in;
        float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int i = 0;
        for (; i + 4 <= in; i += 4) { a0 += x[i] * row[i]; a1 += x[i + 1] * row[i + 1]; a2 += x[i + 2] * row[i + 2]; a3 += x[i + 3] * row[i + 3]; }
        for (; i < in; i++) a0 += x[i] * row[i];
        y[j] = relu_scalar(b[j] + ((a0 + a1) + (a2 + a3)), relu);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void narrow_avx2(const float *x, const float *wt, const float *b, float *y, int in, int out, int relu) {
    for (int j = 0; j < out; j++) {
        const float *row = wt + (long)j * in;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 16 <= in; i += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(row + i), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(row + i + 8), a1);
        }
        for (; i + 8 <= in; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(row + i), a0);
        __m256 s = _mm256_add_ps(a0, a1);
        __m128 lo = _mm256_castps256_ps128(s), hi = _mm256_extractf128_ps(s, 1);
        __m128 q = _mm_add_ps(lo, hi);
        q = _mm_add_ps(q, _mm_movehl_ps(q, q));
        q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
        float a = _mm_cvtss_f32(q);
        for (; i < in; i++) a += x[i] * row[i];
        y[j] = relu_scalar(b[j] + a, relu);
    }
}
#endif

hp_dense_f32_fn hp_dense_narrow_f32_best(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return narrow_avx2;
#endif
    return narrow_portable;
}

hp_dense_f32_fn hp_dense_narrow_f32_portable(void) { return narrow_portable; }

hp_dense_f32_fn hp_dense_f32_best(int *uses_avx2) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        if (uses_avx2) *uses_avx2 = 1;
        return dense_avx2;
    }
#endif
    if (uses_avx2) *uses_avx2 = 0;
    return dense_portable;
}

hp_dense_f32_fn hp_dense_f32_portable(void) { return dense_portable; }
