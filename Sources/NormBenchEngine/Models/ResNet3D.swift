/// The reference model's hyper-parameters: `ResNet3D-tiny` by default.
///
/// Input clips `[n, frames, height, width, 3]`; stem conv k3, stride (1, 2, 2),
/// padding 1 → norm → ReLU; one stage per width, each `depths[i]` basic blocks
/// (conv k3 → norm → ReLU → conv k3 → norm, plus identity or a 1×1×1 strided
/// projection with norm, then ReLU), stride 2 in d, h, w at the start of every
/// stage but the first; global average pool; linear to `classes`.
public struct ResNet3DConfig: Codable, Hashable, Sendable {
    public var inputChannels = 3
    public var frames = 8
    public var height = 64
    public var width = 64
    public var widths = [32, 64, 128]
    public var depths = [1, 1, 1]
    public var classes = 10
    /// Initialize the last normalization scale of each residual branch to zero (GN paper).
    public var zeroInitLastNorm = true
    /// Seed of the He initialization.
    public var seed: UInt64 = 0

    public init() {}

    public init(frames: Int, height: Int, width: Int, widths: [Int], depths: [Int], classes: Int,
                zeroInitLastNorm: Bool = true, seed: UInt64 = 0) {
        self.frames = frames
        self.height = height
        self.width = width
        self.widths = widths
        self.depths = depths
        self.classes = classes
        self.zeroInitLastNorm = zeroInitLastNorm
        self.seed = seed
    }

    /// The input shape for a batch of `n` clips.
    public func inputShape(batch n: Int) -> [Int] { [n, frames, height, width, inputChannels] }
}

/// Builders for the reference model and its backbone.
public enum ResNet3D {
    /// The stem and residual stages (for dense heads: the output of stage `i`
    /// has stride (1, 2, 2) · 2^i relative to the input).
    public static func backbone(
        _ config: ResNet3DConfig, normalization factory: any NormalizationFactory,
        generator g: inout SeededGenerator
    ) throws -> Sequential {
        precondition(!config.widths.isEmpty && config.widths.count == config.depths.count,
                     "ResNet3D: widths \(config.widths) and depths \(config.depths) need the same non-zero length")
        var layers: [any Layer] = try convNorm(
            "stem", config.inputChannels, config.widths[0], kernel: 3, stride: [1, 2, 2], role: .standard,
            factory, &g, propagatesGradient: false)
        layers.append(ReLULayer())
        var channels = config.widths[0]
        for (stage, width) in config.widths.enumerated() {
            for block in 0..<config.depths[stage] {
                let stride = stage > 0 && block == 0 ? 2 : 1
                layers.append(try basicBlock("stage\(stage + 1).block\(block + 1)", channels, width, stride: stride,
                                             zeroInit: config.zeroInitLastNorm, factory, &g))
                channels = width
            }
        }
        return Sequential(layers)
    }

    /// The classifier: backbone → global average pool → linear to `classes` logits.
    public static func classifier(_ config: ResNet3DConfig, normalization factory: any NormalizationFactory) throws -> Sequential {
        var g = SeededGenerator(seed: config.seed)
        let net = try backbone(config, normalization: factory, generator: &g)
        net.append(GlobalAveragePoolLayer())
        net.append(LinearLayer(name: "fc", inFeatures: config.widths.last!, outFeatures: config.classes, generator: &g))
        return net
    }

    /// One basic residual block.
    public static func basicBlock(
        _ name: String, _ cIn: Int, _ cOut: Int, stride: Int, zeroInit: Bool,
        _ factory: any NormalizationFactory, _ g: inout SeededGenerator
    ) throws -> ResidualBlock {
        var branch = try convNorm("\(name).conv1", cIn, cOut, kernel: 3, stride: [stride, stride, stride], role: .standard, factory, &g)
        branch.append(ReLULayer())
        branch += try convNorm("\(name).conv2", cOut, cOut, kernel: 3, stride: [1, 1, 1],
                               role: zeroInit ? .residualLast : .standard, factory, &g)
        var shortcut: Sequential?
        if stride != 1 || cIn != cOut {
            shortcut = Sequential(try convNorm("\(name).shortcut", cIn, cOut, kernel: 1, stride: [stride, stride, stride],
                                               role: .standard, factory, &g))
        }
        return ResidualBlock(branch: Sequential(branch), shortcut: shortcut)
    }

    /// A convolution followed by the factory's normalization (or by nothing, with a bias).
    static func convNorm(
        _ name: String, _ cIn: Int, _ cOut: Int, kernel: Int, stride: [Int], role: NormalizationRole,
        _ factory: any NormalizationFactory, _ g: inout SeededGenerator, propagatesGradient: Bool = true
    ) throws -> [any Layer] {
        let norm = try factory.make(channels: cOut, role: role)
        let conv = Convolution3DLayer(
            name: name, inChannels: cIn, outChannels: cOut, kernel: [kernel, kernel, kernel], stride: stride,
            padding: [kernel / 2, kernel / 2, kernel / 2], bias: norm == nil,
            transform: factory.makeWeightTransform(), propagatesGradient: propagatesGradient, generator: &g)
        return norm.map { [conv, $0] } ?? [conv]
    }
}
