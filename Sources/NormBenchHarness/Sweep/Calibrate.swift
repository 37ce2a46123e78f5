import NormBenchEngine

extension Calibration {
    /// Measures this machine now, on `threads` threads: the forward pass of a fixed
    /// 3-D convolution (the reference model's stage-2 layer at batch 2) and a
    /// streaming reduction over 64 MiB (twice the last-level cache here). Medians of
    /// 5 runs; about half a second. `normbench check` divides throughput by these.
    public static func measure(threads: Int) -> Calibration {
        let previous = Parallel.threads
        Parallel.threads = threads
        defer { Parallel.threads = previous }
        let g = ConvolutionGeometry(
            batch: 2, inChannels: 64, outChannels: 64, input: [4, 16, 16], kernel: [3, 3, 3],
            stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false)
        let x = Tensor(shape: g.inputShape, category: .workspace)
        let w = Tensor(shape: g.weightShape, category: .workspace)
        let y = Tensor(shape: g.outputShape, category: .workspace)
        x.fill(0.5)
        w.fill(0.01)
        let convSeconds = BandwidthProbe.median(5) {
            Convolution3D.forward(x, weight: w, bias: nil, into: y, geometry: g)
        } ?? .infinity
        let probe = BandwidthProbe(bytes: 64 << 20)
        return Calibration(convGFLOPS: g.flops / convSeconds / 1e9, bandwidthGBps: probe.reduction(threads: threads, repeats: 5))
    }
}
