import NormBenchEngine

/// One label per clip: a ResNet3D classifier (global average pool and linear
/// after the `model.architecture` backbone), softmax cross-entropy,
/// top-1 (and, with more than 5 classes, top-5) error.
public struct ClassificationTask: WorkloadTask {
    public init() {}

    public static let metrics = [
        Metric(name: "top1Error", column: "top1_error", title: "top-1 error", isFraction: true, higherIsBetter: false, tolerance: .errorClips),
        Metric(name: "top5Error", column: "top5_error", title: "top-5 error", isFraction: true, higherIsBetter: false, tolerance: .errorClips),
    ]

    public func makeModel(_ spec: WorkloadSpec, norm: NormalizationSpec, seed: UInt64) throws -> Sequential {
        try ResNet3D.classifier(spec.resNetConfig(seed: seed), normalization: norm, downsampling: spec.model.architecture.downsampling)
    }

    public func microStep(
        _ model: Sequential, _ spec: WorkloadSpec, samples: [BatchAssembler.Sample], input: Tensor, from bank: ClipBank, lossScale: Float
    ) -> Double {
        TrainingStep.classify(model, MicroBatch(input: input, labels: samples.map { bank.labels[$0.clip] }), lossScale: lossScale).loss
    }

    public func evaluate(_ model: Sequential, _ spec: WorkloadSpec, eval: ClipBank, pass: EvaluationPass) -> TaskEvaluation {
        let classes = spec.classes
        var scores: [Float] = []
        var lossSum = 0.0
        let speed = pass.run(eval, batch: 16) { samples, input in
            let logits = model.forward(input, mode: .evaluation)
            let labels = samples.map { eval.labels[$0.clip] }
            lossSum += Losses.softmaxCrossEntropy(logits: logits, labels: labels, gradLogits: nil).loss * Double(samples.count)
            scores += logits.array
        }
        var metrics = ["top1Error": ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: classes, k: 1)]
        if classes > 5 { metrics["top5Error"] = ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: classes, k: 5) }
        return TaskEvaluation(metrics: metrics, loss: lossSum / Double(max(eval.count, 1)), clipsPerSecond: speed)
    }
}
