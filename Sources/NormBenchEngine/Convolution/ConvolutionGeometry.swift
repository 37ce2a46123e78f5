/// The shape of one 3-D convolution: what oneDNN primitives are cached by.
///
/// Shapes (channels-last):
/// - input  `[n, inD, inH, inW, cIn]`
/// - weight `[cOut, kD, kH, kW, cIn]` (oneDNN's plain `odhwi` layout: no reorders)
/// - bias   `[cOut]` (optional)
/// - output `[n, outD, outH, outW, cOut]`, `out = (in + 2·pad − k) / stride + 1`
///
/// Padding is symmetric on the left; the right padding oneDNN is given is
/// `(out − 1)·stride + k − in − padLeft`, which can be smaller than the left one
/// for strided layers (PLATFORM-NOTES).
public struct ConvolutionGeometry: Hashable, Sendable, CustomStringConvertible {
    public var batch: Int
    public var inChannels: Int
    public var outChannels: Int
    /// Input spatial size (d, h, w).
    public var input: [Int]
    /// Kernel size (kd, kh, kw).
    public var kernel: [Int]
    /// Stride (d, h, w).
    public var stride: [Int]
    /// Left padding (d, h, w); the right padding follows from the output size.
    public var padding: [Int]
    /// Whether the convolution adds a bias.
    public var hasBias: Bool

    public init(
        batch: Int, inChannels: Int, outChannels: Int, input: [Int],
        kernel: [Int], stride: [Int], padding: [Int], hasBias: Bool
    ) {
        precondition(input.count == 3 && kernel.count == 3 && stride.count == 3 && padding.count == 3,
                     "ConvolutionGeometry: input/kernel/stride/padding need 3 entries (d, h, w)")
        precondition(batch >= 1 && inChannels >= 1 && outChannels >= 1,
                     "ConvolutionGeometry: batch \(batch), channels \(inChannels)->\(outChannels) must be >= 1")
        precondition(stride.allSatisfy { $0 >= 1 } && kernel.allSatisfy { $0 >= 1 } && padding.allSatisfy { $0 >= 0 },
                     "ConvolutionGeometry: kernel \(kernel), stride \(stride) must be >= 1, padding \(padding) >= 0")
        self.batch = batch
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.input = input
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.hasBias = hasBias
        precondition(output.allSatisfy { $0 >= 1 },
                     "ConvolutionGeometry: input \(input) with kernel \(kernel), padding \(padding) gives no output")
    }

    /// Output spatial size (d, h, w).
    public var output: [Int] {
        (0..<3).map { (input[$0] + 2 * padding[$0] - kernel[$0]) / stride[$0] + 1 }
    }

    /// Right padding per dimension, as oneDNN wants it.
    public var paddingRight: [Int] {
        let o = output
        return (0..<3).map { (o[$0] - 1) * stride[$0] + kernel[$0] - input[$0] - padding[$0] }
    }

    public var inputShape: [Int] { [batch] + input + [inChannels] }
    public var outputShape: [Int] { [batch] + output + [outChannels] }
    public var weightShape: [Int] { [outChannels] + kernel + [inChannels] }

    /// Multiply-adds × 2 of one pass (forward, backward-data and backward-weights each cost this).
    public var flops: Double {
        let o = output
        return 2 * Double(batch * o[0] * o[1] * o[2]) * Double(outChannels * inChannels * kernel[0] * kernel[1] * kernel[2])
    }

    /// Multiply-adds × 2 whose input element lies inside the input: `flops` without
    /// the taps that fall on padding, which kernels skip. A pass's speed as a share
    /// of the machine's arithmetic peak is counted in these (a 3×3×3 kernel over 2
    /// frames reaches only 2 of its 3 temporal taps per output).
    public var usefulFlops: Double {
        let o = output
        var taps = 1.0
        for d in 0..<3 {
            var inside = 0
            for p in 0..<o[d] {
                for k in 0..<kernel[d] where (0..<input[d]).contains(p * stride[d] - padding[d] + k) { inside += 1 }
            }
            taps *= Double(inside)
        }
        return 2 * Double(batch) * taps * Double(outChannels * inChannels)
    }

    /// For a strided 1×1×1 convolution without padding: the stride-1 convolution
    /// over the gathered input pixels, which has the same weight gradient. Nil otherwise.
    public var gatheredPointwise: ConvolutionGeometry? {
        guard kernel == [1, 1, 1], padding == [0, 0, 0], stride != [1, 1, 1] else { return nil }
        var g = self
        g.input = output
        g.stride = [1, 1, 1]
        return g
    }

    /// Elements of one sample's input and output.
    public var inputPerSample: Int { inputShape.dropFirst().reduce(1, *) }
    public var outputPerSample: Int { outputShape.dropFirst().reduce(1, *) }

    /// The same convolution at another batch size.
    public func with(batch: Int) -> ConvolutionGeometry {
        var g = self
        g.batch = batch
        return g
    }

    public var description: String {
        "conv3d n\(batch) \(input.map(String.init).joined(separator: "x"))x\(inChannels) -> \(outChannels) "
            + "k\(kernel.map(String.init).joined(separator: "x")) s\(stride.map(String.init).joined(separator: "x")) "
            + "p\(padding.map(String.init).joined(separator: "x"))\(hasBias ? " +bias" : "")"
    }
}
