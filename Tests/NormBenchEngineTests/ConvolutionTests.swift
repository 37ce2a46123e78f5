import Testing
import NormBenchEngine
import NormBenchTestSupport

@Suite struct ConvolutionTests {
    /// Small shapes that cover the cases oneDNN handles differently.
    static let geometries: [ConvolutionGeometry] = [
        .init(batch: 1, inChannels: 3, outChannels: 4, input: [3, 5, 5], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false),
        .init(batch: 2, inChannels: 3, outChannels: 8, input: [4, 7, 6], kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1], hasBias: true),
        .init(batch: 2, inChannels: 8, outChannels: 16, input: [5, 6, 7], kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1], hasBias: false),
        .init(batch: 1, inChannels: 5, outChannels: 7, input: [3, 5, 4], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [0, 0, 0], hasBias: true),
        .init(batch: 2, inChannels: 8, outChannels: 16, input: [4, 6, 6], kernel: [1, 1, 1], stride: [2, 2, 2], padding: [0, 0, 0], hasBias: false),
        .init(batch: 3, inChannels: 16, outChannels: 8, input: [3, 3, 5], kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0], hasBias: true),
        .init(batch: 1, inChannels: 32, outChannels: 32, input: [4, 8, 8], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false),
        .init(batch: 1, inChannels: 4, outChannels: 6, input: [5, 5, 5], kernel: [1, 3, 2], stride: [1, 2, 1], padding: [0, 1, 0], hasBias: true),
    ]

    @Test(arguments: geometries)
    func passesMatchDoubleReference(_ g: ConvolutionGeometry) {
        let xv = randomValues(g.inputShape.reduce(1, *), seed: 1)
        let wv = randomValues(g.weightShape.reduce(1, *), seed: 2, scale: 0.3)
        let bv = g.hasBias ? randomValues(g.outChannels, seed: 3) : nil
        let gyv = randomValues(g.outputShape.reduce(1, *), seed: 4)
        let x = tensor(g.inputShape, xv), w = tensor(g.weightShape, wv, category: .parameters)
        let b = bv.map { tensor([g.outChannels], $0, category: .parameters) }
        let gy = tensor(g.outputShape, gyv)
        let d = { (a: [Float]) in a.map(Double.init) }

        let y = Tensor(shape: g.outputShape, category: .activations)
        Convolution3D.forward(x, weight: w, bias: b, into: y, geometry: g)
        expectClose(y.array, convolutionReference(d(xv), d(wv), bv.map(d), g), atol: 1e-4, rtol: 1e-4, "forward \(g)")

        let gx = Tensor(shape: g.inputShape, category: .workspace)
        Convolution3D.backwardData(gy, weight: w, into: gx, geometry: g)
        expectClose(gx.array, convolutionBackwardDataReference(d(gyv), d(wv), g), atol: 1e-4, rtol: 1e-4, "backwardData \(g)")

        let gw = Tensor(shape: g.weightShape, category: .workspace)
        let gb = g.hasBias ? Tensor(shape: [g.outChannels], category: .workspace) : nil
        Convolution3D.backwardWeights(x, gradY: gy, gradWeight: gw, gradBias: gb, geometry: g)
        let ref = convolutionBackwardWeightsReference(d(xv), d(gyv), g)
        expectClose(gw.array, ref.w, atol: 1e-3, rtol: 1e-4, "backwardWeights \(g)")
        if let gb { expectClose(gb.array, ref.b, atol: 1e-3, rtol: 1e-4, "backwardBias \(g)") }
    }

    /// The adjoint references above are right: they equal central differences of the forward reference.
    @Test func referenceBackwardMatchesFiniteDifferences() {
        let g = ConvolutionGeometry(batch: 1, inChannels: 2, outChannels: 3, input: [3, 4, 3], kernel: [3, 3, 3],
                                    stride: [2, 1, 2], padding: [1, 1, 0], hasBias: true)
        let x = randomValues(g.inputShape.reduce(1, *), seed: 5).map(Double.init)
        let w = randomValues(g.weightShape.reduce(1, *), seed: 6).map(Double.init)
        let b = randomValues(3, seed: 7).map(Double.init)
        let gy = randomValues(g.outputShape.reduce(1, *), seed: 8).map(Double.init)
        func dot(_ a: [Double]) -> Double { zip(a, gy).reduce(0) { $0 + $1.0 * $1.1 } }
        expectClose(convolutionBackwardDataReference(gy, w, g),
                    centralDifference(x) { dot(convolutionReference($0, w, b, g)) }, atol: 1e-6, rtol: 1e-6, "reference gradX")
        let ref = convolutionBackwardWeightsReference(x, gy, g)
        expectClose(ref.w, centralDifference(w) { dot(convolutionReference(x, $0, b, g)) }, atol: 1e-6, rtol: 1e-6, "reference gradW")
        expectClose(ref.b, centralDifference(b) { dot(convolutionReference(x, w, $0, g)) }, atol: 1e-6, rtol: 1e-6, "reference gradB")
    }

    @Test func rightPaddingOfStridedLayers() {
        let g = ConvolutionGeometry(batch: 1, inChannels: 1, outChannels: 1, input: [8, 32, 32], kernel: [3, 3, 3],
                                    stride: [2, 2, 2], padding: [1, 1, 1], hasBias: false)
        #expect(g.output == [4, 16, 16])
        #expect(g.paddingRight == [0, 0, 0])
    }

    @Test func scratchpadIsWorkspaceAndReturned() {
        let g = Self.geometries[2]
        let ledger = MemoryLedger()  // sees this test's allocations only
        MemoryLedger.$scoped.withValue(ledger) {
            let x = Tensor(shape: g.inputShape, category: .activations, zeroed: true)
            let gy = Tensor(shape: g.outputShape, category: .activations, zeroed: true)
            let gw = Tensor(shape: g.weightShape, category: .gradients)
            ledger.reset()
            Convolution3D.backwardWeights(x, gradY: gy, gradWeight: gw, gradBias: nil, geometry: g)
            #expect(ledger.live(.workspace) == 0)
            // Workspace peak: the scratchpad plus the filters in oneDNN's blocked layout (when it differs).
            #expect(ledger.snapshot().peak[.workspace]! >= Convolution3D.scratchpadBytes(.backwardWeights, geometry: g))
        }
        #expect(!Convolution3D.implementation(.forward, geometry: g).isEmpty)
    }

    /// Padding taps are not useful work: a 3×3×3 kernel over 2×8×8 (padding 1) reaches
    /// 2 of 3 temporal taps per output frame and 22 of 24 (output, tap) pairs per
    /// spatial axis; a 1×1×1 kernel without padding wastes nothing.
    @Test func usefulFlopsLeaveOutPaddingTaps() {
        let g = ConvolutionGeometry(batch: 2, inChannels: 128, outChannels: 128, input: [2, 8, 8], kernel: [3, 3, 3],
                                    stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false)
        #expect(g.usefulFlops == Double(2 * 2 * (4 * 22 * 22) * 128 * 128))
        #expect(g.flops == Double(2 * 2 * (2 * 8 * 8) * 27 * 128 * 128))
        let s = ConvolutionGeometry(batch: 2, inChannels: 64, outChannels: 128, input: [4, 16, 16], kernel: [3, 3, 3],
                                    stride: [2, 2, 2], padding: [1, 1, 1], hasBias: false)
        // Stride 2 over 4 frames: outputs 0 and 1 read frames {-1, 0, 1} and {1, 2, 3}: 5 of 6 taps; 16 pixels: 23 of 24.
        #expect(s.usefulFlops == Double(2 * 2 * (5 * 23 * 23) * 64 * 128))
        let p = ConvolutionGeometry(batch: 2, inChannels: 64, outChannels: 128, input: [4, 16, 16], kernel: [1, 1, 1],
                                    stride: [2, 2, 2], padding: [0, 0, 0], hasBias: false)
        #expect(p.usefulFlops == p.flops)
    }

    /// The arithmetic peak probe runs and gives a plausible figure on every width this CPU has.
    @Test func fmaPeakIsMeasured() throws {
        let scalar = try #require(FMAPeak.gflops(threads: 1, width: 128, repeats: 3))
        #expect(scalar > 1 && scalar < 1000)
        if let wide = FMAPeak.gflops(threads: 1, width: 256, repeats: 3) { #expect(wide > scalar) }
    }
}
