import Dispatch
import NormBenchEngine

/// Trains and evaluates the reference ResNet3D-tiny for one cell of a
/// classification workload.
///
/// Each step takes W × batch samples: W micro-batches of `batch` (each worker's
/// forward/backward with its own BN statistics, gradients accumulated, one SGD
/// step). SyncBN's statistics span all W workers, which the single-process
/// simulation computes exactly by running the step as one micro-batch of
/// W × batch (BatchNorm over the concatenation = SyncBN; see the normalization
/// tests). The same seed gives the same initial weights and data order in every
/// cell of a sweep.
public enum ClassificationRun {
    public static func run(
        spec: WorkloadSpec, cell: CellSettings, train: ClipBank, eval: ClipBank,
        progress: (CellProgress) -> Void = { _ in }
    ) throws -> CellMeasurement {
        let clip = spec.clip
        let assembler = BatchAssembler(frames: clip.frames, stride: clip.stride, mean: clip.mean, std: clip.std)
        let config = ResNet3DConfig(
            frames: clip.frames, height: clip.size, width: clip.size, widths: spec.model.widths,
            depths: spec.model.blocks, classes: spec.data.synthetic.classes,
            zeroInitLastNorm: spec.model.zeroInitLastGamma, seed: UInt64(cell.seed))
        let model = try ResNet3D.classifier(config, normalization: cell.norm)
        let optimizer = SGD(
            parameters: model.parameters, momentum: Float(spec.training.momentum),
            weightDecay: Float(spec.training.weightDecay), decayNormalization: spec.training.weightDecayNorm)
        let trainer = ClassifierTrainer(model: model, optimizer: optimizer)
        let plan = TrainingPlan(training: spec.training, trainClips: train.count, batch: cell.batch, workers: cell.workers)
        let order = TrainingPlan.order(clips: train.count, samples: plan.steps * plan.samplesPerStep, seed: cell.seed)
        var g = SeededGenerator(seed: UInt64(cell.seed) &+ 0x5EED)
        let maxStart = train.framesPerClip - assembler.span
        let microBatches = cell.norm.method == .syncBatchNorm ? 1 : cell.workers
        let perMicroBatch = plan.samplesPerStep / microBatches

        var meter = CellMeter()
        var lossCurve: [(Int, Double)] = []
        var stepSeconds: [Double] = []
        for step in 0..<plan.steps {
            if step == plan.warmupSteps { meter.startMeasuring() }
            let t0 = DispatchTime.now().uptimeNanoseconds
            var batches: [MicroBatch] = []
            for m in 0..<microBatches {
                let samples = (0..<perMicroBatch).map { k -> BatchAssembler.Sample in
                    let clipIndex = order[step * plan.samplesPerStep + m * perMicroBatch + k]
                    return .init(clip: clipIndex, start: Int(g.next() % UInt64(maxStart + 1)), flip: clip.flip && g.next() & 1 == 1)
                }
                let input = StepProfiler.shared.measure(.other) { assembler.assemble(samples, from: train) }
                batches.append(MicroBatch(input: input, labels: samples.map { train.labels[$0.clip] }))
            }
            let result = trainer.step(batches, learningRate: plan.schedule.rate(at: step))
            batches.removeAll()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            guard result.loss.isFinite else {
                throw TrainingError.diverged(step: step, loss: result.loss)
            }
            lossCurve.append((step, result.loss))
            if step >= plan.warmupSteps { stepSeconds.append(seconds) }
            let measured = stepSeconds.reduce(0, +)
            progress(CellProgress(
                step: step + 1, steps: plan.steps, loss: result.loss,
                clipsPerSecond: measured > 0 ? Double(stepSeconds.count * plan.samplesPerStep) / measured : 0))
        }
        let time = meter.stop()

        if spec.training.preciseBNBatches > 0 && cell.norm.method.usesBatchStatistics {
            let batches = spec.training.preciseBNBatches
            let precise = TrainingPlan.order(clips: train.count, samples: batches * cell.batch, seed: cell.seed + 1)
            PreciseBN.recompute(layers: model.leaves, batches: batches) { k in
                let samples = (0..<cell.batch).map { BatchAssembler.Sample(clip: precise[k * cell.batch + $0], start: maxStart / 2) }
                _ = model.forward(assembler.assemble(samples, from: train), mode: .training)
            }
        }

        // Evaluation: the centre window of every clip, in batches of 16.
        let evalStart = (eval.framesPerClip - assembler.span) / 2
        var scores: [Float] = []
        var lossSum = 0.0
        let t0 = DispatchTime.now().uptimeNanoseconds
        for first in stride(from: 0, to: eval.count, by: 16) {
            let idx = Array(first..<min(first + 16, eval.count))
            let input = assembler.assemble(idx.map { .init(clip: $0, start: evalStart) }, from: eval)
            let labels = idx.map { eval.labels[$0] }
            let logits = trainer.evaluate(input)
            lossSum += Losses.softmaxCrossEntropy(logits: logits, labels: labels, gradLogits: nil).loss * Double(idx.count)
            scores += logits.array
        }
        let evalSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let classes = spec.data.synthetic.classes
        return CellMeasurement(
            top1Error: ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: classes, k: 1),
            top5Error: classes > 5 ? ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: classes, k: 5) : nil,
            evalLoss: lossSum / Double(max(eval.count, 1)),
            lossCurve: lossCurve, steps: plan.steps, epochs: plan.epochs, samplesPerStep: plan.samplesPerStep,
            peakLearningRate: Double(plan.schedule.base), stepSeconds: stepSeconds,
            evalClipsPerSecond: Double(eval.count) / max(evalSeconds, 1e-9),
            convolutionSeconds: time.convolution, normalizationSeconds: time.normalization, otherSeconds: time.other,
            ledger: time.ledger, processPeakBytes: time.processPeak)
    }
}

/// Training failures that are the data's or the settings' fault, not a bug.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case diverged(step: Int, loss: Double)

    public var description: String {
        switch self {
        case let .diverged(step, loss):
            return "training diverged at step \(step) (loss \(loss)); lower training.baseLR or raise training.warmupSteps"
        }
    }
}

/// Ledger, high-water mark and per-kind time over the measured part of a cell.
struct CellMeter {
    struct Result {
        var convolution = 0.0, normalization = 0.0, other = 0.0
        var ledger: MemoryLedger.Snapshot
        var processPeak: Int?
    }

    init() {
        MemoryLedger.shared.reset()
        ProcessMemory.resetHighWaterMark()
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
            ledger: MemoryLedger.shared.snapshot(), processPeak: ProcessMemory.highWaterMark())
    }
}

extension Layer {
    /// This layer's leaf layers, depth first (a container's children, recursively).
    public var leaves: [any Layer] {
        switch self {
        case let s as Sequential: return s.layers.flatMap(\.leaves)
        case let r as ResidualBlock: return r.branch.leaves + (r.shortcut?.leaves ?? [])
        default: return [self]
        }
    }
}
