import Foundation

/// The exchange step of SyncBN: every worker contributes its per-sample partial
/// statistics and receives all workers' partials, concatenated in rank order
/// (an allgather). A later MPI implementation plugs in here.
///
/// BatchNorm calls `allGather` twice per training step: in forward with
/// `[count, mean, M2]` per (sample, channel), in backward with `[Σdy, Σdy·(x − μ)]`
/// per (sample, channel). Because every worker then merges the same per-sample
/// values in global sample order, SyncBN over W workers × b samples gives
/// bitwise the same normalized output and input gradient as BatchNorm over the
/// concatenated W·b batch.
public protocol StatisticsReducer: AnyObject {
    /// Number of workers in the group.
    var workers: Int { get }
    /// Returns the concatenation of every worker's `local`, in rank order. Each
    /// worker may contribute a different count. Blocks until all have contributed.
    func allGather(_ local: [Double]) -> [Double]
}

/// One worker alone: `allGather` returns its input. SyncBN with this reducer is BN.
public final class IdentityReducer: StatisticsReducer {
    public init() {}
    public var workers: Int { 1 }
    public func allGather(_ local: [Double]) -> [Double] { local }
}

/// W workers in one process, each on its own thread: `endpoint(rank:)` gives each
/// worker's reducer. `allGather` is a barrier: it blocks until all W have called it.
/// Do not drive the workers from `Parallel.forEach`/`concurrentPerform` (fewer
/// threads than workers would deadlock); use one thread per worker.
public final class LocalGroupReducer: @unchecked Sendable {
    public let workers: Int
    private let condition = NSCondition()
    private var slots: [[Double]]
    private var arrived = 0
    private var generation = 0
    private var result: [Double] = []

    public init(workers: Int) {
        precondition(workers >= 1, "LocalGroupReducer: workers must be >= 1, got \(workers)")
        self.workers = workers
        slots = Array(repeating: [], count: workers)
    }

    /// The reducer worker `rank` (0..<workers) uses.
    public func endpoint(rank: Int) -> any StatisticsReducer {
        precondition((0..<workers).contains(rank), "LocalGroupReducer: rank \(rank) outside 0..<\(workers)")
        return Endpoint(group: self, rank: rank)
    }

    fileprivate func gather(rank: Int, _ local: [Double]) -> [Double] {
        condition.lock()
        defer { condition.unlock() }
        let myGeneration = generation
        slots[rank] = local
        arrived += 1
        if arrived == workers {
            result = slots.flatMap { $0 }
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == myGeneration { condition.wait() }
        }
        // The next generation cannot complete before this rank calls again, so `result` is still ours.
        return result
    }

    private final class Endpoint: StatisticsReducer {
        let group: LocalGroupReducer
        let rank: Int
        init(group: LocalGroupReducer, rank: Int) {
            self.group = group
            self.rank = rank
        }
        var workers: Int { group.workers }
        func allGather(_ local: [Double]) -> [Double] { group.gather(rank: rank, local) }
    }
}
