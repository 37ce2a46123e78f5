// Direct weight gradient of a 3-D convolution on channels-last tensors.
//
// For each (kd, kh) tap row, the width taps and input channels of one input row
// are contiguous (kw·cin floats) in the input and in the `odhwi` weight
// gradient alike, so a tap row is one product
//     dW[o][row][k] = Σ_p dY[p][o] · X[row(p)][k],   k < kw·cin,
// over the output positions p whose input row lies inside the input (depth and
// height padding clip the rows; width padding is zero columns the caller adds).
// A tile of the result (NA scalars of one operand × NB vectors of the other)
// stays in registers while the p loop runs over a chunk of output rows; tiles
// are loaded from and stored to the output between chunks, so every element
// is a single running sum in p order, one lane per element, whatever the
// vector width, tile shape, chunking or number of workers.
#include "weight_gradient.h"
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

typedef void (*tile_fn)(const float *const *al, const float *const *bl, int nl, int ow, long sa, long sb,
                        long aoff, long boff, float *c, long ldc, int lanes);

// ---- AVX-512: up to 8 × 3 vectors of 16 (24 accumulators) ----

__attribute__((target("avx512f"), always_inline)) static inline void
tile512(const int NA, const int NB, const int MASKED, const float *const *al, const float *const *bl, int nl,
        int ow, long sa, long sb, long aoff, long boff, float *c, long ldc, int lanes) {
    const __mmask16 m = (__mmask16)((1u << lanes) - 1u);
    __m512 acc[8][3];
#pragma clang loop unroll(full)
    for (int i = 0; i < NA; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < NB; j++)
            acc[i][j] = (MASKED && j == NB - 1) ? _mm512_maskz_loadu_ps(m, c + i * ldc + 16 * j)
                                                : _mm512_loadu_ps(c + i * ldc + 16 * j);
    for (int l = 0; l < nl; l++) {
        const float *ap = al[l] + aoff, *bp = bl[l] + boff;
        for (int x = 0; x < ow; x++, ap += sa, bp += sb) {
            __m512 bv[3];
#pragma clang loop unroll(full)
            for (int j = 0; j < NB; j++)
                bv[j] = (MASKED && j == NB - 1) ? _mm512_maskz_loadu_ps(m, bp + 16 * j) : _mm512_loadu_ps(bp + 16 * j);
#pragma clang loop unroll(full)
            for (int i = 0; i < NA; i++) {
                const __m512 av = _mm512_set1_ps(ap[i]);
#pragma clang loop unroll(full)
                for (int j = 0; j < NB; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < NA; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < NB; j++) {
            if (MASKED && j == NB - 1) _mm512_mask_storeu_ps(c + i * ldc + 16 * j, m, acc[i][j]);
            else _mm512_storeu_ps(c + i * ldc + 16 * j, acc[i][j]);
        }
}

// ---- AVX2 + FMA: up to 3 × 4 vectors of 8 (12 accumulators, 3 broadcasts and
// one streamed vector: all 16 registers; a 6 × 2 tile ran 0-10 points slower) ----

__attribute__((target("avx2,fma"), always_inline)) static inline void
tile256(const int NA, const int NB, const int MASKED, const float *const *al, const float *const *bl, int nl,
        int ow, long sa, long sb, long aoff, long boff, float *c, long ldc, int lanes) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 acc[3][4];
#pragma clang loop unroll(full)
    for (int i = 0; i < NA; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < NB; j++)
            acc[i][j] = (MASKED && j == NB - 1) ? _mm256_maskload_ps(c + i * ldc + 8 * j, m)
                                                : _mm256_loadu_ps(c + i * ldc + 8 * j);
    for (int l = 0; l < nl; l++) {
        const float *ap = al[l] + aoff, *bp = bl[l] + boff;
        for (int x = 0; x < ow; x++, ap += sa, bp += sb) {
            __m256 av[3];
#pragma clang loop unroll(full)
            for (int i = 0; i < NA; i++) av[i] = _mm256_broadcast_ss(ap + i);
#pragma clang loop unroll(full)
            for (int j = 0; j < NB; j++) {
                const __m256 bv = (MASKED && j == NB - 1) ? _mm256_maskload_ps(bp + 8 * j, m) : _mm256_loadu_ps(bp + 8 * j);
#pragma clang loop unroll(full)
                for (int i = 0; i < NA; i++) acc[i][j] = _mm256_fmadd_ps(av[i], bv, acc[i][j]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < NA; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < NB; j++) {
            if (MASKED && j == NB - 1) _mm256_maskstore_ps(c + i * ldc + 8 * j, m, acc[i][j]);
            else _mm256_storeu_ps(c + i * ldc + 8 * j, acc[i][j]);
        }
}

#define ARGS const float *const *al, const float *const *bl, int nl, int ow, long sa, long sb, long aoff, long boff, float *c, long ldc, int lanes
#define PASS al, bl, nl, ow, sa, sb, aoff, boff, c, ldc, lanes
#define DEF512(A, B, M) \
    __attribute__((target("avx512f"))) static void t512_##A##_##B##_##M(ARGS) { tile512(A, B, M, PASS); }
#define DEF256(A, B, M) \
    __attribute__((target("avx2,fma"))) static void t256_##A##_##B##_##M(ARGS) { tile256(A, B, M, PASS); }
#define DEF512_B(B, M) DEF512(1, B, M) DEF512(2, B, M) DEF512(3, B, M) DEF512(4, B, M) \
                       DEF512(5, B, M) DEF512(6, B, M) DEF512(7, B, M) DEF512(8, B, M)
#define DEF256_B(B, M) DEF256(1, B, M) DEF256(2, B, M) DEF256(3, B, M)
DEF512_B(1, 0) DEF512_B(1, 1) DEF512_B(2, 0) DEF512_B(2, 1) DEF512_B(3, 0) DEF512_B(3, 1)
DEF256_B(1, 0) DEF256_B(1, 1) DEF256_B(2, 0) DEF256_B(2, 1) DEF256_B(3, 0) DEF256_B(3, 1) DEF256_B(4, 0) DEF256_B(4, 1)

#define ROW512(B, M) { t512_1_##B##_##M, t512_2_##B##_##M, t512_3_##B##_##M, t512_4_##B##_##M, \
                       t512_5_##B##_##M, t512_6_##B##_##M, t512_7_##B##_##M, t512_8_##B##_##M }
#define ROW256(B, M) { t256_1_##B##_##M, t256_2_##B##_##M, t256_3_##B##_##M }
// [masked][NB - 1][NA - 1]
static const tile_fn tiles512[2][3][8] = {
    { ROW512(1, 0), ROW512(2, 0), ROW512(3, 0) },
    { ROW512(1, 1), ROW512(2, 1), ROW512(3, 1) },
};
static const tile_fn tiles256[2][4][3] = {
    { ROW256(1, 0), ROW256(2, 0), ROW256(3, 0), ROW256(4, 0) },
    { ROW256(1, 1), ROW256(2, 1), ROW256(3, 1), ROW256(4, 1) },
};

int nb_wgrad_supported(int width_bits) {
    __builtin_cpu_init();
    switch (width_bits) {
    case 512: return __builtin_cpu_supports("avx512f") ? 1 : 0;
    case 256: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    default: return 0;
    }
}

void nb_wgrad_run(int width_bits, const nb_wgrad_problem *p, const float *x, const float *dy,
                  float *out, int vector_over_k, int worker, int workers) {
    const int wide = width_bits == 512;
    const int VL = wide ? 16 : 8, NA_MAX = wide ? 8 : 3, NB_MAX = wide ? 3 : 4;
    const long K = (long)p->kw * p->cin, O = p->cout, rows = (long)p->kd * p->kh;
    const long vdim = vector_over_k ? K : O, adim = vector_over_k ? O : K;
    const long nv = (vdim + VL - 1) / VL, nbb = (nv + NB_MAX - 1) / NB_MAX, nab = (adim + NA_MAX - 1) / NA_MAX;
    const long sa = vector_over_k ? O : (long)p->sw * p->cin, sb = vector_over_k ? (long)p->sw * p->cin : O;
    const long xrow = (long)p->xw * p->cin, ldc = vector_over_k ? rows * K : O;
    const long lines = (long)p->n * p->od * p->oh;
    // Output rows per chunk: about 128 KiB of dY, so a chunk's dY and input rows stay in L2.
    long chunk = 32768 / ((long)p->ow * O);
    if (chunk < 1) chunk = 1;
    // AVX2 (small tiles, many passes over the rows): rows per tile pass such that
    // every tile of a tap row passes over the same ~24 KiB of input and output
    // gradient while they are in L1, but at least 64 positions, so a tile's loads
    // and stores stay rare (+5-10 points of the peak here). AVX-512's larger
    // tiles ran faster over the whole chunk (fewer tile loads and stores).
    int group = (int)chunk;
    if (!wide) {
        const long row_bytes = 4 * (((long)(p->ow - 1) * p->sw + p->kw) * p->cin + (long)p->ow * O);
        group = (int)(24576 / row_bytes);
        const int min_group = (64 + p->ow - 1) / p->ow;
        if (group < min_group) group = min_group;
    }
    const float **al = malloc(sizeof(float *) * (size_t)chunk), **bl = malloc(sizeof(float *) * (size_t)chunk);
    const tile_fn *table = wide ? &tiles512[0][0][0] : &tiles256[0][0][0];
    for (long l0 = 0; l0 < lines; l0 += chunk) {
        const long l1 = l0 + chunk < lines ? l0 + chunk : lines;
        for (long row = 0; row < rows; row++) {
            const int kdi = (int)(row / p->kh), khi = (int)(row % p->kh);
            int nl = 0;
            for (long l = l0; l < l1; l++) {
                const long y = l % p->oh, z = (l / p->oh) % p->od, n = l / ((long)p->oh * p->od);
                const long zi = z * p->sd + kdi - p->pd, yi = y * p->sh + khi - p->ph;
                if (zi < 0 || zi >= p->d || yi < 0 || yi >= p->h) continue;
                const float *xl = x + ((n * p->d + zi) * p->h + yi) * xrow;
                const float *dl = dy + l * p->ow * O;
                al[nl] = vector_over_k ? dl : xl;
                bl[nl] = vector_over_k ? xl : dl;
                nl++;
            }
            if (nl == 0) continue;
            for (int g0 = 0; g0 < nl; g0 += group) {  // rows in order: sums stay in p order
            const int gn = nl - g0 < group ? nl - g0 : group;
            for (long bb = 0; bb < nbb; bb++) {
                const long v0 = nv * bb / nbb, v1 = nv * (bb + 1) / nbb, boff = v0 * VL;
                const long last = vdim - (v1 - 1) * VL;
                const int lanes = (int)(last < VL ? last : VL), nbv = (int)(v1 - v0);
                for (long ab = 0; ab < nab; ab++) {
                    // Tiles are dealt round-robin, shifted by one per tap row so that
                    // unequal tiles (a remainder block) do not all go to the same worker.
                    if (((row * nbb + bb) * nab + ab + row) % workers != worker) continue;
                    const long a0 = adim * ab / nab, a1 = adim * (ab + 1) / nab;
                    float *c = vector_over_k ? out + a0 * ldc + row * K + boff : out + (row * K + a0) * O + boff;
                    const tile_fn f = table[((lanes < VL) * NB_MAX + nbv - 1) * NA_MAX + (a1 - a0 - 1)];
                    f(al + g0, bl + g0, gn, p->ow, sa, sb, a0, boff, c, ldc, lanes);
                }
            }
            }
        }
    }
    free(al);
    free(bl);
}

#else

int nb_wgrad_supported(int width_bits) { (void)width_bits; return 0; }

void nb_wgrad_run(int width_bits, const nb_wgrad_problem *p, const float *x, const float *dy,
                  float *out, int vector_over_k, int worker, int workers) {
    (void)width_bits; (void)p; (void)x; (void)dy; (void)out; (void)vector_over_k; (void)worker; (void)workers;
    abort();
}

#endif
