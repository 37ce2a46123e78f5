import NormBenchEngine

/// One cell's settings: what varies across a sweep.
public struct CellSettings: Sendable, Equatable {
    public var norm: NormalizationSpec
    /// Samples per worker.
    public var batch: Int
    /// Simulated data-parallel workers.
    public var workers: Int
    public var seed: Int

    public init(norm: NormalizationSpec, batch: Int, workers: Int, seed: Int) {
        self.norm = norm
        self.batch = batch
        self.workers = workers
        self.seed = seed
    }
}

/// What training and evaluating one cell measured.
public struct CellMeasurement: Sendable {
    public var top1Error: Double? = nil
    public var top5Error: Double? = nil
    public var mAP50: Double? = nil
    public var mAP: Double? = nil
    public var evalLoss: Double
    /// (step, training loss), every step.
    public var lossCurve: [(step: Int, loss: Double)]
    public var steps: Int
    public var epochs: Double
    public var samplesPerStep: Int
    public var peakLearningRate: Double
    /// Wall time of every step after warm-up, seconds.
    public var stepSeconds: [Double]
    public var evalClipsPerSecond: Double
    /// Seconds after warm-up per `StepProfiler` bucket, plus batch assembly.
    public var convolutionSeconds: Double
    public var normalizationSeconds: Double
    public var otherSeconds: Double
    /// The ledger over training (reset when the cell starts).
    public var ledger: MemoryLedger.Snapshot
    /// Process high-water mark over the cell, when the system reports it.
    public var processPeakBytes: Int?
    /// Resident bytes when the cell started (after freed memory went back to the system).
    public var residentAtStartBytes: Int?
    /// The ledger's live total when the cell started (the model's parameters and state).
    public var ledgerAtStartBytes: Int = 0
    /// Data-parallel runs: what the collectives cost.
    public var collective: CollectiveMeasurement? = nil
    /// The trained model's state, when `CellRunOptions.keepFinalState` asked for it.
    public var finalState: [Float]? = nil
}

/// Progress of a cell, reported once per step.
public struct CellProgress: Sendable {
    public var step: Int
    public var steps: Int
    /// Epochs of the training clips done so far.
    public var epoch: Double
    public var loss: Double
    /// Training clips per second over the steps so far (after warm-up).
    public var clipsPerSecond: Double
}
