import NormBenchEngine

/// The detection-style dense predictor: a 3D-conv backbone that keeps every
/// frame (no temporal stride) and reaches stride 4 in space, then a
/// CenterNet-style head (Zhou et al., 2019) per frame.
///
/// Backbone: stem conv 3→w0, k3, stride (1,2,2) + norm + ReLU; stage 1: basic
/// block w0; stage 2: basic block w0→w1 with stride (1,2,2) (1×1×1 projection
/// shortcut). Head: conv k(1,3,3) w1→w1 + bias + ReLU, conv 1×1×1 →
/// classes + 4 channels: per-class centre heatmap logits, box width and height,
/// sub-cell centre offset (x, y). The head has no normalization, as in CenterNet.
///
/// Shapes: input `[n, t, s, s, 3]` → output `[n, t, s/4, s/4, classes + 4]`.
public enum DetectionModel {
    public static let stride = 4

    /// Builds the model; the heatmap bias starts at −log((1 − π)/π), π = 0.1, so
    /// the focal loss does not start swamped by negatives.
    public static func make(
        widths: [Int], classes: Int, normalization factory: any NormalizationFactory, zeroInitLastGamma: Bool, seed: UInt64
    ) throws -> Sequential {
        precondition(widths.count >= 2, "DetectionModel: needs two widths (stage 1 and 2), got \(widths)")
        var g = SeededGenerator(seed: seed)
        let (w0, w1) = (widths[0], widths[1])
        var layers: [any Layer] = try convNorm("stem", 3, w0, kernel: [3, 3, 3], stride: [1, 2, 2], role: .standard, factory, &g, propagates: false)
        layers.append(ReLULayer())
        layers.append(try block("stage1", w0, w0, stride: [1, 1, 1], zeroInitLastGamma, factory, &g))
        layers.append(try block("stage2", w0, w1, stride: [1, 2, 2], zeroInitLastGamma, factory, &g))
        layers.append(Convolution3DLayer(
            name: "head.conv", inChannels: w1, outChannels: w1, kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1],
            bias: true, generator: &g))
        layers.append(ReLULayer())
        let out = Convolution3DLayer(
            name: "head.out", inChannels: w1, outChannels: classes + 4, kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0],
            bias: true, generator: &g)
        for c in 0..<classes { out.bias!.value.data[c] = -2.19 }
        layers.append(out)
        return Sequential(layers)
    }

    private static func block(
        _ name: String, _ cIn: Int, _ cOut: Int, stride: [Int], _ zeroInit: Bool,
        _ factory: any NormalizationFactory, _ g: inout SeededGenerator
    ) throws -> ResidualBlock {
        var branch = try convNorm("\(name).conv1", cIn, cOut, kernel: [3, 3, 3], stride: stride, role: .standard, factory, &g)
        branch.append(ReLULayer())
        branch += try convNorm("\(name).conv2", cOut, cOut, kernel: [3, 3, 3], stride: [1, 1, 1],
                               role: zeroInit ? .residualLast : .standard, factory, &g)
        let shortcut = stride != [1, 1, 1] || cIn != cOut
            ? Sequential(try convNorm("\(name).shortcut", cIn, cOut, kernel: [1, 1, 1], stride: stride, role: .standard, factory, &g))
            : nil
        return ResidualBlock(branch: Sequential(branch), shortcut: shortcut)
    }

    private static func convNorm(
        _ name: String, _ cIn: Int, _ cOut: Int, kernel: [Int], stride: [Int], role: NormalizationRole,
        _ factory: any NormalizationFactory, _ g: inout SeededGenerator, propagates: Bool = true
    ) throws -> [any Layer] {
        let norm = try factory.make(channels: cOut, role: role)
        let conv = Convolution3DLayer(
            name: name, inChannels: cIn, outChannels: cOut, kernel: kernel, stride: stride, padding: kernel.map { $0 / 2 },
            bias: norm == nil, transform: factory.makeWeightTransform(), propagatesGradient: propagates, generator: &g)
        return norm.map { [conv, $0] } ?? [conv]
    }
}
