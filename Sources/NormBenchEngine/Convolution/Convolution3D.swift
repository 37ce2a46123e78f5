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
        DNNL.shared.execute(g, .forward, src: x.data, weights: weight.data, bias: bias?.data, dst: y.data)
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
        DNNL.shared.execute(g, .backwardData, src: gradX.data, weights: weight.data, bias: nil, dst: gradY.data)
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
        DNNL.shared.execute(g, .backwardWeights, src: x.data, weights: gradWeight.data, bias: gradBias?.data, dst: gradY.data)
        StepProfiler.shared.record(.convolutionBackwardWeights, since: start)
    }

    /// The oneDNN implementation that runs `pass` for `geometry` (e.g. "jit:avx2").
    public static func implementation(_ pass: ConvolutionPass, geometry: ConvolutionGeometry) -> String {
        DNNL.shared.implementation(geometry, pass)
    }

    /// Scratchpad bytes `pass` allocates per call as workspace.
    public static func scratchpadBytes(_ pass: ConvolutionPass, geometry: ConvolutionGeometry) -> Int {
        DNNL.shared.scratchpadBytes(geometry, pass)
    }

    private static func check(_ t: Tensor, _ shape: [Int], _ what: String, _ g: ConvolutionGeometry) {
        precondition(t.shape == shape, "Convolution3D: \(what) has shape \(t.shape), expected \(shape) for \(g)")
    }
}
