/// How far each kind of metric may move before `normbench check` calls it a
/// regression. Stored in the baseline file, so a baseline can be tuned by hand;
/// docs/results-format.md explains the defaults.
public struct CheckTolerances: Codable, Sendable, Equatable {
    /// Classification error (top-1, top-5): allowed worsening in evaluation
    /// clips (absolute = clips / evalClips). Applies, like the next two, on a
    /// numerics fingerprint the baseline knows, where training is bitwise
    /// reproducible: the default 0 makes any worsening a regression. On another
    /// fingerprint accuracy is compared statistically (`falseAlarmRate`).
    public var errorClips: Double
    /// Detection mAP (@0.5 and @0.5:0.95): allowed drop, absolute fraction.
    public var mAPAbsolute: Double
    /// Mean evaluation loss: allowed relative increase.
    public var evalLossRelative: Double
    /// Engine ledger peak (total and per category): allowed growth in bytes.
    /// The ledger counts tensor allocations, independent of timing: exact.
    public var ledgerBytes: Int
    /// Throughput normalised by the same run's calibration, geometric mean of
    /// the current/baseline ratios over all cells of a workload: allowed
    /// relative drop. The gate for code that got slower everywhere.
    public var throughputRelative: Double
    /// The same ratio for one cell: allowed relative drop. Looser, because one
    /// cell's timing carries the full noise of a shared machine.
    public var throughputCellRelative: Double
    /// On a fingerprint the baseline does not know: the probability that an
    /// honest run fails the statistical accuracy comparison, for the whole check
    /// (split evenly over its comparisons). docs/results-format.md derives it.
    public var falseAlarmRate: Double
    /// The statistical comparison's spread of the evaluation loss is never taken
    /// below this fraction of its mean: the loss of honest runs has a heavy right
    /// tail (BN at batch 2), which a standard deviation from a few dozen runs
    /// underrates. docs/results-format.md shows the measurements.
    public var lossSpreadFloorRelative: Double

    public init(errorClips: Double = 0, mAPAbsolute: Double = 0, evalLossRelative: Double = 0, ledgerBytes: Int = 0, throughputRelative: Double = 0.30, throughputCellRelative: Double = 0.50, falseAlarmRate: Double = 0.01, lossSpreadFloorRelative: Double = 0.05) {
        self.errorClips = errorClips
        self.mAPAbsolute = mAPAbsolute
        self.evalLossRelative = evalLossRelative
        self.ledgerBytes = ledgerBytes
        self.throughputRelative = throughputRelative
        self.throughputCellRelative = throughputCellRelative
        self.falseAlarmRate = falseAlarmRate
        self.lossSpreadFloorRelative = lossSpreadFloorRelative
    }

    public static let standard = CheckTolerances()
}
