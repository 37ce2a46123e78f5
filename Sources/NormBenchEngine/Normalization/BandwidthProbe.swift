/// Memory-bandwidth probes that kernel benchmarks compare against, measured in
/// the same run: a streaming copy (1 read + 1 write per element, ordinary stores
/// like the engine's kernels) and a streaming sum (1 read).
public final class BandwidthProbe {
    /// Elements per buffer.
    public let count: Int
    private let source: Tensor
    /// The copy's target, made (and its pages touched) at the first `copy`: the
    /// sum alone, which every cell's calibration runs, then holds one buffer, not two.
    private lazy var destination: Tensor = {
        let t = Tensor(shape: [count], category: .workspace)
        t.fill(0)
        return t
    }()

    /// Buffers of `bytes` bytes each (use several times the last-level cache).
    public init(bytes: Int) {
        count = max(1024, bytes / 4) & ~63
        source = Tensor(shape: [count], category: .workspace)
        for i in 0..<count { source.data[i] = Float(i & 1023) }
    }

    /// Median GB/s (bytes read + written) of `repeats` copies on `threads` threads.
    public func copy(threads: Int, repeats: Int) -> Double {
        let bytes = Double(2 * count * 4)
        let box = UncheckedSendable((source.data, destination.data, count))
        return Self.median(repeats) {
            Parallel.forEach(chunks: 64, threads: threads) { k in
                let (src, dst, n) = box.value
                let r = Parallel.range(k, of: 64, count: n / 8)
                let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
                for i in r {
                    d.storeBytes(of: s.loadUnaligned(fromByteOffset: i &* 32, as: SIMD8<Float>.self),
                                 toByteOffset: i &* 32, as: SIMD8<Float>.self)
                }
            }
        }.map { bytes / $0 / 1e9 }!
    }

    /// Median GB/s (bytes read) of `repeats` sums on `threads` threads.
    public func reduction(threads: Int, repeats: Int) -> Double {
        let bytes = Double(count * 4)
        var partial = [Float](repeating: 0, count: 64)
        let result = partial.withUnsafeMutableBufferPointer { out in
            let box = UncheckedSendable((source.data, count, out.baseAddress!))
            return Self.median(repeats) {
                Parallel.forEach(chunks: 64, threads: threads) { k in
                    let (src, n, out) = box.value
                    let r = Parallel.range(k, of: 64, count: n / 32)
                    let s = UnsafeRawPointer(src)
                    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                    for i in r {
                        let o = i &* 128
                        a0 += s.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                        a1 += s.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
                        a2 += s.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self)
                        a3 += s.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self)
                    }
                    out[k] = ((a0 + a1) + (a2 + a3)).sum()
                }
            }
        }
        _ = partial.reduce(0, +)
        return bytes / result! / 1e9
    }

    /// Median seconds of `repeats` runs of `body` after one warm-up run.
    public static func median(_ repeats: Int, _ body: () -> Void) -> Double? {
        body()
        var times: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<max(1, repeats) {
            let start = clock.now
            body()
            let d = clock.now - start
            times.append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
        }
        return Quantiles.percentile(times, 0.5)
    }
}
