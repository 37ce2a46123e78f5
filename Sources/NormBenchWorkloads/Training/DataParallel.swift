import NormBenchEngine

/// How one cell's training is spread: alone in this process (the simulation of
/// W workers), or data-parallel over the ranks of a `Communicator`, one worker per rank.
public struct CellRunOptions {
    /// nil: the single-process simulation. Set: this process is worker `rank` of W = `size`.
    public var dataParallel: (any Communicator)?
    /// Return the trained model's state (`ModelState.values`) in the measurement.
    public var keepFinalState = false
    /// Save the trained model here (safetensors, `CellCheckpoint.save`); nil: not saved.
    public var checkpointPath: String?
    /// Extra `__metadata__` of the saved checkpoint (the commit, the cell id).
    public var checkpointMetadata: [String: String] = [:]

    public init(dataParallel: (any Communicator)? = nil, keepFinalState: Bool = false) {
        self.dataParallel = dataParallel
        self.keepFinalState = keepFinalState
    }
}

/// What the collectives of a data-parallel cell cost, per measured step (after warm-up).
public struct CollectiveMeasurement: Sendable, Equatable {
    public var ranks: Int
    /// Seconds per step in the gradient all-reduce.
    public var gradientSeconds: [Double]
    /// Seconds per step in SyncBN's exchanges (forward and backward; inside the
    /// normalization layers' time).
    public var syncBNSeconds: [Double]
    /// Seconds per step exchanging the loss and per-worker BN running statistics.
    public var statisticsSeconds: [Double]
    /// Payload bytes per step (`CollectiveMeter`), the same every step.
    public var gradientBytesPerStep: Int
    public var syncBNBytesPerStep: Int
    public var statisticsBytesPerStep: Int
    /// SyncBN all-gathers per step (two per BN layer: forward and backward).
    public var syncBNCallsPerStep: Int
    /// Whether every rank ended with bitwise the same parameters and running statistics.
    public var replicasIdentical: Bool
}

/// The data-parallel side of a training step on one rank: wires SyncBN's
/// reducer or the running-statistics exchange into the model, exchanges the
/// loss and gradients after backward, and meters every collective.
final class DataParallelStep {
    let communicator: any Communicator
    let model: Sequential
    let gradients: GradientAllReduce
    let exchange: RunningStatisticsExchange
    let meter = CollectiveMeter()
    private let syncBN: Bool
    private let reducer: CommunicatorReducer
    private var measured: (gradient: [Double], syncBN: [Double], statistics: [Double]) = ([], [], [])
    private var bytes: (gradient: Int, syncBN: Int, statistics: Int, syncBNCalls: Int) = (0, 0, 0, 0)

    init(model: Sequential, communicator: any Communicator, method: NormMethod) {
        precondition(method != .batchRenorm, "DataParallelStep: Batch Renorm is not supported data-parallel (its forward reads running statistics the simulation updates between workers)")
        self.communicator = communicator
        self.model = model
        syncBN = method.sharesStatisticsAcrossWorkers
        reducer = CommunicatorReducer(communicator: communicator, meter: meter)
        if syncBN { NormalizationLayers.synchronize(model, reducer: reducer) }
        exchange = RunningStatisticsExchange(model: model)
        gradients = GradientAllReduce(parameters: model.parameters)
    }

    /// Starts a step's metering (SyncBN's exchanges happen during forward and backward).
    func beginStep() { meter.reset() }

    /// After this rank's forward and backward: gathers every rank's loss and
    /// running-statistics updates (applied in rank order) and sums the gradients.
    /// - Returns: the step's loss, the mean over workers, summed in rank order as
    ///   the simulation sums its micro-batches.
    func finishStep(localLoss: Double, measure: Bool) -> Double {
        let payload = [localLoss] + exchange.payload()
        let all = meter.measure(.statistics, payload: 0) { communicator.allGather(payload) }
        meter.addPayload(.statistics, bytes: all.reduce(0) { $0 + $1.count } * MemoryLayout<Double>.stride)
        var loss = 0.0
        for r in all { loss += r[0] / Double(communicator.size) }
        exchange.apply(all.map { Array($0.dropFirst()) })
        gradients.run(communicator, meter: meter)
        let g = CollectiveMeter.Purpose.gradients.rawValue, s = CollectiveMeter.Purpose.syncBN.rawValue
        let st = CollectiveMeter.Purpose.statistics.rawValue
        bytes = (meter.bytes[g], meter.bytes[s], meter.bytes[st], meter.calls[s])
        if measure {
            measured.gradient.append(meter.seconds[g])
            measured.syncBN.append(meter.seconds[s])
            measured.statistics.append(meter.seconds[st])
        }
        return loss
    }

    /// Ends training: the layers get their own statistics back (PreciseBN and
    /// evaluation run locally on every rank, as in the simulation).
    func detach() {
        exchange.detach()
        if syncBN { NormalizationLayers.synchronize(model, reducer: IdentityReducer()) }
    }

    /// Pauses training for an evaluation between steps: SyncBN's layers normalize
    /// with this rank's statistics (PreciseBN runs locally on every rank, as after
    /// training); the running-statistics exchange has nothing pending between steps.
    func suspend() {
        if syncBN { NormalizationLayers.synchronize(model, reducer: IdentityReducer()) }
    }

    /// Resumes training after `suspend`.
    func resume() {
        if syncBN { NormalizationLayers.synchronize(model, reducer: reducer) }
    }

    /// Compares every rank's final state (one all-gather of a 64-bit digest).
    func measurement() -> CollectiveMeasurement {
        let digest = ModelState.digest(ModelState.values(of: model))
        let all = communicator.allGather([Double(digest >> 32), Double(digest & 0xFFFF_FFFF)])
        return CollectiveMeasurement(
            ranks: communicator.size, gradientSeconds: measured.gradient, syncBNSeconds: measured.syncBN,
            statisticsSeconds: measured.statistics, gradientBytesPerStep: bytes.gradient, syncBNBytesPerStep: bytes.syncBN,
            statisticsBytesPerStep: bytes.statistics, syncBNCallsPerStep: bytes.syncBNCalls,
            replicasIdentical: all.allSatisfy { $0 == all[0] })
    }
}
