import Foundation

/// SGD with momentum and weight decay (PyTorch's formulation).
///
/// Per parameter: `g = grad + λ·w` (λ = 0 for normalization parameters unless
/// `decayNormalization`), `v = μ·v + g`, `w −= lr·v`. Momentum buffers are
/// allocated on the first step (ledger: optimizer state). Element-wise in fixed
/// blocks: identical for any thread count.
public final class SGD {
    public let parameters: [Parameter]
    public var momentum: Float
    public var weightDecay: Float
    /// Apply weight decay to normalization scales and shifts too (the GN paper discusses both).
    public var decayNormalization: Bool
    private var velocity: [Tensor] = []

    public init(parameters: [Parameter], momentum: Float = 0.9, weightDecay: Float = 1e-4, decayNormalization: Bool = false) {
        self.parameters = parameters
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.decayNormalization = decayNormalization
    }

    /// Sets every gradient to zero (before accumulating a step's micro-batches).
    public func zeroGradients() {
        for p in parameters { p.grad.fill(0) }
    }

    /// Applies one update with learning rate `lr`.
    public func step(learningRate lr: Float) {
        if velocity.isEmpty {
            velocity = parameters.map { Tensor(shape: $0.value.shape, category: .optimizerState, zeroed: true) }
        }
        if let scale = FaultInjection.gradientScale {
            for p in parameters { Elementwise.scale(p.grad, by: scale) }
        }
        for (p, v) in zip(parameters, velocity) {
            let isNorm = p.role == .normScale || p.role == .normShift
            let wd = isNorm && !decayNormalization ? 0 : weightDecay
            let mu = momentum
            let wp = UncheckedSendable(p.value.data), gp = UncheckedSendable(p.grad.data), vp = UncheckedSendable(v.data)
            Elementwise.blocks(p.value.count) { r in
                let w = wp.value, g = gp.value, v = vp.value
                for i in r {
                    let d = g[i] + wd * w[i]
                    let vi = mu * v[i] + d
                    v[i] = vi
                    w[i] -= lr * vi
                }
            }
        }
    }

    /// Releases the momentum buffers.
    public func resetState() { velocity = [] }
}

/// A learning-rate schedule: optional linear warmup, then a decay rule.
public struct LearningRateSchedule: Codable, Hashable, Sendable {
    public enum Decay: Codable, Hashable, Sendable {
        /// The base rate throughout.
        case constant
        /// Multiply by `gamma` at each milestone step.
        case step(milestones: [Int], gamma: Float)
        /// Cosine from the base rate to `final` over `totalSteps`.
        case cosine(totalSteps: Int, final: Float)
    }

    /// Rate after warmup, before decay (callers scale it with W × batch).
    public var base: Float
    public var decay: Decay
    /// Steps of linear warmup from `base · warmupStartFactor` to `base`.
    public var warmupSteps: Int
    public var warmupStartFactor: Float

    public init(base: Float, decay: Decay = .constant, warmupSteps: Int = 0, warmupStartFactor: Float = 0.1) {
        self.base = base
        self.decay = decay
        self.warmupSteps = warmupSteps
        self.warmupStartFactor = warmupStartFactor
    }

    /// The rate for step `step` (0-based).
    public func rate(at step: Int) -> Float {
        var lr = base
        switch decay {
        case .constant: break
        case let .step(milestones, gamma):
            for m in milestones where step >= m { lr *= gamma }
        case let .cosine(total, final):
            let t = Double(min(max(step, 0), max(total, 1))) / Double(max(total, 1))
            lr = final + (base - final) * Float(0.5 * (1 + cos(Double.pi * t)))
        }
        if step < warmupSteps {
            let f = warmupStartFactor + (1 - warmupStartFactor) * Float(step) / Float(warmupSteps)
            lr *= f
        }
        return lr
    }
}
