/// Layers made of layers. Containers time their leaf layers in
/// `StepProfiler.shared` under the leaf's kind (convolutions time themselves
/// per pass), so a step's time splits into convolution / normalization / other.
public protocol CompositeLayer: Layer {}

extension Layer {
    /// Forward with the leaf's time recorded (containers and convolutions record their own).
    func timedForward(_ x: Tensor, mode: Mode) -> Tensor {
        if self is any CompositeLayer || kind == .convolution { return forward(x, mode: mode) }
        return StepProfiler.shared.measure(.forLeaf(kind)) { forward(x, mode: mode) }
    }

    /// Backward with the leaf's time recorded.
    func timedBackward(_ gradY: Tensor) -> Tensor {
        if self is any CompositeLayer || kind == .convolution { return backward(gradY) }
        return StepProfiler.shared.measure(.forLeaf(kind)) { backward(gradY) }
    }
}

/// Layers applied one after another.
public final class Sequential: CompositeLayer {
    public let kind = LayerKind.other
    public private(set) var layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }

    /// Appends a layer (building a model).
    public func append(_ layer: any Layer) { layers.append(layer) }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        var h = x
        for layer in layers { h = layer.timedForward(h, mode: mode) }
        return h
    }

    public func backward(_ gradY: Tensor) -> Tensor {
        var g = gradY
        for layer in layers.reversed() { g = layer.timedBackward(g) }
        return g
    }
}

/// `relu(branch(x) + shortcut(x))`, with the identity when `shortcut` is nil.
///
/// Saves the block output (for the final ReLU's backward). Backward sends the
/// same gradient into both paths and sums what comes back.
public final class ResidualBlock: CompositeLayer {
    public let kind = LayerKind.other
    public let branch: Sequential
    public let shortcut: Sequential?
    private var savedOutput: Tensor?

    public init(branch: Sequential, shortcut: Sequential?) {
        self.branch = branch
        self.shortcut = shortcut
    }

    public var parameters: [Parameter] { branch.parameters + (shortcut?.parameters ?? []) }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let b = branch.forward(x, mode: mode)
        let s = shortcut?.forward(x, mode: mode) ?? x
        precondition(b.shape == s.shape, "ResidualBlock: branch output \(b.shape) and shortcut \(s.shape) differ")
        return StepProfiler.shared.measure(.other) {
            let y = Tensor(shape: b.shape, category: .activations)
            Elementwise.addReLU(b, s, into: y)
            if mode == .training { savedOutput = y }
            return y
        }
    }

    public func backward(_ gradY: Tensor) -> Tensor {
        guard let y = savedOutput else { preconditionFailure("ResidualBlock: backward without a training-mode forward") }
        let g = StepProfiler.shared.measure(.other) {
            let g = Tensor(shape: y.shape, category: .workspace)
            Elementwise.reluBackward(gradY, output: y, into: g)
            return g
        }
        savedOutput = nil
        let gb = branch.backward(g)
        let gs = shortcut?.backward(g) ?? g
        return StepProfiler.shared.measure(.other) {
            // The branch's gradient is normally a fresh tensor it handed over; sum into it.
            if gb === g || gb === gs {
                let sum = Tensor(shape: g.shape, category: .workspace)
                Elementwise.add(gb, gs, into: sum)
                return sum
            }
            Elementwise.accumulate(gs, into: gb)
            return gb
        }
    }
}
