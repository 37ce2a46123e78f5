import Dispatch
import NormBenchEngine

/// The training loop every task shares: `cell.microBatches` micro-batches per
/// step (one for SyncBN, see `CellRun`), gradients accumulated, one SGD step;
/// step timing after warm-up, the ledger and per-kind time over the cell, progress.
/// The cell's own settings (batch, workers, seed, norm) come from `cell`; what
/// every cell of the workload shares (clip, optimizer, schedule) from `spec`.
///
/// The task supplies `microStep`: given one micro-batch's samples and the
/// factor 1/W for the loss gradient, run forward and backward (accumulating
/// into the parameters' gradients) and return the micro-batch's loss.
struct TrainingLoop {
    let spec: WorkloadSpec
    let cell: CellSettings
    let train: ClipBank
    let assembler: BatchAssembler
    let sampler: TrainingSampler
    let plan: TrainingPlan

    init(spec: WorkloadSpec, cell: CellSettings, train: ClipBank) {
        self.spec = spec
        self.cell = cell
        self.train = train
        assembler = BatchAssembler(frames: spec.clip.frames, stride: spec.clip.stride, mean: spec.clip.mean, std: spec.clip.std)
        sampler = TrainingSampler(spec: spec)
        plan = TrainingPlan(training: spec.training, trainClips: train.count, batch: cell.batch, workers: cell.workers)
    }

    struct Outcome {
        var lossCurve: [(step: Int, loss: Double)]
        var stepSeconds: [Double]
        var meter: CellMeter.Result
        var collective: CollectiveMeasurement? = nil
        var finalState: [Float]? = nil
        /// Every scheduled evaluation, in order (the last after the final step).
        var evaluations: [Evaluated] = []
    }

    /// One scheduled evaluation: after `step` completed steps, with the EMA
    /// running statistics and, with PreciseBN, with recomputed ones.
    struct Evaluated {
        var step: Int
        var ema: TaskEvaluation
        var precise: TaskEvaluation?
    }

    /// The completed-step counts after which the cell is evaluated (`EvaluationSchedule`).
    var evaluationSteps: [Int] {
        EvaluationSchedule.steps(totalSteps: plan.steps, evaluations: spec.training.evaluations, phase: spec.training.evaluationPhase)
    }

    /// Trains the cell, evaluating it (`evaluate`) after each step of
    /// `evaluationSteps`. With `options.dataParallel` this process is worker
    /// `rank` of W ranks: it draws the step's samples exactly as the simulation
    /// does and keeps its own share (samples rank·b ..< (rank + 1)·b), runs one
    /// micro-batch with loss scale 1/W, and `DataParallelStep` exchanges the loss,
    /// the running statistics and the gradients before the same SGD update runs
    /// on every rank.
    ///
    /// An evaluation before the last step leaves training as it was: it runs in
    /// evaluation mode (PreciseBN's training-mode forwards change only the running
    /// statistics, which are restored), draws nothing from the cell's generator,
    /// and its time and memory are kept out of the cell's measurement (`CellMeter.exclude`).
    func run(
        model: Sequential, options: CellRunOptions = CellRunOptions(), progress: (CellProgress) -> Void,
        microStep: ([BatchAssembler.Sample], Float) throws -> Double,
        evaluate: () -> TaskEvaluation
    ) throws -> Outcome {
        let trainer = TrainingStep(optimizer: SGD(
            parameters: model.parameters, momentum: Float(spec.training.momentum),
            weightDecay: Float(spec.training.weightDecay), decayNormalization: spec.training.weightDecayNorm))
        let order = TrainingPlan.order(clips: train.count, samples: plan.steps * plan.samplesPerStep, seed: cell.seed)
        var g = SeededGenerator(seed: UInt64(cell.seed) &+ 0x5EED)
        let parallel = options.dataParallel.map { communicator -> DataParallelStep in
            precondition(communicator.size == cell.workers, "TrainingLoop: \(communicator.size) ranks for W = \(cell.workers) workers")
            return DataParallelStep(model: model, communicator: communicator, method: cell.norm.method)
        }
        let microBatches = cell.microBatches
        let perMicroBatch = plan.samplesPerStep / microBatches
        let scheduled = Set(evaluationSteps.filter { $0 < plan.steps })

        var meter = CellMeter()
        var lossCurve: [(Int, Double)] = []
        var stepSeconds: [Double] = []
        var evaluations: [Evaluated] = []
        for step in 0..<plan.steps {
            if step == plan.warmupSteps { meter.startMeasuring() }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let loss = try trainer.run(learningRate: plan.schedule.rate(at: step)) {
                if let parallel {
                    parallel.beginStep()
                    let all = (0..<plan.samplesPerStep).map { k in sampler.sample(order[step * plan.samplesPerStep + k], of: train, &g) }
                    let rank = parallel.communicator.rank
                    let local = try microStep(Array(all[(rank * cell.batch)..<((rank + 1) * cell.batch)]), 1 / Float(cell.workers))
                    return parallel.finishStep(localLoss: local, measure: step >= plan.warmupSteps)
                }
                return try TrainingStep.accumulate(microBatches) { m, scale in
                    let samples = (0..<perMicroBatch).map { k in
                        sampler.sample(order[step * plan.samplesPerStep + m * perMicroBatch + k], of: train, &g)
                    }
                    return try microStep(samples, scale)
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            guard loss.isFinite else { throw TrainingError.diverged(step: step, loss: loss) }
            lossCurve.append((step, loss))
            if step >= plan.warmupSteps { stepSeconds.append(seconds) }
            let measured = stepSeconds.reduce(0, +)
            progress(CellProgress(
                step: step + 1, steps: plan.steps, epoch: Double((step + 1) * plan.samplesPerStep) / Double(max(train.count, 1)), loss: loss,
                clipsPerSecond: measured > 0 ? Double(stepSeconds.count * plan.samplesPerStep) / measured : 0))
            if scheduled.contains(step + 1) {
                meter.exclude {
                    parallel?.suspend()
                    evaluations.append(evaluateNow(model, after: step + 1, evaluate))
                    parallel?.resume()
                }
            }
        }
        let result = meter.stop()
        parallel?.detach()
        evaluations.append(evaluateNow(model, after: plan.steps, evaluate))
        return Outcome(
            lossCurve: lossCurve, stepSeconds: stepSeconds, meter: result, collective: parallel?.measurement(),
            finalState: options.keepFinalState ? ModelState.values(of: model) : nil, evaluations: evaluations)
    }

    /// Evaluates with the EMA running statistics; then, with PreciseBN, recomputes
    /// the statistics from `training.preciseBNBatches` batches of the cell's
    /// per-worker batch (the evaluation windows of clips drawn with seed + 1, the
    /// same every time), evaluates again and restores the EMA statistics bit for bit.
    func evaluateNow(_ model: Sequential, after step: Int, _ evaluate: () -> TaskEvaluation) -> Evaluated {
        let ema = evaluate()
        guard spec.training.preciseBNBatches > 0 && cell.norm.method.usesBatchStatistics else {
            return Evaluated(step: step, ema: ema, precise: nil)
        }
        let layers = NormalizationLayers.batchNorms(in: model)
        let saved = layers.map { (mean: $0.runningMean.array, variance: $0.runningVariance.array) }
        let batches = spec.training.preciseBNBatches
        let precise = TrainingPlan.order(clips: train.count, samples: batches * cell.batch, seed: cell.seed + 1)
        let sampling = spec.clip.sampling, span = assembler.span
        PreciseBN.recompute(model: model, batches: batches) { k in
            let samples = (0..<cell.batch).map { i in
                let clip = precise[k * cell.batch + i]
                return BatchAssembler.Sample(clip: clip, start: sampling.evaluationStart(clipFrames: train.frames(of: clip), span: span))
            }
            _ = model.forward(assembler.assemble(samples, from: train), mode: .training)
        }
        let recomputed = evaluate()
        for (bn, s) in zip(layers, saved) {
            _ = bn.runningMean.buffer.update(from: s.mean)
            _ = bn.runningVariance.buffer.update(from: s.variance)
        }
        return Evaluated(step: step, ema: ema, precise: recomputed)
    }

    /// The measurement record of a finished cell: the headline metrics are the
    /// medians of the last evaluations (`EvaluationProtocol`).
    func measurement(_ o: Outcome, classes: Int, labels: [Int], channelsPerGroup: [Int]?) -> CellMeasurement {
        func withLoss(_ e: TaskEvaluation) -> [String: Double] {
            e.metrics.merging([Metric.evalLoss.name: e.loss]) { a, _ in a }
        }
        let runs = o.evaluations.map { e in
            EvaluationRun(
                step: e.step, epoch: Double(e.step * plan.samplesPerStep) / Double(max(train.count, 1)),
                metrics: withLoss(e.ema), precise: e.precise.map(withLoss))
        }
        var headline = EvaluationProtocol.headline(runs.map(\.metrics))
        let evalLoss = headline.removeValue(forKey: Metric.evalLoss.name) ?? .nan
        let preciseRuns = runs.compactMap(\.precise)
        let last = o.evaluations.last
        let predictions = last?.ema.predictions
        var m = CellMeasurement(
            metrics: headline, evalLoss: evalLoss, lossCurve: o.lossCurve, steps: plan.steps, epochs: plan.epochs,
            samplesPerStep: plan.samplesPerStep, peakLearningRate: Double(plan.schedule.base), stepSeconds: o.stepSeconds,
            evalClipsPerSecond: last?.ema.clipsPerSecond ?? 0,
            convolutionSeconds: o.meter.convolution, normalizationSeconds: o.meter.normalization, otherSeconds: o.meter.other,
            ledger: o.meter.ledger, processPeakBytes: o.meter.processPeak,
            residentAtStartBytes: o.meter.residentAtStart, ledgerAtStartBytes: o.meter.ledgerAtStart,
            allocatorAtStartBytes: o.meter.allocatorAtStart, allocatorPeakBytes: o.meter.allocatorPeak,
            collective: o.collective, finalState: o.finalState)
        m.evaluations = runs
        m.precise = !preciseRuns.isEmpty && preciseRuns.count == runs.count ? EvaluationProtocol.headline(preciseRuns) : nil
        if let predictions, predictions.count == labels.count {
            m.labels = labels
            m.predictions = predictions
            if classes <= Limits.confusionClasses {
                m.confusion = ClassificationMetrics.confusion(labels: labels, predictions: predictions, classes: classes)
            }
        }
        m.channelsPerGroup = channelsPerGroup
        let sets = o.evaluations.suffix(EvaluationProtocol.window).compactMap(\.ema.bootstrap)
        if !sets.isEmpty {
            m.bootstrap = DetectionBootstrap.interval(
                ofMedian: sets, resamples: MetricBootstrap.defaultResamples, seed: MetricBootstrap.seed(cellSeed: cell.seed))
        }
        return m
    }
}

/// A training sample's window and flip: `clip.sampling` over the clip's own
/// length (random: a start uniform over `0...frames_i − span`), then the flip,
/// drawn from the cell's generator in that order (clips of one length draw
/// exactly as when the bank held one length for all).
public struct TrainingSampler: Sendable {
    let sampling: ClipSpec.Sampling
    let span: Int
    let flip: Bool

    public init(spec: WorkloadSpec) {
        sampling = spec.clip.sampling
        span = spec.clip.span
        flip = spec.clip.flip
    }

    /// A sample of clip `clip` of `bank`.
    public func sample(_ clip: Int, of bank: ClipBank, _ g: inout SeededGenerator) -> BatchAssembler.Sample {
        let start = sampling.trainingStart(clipFrames: bank.frames(of: clip), span: span) { g.next() }
        return .init(clip: clip, start: start, flip: flip && g.next() & 1 == 1)
    }
}

/// The evaluation clips' windows (`clip.sampling`: the centre window, or the
/// first; `clip.evalViews` windows spread over each clip), cut in batches for a
/// task's `evaluate`.
public struct EvaluationPass {
    let assembler: BatchAssembler
    let sampling: ClipSpec.Sampling
    /// Windows per evaluation clip (`clip.evalViews`).
    public let views: Int

    public init(spec: WorkloadSpec) {
        assembler = BatchAssembler(frames: spec.clip.frames, stride: spec.clip.stride, mean: spec.clip.mean, std: spec.clip.std)
        sampling = spec.clip.sampling
        views = spec.clip.evalViews
    }

    /// Every evaluation window of `eval`, clip by clip, `views` per clip in
    /// ascending start (`ClipSpec.Sampling.evaluationStarts`, over each clip's own length).
    public func windows(_ eval: ClipBank) -> [BatchAssembler.Sample] {
        (0..<eval.count).flatMap { clip in
            sampling.evaluationStarts(clipFrames: eval.frames(of: clip), span: assembler.span, views: views)
                .map { BatchAssembler.Sample(clip: clip, start: $0) }
        }
    }

    /// Runs `body` over every evaluation window (`windows`) in batches of `batch`.
    /// - Returns: clips per second (windows per second ÷ views) of the median batch
    ///   after the first (which creates the convolution primitives for the
    ///   evaluation shapes), or of the first when it is the only one. A median,
    ///   because an evaluation pass is short and one preempted batch would move a mean.
    public func run(_ eval: ClipBank, batch: Int, _ body: ([BatchAssembler.Sample], Tensor) -> Void) -> Double {
        let all = windows(eval)
        var rates: [Double] = []
        for first in stride(from: 0, to: all.count, by: batch) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let samples = Array(all[first..<min(first + batch, all.count)])
            body(samples, assembler.assemble(samples, from: eval))
            rates.append(Double(samples.count) / Double(views) / max(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, 1e-9))
        }
        if rates.count > 1 { rates.removeFirst() }
        return Quantiles.percentile(rates, 0.5)
    }
}

/// Ledger, high-water mark and per-kind time over the measured part of a cell.
struct CellMeter {
    struct Result {
        var convolution = 0.0, normalization = 0.0, other = 0.0
        var ledger: MemoryLedger.Snapshot
        var processPeak: Int?
        /// Resident bytes and the ledger's live total when the cell started.
        var residentAtStart: Int?
        var ledgerAtStart: Int
        /// Bytes in the tensor allocator's blocks (tensors' and cached) when the
        /// cell started, and their high-water mark over it.
        var allocatorAtStart: Int
        var allocatorPeak: Int
    }

    private let residentAtStart: Int?
    private let ledgerAtStart: Int
    private let allocatorAtStart: Int
    /// Profiler seconds measured before the last excluded phase (since `startMeasuring`).
    private var carried: [StepProfiler.Bucket: Double] = [:]
    /// The process high-water mark before the last excluded phase.
    private var processPeakBefore: Int?

    init() {
        // Freed tensor blocks and heap pages kept from earlier cells would be reused
        // without growing the resident size, so the ledger's growth would not show in it.
        ProcessMemory.returnFreedMemory()
        MemoryLedger.current.reset()
        ProcessMemory.resetHighWaterMark()
        residentAtStart = ProcessMemory.resident()
        ledgerAtStart = MemoryLedger.current.snapshot().liveTotal
        TensorAllocator.shared.resetHeldPeak()
        allocatorAtStart = TensorAllocator.shared.held
        StepProfiler.shared.reset()
    }

    /// Starts the time measurement (after warm-up); memory counts from init.
    mutating func startMeasuring() {
        StepProfiler.shared.reset()
        carried = [:]
    }

    /// Runs `body` (an evaluation in the middle of training) outside the
    /// measurement: its profiler time is dropped, the ledger's peaks go back to
    /// what they were before it (or the live values, if higher), and the process
    /// high-water mark is read before it and reset after it (freed memory returned first).
    mutating func exclude(_ body: () throws -> Void) rethrows {
        for (k, v) in StepProfiler.shared.seconds() { carried[k, default: 0] += v }
        let ledger = MemoryLedger.current.snapshot()
        let peak = ProcessMemory.highWaterMark()
        let allocatorPeak = TensorAllocator.shared.heldPeak
        defer {
            StepProfiler.shared.reset()
            MemoryLedger.current.restorePeaks(ledger)
            ProcessMemory.returnFreedMemory()
            TensorAllocator.shared.resetHeldPeak(to: allocatorPeak)
            if let peak { processPeakBefore = max(processPeakBefore ?? 0, peak) }
            ProcessMemory.resetHighWaterMark()
        }
        try body()
    }

    func stop() -> Result {
        var s = StepProfiler.shared.seconds()
        for (k, v) in carried { s[k, default: 0] += v }
        let processPeak = ProcessMemory.highWaterMark().map { max($0, processPeakBefore ?? 0) }
        return Result(
            convolution: (s[.convolutionForward] ?? 0) + (s[.convolutionBackwardData] ?? 0) + (s[.convolutionBackwardWeights] ?? 0),
            normalization: s[.normalization] ?? 0,
            other: (s[.other] ?? 0) + (s[.loss] ?? 0) + (s[.optimizer] ?? 0),
            ledger: MemoryLedger.current.snapshot(), processPeak: processPeak,
            residentAtStart: residentAtStart, ledgerAtStart: ledgerAtStart,
            allocatorAtStart: allocatorAtStart, allocatorPeak: TensorAllocator.shared.heldPeak)
    }
}
