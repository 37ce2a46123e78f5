#include "stream_store.h"

#if defined(__x86_64__)
#include <immintrin.h>

int nb_stream_supported(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

__attribute__((target("avx2,fma"))) void nb_stream_apply(const float *x, float *y, long rows, long c,
                                                         const float *mh, const float *sc, const float *shift, int relu) {
    const __m256 zero = _mm256_setzero_ps();
    for (long r = 0; r < rows; r++, x += c, y += c) {
        for (long j = 0; j < c; j += 8) {
            const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(mh + j));
            __m256 v = _mm256_fmadd_ps(d, _mm256_loadu_ps(sc + j), _mm256_loadu_ps(shift + j));
            // max(0, v) returns v unless 0 > v: -0 and NaN pass unchanged, as in the Swift kernel.
            if (relu) v = _mm256_max_ps(zero, v);
            _mm256_stream_ps(y + j, v);
        }
    }
    _mm_sfence();
}

__attribute__((target("avx2,fma"))) void nb_stream_gradient_input(const float *x, const float *dy, float *dx, long rows,
                                                                  long c, const float *mh, const float *k0,
                                                                  const float *k1, const float *k2, const float *rsc,
                                                                  const float *rsh) {
    const __m256 zero = _mm256_setzero_ps();
    for (long r = 0; r < rows; r++, x += c, dy += c, dx += c) {
        for (long j = 0; j < c; j += 8) {
            const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(mh + j));
            const __m256 t = _mm256_fmadd_ps(_mm256_loadu_ps(k2 + j), d, _mm256_loadu_ps(k0 + j));
            __m256 g = _mm256_loadu_ps(dy + j);
            if (rsc) {
                // A fused ReLU's backward: dy becomes +0 where the forward's value
                // fma(d, rsc, rsh) was <= 0 (NaN keeps dy).
                const __m256 v = _mm256_fmadd_ps(d, _mm256_loadu_ps(rsc + j), _mm256_loadu_ps(rsh + j));
                g = _mm256_andnot_ps(_mm256_cmp_ps(v, zero, _CMP_LE_OQ), g);
            }
            _mm256_stream_ps(dx + j, _mm256_fmadd_ps(_mm256_loadu_ps(k1 + j), g, t));
        }
    }
    _mm_sfence();
}

#else

int nb_stream_supported(void) { return 0; }
void nb_stream_apply(const float *x, float *y, long rows, long c, const float *mh, const float *sc, const float *shift,
                     int relu) {
    (void)x; (void)y; (void)rows; (void)c; (void)mh; (void)sc; (void)shift; (void)relu;
}
void nb_stream_gradient_input(const float *x, const float *dy, float *dx, long rows, long c, const float *mh,
                              const float *k0, const float *k1, const float *k2, const float *rsc, const float *rsh) {
    (void)x; (void)dy; (void)dx; (void)rows; (void)c; (void)mh; (void)k0; (void)k1; (void)k2; (void)rsc; (void)rsh;
}

#endif
