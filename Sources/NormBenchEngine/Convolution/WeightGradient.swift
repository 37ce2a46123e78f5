internal import CWeightGradient
import Foundation

/// The engine's own weight-gradient (backward-weights) kernel for 3-D convolutions
/// on NDHWC tensors (C, `Sources/CWeightGradient`), used instead of oneDNN's,
/// which for these layers falls back to its GEMM-based path at about half the
/// forward pass's speed (docs/engine.md).
///
/// Per (kd, kh) tap row, the width taps and input channels of an input row are
/// `kw·cIn` contiguous floats, in the input and in the `odhwi` weight gradient alike;
/// the kernel accumulates outer products of output-gradient rows and input rows
/// into register tiles (vectors over `kw·cIn` or over `cOut`, whichever wastes
/// fewer lanes). Depth and height padding clip the rows; width padding is a
/// zero-padded copy of the input (workspace) when the layer pads.
///
/// Numerics: every weight-gradient element is one running sum, a fused
/// multiply-add per output position in (n, z, y, x) order, in one vector lane.
/// Threads split the output tiles, not the sum. So the bits depend on the inputs
/// only: the same for any thread count, for AVX-512 and AVX2 and for any chunking.
public enum WeightGradient {
    /// An instruction set the kernel is compiled for.
    public enum ISA: Int, CaseIterable, Sendable, CustomStringConvertible {
        case avx2 = 256, avx512 = 512
        public var description: String { self == .avx512 ? "avx512" : "avx2" }
        /// The implementation name recorded with the executed convolutions.
        public var implementation: String { "nb:bwd_w:\(self)" }
        /// Whether this CPU has the instructions.
        public var isSupported: Bool { nb_wgrad_supported(Int32(rawValue)) == 1 }
    }

    /// The ISA the engine dispatches: AVX-512 when oneDNN's effective ISA
    /// (`BuildInfo.oneDNNISA`, capped by `ONEDNN_MAX_CPU_ISA`) is AVX-512, so a run
    /// capped to AVX2 executes what an AVX2 machine executes; AVX2 otherwise, also
    /// when oneDNN is capped below AVX2: the release build targets x86-64-v3, so
    /// every machine that runs it has AVX2 and FMA, and a cap below that (SSE4.1 in
    /// the tests) changes oneDNN's kernels only. Nil (oneDNN's weight gradient for
    /// every layer) on a CPU without AVX2 + FMA (a `NORMBENCH_PORTABLE` build), or
    /// when `NORMBENCH_BWD_WEIGHTS=onednn` is set.
    public static let dispatched: ISA? = {
        if ProcessInfo.processInfo.environment["NORMBENCH_BWD_WEIGHTS"] == "onednn" { return nil }
        let wanted: [ISA] = BuildInfo.oneDNNISA.hasPrefix("avx512_core") ? [.avx512, .avx2] : [.avx2]
        return wanted.first { $0.isSupported }
    }()

    /// Writes dLoss/dweight of `g` into `gradWeight` (`[cOut, kd, kh, kw, cIn]`),
    /// overwriting it, on `threads` threads (the result does not depend on it).
    public static func compute(
        _ x: Tensor, gradY: Tensor, into gradWeight: Tensor, geometry g: ConvolutionGeometry,
        isa: ISA, threads: Int = Parallel.threads
    ) {
        precondition(isa.isSupported, "WeightGradient: this CPU has no \(isa)")
        precondition(x.shape == g.inputShape && gradY.shape == g.outputShape && gradWeight.shape == g.weightShape,
                     "WeightGradient: shapes \(x.shape), \(gradY.shape), \(gradWeight.shape) do not match \(g)")
        let o = g.output, ci = g.inChannels, co = g.outChannels
        // Width padding: a copy whose column ox·sw + kw is the input column ox·sw + kw − pw.
        var source = x
        var xw = g.input[2]
        if let padded = paddedInputShape(g) {
            source = Tensor(shape: padded, category: .workspace)
            xw = padded[3]
            padWidth(x, into: source, left: g.padding[2], geometry: g)
        }
        var problem = nb_wgrad_problem(
            n: Int32(g.batch), d: Int32(g.input[0]), h: Int32(g.input[1]), xw: Int32(xw), cin: Int32(ci),
            od: Int32(o[0]), oh: Int32(o[1]), ow: Int32(o[2]), cout: Int32(co),
            kd: Int32(g.kernel[0]), kh: Int32(g.kernel[1]), kw: Int32(g.kernel[2]),
            sd: Int32(g.stride[0]), sh: Int32(g.stride[1]), sw: Int32(g.stride[2]),
            pd: Int32(g.padding[0]), ph: Int32(g.padding[1]))
        // Vectors over kw·cIn (writes the gradient in place) or over cOut (a transposed scratch).
        let k = g.kernel[2] * ci, overK = vectorsOverK(g, isa)
        let out = overK ? gradWeight : Tensor(shape: [g.kernel[0] * g.kernel[1], k, co], category: .workspace)
        out.data.update(repeating: 0, count: out.count)
        let workers = max(1, threads)
        let xp = UncheckedSendable(source.data), dyp = UncheckedSendable(gradY.data), op = UncheckedSendable(out.data)
        withUnsafePointer(to: &problem) { pp in
            let pb = UncheckedSendable(pp)
            Parallel.forEach(chunks: workers, threads: workers) { worker in
                nb_wgrad_run(Int32(isa.rawValue), pb.value, xp.value, dyp.value, op.value,
                             overK ? 1 : 0, Int32(worker), Int32(workers))
            }
        }
        if !overK {
            // gradWeight[o][row][k] = scratch[row][k][o]
            let rows = g.kernel[0] * g.kernel[1], s = out.data, w = gradWeight.data
            for row in 0..<rows {
                for kk in 0..<k {
                    let from = s + (row * k + kk) * co
                    for oc in 0..<co { w[(oc * rows + row) * k + kk] = from[oc] }
                }
            }
        }
        withExtendedLifetime(source) {}
        withExtendedLifetime(out) {}
    }

    /// Workspace bytes one call allocates: the width-padded input copy (when the
    /// layer pads its width) and the transposed result (when vectors run over cOut).
    public static func workspaceBytes(_ g: ConvolutionGeometry, isa: ISA) -> Int {
        let padded = paddedInputShape(g).map { $0.reduce(1, *) } ?? 0
        let transposed = vectorsOverK(g, isa) ? 0 : g.weightShape.reduce(1, *)
        return 4 * (padded + transposed)
    }

    /// `[n, d, h, (ow − 1)·sw + kw, cIn]` when the input needs zero columns, else nil.
    static func paddedInputShape(_ g: ConvolutionGeometry) -> [Int]? {
        let rowWidth = (g.output[2] - 1) * g.stride[2] + g.kernel[2]
        guard g.padding[2] > 0 || rowWidth > g.input[2] else { return nil }
        return [g.batch, g.input[0], g.input[1], rowWidth, g.inChannels]
    }

    /// Whether vectors run over kw·cIn (else over cOut): whichever leaves fewer lanes idle.
    static func vectorsOverK(_ g: ConvolutionGeometry, _ isa: ISA) -> Bool {
        let width = isa.rawValue / 32
        func lanesUsed(_ n: Int) -> Double { Double(n) / Double((n + width - 1) / width * width) }
        return lanesUsed(g.kernel[2] * g.inChannels) >= lanesUsed(g.outChannels)
    }

    /// dst[n, z, y, left + c, :] = x[n, z, y, c, :] for the columns that fit; other columns 0.
    private static func padWidth(_ x: Tensor, into dst: Tensor, left: Int, geometry g: ConvolutionGeometry) {
        let ci = g.inChannels, w = g.input[2], xw = dst.shape[3]
        let zeros = min(left, xw), copied = max(0, min(w, xw - zeros))
        let src = UncheckedSendable(x.data), to = UncheckedSendable(dst.data)
        Parallel.forEach(chunks: g.batch * g.input[0]) { slab in
            for r in 0..<g.input[1] {
                let row = slab * g.input[1] + r
                let d = to.value + row * xw * ci, s = src.value + row * w * ci
                d.update(repeating: 0, count: zeros * ci)
                (d + zeros * ci).update(from: s, count: copied * ci)
                (d + (zeros + copied) * ci).update(repeating: 0, count: (xw - zeros - copied) * ci)
            }
        }
    }
}
