import Foundation
import NormBenchEngine
import NormBenchVideo
import NormBenchWorkloads

/// What decides the bits of a cell's results, beyond the cell itself.
///
/// Training is bitwise reproducible for a fixed cell on one build and machine,
/// but the same commit on another CPU gives other numbers: oneDNN dispatches
/// other kernels (`brgconv:avx512_core` here, `jit:avx2` there) whose blocking
/// depends on the ISA and the cache sizes, so float sums run in another order
/// and training amplifies the difference. Two records with equal fingerprints
/// (and equal cells) must agree exactly; records with different fingerprints
/// are comparable only statistically (`normbench check`, docs/results-format.md).
///
/// Every part is cheap to read: the effective oneDNN ISA, the implementation of
/// every convolution the cell executed, the CPU's data caches, what the Swift
/// kernels were compiled for, the thread count and the libraries' versions.
public struct NumericsFingerprint: Codable, Sendable, Hashable {
    /// oneDNN's effective ISA (`avx512_core`, `avx2`; capped by `ONEDNN_MAX_CPU_ISA`).
    public var oneDNNISA: String
    /// The distinct oneDNN implementations the cell's convolutions ran on.
    public var convolutions: [String]
    /// Digest of every (pass, geometry, implementation) the cell executed.
    public var convolutionDigest: String
    /// The CPU's data caches ("L1d 32K L2 1024K L3 32768K").
    public var caches: String
    /// Build configuration and the CPU features the Swift kernels were compiled
    /// for (and `fault:…` when `FaultInjection` is on).
    public var build: String
    /// Threads of the engine and of oneDNN.
    public var threads: Int
    /// oneDNN, FFmpeg and Swift compiler versions.
    public var libraries: String

    public init(oneDNNISA: String, convolutions: [String], convolutionDigest: String, caches: String, build: String, threads: Int, libraries: String) {
        self.oneDNNISA = oneDNNISA
        self.convolutions = convolutions
        self.convolutionDigest = convolutionDigest
        self.caches = caches
        self.build = build
        self.threads = threads
        self.libraries = libraries
    }

    /// This process's fingerprint for a cell that executed `executed`
    /// (`Convolution3D.takeExecutedImplementations()`) on `threads` threads.
    public static func current(executed: [String], threads: Int) -> NumericsFingerprint {
        let implementations = Set(executed.compactMap { line in line.range(of: ": ", options: .backwards).map { String(line[$0.upperBound...]) } })
        return NumericsFingerprint(
            oneDNNISA: BuildInfo.oneDNNISA, convolutions: implementations.sorted(),
            convolutionDigest: FNV1a.hex(of: executed.joined(separator: "\n")), caches: BuildInfo.cacheSizes,
            build: ([BuildInfo.configuration] + BuildInfo.targetFeatures + [FaultInjection.description].compactMap { $0.map { "fault:\($0)" } }).joined(separator: " "),
            threads: threads,
            libraries: "oneDNN \(BuildInfo.oneDNNVersion), FFmpeg \(FFmpegLibraries.version), Swift \(Environment.swiftCompilerVersion)")
    }

    /// A short identifier: a digest of every part.
    public var id: String {
        FNV1a.hex(of: parts.map { "\($0.name)=\($0.value)" }.joined(separator: "\n"))
    }

    /// The parts by name, in a fixed order.
    public var parts: [(name: String, value: String)] {
        [("isa", oneDNNISA), ("convolutions", convolutions.joined(separator: ",") + " #" + convolutionDigest),
         ("caches", caches), ("build", build), ("threads", String(threads)), ("libraries", libraries)]
    }

    /// "isa avx512_core → avx2; caches …" for every part that differs from `other`.
    public func differences(from other: NumericsFingerprint) -> [String] {
        zip(other.parts, parts).filter { $0.value != $1.value }.map { "\($0.name) \($0.value) → \($1.value)" }
    }
}
