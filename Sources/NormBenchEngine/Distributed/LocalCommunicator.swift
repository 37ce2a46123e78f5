import Foundation

/// W ranks as W threads of one process: the tests' stand-in for MPI, and SyncBN
/// over W workers in one process (`CommunicatorReducer` over its endpoints). Every collective is an all-gather behind a barrier; the
/// all-reduce sums in rank order. Drive each rank from its own thread
/// (`runRanks`), never from a thread pool with fewer threads than ranks.
public final class LocalCommunicatorGroup: @unchecked Sendable {
    public let size: Int
    private let condition = NSCondition()
    private var slots: [[Double]]
    private var arrived = 0
    private var generation = 0
    private var result: [[Double]] = []

    public init(size: Int) {
        precondition(size >= 1, "LocalCommunicatorGroup: size must be >= 1, got \(size)")
        self.size = size
        slots = Array(repeating: [], count: size)
    }

    /// The communicator rank `rank` (0..<size) uses.
    public func endpoint(rank: Int) -> any Communicator {
        precondition((0..<size).contains(rank), "LocalCommunicatorGroup: rank \(rank) outside 0..<\(size)")
        return Endpoint(group: self, rank: rank)
    }

    fileprivate func gather(rank: Int, _ local: [Double]) -> [[Double]] {
        condition.lock()
        defer { condition.unlock() }
        let mine = generation
        slots[rank] = local
        arrived += 1
        if arrived == size {
            result = slots
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        return result
    }

    private final class Endpoint: Communicator {
        let group: LocalCommunicatorGroup
        let rank: Int
        init(group: LocalCommunicatorGroup, rank: Int) {
            self.group = group
            self.rank = rank
        }
        var size: Int { group.size }
        var localRank: Int { rank }
        func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
            let all = group.gather(rank: rank, (0..<count).map { Double(buffer[$0]) })
            for i in 0..<count {
                var s = Float(all[0][i])
                for r in 1..<all.count { s += Float(all[r][i]) }
                buffer[i] = s
            }
        }
        func allGather(_ local: [Double]) -> [[Double]] { group.gather(rank: rank, local) }
        func broadcast(_ bytes: [UInt8], root: Int) -> [UInt8] {
            group.gather(rank: rank, bytes.map(Double.init))[root].map { UInt8($0) }
        }
        func barrier() { _ = group.gather(rank: rank, []) }
        func send(_ bytes: [UInt8], to rank: Int, tag: Int) { preconditionFailure("LocalCommunicatorGroup: no point-to-point messages") }
        func poll(tag: Int) -> (source: Int, bytes: [UInt8])? { nil }
    }
}
