import NormBenchEngine

extension Calibration {
    /// Measures this machine now, on `threads` threads: the forward pass of a fixed
    /// 3-D convolution (the reference model's stage-2 layer at batch 2) and a
    /// streaming reduction over 64 MiB (twice the last-level cache here).
    ///
    /// Each probe is warmed up first (primitive creation, OpenMP threads waking
    /// from their passive wait, the buffers' first touch: the first cell's probes
    /// read 20-40% low without it) and then timed as the median of many short
    /// runs; about 0.1 s in all. Freed memory (the tensor allocator's cached
    /// blocks, the C heap's free pages) goes back to the system before the probes,
    /// so that the probe after a cell does not stack on the cell's leftovers, and
    /// the probe buffers go back afterwards so they do not count in the next
    /// cell's process peak. `normbench check` divides throughput by these (`Calibration.index`).
    public static func measure(threads: Int) -> Calibration {
        ProcessMemory.returnFreedMemory()
        let (conv, bandwidth) = Parallel.withThreads(threads) { () -> (Double, Double) in
            let g = ConvolutionGeometry(
                batch: 2, inChannels: 64, outChannels: 64, input: [4, 16, 16], kernel: [3, 3, 3],
                stride: [1, 1, 1], padding: [1, 1, 1], hasBias: false)
            let x = Tensor(shape: g.inputShape, category: .workspace)
            let w = Tensor(shape: g.weightShape, category: .workspace)
            let y = Tensor(shape: g.outputShape, category: .workspace)
            x.fill(0.5)
            w.fill(0.01)
            let run = { Convolution3D.forward(x, weight: w, bias: nil, into: y, geometry: g) }
            for _ in 0..<3 { run() }
            let convSeconds = BandwidthProbe.median(21, run) ?? .infinity
            let probe = BandwidthProbe(bytes: 64 << 20)
            _ = probe.reduction(threads: threads, repeats: 1)
            return (g.flops / convSeconds / 1e9, probe.reduction(threads: threads, repeats: 9))
        }
        ProcessMemory.returnFreedMemory()
        return Calibration(convGFLOPS: conv, bandwidthGBps: bandwidth)
    }
}
