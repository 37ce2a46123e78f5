import Dispatch
import NormBenchEngine

/// Trains and evaluates `DetectionModel` for one cell of a detection workload.
///
/// Steps, workers, SyncBN and data order work as in `ClassificationRun`. Each
/// sample is `clip.frames` consecutive frames (`clip.stride` apart) with their
/// boxes; evaluation decodes the centre window of every clip and scores every
/// (clip, frame) as one image: mAP@0.5 and mAP@[.5:.95].
public enum DetectionRun {
    public static func run(
        spec: WorkloadSpec, cell: CellSettings, train: ClipBank, eval: ClipBank,
        progress: (CellProgress) -> Void = { _ in }
    ) throws -> CellMeasurement {
        let clip = spec.clip
        let classes = spec.data.synthetic.classes
        let assembler = BatchAssembler(frames: clip.frames, stride: clip.stride, mean: clip.mean, std: clip.std)
        let model = try DetectionModel.make(
            widths: spec.model.widths, classes: classes, normalization: cell.norm,
            zeroInitLastGamma: spec.model.zeroInitLastGamma, seed: UInt64(cell.seed))
        let head = CenterNetHead(classes: classes, stride: DetectionModel.stride)
        let optimizer = SGD(
            parameters: model.parameters, momentum: Float(spec.training.momentum),
            weightDecay: Float(spec.training.weightDecay), decayNormalization: spec.training.weightDecayNorm)
        let plan = TrainingPlan(training: spec.training, trainClips: train.count, batch: cell.batch, workers: cell.workers)
        let order = TrainingPlan.order(clips: train.count, samples: plan.steps * plan.samplesPerStep, seed: cell.seed)
        var g = SeededGenerator(seed: UInt64(cell.seed) &+ 0x5EED)
        let maxStart = train.framesPerClip - assembler.span
        let microBatches = cell.norm.method == .syncBatchNorm ? 1 : cell.workers
        let perMicroBatch = plan.samplesPerStep / microBatches
        let grid = clip.size / DetectionModel.stride

        func boxes(_ bank: ClipBank, _ s: BatchAssembler.Sample) -> [[SyntheticRenderer.Box]] {
            (0..<clip.frames).map { bank.boxes[s.clip][s.start + $0 * clip.stride] }
        }

        var meter = CellMeter()
        var lossCurve: [(Int, Double)] = []
        var stepSeconds: [Double] = []
        for step in 0..<plan.steps {
            if step == plan.warmupSteps { meter.startMeasuring() }
            let t0 = DispatchTime.now().uptimeNanoseconds
            StepProfiler.shared.measure(.optimizer) { optimizer.zeroGradients() }
            var loss = 0.0
            for m in 0..<microBatches {
                let samples = (0..<perMicroBatch).map { k in
                    BatchAssembler.Sample(clip: order[step * plan.samplesPerStep + m * perMicroBatch + k], start: Int(g.next() % UInt64(maxStart + 1)))
                }
                let input = StepProfiler.shared.measure(.other) { assembler.assemble(samples, from: train) }
                let targets = StepProfiler.shared.measure(.loss) { head.targets(samples.map { boxes(train, $0) }, h: grid, w: grid) }
                let output = model.forward(input, mode: .training)
                let grad = Tensor(shape: output.shape, category: .workspace)
                loss += StepProfiler.shared.measure(.loss) {
                    head.loss(output, targets, grad: grad, scale: 1 / Float(microBatches))
                } / Double(microBatches)
                _ = model.backward(grad)
            }
            StepProfiler.shared.measure(.optimizer) { optimizer.step(learningRate: plan.schedule.rate(at: step)) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            guard loss.isFinite else { throw TrainingError.diverged(step: step, loss: loss) }
            lossCurve.append((step, loss))
            if step >= plan.warmupSteps { stepSeconds.append(seconds) }
            let measured = stepSeconds.reduce(0, +)
            progress(CellProgress(
                step: step + 1, steps: plan.steps, loss: loss,
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

        let evalStart = (eval.framesPerClip - assembler.span) / 2
        var detections: [DetectionMetrics.Box] = []
        var truths: [DetectionMetrics.Box] = []
        var lossSum = 0.0
        let t0 = DispatchTime.now().uptimeNanoseconds
        for first in stride(from: 0, to: eval.count, by: 8) {
            let samples = (first..<min(first + 8, eval.count)).map { BatchAssembler.Sample(clip: $0, start: evalStart) }
            let output = model.forward(assembler.assemble(samples, from: eval), mode: .evaluation)
            let sampleBoxes = samples.map { boxes(eval, $0) }
            lossSum += head.loss(output, head.targets(sampleBoxes, h: grid, w: grid), grad: nil) * Double(samples.count)
            let decoded = head.decode(output)
            for (i, s) in samples.enumerated() {
                for f in 0..<clip.frames {
                    let image = s.clip * clip.frames + f
                    detections += decoded[i][f].map { var d = $0; d.image = image; return d }
                    truths += sampleBoxes[i][f].map { DetectionMetrics.Box(image: image, label: $0.label, x0: $0.x0, y0: $0.y0, x1: $0.x1, y1: $0.y1) }
                }
            }
        }
        let evalSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let summary = DetectionMetrics.summary(detections: detections, truths: truths)
        return CellMeasurement(
            mAP50: summary.mAP50, mAP: summary.mAP, evalLoss: lossSum / Double(max(eval.count, 1)),
            lossCurve: lossCurve, steps: plan.steps, epochs: plan.epochs, samplesPerStep: plan.samplesPerStep,
            peakLearningRate: Double(plan.schedule.base), stepSeconds: stepSeconds,
            evalClipsPerSecond: Double(eval.count) / max(evalSeconds, 1e-9),
            convolutionSeconds: time.convolution, normalizationSeconds: time.normalization, otherSeconds: time.other,
            ledger: time.ledger, processPeakBytes: time.processPeak)
    }
}
