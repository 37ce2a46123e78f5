import Dispatch

/// The operations data-parallel training and distributed sweeps need from a
/// group of processes ("ranks"), without naming a library: the engine stays
/// free of MPI. `NormBenchMPI.MPICommunicator` implements it over MPI;
/// `LocalCommunicatorGroup` runs W ranks as threads of one process.
///
/// Every collective (`allReduceSum`, `allGather`, `broadcast`, `barrier`) must be
/// called by every rank, in the same order; it returns when all have joined.
/// Failures are not reported back: an implementation stops the whole group
/// (MPI aborts the job), because a half-finished collective cannot be retried.
public protocol Communicator: AnyObject {
    /// This process's index, 0..<size. Rank 0 writes results.
    var rank: Int { get }
    /// Processes in the group.
    var size: Int { get }
    /// This rank's index among the ranks on the same host (0 for the first).
    var localRank: Int { get }
    /// Replaces `count` floats at `buffer` with their sum over all ranks (every
    /// rank gets the same sum).
    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// Every rank's `local`, indexed by rank. Ranks may contribute different counts.
    func allGather(_ local: [Double]) -> [[Double]]
    /// Rank `root`'s `bytes` on every rank (other ranks' arguments are ignored).
    func broadcast(_ bytes: [UInt8], root: Int) -> [UInt8]
    /// Returns when every rank has called it.
    func barrier()
    /// Sends `bytes` to `rank` (point to point; blocks until the receiver can take it).
    func send(_ bytes: [UInt8], to rank: Int, tag: Int)
    /// A message with `tag` from any rank, if one has arrived; never waits for one.
    func poll(tag: Int) -> (source: Int, bytes: [UInt8])?
}

/// Time and payload of the collectives of one training step, by purpose.
///
/// Bytes are the payload a rank hands to or receives from the library: for an
/// all-reduce the buffer (4 bytes per float), for an all-gather what every rank
/// receives (all ranks' values, 8 bytes per double). What crosses the wire
/// depends on the algorithm (a ring all-reduce sends about 2(W − 1)/W of the
/// buffer per rank); the payload is what the workload asks for.
public final class CollectiveMeter {
    public enum Purpose: Int, CaseIterable, Sendable {
        /// The all-reduce of every parameter gradient.
        case gradients
        /// SyncBN's exchanges of per-sample moments (forward) and sums (backward).
        case syncBN
        /// The step's loss and per-worker BN running-statistics updates.
        case statistics
    }

    public private(set) var seconds = [Double](repeating: 0, count: Purpose.allCases.count)
    public private(set) var bytes = [Int](repeating: 0, count: Purpose.allCases.count)
    public private(set) var calls = [Int](repeating: 0, count: Purpose.allCases.count)

    public init() {}

    /// Runs `body` (one collective) and adds its time and `payload` bytes to `purpose`.
    public func measure<T>(_ purpose: Purpose, payload: Int, _ body: () throws -> T) rethrows -> T {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        seconds[purpose.rawValue] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        bytes[purpose.rawValue] += payload
        calls[purpose.rawValue] += 1
        return result
    }

    /// Adds `payload` bytes to `purpose` for a collective whose time `measure` took.
    public func addPayload(_ purpose: Purpose, bytes payload: Int) { bytes[purpose.rawValue] += payload }

    /// Sets every counter to zero (at the start of a step).
    public func reset() {
        seconds = seconds.map { _ in 0 }
        bytes = bytes.map { _ in 0 }
        calls = calls.map { _ in 0 }
    }
}
