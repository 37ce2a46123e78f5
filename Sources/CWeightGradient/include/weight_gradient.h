// A direct weight-gradient (backward-weights) kernel for 3-D convolutions on
// channels-last tensors: register-blocked outer products, AVX-512 or AVX2+FMA.
#ifndef NORMBENCH_WEIGHT_GRADIENT_H
#define NORMBENCH_WEIGHT_GRADIENT_H

/// One problem. The input `x` is `[n, d, h, xw, cin]` where `xw` is the row
/// length of the buffer in pixels: the caller pads the width (zero columns) so
/// that output column `ox` with width tap `kw` reads buffer column `ox·sw + kw`;
/// depth and height padding are handled by skipping rows (`pd`, `ph`).
/// The output gradient `dy` is `[n, od, oh, ow, cout]`.
typedef struct {
    int n, d, h, xw, cin;
    int od, oh, ow, cout;
    int kd, kh, kw;
    int sd, sh, sw;
    int pd, ph;
} nb_wgrad_problem;

/// 1 when this CPU can run the kernel of `width_bits` (512: AVX-512F, 256: AVX2 + FMA).
int nb_wgrad_supported(int width_bits);

/// Work of worker `worker` of `workers` (each worker owns a fixed set of output
/// tiles; workers never write the same element). `out` must be zeroed before the
/// first worker starts. With `vector_over_k` = 1, `out` is the weight gradient
/// `[cout, kd, kh, kw, cin]`; with 0 it is `[kd·kh, kw·cin, cout]` (the caller
/// transposes). Every output element is one running sum, `fma(dy, x, sum)` over
/// output positions in (n, z, y, x) order, whatever `width_bits`, `vector_over_k`,
/// `workers` and the chunking: the result's bits depend on the problem only.
void nb_wgrad_run(int width_bits, const nb_wgrad_problem *p, const float *x, const float *dy,
                  float *out, int vector_over_k, int worker, int workers);

#endif
