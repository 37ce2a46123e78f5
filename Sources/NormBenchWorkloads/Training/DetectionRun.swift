import NormBenchEngine

/// Trains and evaluates `DetectionModel` for one cell of a detection workload.
///
/// Steps, workers, SyncBN and data order work as in `ClassificationRun`. Each
/// sample is `clip.frames` consecutive frames (`clip.stride` apart) with their
/// boxes; evaluation decodes the centre window of every clip and scores every
/// (clip, frame) as one image: mAP@0.5 and mAP@[.5:.95].
public enum DetectionRun {
    public static func run(
        spec: WorkloadSpec, cell: CellSettings, train: ClipBank, eval: ClipBank, options: CellRunOptions = CellRunOptions(),
        progress: (CellProgress) -> Void = { _ in }
    ) throws -> CellMeasurement {
        let c = spec.clip
        let model = try DetectionModel.make(
            widths: spec.model.widths, classes: spec.classes, normalization: cell.norm,
            zeroInitLastGamma: spec.model.zeroInitLastGamma, seed: UInt64(cell.seed))
        let head = CenterNetHead(classes: spec.classes, stride: DetectionModel.stride)
        let grid = c.size / DetectionModel.stride
        func boxes(_ bank: ClipBank, _ s: BatchAssembler.Sample) -> [[SyntheticRenderer.Box]] {
            (0..<c.frames).map { bank.boxes[s.clip][s.start + $0 * c.stride] }
        }

        let loop = TrainingLoop(spec: spec, cell: cell, train: train)
        let outcome = try loop.run(model: model, options: options, progress: progress) { samples, scale in
            let input = StepProfiler.shared.measure(.other) { loop.assembler.assemble(samples, from: train) }
            let targets = StepProfiler.shared.measure(.loss) { head.targets(samples.map { boxes(train, $0) }, h: grid, w: grid) }
            let output = model.forward(input, mode: .training)
            let grad = Tensor(shape: output.shape, category: .workspace)
            let loss = StepProfiler.shared.measure(.loss) { head.loss(output, targets, grad: grad, scale: scale) }
            _ = model.backward(grad)
            return loss
        }

        // Every (clip, frame) of the evaluation windows is one image for mAP.
        var detections: [DetectionMetrics.Box] = []
        var truths: [DetectionMetrics.Box] = []
        var lossSum = 0.0
        let evalSpeed = loop.evaluate(eval, batch: 8) { samples, input in
            let output = model.forward(input, mode: .evaluation)
            let sampleBoxes = samples.map { boxes(eval, $0) }
            lossSum += head.loss(output, head.targets(sampleBoxes, h: grid, w: grid), grad: nil) * Double(samples.count)
            let decoded = head.decode(output)
            for (i, s) in samples.enumerated() {
                for f in 0..<c.frames {
                    let image = s.clip * c.frames + f
                    detections += decoded[i][f].map { var d = $0; d.image = image; return d }
                    truths += sampleBoxes[i][f].map { DetectionMetrics.Box(image: image, label: $0.label, x0: $0.x0, y0: $0.y0, x1: $0.x1, y1: $0.y1) }
                }
            }
        }
        let summary = DetectionMetrics.summary(detections: detections, truths: truths)
        var m = loop.measurement(outcome, evalLoss: lossSum / Double(max(eval.count, 1)), evalClipsPerSecond: evalSpeed)
        m.mAP50 = summary.mAP50
        m.mAP = summary.mAP
        return m
    }
}
