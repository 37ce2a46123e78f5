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
