// Dense layer kernels, y = b + x·W with W stored [in][out], for the neural-network evaluator.
// Swift cannot compile one function for a wider target than the module, so the AVX2+FMA
// variant lives here behind a target attribute and is chosen once at load time
// (hp_nn_kernels_select); the portable variant runs everywhere else.
// With `relu` set a kernel applies ReLU as it stores: y < 0 ? 0 : y, as ONNX Runtime's
// std::max(y, 0) does (a NaN and a −0 stay as they are; maxps(0, y) returns y unless 0 > y).
// Fused, it costs a max per register; as a pass of its own it was a scalar loop through the
// stored outputs.
#include "CSupport.h"
#include <math.h>

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

// Activations over a layer's outputs, in place. The portable forms are libm's, one value at
// a time. The AVX2+FMA forms take eight at a time through one exp: e^x = 2^k · e^r with
// k = round(x·log2 e) and r = x − k·ln 2 (ln 2 in two parts, so r keeps its bits), e^r by
// its Taylor series to r⁷ (|r| ≤ ln 2 / 2: truncation < 1e-8 relative, below float's
// rounding), 2^k built in the exponent bits. sigmoid = 1 / (1 + e^−x) and
// tanh = 1 − 2 / (e^2x + 1); inputs are clamped first so k stays in float's normal range
// (tanh to ±9, where it rounds to ±1 in float), with the clamp's operands ordered so a NaN
// passes through as NaN. Absolute error ~1e-7 against libm; networks are held to 1e-5 of
// ONNX Runtime, which uses its own approximations.
static void tanh_portable(float *y, int n) {
    for (int j = 0; j < n; j++) y[j] = tanhf(y[j]);
}

static void sigmoid_portable(float *y, int n) {
    for (int j = 0; j < n; j++) y[j] = 1 / (1 + expf(-y[j]));
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline __m256 exp_avx2(__m256 x) {
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    __m256 p = _mm256_set1_ps(1.f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// Clamps v to [lo, hi]; a NaN comes out as NaN (min/max return their second operand when
// either is NaN).
#define HP_CLAMP(v, lo, hi) _mm256_max_ps(_mm256_set1_ps(lo), _mm256_min_ps(_mm256_set1_ps(hi), (v)))

__attribute__((target("avx2,fma")))
static void tanh_avx2(float *y, int n) {
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 x = HP_CLAMP(_mm256_loadu_ps(y + j), -9.f, 9.f);
        const __m256 e = exp_avx2(_mm256_add_ps(x, x));
        const __m256 one = _mm256_set1_ps(1.f);
        _mm256_storeu_ps(y + j, _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.f), _mm256_add_ps(e, one))));
    }
    tanh_portable(y + j, n - j);
}

__attribute__((target("avx2,fma")))
static void sigmoid_avx2(float *y, int n) {
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 x = HP_CLAMP(_mm256_loadu_ps(y + j), -88.f, 87.f);
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));
        const __m256 one = _mm256_set1_ps(1.f);
        _mm256_storeu_ps(y + j, _mm256_div_ps(one, _mm256_add_ps(one, e)));
    }
    sigmoid_portable(y + j, n - j);
}
#undef HP_CLAMP
#endif

hp_nn_kernels hp_nn_kernels_select(int portable) {
    const hp_nn_kernels plain = {dense_portable, narrow_portable, tanh_portable, sigmoid_portable, 0};
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!portable && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        const hp_nn_kernels fast = {dense_avx2, narrow_avx2, tanh_avx2, sigmoid_avx2, 1};
        return fast;
    }
#endif
    (void)portable;
    return plain;
}
