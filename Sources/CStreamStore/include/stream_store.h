#ifndef NB_STREAM_STORE_H
#define NB_STREAM_STORE_H

// Normalization passes that write their output with non-temporal (streaming)
// stores: for outputs larger than the last-level cache, the store then costs
// one write to memory instead of a read for ownership plus a write. Each
// element is computed with the same operations, in the same order, as the
// engine's Swift kernels (NormKernels.apply and gradientInput), so the bits
// are the same. Rows are `c` floats, c a multiple of 8; `y` 32-byte aligned.

/// Whether this CPU runs these kernels (AVX2 and FMA).
int nb_stream_supported(void);

/// y[r][j] = fma(x[r][j] - mh[j], sc[j], shift[j]) for r < rows, j < c;
/// with `relu` non-zero, 0 where that value is below 0.
void nb_stream_apply(const float *x, float *y, long rows, long c,
                     const float *mh, const float *sc, const float *shift, int relu);

/// dx[r][j] = fma(k1[j], g, fma(k2[j], x[r][j] - mh[j], k0[j])) with g = dy[r][j],
/// or, when `rsc` is not NULL, g = +0 where fma(x[r][j] - mh[j], rsc[j], rsh[j]) <= 0.
void nb_stream_gradient_input(const float *x, const float *dy, float *dx, long rows, long c,
                              const float *mh, const float *k0, const float *k1, const float *k2,
                              const float *rsc, const float *rsh);

#endif
