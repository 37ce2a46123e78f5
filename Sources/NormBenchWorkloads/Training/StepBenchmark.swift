import Dispatch
import NormBenchEngine

/// One cell's training step on synthetic input, timed: what `normbench bench
/// train` measures for every cell of a workload's sweep.
///
/// The step is the one `TrainingLoop` takes: the task's model (`makeModel`)
/// with the cell's normalization and grouping, SGD with the workload's
/// momentum and weight decay, `cell.microBatches` micro-batches per step
/// (W workers simulated, or one micro-batch of W × batch for SyncBN), each
/// assembled from a clip bank (`BatchAssembler`, the same copy and
/// normalization as training) and run through the task's `microStep`
/// (forward, loss, backward), gradients accumulated, one update. Only the
/// clips differ: an in-memory bank of random pixels at the workload's clip
/// shape (`clip.size`, one window of `clip.frames` frames `clip.stride` apart),
/// labels cycling over the classes, one box per frame for detection. No data
/// set is generated, decoded or read, so the step time does not depend on one.
public final class StepBenchmark {
    public let cell: CellSettings
    /// Clips one optimizer step takes: W × batch.
    public let samplesPerStep: Int
    let spec: WorkloadSpec
    let task: any WorkloadTask
    let model: Sequential
    let trainer: TrainingStep
    let bank: ClipBank
    let assembler: BatchAssembler
    let sampler: TrainingSampler
    var generator: SeededGenerator

    /// The learning rate of the timed steps. Small, so that the weights of a
    /// model trained on noise stay finite over many steps; the update costs the
    /// same at any rate.
    public static let learningRate: Float = 1e-3

    /// Builds the cell's model and synthetic clips (`seed`: the initial weights and the pixels).
    public init(spec: WorkloadSpec, cell: CellSettings) throws {
        self.spec = spec
        self.cell = cell
        let task = spec.task.implementation
        self.task = task
        let model = try Parallel.withThreads(cell.threads) { try task.makeModel(spec, norm: cell.norm, seed: UInt64(cell.seed)) }
        self.model = model
        trainer = TrainingStep(optimizer: SGD(
            parameters: model.parameters, momentum: Float(spec.training.momentum),
            weightDecay: Float(spec.training.weightDecay), decayNormalization: spec.training.weightDecayNorm))
        samplesPerStep = cell.batch * cell.workers
        bank = ClipBank.synthetic(spec: spec, clips: samplesPerStep, seed: UInt64(cell.seed))
        assembler = BatchAssembler(frames: spec.clip.frames, stride: spec.clip.stride, mean: spec.clip.mean, std: spec.clip.std)
        sampler = TrainingSampler(spec: spec)
        generator = SeededGenerator(seed: UInt64(cell.seed) &+ 0x5EED)
    }

    /// The input shape of one micro-batch, N×T×H×W×C.
    public var microBatchShape: [Int] {
        [samplesPerStep / cell.microBatches, spec.clip.frames, spec.clip.size, spec.clip.size, 3]
    }

    /// Runs `warmup` untimed steps, then `timed` timed steps, on the cell's threads.
    /// - Returns: the wall time of each timed step, seconds.
    /// - Throws: `TrainingError.diverged` when a step's loss is not finite.
    public func run(warmup: Int, timed: Int) throws -> [Double] {
        try Parallel.withThreads(cell.threads) {
            for _ in 0..<warmup { _ = try step() }
            var seconds: [Double] = []
            seconds.reserveCapacity(timed)
            for _ in 0..<timed {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try step()
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            return seconds
        }
    }

    /// One optimizer step over every clip of the bank, as `TrainingLoop` runs it.
    private func step() throws -> Double {
        let microBatches = cell.microBatches
        let perMicroBatch = samplesPerStep / microBatches
        let loss = trainer.run(learningRate: Self.learningRate) {
            TrainingStep.accumulate(microBatches) { m, scale in
                let samples = (0..<perMicroBatch).map { k in sampler.sample(m * perMicroBatch + k, of: bank, &generator) }
                let input = StepProfiler.shared.measure(.other) { assembler.assemble(samples, from: bank) }
                return task.microStep(model, spec, samples: samples, input: input, from: bank, lossScale: scale)
            }
        }
        guard loss.isFinite else { throw TrainingError.diverged(step: 0, loss: loss) }
        return loss
    }
}

extension ClipBank {
    /// `clips` clips of random pixels at the workload's clip shape: `clip.size`²,
    /// exactly one window's frames (`clip.span`); labels cycle over the classes;
    /// every frame has one box (a square over the middle of the frame) of the
    /// clip's label. For timing only: nothing here is learnable.
    static func synthetic(spec: WorkloadSpec, clips: Int, seed: UInt64) -> ClipBank {
        let size = spec.clip.size, frames = spec.clip.span
        var g = SeededGenerator(seed: seed &+ 0xB3_4C4D)
        let data: [[UInt8]] = (0..<clips).map { _ in
            (0..<(frames * size * size * 3)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        }
        let labels = (0..<clips).map { $0 % max(spec.classes, 1) }
        let lo = Double(size) / 3, hi = Double(size) * 2 / 3
        let boxes = labels.map { label in
            [[SyntheticRenderer.Box]](repeating: [SyntheticRenderer.Box(x0: lo, y0: lo, x1: hi, y1: hi, label: label)], count: frames)
        }
        return ClipBank(size: size, labels: labels, boxes: boxes, skipped: [], decodeSeconds: 0, clips: data)
    }
}
