internal import CFMAPeak
import Dispatch

/// The CPU's multiply-add peak, measured in this process with a register-blocked
/// loop of independent vector FMAs (C, `nb_fma_loop`): the ceiling a convolution's
/// GFLOP/s is a share of. Measured, not taken from a clock and a datasheet, so it
/// follows the machine's boost clock and what else runs on it.
public enum FMAPeak {
    /// The vector width of the kernels oneDNN dispatches (`BuildInfo.oneDNNISA`):
    /// 512 for avx512_*, 256 for avx2, 128 below. oneDNN capped to AVX2 on an
    /// AVX-512 machine is then measured against the AVX2 peak.
    public static var widthForOneDNN: Int {
        let isa = BuildInfo.oneDNNISA
        return isa.hasPrefix("avx512") ? 512 : isa.hasPrefix("avx2") ? 256 : 128
    }

    /// Floating-point operations per second, in GFLOP/s, of `threads` loops running
    /// at once (best of `repeats` rounds of about 40 ms), or nil when this CPU lacks
    /// the instructions of `width` bits.
    public static func gflops(threads: Int, width: Int = widthForOneDNN, repeats: Int = 5) -> Double? {
        let flopsPerIteration = Double(12 * width / 32 * 2)
        // Size the loop to about 40 ms on one thread.
        var iterations = 1 << 16
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            guard nb_fma_loop(Int32(width), iterations) >= 0 else { return nil }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            if seconds > 0.01 || iterations > 1 << 34 { iterations = Int(Double(iterations) * 0.04 / max(seconds, 1e-6)); break }
            iterations *= 4
        }
        let n = iterations
        var best = 0.0
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: threads) { _ in _ = nb_fma_loop(Int32(width), n) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            best = max(best, Double(threads) * Double(n) * flopsPerIteration / seconds * 1e-9)
        }
        return best
    }
}
