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
    let plan: TrainingPlan

    init(spec: WorkloadSpec, cell: CellSettings, train: ClipBank) {
        self.spec = spec
        self.cell = cell
        self.train = train
        assembler = BatchAssembler(frames: spec.clip.frames, stride: spec.clip.stride, mean: spec.clip.mean, std: spec.clip.std)
        plan = TrainingPlan(training: spec.training, trainClips: train.count, batch: cell.batch, workers: cell.workers)
    }

    /// First frame of a training sample's window (`clip.sampling`).
    func trainingStart(_ g: inout SeededGenerator) -> Int {
        spec.clip.sampling.trainingStart(clipFrames: train.framesPerClip, span: assembler.span) { g.next() }
    }

    struct Outcome {
        var lossCurve: [(step: Int, loss: Double)]
        var stepSeconds: [Double]
        var meter: CellMeter.Result
        var collective: CollectiveMeasurement? = nil
        var finalState: [Float]? = nil
    }

    /// Trains the cell. With `options.dataParallel` this process is worker
    /// `rank` of W ranks: it draws the step's samples exactly as the simulation
    /// does and keeps its own share (samples rank·b ..< (rank + 1)·b), runs one
    /// micro-batch with loss scale 1/W, and `DataParallelStep` exchanges the loss,
    /// the running statistics and the gradients before the same SGD update runs
    /// on every rank.
    func run(
        model: Sequential, options: CellRunOptions = CellRunOptions(), progress: (CellProgress) -> Void,
        microStep: ([BatchAssembler.Sample], Float) throws -> Double
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
        let flip = spec.clip.flip

        var meter = CellMeter()
        var lossCurve: [(Int, Double)] = []
        var stepSeconds: [Double] = []
        for step in 0..<plan.steps {
            if step == plan.warmupSteps { meter.startMeasuring() }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let loss = try trainer.run(learningRate: plan.schedule.rate(at: step)) {
                if let parallel {
                    parallel.beginStep()
                    let all = (0..<plan.samplesPerStep).map { k -> BatchAssembler.Sample in
                        .init(clip: order[step * plan.samplesPerStep + k], start: trainingStart(&g), flip: flip && g.next() & 1 == 1)
                    }
                    let rank = parallel.communicator.rank
                    let local = try microStep(Array(all[(rank * cell.batch)..<((rank + 1) * cell.batch)]), 1 / Float(cell.workers))
                    return parallel.finishStep(localLoss: local, measure: step >= plan.warmupSteps)
                }
                return try TrainingStep.accumulate(microBatches) { m, scale in
                    let samples = (0..<perMicroBatch).map { k -> BatchAssembler.Sample in
                        let clip = order[step * plan.samplesPerStep + m * perMicroBatch + k]
                        return .init(clip: clip, start: trainingStart(&g), flip: flip && g.next() & 1 == 1)
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
        }
        let result = meter.stop()
        parallel?.detach()

        if spec.training.preciseBNBatches > 0 && cell.norm.method.usesBatchStatistics {
            let batches = spec.training.preciseBNBatches
            let precise = TrainingPlan.order(clips: train.count, samples: batches * cell.batch, seed: cell.seed + 1)
            let start = spec.clip.sampling.evaluationStart(clipFrames: train.framesPerClip, span: assembler.span)
            PreciseBN.recompute(model: model, batches: batches) { k in
                let samples = (0..<cell.batch).map { BatchAssembler.Sample(clip: precise[k * cell.batch + $0], start: start) }
                _ = model.forward(assembler.assemble(samples, from: train), mode: .training)
            }
        }
        return Outcome(
            lossCurve: lossCurve, stepSeconds: stepSeconds, meter: result, collective: parallel?.measurement(),
            finalState: options.keepFinalState ? ModelState.values(of: model) : nil)
    }

    /// The measurement record of a finished cell.
    func measurement(_ o: Outcome, evaluation e: TaskEvaluation) -> CellMeasurement {
        CellMeasurement(
            metrics: e.metrics, evalLoss: e.loss, lossCurve: o.lossCurve, steps: plan.steps, epochs: plan.epochs,
            samplesPerStep: plan.samplesPerStep, peakLearningRate: Double(plan.schedule.base), stepSeconds: o.stepSeconds,
            evalClipsPerSecond: e.clipsPerSecond,
            convolutionSeconds: o.meter.convolution, normalizationSeconds: o.meter.normalization, otherSeconds: o.meter.other,
            ledger: o.meter.ledger, processPeakBytes: o.meter.processPeak,
            residentAtStartBytes: o.meter.residentAtStart, ledgerAtStartBytes: o.meter.ledgerAtStart, collective: o.collective, finalState: o.finalState)
    }
}

/// The evaluation clips' windows (`clip.sampling`: the centre window, or the
/// first), cut in batches for a task's `evaluate`.
public struct EvaluationPass {
    let assembler: BatchAssembler
    let sampling: ClipSpec.Sampling

    init(spec: WorkloadSpec) {
        assembler = BatchAssembler(frames: spec.clip.frames, stride: spec.clip.stride, mean: spec.clip.mean, std: spec.clip.std)
        sampling = spec.clip.sampling
    }

    /// Runs `body` over every evaluation clip's window in batches of `batch`.
    /// - Returns: clips per second of the median batch after the first (which
    ///   creates the convolution primitives for the evaluation shapes), or of the
    ///   first when it is the only one. A median, because an evaluation pass is
    ///   short and one preempted batch would move a mean.
    public func run(_ eval: ClipBank, batch: Int, _ body: ([BatchAssembler.Sample], Tensor) -> Void) -> Double {
        let start = sampling.evaluationStart(clipFrames: eval.framesPerClip, span: assembler.span)
        var rates: [Double] = []
        for first in stride(from: 0, to: eval.count, by: batch) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let samples = (first..<min(first + batch, eval.count)).map { BatchAssembler.Sample(clip: $0, start: start) }
            body(samples, assembler.assemble(samples, from: eval))
            rates.append(Double(samples.count) / max(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, 1e-9))
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
    }

    private let residentAtStart: Int?
    private let ledgerAtStart: Int

    init() {
        // Freed tensor blocks and heap pages kept from earlier cells would be reused
        // without growing the resident size, so the ledger's growth would not show in it.
        ProcessMemory.returnFreedMemory()
        MemoryLedger.current.reset()
        ProcessMemory.resetHighWaterMark()
        residentAtStart = ProcessMemory.resident()
        ledgerAtStart = MemoryLedger.current.snapshot().liveTotal
        StepProfiler.shared.reset()
    }

    /// Starts the time measurement (after warm-up); memory counts from init.
    mutating func startMeasuring() { StepProfiler.shared.reset() }

    func stop() -> Result {
        let s = StepProfiler.shared.seconds()
        return Result(
            convolution: (s[.convolutionForward] ?? 0) + (s[.convolutionBackwardData] ?? 0) + (s[.convolutionBackwardWeights] ?? 0),
            normalization: s[.normalization] ?? 0,
            other: (s[.other] ?? 0) + (s[.loss] ?? 0) + (s[.optimizer] ?? 0),
            ledger: MemoryLedger.current.snapshot(), processPeak: ProcessMemory.highWaterMark(),
            residentAtStart: residentAtStart, ledgerAtStart: ledgerAtStart)
    }
}
