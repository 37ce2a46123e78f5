/// How far each kind of metric may move before `normbench check` calls it a
/// regression. Stored in the baseline file, so a baseline can be tuned by hand;
/// docs/results-format.md explains the defaults.
public struct CheckTolerances: Codable, Sendable, Equatable {
    /// Classification error (top-1, top-5): allowed worsening in evaluation
    /// clips (absolute = clips / evalClips). Fixed seeds and threads give
    /// bitwise-identical training on one build and CPU, so the expected change
    /// is 0; one clip absorbs a borderline clip flipping on a CPU where oneDNN
    /// picks another kernel (different float rounding).
    public var errorClips: Double
    /// Detection mAP (@0.5 and @0.5:0.95): allowed drop, absolute fraction.
    public var mAPAbsolute: Double
    /// Mean evaluation loss: allowed relative increase.
    public var evalLossRelative: Double
    /// Engine ledger peak (total and per category): allowed growth in bytes.
    /// The ledger counts tensor allocations, independent of timing: exact.
    public var ledgerBytes: Int
    /// Throughput normalised by the same run's calibration: allowed relative drop.
    public var throughputRelative: Double

    public init(errorClips: Double = 1, mAPAbsolute: Double = 0.01, evalLossRelative: Double = 0.01, ledgerBytes: Int = 0, throughputRelative: Double = 0.30) {
        self.errorClips = errorClips
        self.mAPAbsolute = mAPAbsolute
        self.evalLossRelative = evalLossRelative
        self.ledgerBytes = ledgerBytes
        self.throughputRelative = throughputRelative
    }

    public static let standard = CheckTolerances()
}
