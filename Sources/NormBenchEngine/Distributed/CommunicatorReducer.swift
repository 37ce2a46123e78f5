/// SyncBN across processes: BatchNorm's `StatisticsReducer` over a `Communicator`.
///
/// `allGather` is the communicator's all-gather (over MPI: the counts, then
/// `MPI_Allgatherv`), concatenated in rank order. Rank r holds samples
/// r·b ..< (r + 1)·b of the step, so rank order is global sample order and the
/// merge is the same as BatchNorm over the whole W·b batch (see `StatisticsReducer`).
/// Each call's time and received payload go to `meter` under `.syncBN`.
public final class CommunicatorReducer: StatisticsReducer {
    public let communicator: any Communicator
    public let meter: CollectiveMeter

    public init(communicator: any Communicator, meter: CollectiveMeter) {
        self.communicator = communicator
        self.meter = meter
    }

    public var workers: Int { communicator.size }

    public func allGather(_ local: [Double]) -> [Double] {
        let all = meter.measure(.syncBN, payload: 0) { communicator.allGather(local) }
        let flat = all.flatMap { $0 }
        meter.addPayload(.syncBN, bytes: flat.count * MemoryLayout<Double>.stride)
        return flat
    }
}
