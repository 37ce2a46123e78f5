import Foundation
import Testing
import NormBenchEngine
import NormBenchWorkloads
import NormBenchTestSupport

@Suite struct CenterNetHeadTests {
    let head = CenterNetHead(classes: 2, stride: 4)
    let boxes: [[[SyntheticRenderer.Box]]] = [[
        [SyntheticRenderer.Box(x0: 4, y0: 8, x1: 20, y1: 20, label: 1)],
        [SyntheticRenderer.Box(x0: 10, y0: 2, x1: 22, y1: 14, label: 0), SyntheticRenderer.Box(x0: 1, y0: 17, x1: 9, y1: 31, label: 1)],
    ]]

    @Test func targetsMarkCentresSizesAndOffsets() {
        let t = head.targets(boxes, h: 8, w: 8)
        #expect(t.objects == 3)
        // First box: centre (12, 14) px → cell (3, 3), offset (0, 0.5), size (4, 3) cells.
        let cell = (0 * 8 + 3) * 8 + 3
        #expect(t.mask[cell] == 1)
        #expect(t.heat[cell * 2 + 1] == 1)
        #expect(Array(t.box[(cell * 4)..<(cell * 4 + 4)]) == [4, 3, 0, 0.5])
        #expect(t.heat.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// A perfect prediction (targets as logits of ±large, exact sizes and offsets)
    /// decodes to the ground truth: mAP = 1 at every IoU threshold.
    @Test func decodingAPerfectOutputRecoversTheBoxes() {
        let t = head.targets(boxes, h: 8, w: 8)
        let out = Tensor(shape: [1, 2, 8, 8, head.channels], category: .workspace)
        for cell in 0..<(2 * 64) {
            for c in 0..<2 { out.data[cell * head.channels + c] = t.heat[cell * 2 + c] == 1 ? 8 : -8 + 4 * t.heat[cell * 2 + c] }
            for j in 0..<4 { out.data[cell * head.channels + 2 + j] = t.box[cell * 4 + j] }
        }
        let decoded = head.decode(out, topK: 5)
        var detections: [DetectionMetrics.Box] = [], truths: [DetectionMetrics.Box] = []
        for f in 0..<2 {
            detections += decoded[0][f].map { var d = $0; d.image = f; return d }
            truths += boxes[0][f].map { DetectionMetrics.Box(image: f, label: $0.label, x0: $0.x0, y0: $0.y0, x1: $0.x1, y1: $0.y1) }
        }
        let s = DetectionMetrics.summary(detections: detections, truths: truths)
        #expect(s.mAP50 == 1 && s.mAP == 1, "mAP@0.5 \(s.mAP50), mAP \(s.mAP)")
    }

    /// The analytic gradient of the loss against central differences in Double.
    @Test func lossGradientMatchesFiniteDifferences() {
        let t = head.targets(boxes, h: 8, w: 8)
        #expect(t.objects == 3)
        let shape = [1, 2, 8, 8, head.channels]
        var g = SeededGenerator(seed: 3)
        let x0 = (0..<shape.reduce(1, *)).map { _ in Double(g.nextNormal()) * 1.5 }
        let out = Tensor(shape: shape, category: .workspace)
        let grad = Tensor(shape: shape, category: .workspace)
        for i in 0..<out.count { out.data[i] = Float(x0[i]) }
        _ = head.loss(out, t, grad: grad)
        // Reference: the loss evaluated in Float by the same code, differentiated numerically (h large enough for Float).
        let numeric = centralDifference(x0, step: 1e-2) { x in
            for i in 0..<out.count { out.data[i] = Float(x[i]) }
            return head.loss(out, t, grad: nil)
        }
        var worst = 0.0
        for i in 0..<out.count {
            // L1 terms have kinks at 0: skip elements within the step of one.
            let c = i % head.channels
            if c >= 2, abs(x0[i] - Double(t.box[(i / head.channels) * 4 + c - 2])) < 0.05 { continue }
            worst = max(worst, abs(Double(grad.data[i]) - numeric[i]) / (1e-3 + abs(numeric[i])))
        }
        #expect(worst < 2e-2, "max relative gradient error \(worst)")
    }
}

@Suite struct TrainingPlanTests {
    @Test func stepsLearningRateAndOrder() {
        var t = TrainingSpec()
        t.epochs = 3
        t.baseLR = 0.1
        t.referenceBatch = 16
        t.warmupSteps = 4
        let plan = TrainingPlan(training: t, trainClips: 64, batch: 4, workers: 2)
        #expect(plan.samplesPerStep == 8)
        #expect(plan.steps == 24)
        #expect(abs(Double(plan.schedule.base) - 0.05) < 1e-7)  // 0.1 × 8 / 16
        #expect(plan.schedule.rate(at: 0) < plan.schedule.rate(at: 4))
        #expect(plan.schedule.rate(at: 23) < plan.schedule.rate(at: 12))
        let order = TrainingPlan.order(clips: 10, samples: 25, seed: 5)
        #expect(order == TrainingPlan.order(clips: 10, samples: 25, seed: 5))
        #expect(order != TrainingPlan.order(clips: 10, samples: 25, seed: 6))
        // Every epoch is a permutation.
        #expect(Set(order[0..<10]) == Set(0..<10) && Set(order[10..<20]) == Set(0..<10))
    }
}
