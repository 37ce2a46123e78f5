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
        spec: WorkloadSpec, cell: CellSettings, train: ClipBank, eval: ClipBank, options: CellRunOptions = CellRunOptions(),
        progress: (CellProgress) -> Void = { _ in }
    ) throws -> CellMeasurement {
        let c = spec.clip
        let classes = spec.classes
        let model = try ResNet3D.classifier(
            ResNet3DConfig(
                frames: c.frames, height: c.size, width: c.size, widths: spec.model.widths,
                depths: spec.model.blocks, classes: classes, zeroInitLastNorm: spec.model.zeroInitLastGamma,
                seed: UInt64(cell.seed)),
            normalization: cell.norm)
        let loop = TrainingLoop(spec: spec, cell: cell, train: train)
        let outcome = try loop.run(model: model, options: options, progress: progress) { samples, scale in
            let input = StepProfiler.shared.measure(.other) { loop.assembler.assemble(samples, from: train) }
            let logits = model.forward(input, mode: .training)
            let grad = Tensor(shape: logits.shape, category: .workspace)
            let (loss, _) = StepProfiler.shared.measure(.loss) {
                Losses.softmaxCrossEntropy(logits: logits, labels: samples.map { train.labels[$0.clip] }, gradLogits: grad, scale: scale)
            }
            _ = model.backward(grad)
            return loss
        }

        var scores: [Float] = []
        var lossSum = 0.0
        let evalSpeed = loop.evaluate(eval, batch: 16) { samples, input in
            let logits = model.forward(input, mode: .evaluation)
            let labels = samples.map { eval.labels[$0.clip] }
            lossSum += Losses.softmaxCrossEntropy(logits: logits, labels: labels, gradLogits: nil).loss * Double(samples.count)
            scores += logits.array
        }
        var m = loop.measurement(outcome, evalLoss: lossSum / Double(max(eval.count, 1)), evalClipsPerSecond: evalSpeed)
        m.top1Error = ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: classes, k: 1)
        if classes > 5 { m.top5Error = ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: classes, k: 5) }
        return m
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
