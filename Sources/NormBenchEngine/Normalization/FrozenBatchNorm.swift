/// FrozenBatchNorm (BN*): a fixed per-channel affine y = (x − mean)·γ/√(var + ε) + β
/// from stored statistics, identical in training and evaluation. Nothing in it
/// is learned (`parameters` is empty); backward is dx = dy·γ/√(var + ε).
///
/// Shapes: x, y `[n, d, h, w, c]` or `[n, c]`; stored γ, β, mean, variance `[c]`.
/// Memory: nothing saved for backward beyond the fixed `[c]` scale.
public final class FrozenBatchNorm: Layer {
    public let channels: Int
    public let epsilon: Float
    /// Stored statistics and affine `[c]` (ledger: parameters; set them before use).
    public let gamma: Tensor
    public let beta: Tensor
    public let mean: Tensor
    public let variance: Tensor

    public var kind: LayerKind { .normalization }
    public var parameters: [Parameter] { [] }

    private let workspace = NormWorkspace()
    private var savedShape: [Int]?

    /// The identity-like affine (γ = 1, β = 0, mean 0, variance 1) until statistics are loaded.
    public init(channels: Int, epsilon: Float = 1e-5) {
        precondition(channels >= 1, "FrozenBatchNorm: channels must be >= 1, got \(channels)")
        self.channels = channels
        self.epsilon = epsilon
        gamma = Tensor(shape: [channels], category: .parameters)
        beta = Tensor(shape: [channels], category: .parameters, zeroed: true)
        mean = Tensor(shape: [channels], category: .parameters, zeroed: true)
        variance = Tensor(shape: [channels], category: .parameters)
        gamma.fill(1)
        variance.fill(1)
    }

    /// Freezes a BatchNorm: copies its γ, β and running statistics.
    public convenience init(freezing bn: BatchNorm) {
        self.init(channels: bn.channels, epsilon: bn.epsilon)
        if let g = bn.gamma, let b = bn.beta {
            gamma.copy(from: g.value)
            beta.copy(from: b.value)
        }
        mean.copy(from: bn.runningMean)
        variance.copy(from: bn.runningVariance)
    }

    private func coefficients(_ plan: NormPlan, forBackward: Bool) -> UnsafeMutablePointer<Float> {
        let c = channels
        let coef = workspace.floatBuffer(plan.n * Coef.rows * c)
        for j in 0..<c {
            let (hi, lo, scale, shift) = inferenceCoefficients(
                mean: mean.data[j], variance: variance.data[j], gamma: gamma.data[j], beta: beta.data[j], epsilon: epsilon)
            for s in 0..<plan.n {
                let row = coef + s * Coef.rows * c
                row[Coef.meanHi * c + j] = forBackward ? 0 : hi
                row[Coef.meanLo * c + j] = forBackward ? 0 : lo
                row[Coef.scale * c + j] = scale
                row[Coef.shift * c + j] = forBackward ? 0 : shift
            }
        }
        return coef
    }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        precondition(x.shape.count >= 2 && x.shape.last == channels,
                     "FrozenBatchNorm: expected [n, d, h, w, \(channels)] (channels last), got \(x.shape)")
        let plan = NormPlan(shape: x.shape)
        let y = Tensor(shape: x.shape, category: .activations)
        NormKernels.apply(x.data, y.data, plan, coef: coefficients(plan, forBackward: false))
        savedShape = mode == .training ? x.shape : nil
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let shape = savedShape else { preconditionFailure("FrozenBatchNorm.backward without a training-mode forward") }
        precondition(gradOutput.shape == shape, "FrozenBatchNorm.backward: gradient \(gradOutput.shape) for input \(shape)")
        savedShape = nil
        let plan = NormPlan(shape: shape)
        let dx = Tensor(shape: shape, category: .activations)
        // dx = ((dy − 0) − 0)·scale + 0: the forward kernel with the mean and shift zeroed.
        NormKernels.apply(gradOutput.data, dx.data, plan, coef: coefficients(plan, forBackward: true))
        return dx
    }
}
