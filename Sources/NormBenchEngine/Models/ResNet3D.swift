import Foundation

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
    /// Where the backbone's stages downsample.
    public enum Downsampling: Sendable {
        /// Stride 2 in time and space at the start of every stage but the first
        /// (the classifier): stage `i` has stride (1, 2, 2) · 2^i.
        case spaceTime
        /// Stride (1, 2, 2) at the start of the second stage only: every frame
        /// kept, stride 4 in space from the second stage on (dense prediction).
        case secondStageSpace

        func stride(stage: Int, block: Int) -> [Int] {
            guard block == 0 && stage > 0 else { return [1, 1, 1] }
            switch self {
            case .spaceTime: return [2, 2, 2]
            case .secondStageSpace: return stage == 1 ? [1, 2, 2] : [1, 1, 1]
            }
        }
    }

    /// Whether the builders fuse each norm → ReLU pair into the normalization
    /// layer (`ReLUFusing`: GroupNorm and its LN/IN forms, BatchNorm and its
    /// SyncBN/BRN forms). `NORMBENCH_FUSE_RELU=0` builds separate ReLU layers
    /// instead: the same bits, one more pass over each such activation.
    public static let fusesReLUByDefault = ProcessInfo.processInfo.environment["NORMBENCH_FUSE_RELU"] != "0"

    /// The stem (conv k3, stride (1, 2, 2) → norm → ReLU) and the residual stages.
    public static func backbone(
        _ config: ResNet3DConfig, normalization factory: any NormalizationFactory,
        generator g: inout SeededGenerator, downsampling: Downsampling = .spaceTime, fuseReLU: Bool = fusesReLUByDefault
    ) throws -> Sequential {
        precondition(!config.widths.isEmpty && config.widths.count == config.depths.count,
                     "ResNet3D: widths \(config.widths) and depths \(config.depths) need the same non-zero length")
        var layers = withReLU(try convNorm(
            "stem", config.inputChannels, config.widths[0], kernel: 3, stride: [1, 2, 2], role: .standard,
            factory, &g, propagatesGradient: false), fuse: fuseReLU)
        var channels = config.widths[0]
        for (stage, width) in config.widths.enumerated() {
            for block in 0..<config.depths[stage] {
                layers.append(try basicBlock("stage\(stage + 1).block\(block + 1)", channels, width,
                                             stride: downsampling.stride(stage: stage, block: block),
                                             zeroInit: config.zeroInitLastNorm, factory, &g, fuseReLU: fuseReLU))
                channels = width
            }
        }
        return Sequential(layers)
    }

    /// The classifier: backbone → global average pool → linear to `classes` logits.
    public static func classifier(
        _ config: ResNet3DConfig, normalization factory: any NormalizationFactory, downsampling: Downsampling = .spaceTime,
        fuseReLU: Bool = fusesReLUByDefault
    ) throws -> Sequential {
        var g = SeededGenerator(seed: config.seed)
        let net = try backbone(config, normalization: factory, generator: &g, downsampling: downsampling, fuseReLU: fuseReLU)
        net.append(GlobalAveragePoolLayer())
        net.append(LinearLayer(name: "fc", inFeatures: config.widths.last!, outFeatures: config.classes, generator: &g))
        return net
    }

    /// The dense predictor of detection workloads: the backbone with every frame
    /// kept and stride `denseStride` in space (`Downsampling.secondStageSpace`;
    /// at least two stages), then a CenterNet-style head per frame without
    /// normalization (Zhou et al., 2019): conv k(1,3,3) + bias + ReLU, conv
    /// 1×1×1 to `outputs` channels. The first `heatmaps` output channels
    /// (heatmap logits) start with bias −log((1 − π)/π), π = 0.1, so the focal
    /// loss does not start swamped by negatives; the last convolution's weights
    /// start at `headInitScale` of the usual scale, so every output starts at its
    /// bias whatever the seed (as CenterNet starts its box heads at std 0.001).
    /// At the usual scale the logits' spread depended on the seed, and video-det's
    /// first loss ranged 26-320 over seeds 0-5 (3.8-3.9 with the small start).
    ///
    /// Shapes: input `[n, t, s, s, 3]` → output `[n, t, s/4, s/4, outputs]`.
    public static func dense(
        _ config: ResNet3DConfig, outputs: Int, heatmaps: Int, normalization factory: any NormalizationFactory,
        fuseReLU: Bool = fusesReLUByDefault
    ) throws -> Sequential {
        precondition(config.widths.count >= 2, "ResNet3D.dense: needs at least two stages, got widths \(config.widths)")
        var g = SeededGenerator(seed: config.seed)
        let net = try backbone(config, normalization: factory, generator: &g, downsampling: .secondStageSpace, fuseReLU: fuseReLU)
        let w = config.widths.last!
        net.append(Convolution3DLayer(
            name: "head.conv", inChannels: w, outChannels: w, kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1],
            bias: true, generator: &g))
        net.append(ReLULayer())
        let out = Convolution3DLayer(
            name: "head.out", inChannels: w, outChannels: outputs, kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0],
            bias: true, generator: &g)
        for i in 0..<out.weight.value.count { out.weight.value.data[i] *= headInitScale }
        for c in 0..<heatmaps { out.bias!.value.data[c] = -2.19 }
        net.append(out)
        return net
    }

    /// The dense head's last weights at the start, relative to He's scale.
    public static let headInitScale: Float = 0.01

    /// Output stride in space of `dense` (time keeps every frame).
    public static let denseStride = 4

    /// One basic residual block: the one implementation every model uses.
    public static func basicBlock(
        _ name: String, _ cIn: Int, _ cOut: Int, stride: [Int], zeroInit: Bool,
        _ factory: any NormalizationFactory, _ g: inout SeededGenerator, fuseReLU: Bool = fusesReLUByDefault
    ) throws -> ResidualBlock {
        var branch = withReLU(try convNorm("\(name).conv1", cIn, cOut, kernel: 3, stride: stride, role: .standard, factory, &g),
                              fuse: fuseReLU)
        branch += try convNorm("\(name).conv2", cOut, cOut, kernel: 3, stride: [1, 1, 1],
                               role: zeroInit ? .residualLast : .standard, factory, &g)
        var shortcut: Sequential?
        if stride != [1, 1, 1] || cIn != cOut {
            shortcut = Sequential(try convNorm("\(name).shortcut", cIn, cOut, kernel: 1, stride: stride,
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

    /// `layers` (a convolution and its normalization) followed by ReLU: fused
    /// into the normalization when `fuse` is set and the layer can take it.
    static func withReLU(_ layers: [any Layer], fuse: Bool) -> [any Layer] {
        if fuse, let norm = layers.last as? any ReLUFusing {
            norm.fusedReLU = true
            return layers
        }
        return layers + [ReLULayer()]
    }
}
