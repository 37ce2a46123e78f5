// A register-blocked multiply-add loop: the CPU's arithmetic peak, measured.
#ifndef NORMBENCH_FMA_PEAK_H
#define NORMBENCH_FMA_PEAK_H

/// Runs `iterations` rounds of 12 independent vector multiply-adds of
/// `width_bits` (512: AVX-512F FMA, 256: AVX2 FMA, 128: SSE multiply then add)
/// and returns a value that depends on every result (so nothing is optimized
/// away). Floating-point operations done: iterations × 12 × width_bits / 32 × 2.
/// Returns -1 when this CPU lacks the instructions.
float nb_fma_loop(int width_bits, long iterations);

#endif
