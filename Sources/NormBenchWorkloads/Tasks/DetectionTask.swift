import NormBenchEngine

/// Boxes per frame: `ResNet3D.dense` with a CenterNet-style head
/// (`CenterNetHead`). Each sample is `clip.frames` frames (`clip.stride` apart)
/// with their boxes; evaluation scores every (clip, frame) of the evaluation
/// windows as one image: mAP@0.5 and mAP@[.5:.95], and the same detections
/// prepared for a bootstrap over clips (`DetectionBootstrap`).
public struct DetectionTask: WorkloadTask {
    public init() {}

    public static let metrics = [
        Metric(name: "mAP50", column: "map50", title: "mAP@0.5", isFraction: true, higherIsBetter: true, tolerance: .absolute),
        Metric(name: "mAP", column: "map", title: "mAP@0.5:0.95", isFraction: true, higherIsBetter: true, tolerance: .absolute),
    ]

    public func makeModel(_ spec: WorkloadSpec, norm: NormalizationSpec, seed: UInt64) throws -> Sequential {
        try ResNet3D.dense(spec.resNetConfig(seed: seed), outputs: head(spec).channels, heatmaps: spec.classes, normalization: norm)
    }

    func head(_ spec: WorkloadSpec) -> CenterNetHead { CenterNetHead(classes: spec.classes, stride: ResNet3D.denseStride) }

    /// The boxes of a sample's frames.
    func boxes(_ spec: WorkloadSpec, _ bank: ClipBank, _ s: BatchAssembler.Sample) -> [[SyntheticRenderer.Box]] {
        (0..<spec.clip.frames).map { bank.boxes[s.clip][s.start + $0 * spec.clip.stride] }
    }

    public func microStep(
        _ model: Sequential, _ spec: WorkloadSpec, samples: [BatchAssembler.Sample], input: Tensor, from bank: ClipBank, lossScale: Float
    ) -> Double {
        let head = head(spec), grid = spec.clip.size / ResNet3D.denseStride
        let targets = StepProfiler.shared.measure(.loss) { head.targets(samples.map { boxes(spec, bank, $0) }, h: grid, w: grid) }
        let output = model.forward(input, mode: .training)
        let grad = Tensor(shape: output.shape, category: .workspace)
        let loss = StepProfiler.shared.measure(.loss) { head.loss(output, targets, grad: grad, scale: lossScale) }
        _ = model.backward(grad)
        return loss
    }

    public func evaluate(_ model: Sequential, _ spec: WorkloadSpec, eval: ClipBank, pass: EvaluationPass) -> TaskEvaluation {
        let head = head(spec), grid = spec.clip.size / ResNet3D.denseStride, frames = spec.clip.frames
        var detections: [DetectionMetrics.Box] = []
        var truths: [DetectionMetrics.Box] = []
        var lossSum = 0.0
        let speed = pass.run(eval, batch: 8) { samples, input in
            let output = model.forward(input, mode: .evaluation)
            let sampleBoxes = samples.map { boxes(spec, eval, $0) }
            lossSum += head.loss(output, head.targets(sampleBoxes, h: grid, w: grid), grad: nil) * Double(samples.count)
            let decoded = head.decode(output)
            for (i, s) in samples.enumerated() {
                for f in 0..<frames {
                    let image = s.clip * frames + f
                    detections += decoded[i][f].map { var d = $0; d.image = image; return d }
                    truths += sampleBoxes[i][f].map { DetectionMetrics.Box(image: image, label: $0.label, x0: $0.x0, y0: $0.y0, x1: $0.x1, y1: $0.y1) }
                }
            }
        }
        let summary = DetectionMetrics.summary(detections: detections, truths: truths)
        let bootstrap = DetectionBootstrap(detections: detections, truths: truths, clips: eval.count) { $0 / frames }
        return TaskEvaluation(
            metrics: ["mAP50": summary.mAP50, "mAP": summary.mAP], loss: lossSum / Double(max(eval.count, 1)), clipsPerSecond: speed,
            bootstrap: bootstrap)
    }
}
