/// How far each kind of metric may move before `normbench check` calls it a
/// regression. Stored in the baseline file, so a baseline can be tuned by hand;
/// docs/results-format.md explains the defaults.
public struct CheckTolerances: Codable, Sendable, Equatable {
    /// Classification error (top-1, top-5): allowed worsening in evaluation
    /// clips (absolute = clips / evalClips). Fixed seeds and threads give
    /// bitwise-identical training on one build and CPU, so the expected change
    /// is 0; one clip absorbs a borderline clip flipping after a harmless change
    /// of summation order. Baselines are per machine class, not portable across CPUs.
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

    public init(errorClips: Double = 1, mAPAbsolute: Double = 0.01, evalLossRelative: Double = 0.01, ledgerBytes: Int = 0, throughputRelative: Double = 0.30, throughputCellRelative: Double = 0.50) {
        self.errorClips = errorClips
        self.mAPAbsolute = mAPAbsolute
        self.evalLossRelative = evalLossRelative
        self.ledgerBytes = ledgerBytes
        self.throughputRelative = throughputRelative
        self.throughputCellRelative = throughputCellRelative
    }

    public static let standard = CheckTolerances()
}
