/// A 3-D convolution layer: filters `[cOut, kd, kh, kw, cIn]`, optional bias.
///
/// Forward saves its input (a reference: no new bytes when the producer's
/// output is kept anyway) and, with a weight transform, the transformed filters.
/// Backward computes dLoss/dinput (unless `propagatesGradient` is false, as
/// for the first layer, where it returns an empty tensor), accumulates into the
/// filters' and bias' `grad` (through the transform's backward when there is one).
public final class Convolution3DLayer: Layer {
    public let kind = LayerKind.convolution
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: [Int]
    public let stride: [Int]
    public let padding: [Int]
    public let weight: Parameter
    public let bias: Parameter?
    /// Weight Standardization and the like; nil uses the filters as learned.
    public let transform: (any WeightTransform)?
    /// Whether backward computes dLoss/dinput (false for a network's first layer).
    public var propagatesGradient: Bool

    private var savedInput: Tensor?
    private var savedFilters: Tensor?

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// - Parameters:
    ///   - kernel, stride, padding: (d, h, w) each.
    ///   - bias: add a learned bias (models pass true when no normalization follows).
    ///   - generator: He initialization (normal, std √(2 / (cOut·kd·kh·kw)), fan-out as in ResNet).
    public init(
        name: String, inChannels: Int, outChannels: Int, kernel: [Int], stride: [Int], padding: [Int],
        bias: Bool, transform: (any WeightTransform)? = nil, propagatesGradient: Bool = true,
        generator: inout SeededGenerator
    ) {
        precondition(kernel.count == 3 && stride.count == 3 && padding.count == 3,
                     "Convolution3DLayer \(name): kernel, stride and padding need 3 entries (d, h, w)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.transform = transform
        self.propagatesGradient = propagatesGradient
        weight = Parameter(name: "\(name).weight", role: .weight, shape: [outChannels] + kernel + [inChannels])
        let std = (2 / Float(outChannels * kernel.reduce(1, *))).squareRoot()
        for i in 0..<weight.value.count { weight.value.data[i] = std * generator.nextNormal() }
        self.bias = bias ? Parameter(name: "\(name).bias", role: .bias, shape: [outChannels]) : nil
    }

    /// The convolution geometry for an input of shape `[n, d, h, w, cIn]`.
    public func geometry(for inputShape: [Int]) -> ConvolutionGeometry {
        precondition(inputShape.count == 5 && inputShape[4] == inChannels,
                     "\(weight.name): input shape \(inputShape), expected [n, d, h, w, \(inChannels)]")
        return ConvolutionGeometry(batch: inputShape[0], inChannels: inChannels, outChannels: outChannels,
                                   input: Array(inputShape[1...3]), kernel: kernel, stride: stride,
                                   padding: padding, hasBias: bias != nil)
    }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let g = geometry(for: x.shape)
        let filters = transform.map { t in StepProfiler.shared.measure(.normalization) { t.forward(weight.value) } } ?? weight.value
        let y = Tensor(shape: g.outputShape, category: .activations)
        Convolution3D.forward(x, weight: filters, bias: bias?.value, into: y, geometry: g)
        if mode == .training {
            savedInput = x
            savedFilters = transform == nil ? nil : filters
        }
        return y
    }

    public func backward(_ gradY: Tensor) -> Tensor {
        guard let x = savedInput else {
            preconditionFailure("\(weight.name): backward without a training-mode forward")
        }
        let g = geometry(for: x.shape)
        let filters = savedFilters ?? weight.value
        var gradX = Tensor(shape: [0], category: .workspace)
        if propagatesGradient {
            gradX = Tensor(shape: g.inputShape, category: .workspace)
            Convolution3D.backwardData(gradY, weight: filters, into: gradX, geometry: g)
        }
        let gw = Tensor(shape: g.weightShape, category: .workspace)
        let gb = bias == nil ? nil : Tensor(shape: [outChannels], category: .workspace)
        Convolution3D.backwardWeights(x, gradY: gradY, gradWeight: gw, gradBias: gb, geometry: g)
        savedInput = nil
        savedFilters = nil
        // dLoss/d(learned filters): through the transform (timed as normalization) when there is one.
        let learned = transform.map { t in StepProfiler.shared.measure(.normalization) { t.backward(gw) } } ?? gw
        StepProfiler.shared.measure(.other) {
            Elementwise.accumulate(learned, into: weight.grad)
            if let gb, let bias { Elementwise.accumulate(gb, into: bias.grad) }
        }
        return gradX
    }
}
