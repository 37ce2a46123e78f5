import Foundation
import Testing
import NormBenchEngine

/// The engine's weight-gradient kernel (`WeightGradient`, C) against the Double
/// reference, and its numerics: one fused multiply-add chain per element in
/// output-position order, so the same bits for any ISA, thread count and call.
@Suite struct WeightGradientTests {
    /// Odd shapes: padding, strides, channel counts that are not multiples of 8 or 16,
    /// 1×1×1 and 3×3×3 kernels, the stem's 3 input channels, a non-cubic kernel,
    /// a kernel larger than the padded input allows on the right.
    static let geometries: [ConvolutionGeometry] = [
        .init(batch: 2, inChannels: 3, outChannels: 32, input: [4, 9, 10], kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1], hasBias: false),
        .init(batch: 1, inChannels: 3, outChannels: 5, input: [3, 5, 5], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false),
        .init(batch: 2, inChannels: 5, outChannels: 7, input: [3, 5, 4], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [0, 0, 0], hasBias: false),
        .init(batch: 2, inChannels: 8, outChannels: 16, input: [5, 6, 7], kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], hasBias: false),
        .init(batch: 1, inChannels: 17, outChannels: 19, input: [3, 6, 5], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false),
        .init(batch: 2, inChannels: 32, outChannels: 32, input: [4, 8, 8], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false),
        .init(batch: 1, inChannels: 33, outChannels: 20, input: [2, 5, 6], kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], hasBias: false),
        .init(batch: 2, inChannels: 64, outChannels: 48, input: [2, 4, 4], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false),
        .init(batch: 2, inChannels: 8, outChannels: 16, input: [4, 6, 6], kernel: [1, 1, 1], stride: [2, 2, 2], padding: [0, 0, 0], hasBias: false),
        .init(batch: 3, inChannels: 20, outChannels: 9, input: [3, 3, 5], kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0], hasBias: false),
        .init(batch: 1, inChannels: 4, outChannels: 6, input: [5, 5, 5], kernel: [1, 3, 2], stride: [1, 2, 1], padding: [0, 1, 0], hasBias: false),
        .init(batch: 1, inChannels: 6, outChannels: 40, input: [3, 4, 7], kernel: [2, 3, 5], stride: [1, 1, 3], padding: [1, 2, 2], hasBias: false),
    ]

    static var isas: [WeightGradient.ISA] { WeightGradient.ISA.allCases.filter(\.isSupported) }

    struct Case {
        let g: ConvolutionGeometry
        let xv: [Float], gyv: [Float]
        let x: Tensor, gy: Tensor
        init(_ g: ConvolutionGeometry, seed: UInt64 = 11) {
            self.g = g
            xv = randomValues(g.inputShape.reduce(1, *), seed: seed)
            gyv = randomValues(g.outputShape.reduce(1, *), seed: seed + 1)
            x = tensor(g.inputShape, xv)
            gy = tensor(g.outputShape, gyv)
        }
        func run(_ isa: WeightGradient.ISA, threads: Int = 1) -> [Float] {
            let gw = Tensor(shape: g.weightShape, category: .workspace)
            gw.data.update(repeating: .nan, count: gw.count)  // every element must be written
            WeightGradient.compute(x, gradY: gy, into: gw, geometry: g, isa: isa, threads: threads)
            return gw.array
        }
    }

    @Test(arguments: geometries)
    func matchesDoubleReference(_ g: ConvolutionGeometry) {
        let c = Case(g)
        let ref = convolutionBackwardWeightsReference(c.xv.map(Double.init), c.gyv.map(Double.init), g)
        for isa in Self.isas {
            expectClose(c.run(isa), ref.w, atol: 1e-3, rtol: 1e-4, "\(isa) \(g)")
        }
    }

    /// Bit for bit: a scalar running `fma` per element over output positions in
    /// (n, z, y, x) order, skipping taps on padding; for every ISA and thread count.
    @Test(arguments: geometries)
    func bitwiseEqualToSequentialFMAChain(_ g: ConvolutionGeometry) {
        let c = Case(g)
        let expected = sequentialChain(c.xv, c.gyv, g).map(\.bitPattern)
        for isa in Self.isas {
            for threads in [1, 2, 3] {
                #expect(c.run(isa, threads: threads).map(\.bitPattern) == expected, "\(isa), \(threads) thread(s): \(g)")
            }
        }
    }

    @Test func repeatedCallsAreIdentical() {
        let c = Case(Self.geometries[5], seed: 21)
        for isa in Self.isas {
            let first = c.run(isa, threads: 2).map(\.bitPattern)
            for _ in 0..<3 { #expect(c.run(isa, threads: 2).map(\.bitPattern) == first, "\(isa)") }
        }
    }

    /// A reference-model layer (stage 2's 64→64 at batch 1): long sums, several chunks.
    @Test func referenceLayerMatchesAcrossISAsAndThreads() {
        let g = ConvolutionGeometry(batch: 1, inChannels: 64, outChannels: 64, input: [4, 16, 16], kernel: [3, 3, 3],
                                    stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false)
        let c = Case(g, seed: 31)
        let ref = convolutionBackwardWeightsReference(c.xv.map(Double.init), c.gyv.map(Double.init), g)
        var results: [[UInt32]] = []
        for isa in Self.isas {
            let r = c.run(isa, threads: 1)
            expectClose(r, ref.w, atol: 1e-3, rtol: 1e-4, "\(isa) \(g)")
            results.append(r.map(\.bitPattern))
            results.append(c.run(isa, threads: 2).map(\.bitPattern))
        }
        #expect(Set(results).count == 1)
    }

    /// `Convolution3D.backwardWeights` dispatches the kernel for oneDNN's effective ISA,
    /// records its name among the executed implementations and computes the bias gradient.
    @Test func convolutionDispatchesAndRecords() {
        guard let isa = WeightGradient.dispatched else { return }
        var g = Self.geometries[3]
        g.hasBias = true
        let c = Case(g, seed: 41)
        let gw = Tensor(shape: g.weightShape, category: .workspace)
        let gb = Tensor(shape: [g.outChannels], category: .workspace)
        _ = Convolution3D.takeExecutedImplementations()
        Convolution3D.backwardWeights(c.x, gradY: c.gy, gradWeight: gw, gradBias: gb, geometry: g)
        let executed = Convolution3D.takeExecutedImplementations()
        #expect(executed.contains { $0.hasPrefix("backwardWeights") && $0.hasSuffix(": \(isa.implementation)") }, "\(executed)")
        #expect(Convolution3D.implementation(.backwardWeights, geometry: g) == isa.implementation)
        let ref = convolutionBackwardWeightsReference(c.xv.map(Double.init), c.gyv.map(Double.init), g)
        expectClose(gw.array, ref.w, atol: 1e-3, rtol: 1e-4, "weights")
        expectClose(gb.array, ref.b, atol: 1e-3, rtol: 1e-4, "bias")
        // oneDNN's effective ISA decides: AVX-512 only when oneDNN runs AVX-512 kernels.
        #expect((isa == .avx512) == BuildInfo.oneDNNISA.hasPrefix("avx512_core"))
    }

    /// The numerics the kernel promises, written out in scalar Float.
    private func sequentialChain(_ x: [Float], _ gy: [Float], _ g: ConvolutionGeometry) -> [Float] {
        let o = g.output, ci = g.inChannels, co = g.outChannels, k = g.kernel
        var w = [Float](repeating: 0, count: g.weightShape.reduce(1, *))
        for oc in 0..<co { for kd in 0..<k[0] { for kh in 0..<k[1] { for kw in 0..<k[2] { for ic in 0..<ci {
            var sum: Float = 0
            for n in 0..<g.batch { for z in 0..<o[0] { for y in 0..<o[1] { for xx in 0..<o[2] {
                let id = z * g.stride[0] - g.padding[0] + kd
                let ih = y * g.stride[1] - g.padding[1] + kh
                let iw = xx * g.stride[2] - g.padding[2] + kw
                guard id >= 0, id < g.input[0], ih >= 0, ih < g.input[1], iw >= 0, iw < g.input[2] else { continue }
                let xi = (((n * g.input[0] + id) * g.input[1] + ih) * g.input[2] + iw) * ci + ic
                let yi = (((n * o[0] + z) * o[1] + y) * o[2] + xx) * co + oc
                sum = sum.addingProduct(gy[yi], x[xi])  // fused multiply-add
            }}}}
            w[(((oc * k[0] + kd) * k[1] + kh) * k[2] + kw) * ci + ic] = sum
        }}}}}
        return w
    }
}
