/// How MPI ranks ran a cell (`ResultRecord.distributed`).
public struct DistributedRun: Codable, Sendable, Equatable {
    /// `data-parallel`: the cell's W workers were W ranks (`run --distributed`).
    /// `cells`: the sweep's cells were spread over the ranks and this one ran
    /// whole on rank `rank`, as the single-process simulation (`--distribute-cells`).
    public var mode: String
    /// Ranks in the job.
    public var ranks: Int
    /// Distinct hosts in the job.
    public var hosts: Int
    /// The rank that ran the cell (cells mode).
    public var rank: Int?
    /// The MPI library's version line.
    public var mpiLibrary: String
    /// Data-parallel: what the collectives cost per step.
    public var collective: CollectiveCost?

    public init(mode: String, ranks: Int, hosts: Int, rank: Int? = nil, mpiLibrary: String, collective: CollectiveCost? = nil) {
        self.mode = mode
        self.ranks = ranks
        self.hosts = hosts
        self.rank = rank
        self.mpiLibrary = mpiLibrary
        self.collective = collective
    }
}

/// The collectives of a data-parallel cell, as rank 0 measured them: median
/// seconds per step after warm-up, and payload bytes per step (what a rank hands
/// to or receives from the library; see `CollectiveMeter`).
public struct CollectiveCost: Codable, Sendable, Equatable {
    /// The all-reduce of every parameter gradient.
    public var gradientAllReduceSecondsMedian: Double
    public var gradientBytesPerStep: Int
    /// SyncBN's all-gathers of per-sample moments and sums (0 for other methods).
    public var syncBNSecondsMedian: Double
    public var syncBNBytesPerStep: Int
    public var syncBNCallsPerStep: Int
    /// The all-gather of the step's loss and per-worker BN running-statistics updates.
    public var statisticsSecondsMedian: Double
    public var statisticsBytesPerStep: Int
    /// Median over steps of the sum of the three.
    public var totalSecondsMedian: Double
    /// Whether all ranks ended with bitwise identical parameters and running statistics.
    public var replicasIdentical: Bool

    public init(
        gradientAllReduceSecondsMedian: Double, gradientBytesPerStep: Int, syncBNSecondsMedian: Double, syncBNBytesPerStep: Int,
        syncBNCallsPerStep: Int, statisticsSecondsMedian: Double, statisticsBytesPerStep: Int, totalSecondsMedian: Double,
        replicasIdentical: Bool
    ) {
        self.gradientAllReduceSecondsMedian = gradientAllReduceSecondsMedian
        self.gradientBytesPerStep = gradientBytesPerStep
        self.syncBNSecondsMedian = syncBNSecondsMedian
        self.syncBNBytesPerStep = syncBNBytesPerStep
        self.syncBNCallsPerStep = syncBNCallsPerStep
        self.statisticsSecondsMedian = statisticsSecondsMedian
        self.statisticsBytesPerStep = statisticsBytesPerStep
        self.totalSecondsMedian = totalSecondsMedian
        self.replicasIdentical = replicasIdentical
    }
}
