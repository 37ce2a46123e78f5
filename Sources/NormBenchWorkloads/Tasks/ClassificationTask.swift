import Foundation
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
        var windowClips: [Int] = []
        let speed = pass.run(eval, batch: 16) { samples, input in
            let logits = model.forward(input, mode: .evaluation)
            if pass.views == 1 {
                let labels = samples.map { eval.labels[$0.clip] }
                lossSum += Losses.softmaxCrossEntropy(logits: logits, labels: labels, gradLogits: nil).loss * Double(samples.count)
            }
            scores += logits.array
            windowClips += samples.map(\.clip)
        }
        var loss = lossSum / Double(max(eval.count, 1))
        if pass.views > 1 {
            (scores, loss) = Self.averageViews(logits: scores, clips: windowClips, labels: eval.labels, classes: classes)
        }
        var metrics = ["top1Error": ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: classes, k: 1)]
        if classes > 5 { metrics["top5Error"] = ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: classes, k: 5) }
        let predictions = ClassificationMetrics.predictions(scores: scores, labels: eval.labels, classes: classes)
        return TaskEvaluation(metrics: metrics, loss: loss, clipsPerSecond: speed, predictions: predictions)
    }

    /// Multi-view testing: each window's softmax, averaged over the windows of
    /// its clip. `logits` holds one row of `classes` per window, `clips[w]` is
    /// window w's clip (every clip of `labels` has at least one window).
    /// - Returns: one row of averaged probabilities per clip (what top-1 and
    ///   top-5 rank), and the mean over clips of −log(averaged probability of the label).
    public static func averageViews(logits: [Float], clips: [Int], labels: [Int], classes: Int) -> (scores: [Float], loss: Double) {
        precondition(logits.count == clips.count * classes, "averageViews: \(logits.count) logits for \(clips.count) windows × \(classes) classes")
        var sums = [Double](repeating: 0, count: labels.count * classes)
        var views = [Int](repeating: 0, count: labels.count)
        for (w, clip) in clips.enumerated() {
            let row = logits[(w * classes)..<((w + 1) * classes)].map(Double.init)
            let top = row.max() ?? 0
            let e = row.map { exp($0 - top) }
            let total = e.reduce(0, +)
            for c in 0..<classes { sums[clip * classes + c] += e[c] / total }
            views[clip] += 1
        }
        var loss = 0.0
        for (clip, label) in labels.enumerated() {
            precondition(views[clip] > 0, "averageViews: clip \(clip) has no window")
            for c in 0..<classes { sums[clip * classes + c] /= Double(views[clip]) }
            loss -= log(Swift.max(sums[clip * classes + label], Double.leastNormalMagnitude))
        }
        return (sums.map(Float.init), loss / Double(Swift.max(labels.count, 1)))
    }
}
