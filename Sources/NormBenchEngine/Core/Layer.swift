/// Training or evaluation: decides which statistics normalization layers use
/// and whether forward saves anything for backward.
public enum Mode: Sendable {
    case training
    case evaluation
}

/// What a layer is, for the per-kind timers that split a step's time.
public enum LayerKind: String, CaseIterable, Codable, Sendable {
    case convolution, normalization, other
}

/// How the optimizer treats a parameter (weight decay on normalization
/// parameters is switchable, as the GN paper discusses).
public enum ParameterRole: String, Codable, Sendable {
    case weight, bias, normScale, normShift
}

/// A learned tensor with its gradient.
public final class Parameter {
    public let name: String
    public let role: ParameterRole
    /// The values (ledger: parameters).
    public let value: Tensor
    /// dLoss/dvalue, accumulated by `backward` (ledger: gradients). Zeroing is the caller's step.
    public let grad: Tensor

    public init(name: String, role: ParameterRole, shape: [Int]) {
        self.name = name
        self.role = role
        self.value = Tensor(shape: shape, category: .parameters, zeroed: true)
        self.grad = Tensor(shape: shape, category: .gradients, zeroed: true)
    }
}

/// A forward/backward pair with explicit state.
///
/// `forward` in `.training` mode saves what `backward` needs (counted in the
/// ledger as activations); `backward` consumes it, accumulates into the
/// parameters' `grad`, returns the gradient for the input, and frees what was
/// saved. In `.evaluation` mode nothing is saved.
public protocol Layer: AnyObject {
    var kind: LayerKind { get }
    /// Parameters in a fixed order (the optimizer and checkpoints rely on it).
    var parameters: [Parameter] { get }
    func forward(_ x: Tensor, mode: Mode) -> Tensor
    func backward(_ gradOutput: Tensor) -> Tensor
}

/// A normalization layer that can apply the ReLU that follows it in its own
/// passes: forward writes max(0, v) for its value v in the normalize pass,
/// backward zeroes the incoming gradient where v was ≤ 0 (recomputing v from x
/// in the passes that read x anyway). The bits are those of the layer followed
/// by a `ReLULayer`; the step saves ReLU's pass over the activation in both
/// directions and the tensors it allocates.
public protocol ReLUFusing: Layer {
    /// Apply the following ReLU here. Set it before the first forward.
    var fusedReLU: Bool { get set }
}

/// Where a normalization layer sits, for options that depend on it.
public enum NormalizationRole: Sendable {
    /// Any normalization except the one below.
    case standard
    /// The last normalization of a residual branch (before the addition): the
    /// GN paper initializes its scale γ to zero so each block starts as identity.
    case residualLast
}

/// The normalization slot of the engine's models.
///
/// A model asks the factory for a layer after each convolution that has one.
/// `nil` means no normalization there; the convolution then has a bias.
public protocol NormalizationFactory {
    /// A normalization layer for activations with `channels` channels, or nil for none.
    func make(channels: Int, role: NormalizationRole) throws -> (any Layer)?
    /// A transform every convolution applies to its filters before use
    /// (Weight Standardization), or nil for none. Called once per convolution.
    func makeWeightTransform() -> (any WeightTransform)?
}

/// A differentiable map from a convolution's learned filters to the filters it
/// uses, e.g. Weight Standardization. Filters are `[cOut, kd, kh, kw, cIn]`.
public protocol WeightTransform: AnyObject {
    /// The filters to convolve with, computed from the learned `weight`.
    func forward(_ weight: Tensor) -> Tensor
    /// Given dLoss/d(transformed filters), returns dLoss/d(learned filters).
    func backward(_ gradTransformed: Tensor) -> Tensor
}

/// No normalization anywhere: the baseline, and the slot's default.
public struct NoNormalization: NormalizationFactory {
    public init() {}
    public func make(channels: Int, role: NormalizationRole) throws -> (any Layer)? { nil }
    public func makeWeightTransform() -> (any WeightTransform)? { nil }
}
