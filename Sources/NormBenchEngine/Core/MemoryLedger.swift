internal import CDNNL
import Foundation
import Synchronization

/// What a block of tensor memory is for. Results report peak memory by these.
public enum MemoryCategory: String, CaseIterable, Codable, Sendable {
    case parameters, gradients, optimizerState, activations, workspace, data
}

/// Bytes live and peak, by category, for all tensor storage of the process.
///
/// Every tensor allocation goes through `TensorAllocator`, which reports here, so
/// the ledger is exact and deterministic: the same model and batch give the same
/// numbers on every run. `reset()` starts a new phase (peak := live).
public final class MemoryLedger: Sendable {
    /// The ledger for all engine memory of this process.
    public static let shared = MemoryLedger()

    private struct State {
        var live = [Int](repeating: 0, count: MemoryCategory.allCases.count)
        var peak = [Int](repeating: 0, count: MemoryCategory.allCases.count)
        var liveTotal = 0
        var peakTotal = 0
        var atPeak = [Int](repeating: 0, count: MemoryCategory.allCases.count)
    }
    private let state = Mutex(State())

    public init() {}

    /// Records `bytes` (positive: allocated, negative: freed) in `category`.
    public func record(_ bytes: Int, _ category: MemoryCategory) {
        let k = category.index
        state.withLock { s in
            s.live[k] += bytes
            s.liveTotal += bytes
            precondition(s.live[k] >= 0, "MemoryLedger: \(category) went negative (\(s.live[k]) bytes)")
            if s.live[k] > s.peak[k] { s.peak[k] = s.live[k] }
            if s.liveTotal > s.peakTotal {
                s.peakTotal = s.liveTotal
                s.atPeak = s.live
            }
        }
    }

    /// Starts a new measurement phase: every peak becomes the current live value.
    public func reset() {
        state.withLock { s in
            s.peak = s.live
            s.peakTotal = s.liveTotal
            s.atPeak = s.live
        }
    }

    /// Sets the peaks back to those of `earlier` (a snapshot of this ledger), or to
    /// the live values where these are higher: what a phase between the two (an
    /// evaluation in the middle of training) raised the peaks by no longer counts.
    public func restorePeaks(_ earlier: Snapshot) {
        state.withLock { s in
            for c in MemoryCategory.allCases {
                s.peak[c.index] = max(earlier.peak[c] ?? 0, s.live[c.index])
            }
            if earlier.peakTotal >= s.liveTotal {
                s.peakTotal = earlier.peakTotal
                for c in MemoryCategory.allCases { s.atPeak[c.index] = earlier.atPeak[c] ?? 0 }
            } else {
                s.peakTotal = s.liveTotal
                s.atPeak = s.live
            }
        }
    }

    /// The ledger now.
    public func snapshot() -> Snapshot {
        state.withLock { s in
            Snapshot(
                live: Self.dict(s.live), peak: Self.dict(s.peak),
                liveTotal: s.liveTotal, peakTotal: s.peakTotal, atPeak: Self.dict(s.atPeak))
        }
    }

    /// Bytes live now in one category.
    public func live(_ category: MemoryCategory) -> Int {
        state.withLock { $0.live[category.index] }
    }

    /// A copy of the ledger's counters.
    public struct Snapshot: Codable, Sendable, Equatable {
        /// Bytes live now, by category.
        public var live: [MemoryCategory: Int]
        /// The highest value each category reached on its own since the last reset.
        public var peak: [MemoryCategory: Int]
        /// Bytes live now, all categories.
        public var liveTotal: Int
        /// The highest total since the last reset.
        public var peakTotal: Int
        /// The breakdown by category at the moment the total peaked.
        public var atPeak: [MemoryCategory: Int]
    }

    private static func dict(_ a: [Int]) -> [MemoryCategory: Int] {
        Dictionary(uniqueKeysWithValues: MemoryCategory.allCases.map { ($0, a[$0.index]) })
    }
}

extension MemoryLedger {
    /// A ledger that, inside `withValue`, sees the allocations made by this task
    /// in addition to `shared` (which always sees everything). Tests use it to
    /// measure one model's memory while other tests allocate concurrently.
    /// Tensors allocated outside the scope must not be freed inside it.
    @TaskLocal public static var scoped: MemoryLedger?

    /// The ledger measurements should read: `scoped` inside a scope, else `shared`.
    public static var current: MemoryLedger { scoped ?? shared }
}

extension MemoryCategory {
    @usableFromInline var index: Int {
        switch self {
        case .parameters: 0
        case .gradients: 1
        case .optimizerState: 2
        case .activations: 3
        case .workspace: 4
        case .data: 5
        }
    }
}

/// The process's resident-memory high-water mark (the kernel's count, not the ledger's).
public enum ProcessMemory {
    /// VmHWM of this process in bytes, or nil where /proc is not available.
    public static func highWaterMark() -> Int? { statusField("VmHWM:") }

    /// VmRSS of this process in bytes, or nil where /proc is not available.
    public static func resident() -> Int? { statusField("VmRSS:") }

    /// Returns the tensor allocator's cached blocks and the C heap's free pages to
    /// the system, so the resident size counts only memory in use.
    public static func returnFreedMemory() {
        TensorAllocator.shared.releaseCache()
        nb_malloc_trim()
    }

    /// Resets the high-water mark to the current resident size (Linux: writes 5 to
    /// /proc/self/clear_refs). Returns false where that is not possible.
    @discardableResult
    public static func resetHighWaterMark() -> Bool {
        guard let fd = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(fd) }
        return fputs("5", fd) >= 0
    }

    private static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
        }
        return nil
    }
}
