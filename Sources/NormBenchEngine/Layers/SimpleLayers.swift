/// ReLU. Saves its output (the mask is `y > 0`): one activation-sized tensor,
/// usually shared with the next layer's saved input.
public final class ReLULayer: Layer {
    public let kind = LayerKind.other
    public var parameters: [Parameter] { [] }
    private var savedOutput: Tensor?

    public init() {}

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let y = Tensor(shape: x.shape, category: .activations)
        Elementwise.reluForward(x, into: y)
        if mode == .training { savedOutput = y }
        return y
    }

    public func backward(_ gradY: Tensor) -> Tensor {
        guard let y = savedOutput else { preconditionFailure("ReLULayer: backward without a training-mode forward") }
        let gradX = Tensor(shape: y.shape, category: .workspace)
        Elementwise.reluBackward(gradY, output: y, into: gradX)
        savedOutput = nil
        return gradX
    }
}

/// Max or average pooling over (d, h, w). Max pooling saves its input (backward
/// recomputes the argmax); average pooling saves only the input shape.
public final class PoolLayer: Layer {
    public enum Kind: Sendable { case max, average }
    public let kind = LayerKind.other
    public let pooling: Kind
    public let geometry: PoolGeometry
    public var parameters: [Parameter] { [] }
    private var savedInput: Tensor?
    private var savedShape: [Int]?

    public init(_ pooling: Kind, geometry: PoolGeometry) {
        self.pooling = pooling
        self.geometry = geometry
    }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let y = Tensor(shape: geometry.outputShape(x.shape), category: .activations)
        switch pooling {
        case .max: Pooling.maxForward(x, into: y, geometry: geometry)
        case .average: Pooling.averageForward(x, into: y, geometry: geometry)
        }
        if mode == .training {
            savedShape = x.shape
            if pooling == .max { savedInput = x }
        }
        return y
    }

    public func backward(_ gradY: Tensor) -> Tensor {
        guard let shape = savedShape else { preconditionFailure("PoolLayer: backward without a training-mode forward") }
        let gradX = Tensor(shape: shape, category: .workspace)
        switch pooling {
        case .max: Pooling.maxBackward(gradY, input: savedInput!, into: gradX, geometry: geometry)
        case .average: Pooling.averageBackward(gradY, into: gradX, geometry: geometry)
        }
        savedInput = nil
        savedShape = nil
        return gradX
    }
}

/// Mean over (d, h, w): `[n, d, h, w, c]` → `[n, c]`. Saves only the input shape.
public final class GlobalAveragePoolLayer: Layer {
    public let kind = LayerKind.other
    public var parameters: [Parameter] { [] }
    private var savedShape: [Int]?

    public init() {}

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let y = Tensor(shape: [x.shape[0], x.shape.last!], category: .activations)
        Pooling.globalAverageForward(x, into: y)
        if mode == .training { savedShape = x.shape }
        return y
    }

    public func backward(_ gradY: Tensor) -> Tensor {
        guard let shape = savedShape else { preconditionFailure("GlobalAveragePoolLayer: backward without a training-mode forward") }
        let gradX = Tensor(shape: shape, category: .workspace)
        Pooling.globalAverageBackward(gradY, into: gradX)
        savedShape = nil
        return gradX
    }
}

/// Fully connected: `[n, in]` → `[n, out]`, weight `[out, in]`, bias `[out]`.
/// Initialized N(0, std) with zero bias (the GN paper's classifier uses std 0.01).
/// Saves its input.
public final class LinearLayer: Layer {
    public let kind = LayerKind.other
    public let weight: Parameter
    public let bias: Parameter
    public var parameters: [Parameter] { [weight, bias] }
    private var savedInput: Tensor?

    public init(name: String, inFeatures: Int, outFeatures: Int, std: Float = 0.01, generator: inout SeededGenerator) {
        weight = Parameter(name: "\(name).weight", role: .weight, shape: [outFeatures, inFeatures])
        bias = Parameter(name: "\(name).bias", role: .bias, shape: [outFeatures])
        for i in 0..<weight.value.count { weight.value.data[i] = std * generator.nextNormal() }
    }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let y = Tensor(shape: [x.shape[0], weight.value.shape[0]], category: .activations)
        LinearKernel.forward(x, weight: weight.value, bias: bias.value, into: y)
        if mode == .training { savedInput = x }
        return y
    }

    public func backward(_ gradY: Tensor) -> Tensor {
        guard let x = savedInput else { preconditionFailure("LinearLayer: backward without a training-mode forward") }
        let gradX = Tensor(shape: x.shape, category: .workspace)
        LinearKernel.backward(gradY, input: x, weight: weight.value, gradX: gradX, gradWeight: weight.grad, gradBias: bias.grad)
        savedInput = nil
        return gradX
    }
}
