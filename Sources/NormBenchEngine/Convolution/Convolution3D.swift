import Foundation

/// A pass of a convolution.
public enum ConvolutionPass: String, CaseIterable, Codable, Sendable {
    case forward, backwardData, backwardWeights

    var bucket: StepProfiler.Bucket {
        switch self {
        case .forward: .convolutionForward
        case .backwardData: .convolutionBackwardData
        case .backwardWeights: .convolutionBackwardWeights
        }
    }
}

/// 3-D convolution on NDHWC tensors, through oneDNN (the engine's one function for it).
///
/// Shapes: see `ConvolutionGeometry`. Each call checks its tensors' shapes
/// against the geometry, runs the cached primitive with `Parallel.threads`
/// OpenMP threads, and records its time in `StepProfiler.shared` by pass.
/// oneDNN's scratchpad is allocated per call as ledger workspace.
public enum Convolution3D {
    /// y = conv(x, weight) (+ bias). Overwrites `y`.
    public static func forward(
        _ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor, geometry g: ConvolutionGeometry
    ) {
        check(x, g.inputShape, "input", g)
        check(weight, g.weightShape, "weight", g)
        check(y, g.outputShape, "output", g)
        precondition((bias != nil) == g.hasBias, "Convolution3D.forward: bias given = \(bias != nil), geometry says \(g.hasBias)")
        if let bias { check(bias, [g.outChannels], "bias", g) }
        let start = StepProfiler.now()
        forEachSubBatch(g) { sub, first in
            DNNL.shared.execute(sub, .forward, src: x.data + first * g.inputPerSample, weights: weight.data,
                                bias: bias?.data, dst: y.data + first * g.outputPerSample)
        }
        StepProfiler.shared.record(.convolutionForward, since: start)
    }

    /// gradX = dLoss/dx given gradY = dLoss/dy. Overwrites `gradX`.
    public static func backwardData(
        _ gradY: Tensor, weight: Tensor, into gradX: Tensor, geometry g: ConvolutionGeometry
    ) {
        check(gradY, g.outputShape, "gradOutput", g)
        check(weight, g.weightShape, "weight", g)
        check(gradX, g.inputShape, "gradInput", g)
        let start = StepProfiler.now()
        forEachSubBatch(g) { sub, first in
            DNNL.shared.execute(sub, .backwardData, src: gradX.data + first * g.inputPerSample, weights: weight.data,
                                bias: nil, dst: gradY.data + first * g.outputPerSample)
        }
        StepProfiler.shared.record(.convolutionBackwardData, since: start)
    }

    /// dLoss/dweight (and dLoss/dbias) from the input and gradY.
    ///
    /// Overwrites `gradWeight` and `gradBias`; callers that accumulate
    /// (micro-batches) pass a scratch tensor and add it themselves.
    public static func backwardWeights(
        _ x: Tensor, gradY: Tensor, gradWeight: Tensor, gradBias: Tensor?, geometry g: ConvolutionGeometry
    ) {
        check(x, g.inputShape, "input", g)
        check(gradY, g.outputShape, "gradOutput", g)
        check(gradWeight, g.weightShape, "gradWeight", g)
        precondition((gradBias != nil) == g.hasBias, "Convolution3D.backwardWeights: gradBias given = \(gradBias != nil), geometry says \(g.hasBias)")
        if let gradBias { check(gradBias, [g.outChannels], "gradBias", g) }
        let start = StepProfiler.now()
        if let isa = WeightGradient.dispatched {
            WeightGradient.compute(x, gradY: gradY, into: gradWeight, geometry: g, isa: isa)
            if let gradBias { sumRows(gradY, rows: g.outputShape.dropLast().reduce(1, *), into: gradBias) }
            DNNL.shared.recordExecuted(g, .backwardWeights, isa.implementation)
        } else if g.kernel == [1, 1, 1] && g.padding == [0, 0, 0] {
            // oneDNN 2.6's weight gradient of 1×1×1 convolutions ran at 1-8 GFLOP/s here for
            // 32→64 channels; it is one GEMM over the (gathered, if strided) input pixels.
            var xs = x
            if let dense = g.gatheredPointwise {
                xs = Tensor(shape: dense.inputShape, category: .workspace)
                gatherStrided(x, into: xs, geometry: g)
            }
            let pixels = g.outputShape.dropLast().reduce(1, *)
            DNNL.shared.gemmTransposedA(m: g.outChannels, n: g.inChannels, k: pixels, a: gradY.data, b: xs.data, c: gradWeight.data)
            if let gradBias { sumRows(gradY, rows: pixels, into: gradBias) }
        } else {
            // Sub-batches in order: the first writes the result, the others add theirs to it.
            var partW: Tensor?, partB: Tensor?
            forEachSubBatch(g) { sub, first in
                let w = first == 0 ? gradWeight : (partW ?? Tensor(shape: g.weightShape, category: .workspace))
                let b = first == 0 ? gradBias : gradBias.map { partB ?? Tensor(shape: $0.shape, category: .workspace) }
                DNNL.shared.execute(sub, .backwardWeights, src: x.data + first * g.inputPerSample, weights: w.data,
                                    bias: b?.data, dst: gradY.data + first * g.outputPerSample)
                if first > 0 {
                    partW = w
                    partB = b
                    Elementwise.accumulate(w, into: gradWeight)
                    if let b, let gradBias { Elementwise.accumulate(b, into: gradBias) }
                }
            }
        }
        StepProfiler.shared.record(.convolutionBackwardWeights, since: start)
    }

    /// out[c] = Σ_rows y[row, c], rows in a fixed order (chunked by 8 channels).
    static func sumRows(_ y: Tensor, rows: Int, into out: Tensor) {
        let c = out.count, yp = UncheckedSendable(y.data), op = UncheckedSendable(out.data)
        Parallel.forEach(chunks: (c + 7) / 8) { b in
            let lo = b * 8, hi = min(c, lo + 8)
            for ch in lo..<hi { op.value[ch] = 0 }
            for r in 0..<rows {
                let row = yp.value + r * c
                for ch in lo..<hi { op.value[ch] += row[ch] }
            }
        }
    }

    /// xs[n, z, y, x, :] = x[n, z·sd, y·sh, x·sw, :] for a 1×1×1 convolution without padding.
    static func gatherStrided(_ x: Tensor, into xs: Tensor, geometry g: ConvolutionGeometry) {
        let o = g.output, c = g.inChannels, i = g.input, s = g.stride
        let src = UncheckedSendable(x.data), dst = UncheckedSendable(xs.data)
        Parallel.forEach(chunks: g.batch * o[0]) { k in
            let n = k / o[0], z = k % o[0]
            for y in 0..<o[1] {
                for xx in 0..<o[2] {
                    let from = src.value + (((n * i[0] + z * s[0]) * i[1] + y * s[1]) * i[2] + xx * s[2]) * c
                    let to = dst.value + (((n * o[0] + z) * o[1] + y) * o[2] + xx) * c
                    to.update(from: from, count: c)
                }
            }
        }
    }

    /// Samples per oneDNN call: larger batches run as consecutive sub-batches of this
    /// size (NDHWC keeps each sample contiguous, so a sub-batch is a pointer offset).
    /// Default: the whole batch; sub-batches 1, 2, 4 used the same CPU time at batch 8
    /// here (docs/engine.md). Set by `NORMBENCH_CONV_SUBBATCH` (0 = whole batch).
    public static let subBatch: Int = {
        let v = ProcessInfo.processInfo.environment["NORMBENCH_CONV_SUBBATCH"].flatMap { Int($0) } ?? 0
        return v <= 0 ? Int.max : v
    }()

    /// Calls `body(geometry of the sub-batch, index of its first sample)` in sample order.
    private static func forEachSubBatch(_ g: ConvolutionGeometry, _ body: (ConvolutionGeometry, Int) -> Void) {
        var first = 0
        while first < g.batch {
            let n = min(subBatch, g.batch - first)
            body(g.with(batch: n), first)
            first += n
        }
    }

    /// The oneDNN implementation that runs `pass` for `geometry` (e.g. "jit:avx2").
    public static func implementation(_ pass: ConvolutionPass, geometry: ConvolutionGeometry) -> String {
        if pass == .backwardWeights, let isa = WeightGradient.dispatched {
            return isa.implementation
        }
        if pass == .backwardWeights && geometry.kernel == [1, 1, 1] && geometry.padding == [0, 0, 0] {
            return geometry.stride == [1, 1, 1] ? "sgemm" : "gather+sgemm"
        }
        return DNNL.shared.implementation(geometry, pass)
    }

    /// Every convolution executed since the last call (oneDNN primitives and the
    /// engine's own weight-gradient kernel), one line per pass,
    /// layer shape (batch aside) and thread count, with the implementation that ran it (sorted).
    /// What decides a result's bits: see `NumericsFingerprint`.
    public static func takeExecutedImplementations() -> [String] {
        DNNL.shared.takeExecuted()
    }

    /// Scratchpad bytes `pass` allocates per call as workspace.
    public static func scratchpadBytes(_ pass: ConvolutionPass, geometry: ConvolutionGeometry) -> Int {
        if pass == .backwardWeights, let isa = WeightGradient.dispatched {
            return WeightGradient.workspaceBytes(geometry, isa: isa)
        }
        return DNNL.shared.scratchpadBytes(geometry, pass)
    }

    private static func check(_ t: Tensor, _ shape: [Int], _ what: String, _ g: ConvolutionGeometry) {
        precondition(t.shape == shape, "Convolution3D: \(what) has shape \(t.shape), expected \(shape) for \(g)")
    }
}
