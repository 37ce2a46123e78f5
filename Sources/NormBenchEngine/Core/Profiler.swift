import Dispatch
import Synchronization

/// Where a training step's time goes: accumulated wall time per bucket.
///
/// Convolution layers record their three passes themselves; containers
/// (`Sequential`, `ResidualBlock`, models) record the time of their other leaf
/// layers under the leaf's `LayerKind`; the trainer records the loss and the
/// optimizer. Nothing is counted twice. Reset it before a phase, read it after.
public final class StepProfiler: Sendable {
    /// The profiler every engine layer reports to.
    public static let shared = StepProfiler()

    /// A slice of a step's time.
    public enum Bucket: String, CaseIterable, Codable, Sendable {
        case convolutionForward, convolutionBackwardData, convolutionBackwardWeights
        case normalization, other, loss, optimizer
    }

    private let nanos = Mutex([UInt64](repeating: 0, count: Bucket.allCases.count))

    public init() {}

    /// A monotonic clock reading in nanoseconds.
    @inlinable public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Adds the time since `start` (a `now()` reading) to `bucket`.
    public func record(_ bucket: Bucket, since start: UInt64) {
        let elapsed = Self.now() &- start
        let k = bucket.index
        nanos.withLock { $0[k] &+= elapsed }
    }

    /// Runs `body` and adds its time to `bucket`.
    @discardableResult
    public func measure<T>(_ bucket: Bucket, _ body: () throws -> T) rethrows -> T {
        let start = Self.now()
        defer { record(bucket, since: start) }
        return try body()
    }

    /// Seconds accumulated per bucket since the last reset.
    public func seconds() -> [Bucket: Double] {
        let v = nanos.withLock { $0 }
        return Dictionary(uniqueKeysWithValues: Bucket.allCases.map { ($0, Double(v[$0.index]) * 1e-9) })
    }

    /// Zeroes every bucket.
    public func reset() { nanos.withLock { $0 = [UInt64](repeating: 0, count: Bucket.allCases.count) } }
}

extension StepProfiler.Bucket {
    var index: Int { Self.allCases.firstIndex(of: self)! }

    /// The bucket a leaf layer of this kind reports to (convolutions report per pass).
    static func forLeaf(_ kind: LayerKind) -> Self {
        switch kind {
        case .normalization: .normalization
        case .convolution, .other: .other
        }
    }
}
