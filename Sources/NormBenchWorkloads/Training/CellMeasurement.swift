import NormBenchEngine

/// One cell: every setting that varies across a sweep, in one value. The
/// record's key (`CellKey`) is derived from it; training reads it; nothing else
/// carries a copy.
public struct CellSettings: Sendable, Equatable {
    /// The normalization, with the cell's grouping applied.
    public var norm: NormalizationSpec
    /// The method as the sweep lists it (`sweep.norms`), for the record.
    public var normName: String
    /// The grouping (methods with groups), nil otherwise.
    public var groups: GroupSetting?
    /// Samples per worker.
    public var batch: Int
    /// Data-parallel workers W (simulated in one process, or MPI ranks).
    public var workers: Int
    public var seed: Int
    /// Threads of the engine and of oneDNN for this cell.
    public var threads: Int
    /// Start from the seeded random initialization even when the workload has
    /// `model.init` (a from-scratch reference cell, `sweep.scratch`).
    public var scratch = false

    public init(norm: NormalizationSpec, normName: String? = nil, groups: GroupSetting? = nil, batch: Int, workers: Int, seed: Int, threads: Int, scratch: Bool = false) {
        self.scratch = scratch
        self.norm = norm
        self.normName = normName ?? norm.name
        self.groups = groups
        self.batch = batch
        self.workers = workers
        self.seed = seed
        self.threads = threads
    }

    /// Micro-batches per step in the single-process simulation: one per worker,
    /// or one of W × batch when the method's statistics span the workers.
    public var microBatches: Int { norm.method.runsAsOneMicroBatch ? 1 : workers }

    /// Samples in the largest micro-batch a process holds: what its memory follows.
    public var samplesPerMicroBatch: Int { batch * workers / microBatches }
}

/// What training and evaluating one cell measured.
public struct CellMeasurement: Sendable {
    /// The task's metrics by `Metric.name`: the median of the last evaluations.
    public var metrics: [String: Double]
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
    /// Bytes in the tensor allocator's blocks (tensors' and cached, `TensorAllocator.held`)
    /// when the cell started, and their high-water mark over the cell.
    public var allocatorAtStartBytes: Int = 0
    public var allocatorPeakBytes: Int = 0
    /// Data-parallel runs: what the collectives cost.
    public var collective: CollectiveMeasurement? = nil
    /// The trained model's state, when `CellRunOptions.keepFinalState` asked for it.
    public var finalState: [Float]? = nil
    /// The SHA-256 of the checkpoint written to `CellRunOptions.checkpointPath`, when one was.
    public var checkpointSHA256: String? = nil
    /// Every evaluation, in order; `metrics` and `evalLoss` are their medians
    /// (`EvaluationProtocol`).
    public var evaluations: [EvaluationRun] = []
    /// The PreciseBN medians (metrics and `evalLoss`), when every evaluation had them.
    public var precise: [String: Double]? = nil
    /// Classification, the last evaluation with EMA statistics: every evaluation
    /// clip's label and predicted class, in clip order, and the confusion matrix
    /// (row = label, column = prediction; only up to `Limits.confusionClasses` classes).
    public var labels: [Int]? = nil
    public var predictions: [Int]? = nil
    public var confusion: [[Int]]? = nil
    /// Channels per group of every grouped normalization layer, in forward order.
    public var channelsPerGroup: [Int]? = nil
    /// Detection: percentile bootstrap intervals over the evaluation clips of the
    /// headline metrics, the median of the last evaluations (EMA statistics;
    /// `DetectionBootstrap.interval(ofMedian:)`).
    public var bootstrap: MetricBootstrap? = nil
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
