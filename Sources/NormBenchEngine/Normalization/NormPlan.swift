// How the normalization kernels (NormKernels.swift) cut an activation into
// chunks, which output passes use streaming stores, and the per-(sample,
// channel) coefficient rows they read. Legend as in NormKernels.swift.

import CStreamStore
import Foundation

/// How an activation is cut into chunks and blocks. Depends only on the shape.
struct NormPlan: Equatable, Sendable {
    let n: Int
    let p: Int
    let c: Int
    /// Rows of one sample per chunk (≈ 64 Ki elements, 256 KiB).
    let rowsPerChunk: Int
    let chunksPerSample: Int
    /// Rows per block of the two-pass moment kernel (≈ 8 Ki elements, 32 KiB).
    let blockRows: Int

    init(n: Int, p: Int, c: Int) {
        precondition(n >= 1 && p >= 1 && c >= 1, "NormPlan: empty shape n=\(n) p=\(p) c=\(c)")
        self.n = n
        self.p = p
        self.c = c
        rowsPerChunk = min(p, max(1, 65536 / c))
        chunksPerSample = (p + rowsPerChunk - 1) / rowsPerChunk
        blockRows = max(1, min(rowsPerChunk, 8192 / c))
    }

    /// The plan of an activation `[n, ..., c]` (NDHWC or `[n, c]`).
    init(shape: [Int]) {
        precondition(shape.count >= 2, "Normalization: expected [n, d, h, w, c] or [n, c], got \(shape)")
        self.init(n: shape[0], p: shape.dropFirst().dropLast().reduce(1, *), c: shape[shape.count - 1])
    }

    var chunks: Int { n * chunksPerSample }

    /// Streamed bytes per slab below which consecutive samples share a slab
    /// (`slabs(streams:)`). 4 MiB: a slab's inputs stay in a 32 MiB L3 between the
    /// statistics pass and the pass that uses them, with room for the output.
    static let slabBudget = 4 << 20

    /// Consecutive samples cut into slabs of at most `slabBudget` bytes of the
    /// `streams` float tensors a per-sample method reads twice (x forward; x and
    /// dy backward), at least one sample each. Per-sample methods (GroupNorm)
    /// run both passes slab by slab, so the second pass reads from cache, not
    /// memory. The partition into chunks is the same, so the results are too.
    func slabs(streams: Int) -> [Range<Int>] {
        let perSample = max(1, streams * p * c * MemoryLayout<Float>.size)
        let samples = max(1, Self.slabBudget / perSample)
        return stride(from: 0, to: n, by: samples).map { $0..<min(n, $0 + samples) }
    }

    /// The chunks of the samples in `samples`.
    @inline(__always)
    func chunks(of samples: Range<Int>) -> Range<Int> {
        samples.lowerBound * chunksPerSample..<samples.upperBound * chunksPerSample
    }

    /// The sample and row range of chunk `k`.
    @inline(__always)
    func rows(_ k: Int) -> (sample: Int, lo: Int, hi: Int) {
        let sample = k / chunksPerSample
        let lo = (k - sample * chunksPerSample) * rowsPerChunk
        return (sample, lo, min(p, lo + rowsPerChunk))
    }
}

/// Whether the normalize passes (`NormKernels.apply`, `gradientInput`) write with
/// streaming stores (CStreamStore): outputs larger than the last-level cache, with
/// a multiple of 8 channels, on a CPU with AVX2 and FMA. A streaming store skips
/// the read for ownership that an ordinary store of a line not in cache costs; the
/// values are the same bits either way. `NORMBENCH_STREAM_STORES=0` turns it off.
public enum StreamingStores {
    /// Overrides the choice in a scope (tests and benchmarks): true = whenever the
    /// channels allow, false = never; nil = by output size.
    @TaskLocal public static var forced: Bool?

    static let supported = nb_stream_supported() != 0
    static let enabled = ProcessInfo.processInfo.environment["NORMBENCH_STREAM_STORES"] != "0"

    @inline(__always)
    static func use(_ plan: NormPlan) -> Bool {
        guard plan.c % 8 == 0, supported else { return false }
        return forced ?? (enabled && plan.n * plan.p * plan.c * MemoryLayout<Float>.size > BuildInfo.lastLevelCacheBytes)
    }
}

/// Per-(n, c) coefficient rows used by the streaming kernels, `[n][rows][c]` floats.
///
/// Row 0 and 1 hold the set mean split as mHi + mLo (mHi = Float(mean),
/// mLo = Float(mean − mHi)) so that x − mean is formed to float precision even
/// when |mean| ≫ σ (x − mHi is exact for x near the mean, Sterbenz).
enum Coef {
    static let meanHi = 0, meanLo = 1
    /// Forward: y = (x − mHi)·scale + (shift − mLo·scale).
    static let scale = 2, shift = 3
    /// Backward: dx = k1·dy + k2·(x − mHi) + (k3 − k2·mLo).
    static let k1 = 2, k2 = 3, k3 = 4
    static let rows = 5
}

/// What the backward of a normalization with fused ReLU needs to recompute the
/// sign of its forward's values: per (sample, channel) the forward's scale and its
/// shift folded with the low half of the mean (`NormKernels.foldedShift`), so
/// (x − mHi)·scale + shift is the value `apply` computed, bit for bit.
/// `[n][rows][c]` floats, saved by the layer's training forward.
enum ReLUCoef {
    static let scale = 0, shift = 1
    static let rows = 2
}
