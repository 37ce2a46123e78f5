import Testing
import NormBenchWorkloads

typealias B = DetectionMetrics.Box

@Suite struct DetectionMetricsTests {
    @Test func iouOfKnownBoxes() {
        let a = B(image: 0, label: 0, x0: 0, y0: 0, x1: 10, y1: 10)
        #expect(DetectionMetrics.iou(a, a) == 1)
        #expect(DetectionMetrics.iou(a, B(image: 0, label: 0, x0: 5, y0: 0, x1: 15, y1: 10)) == 50.0 / 150.0)
        #expect(DetectionMetrics.iou(a, B(image: 0, label: 0, x0: 10, y0: 0, x1: 20, y1: 10)) == 0)
    }

    @Test func perfectDetectionsGiveOne() {
        let truths = [B(image: 0, label: 0, x0: 0, y0: 0, x1: 10, y1: 10), B(image: 1, label: 1, x0: 5, y0: 5, x1: 20, y1: 20)]
        let s = DetectionMetrics.summary(detections: truths, truths: truths)
        #expect(s.mAP50 == 1 && s.mAP == 1)
    }

    /// Hand-computed: 3 truths in 2 images, 4 detections sorted by score
    /// TP, FP, TP, FP -> precision 1, 1/2, 2/3, 2/4 at recall 1/3, 1/3, 2/3, 2/3.
    /// Envelope: 1 up to recall 1/3, 2/3 up to 2/3 -> AP = 1/3·1 + 1/3·2/3 = 5/9.
    @Test func handComputedAveragePrecision() {
        let truths = [
            B(image: 0, label: 0, x0: 0, y0: 0, x1: 10, y1: 10),
            B(image: 0, label: 0, x0: 20, y0: 20, x1: 30, y1: 30),
            B(image: 1, label: 0, x0: 0, y0: 0, x1: 10, y1: 10),
        ]
        let detections = [
            B(image: 0, label: 0, x0: 0, y0: 0, x1: 10, y1: 10, score: 0.9),    // TP
            B(image: 0, label: 0, x0: 0, y0: 0, x1: 10, y1: 10, score: 0.8),    // FP: duplicate
            B(image: 1, label: 0, x0: 1, y0: 0, x1: 11, y1: 10, score: 0.7),    // TP: IoU 90/110
            B(image: 1, label: 0, x0: 50, y0: 50, x1: 60, y1: 60, score: 0.6),  // FP
        ]
        let ap = DetectionMetrics.averagePrecision(detections: detections, truths: truths, iouThreshold: 0.5)
        #expect(abs(ap - 5.0 / 9.0) < 1e-12, "AP \(ap), expected 5/9")
        // At IoU 0.85 the shifted box (IoU 0.818) no longer matches: TP, FP, FP, FP -> AP = 1/3.
        let strict = DetectionMetrics.averagePrecision(detections: detections, truths: truths, iouThreshold: 0.85)
        #expect(abs(strict - 1.0 / 3.0) < 1e-12, "AP \(strict), expected 1/3")
    }

    @Test func classesWithoutTruthDoNotCountAndWrongClassMisses() {
        let truths = [B(image: 0, label: 0, x0: 0, y0: 0, x1: 10, y1: 10), B(image: 0, label: 1, x0: 20, y0: 20, x1: 30, y1: 30)]
        let detections = [
            B(image: 0, label: 0, x0: 0, y0: 0, x1: 10, y1: 10, score: 0.9),
            B(image: 0, label: 0, x0: 20, y0: 20, x1: 30, y1: 30, score: 0.8),  // right box, wrong class
            B(image: 0, label: 2, x0: 0, y0: 0, x1: 5, y1: 5, score: 0.5),      // class without truth: ignored
        ]
        // Class 0: AP 1 (the FP comes after full recall); class 1: AP 0.
        #expect(DetectionMetrics.meanAveragePrecision(detections: detections, truths: truths, iouThreshold: 0.5) == 0.5)
    }
}

@Suite struct ClassificationMetricsTests {
    @Test func topKError() {
        let scores: [Float] = [
            0.1, 0.7, 0.2,  // label 1: top-1 right
            0.5, 0.3, 0.2,  // label 2: last -> wrong at k=1 and k=2
            0.3, 0.4, 0.3,  // label 0: second (tie with class 2 counts in its favour)
        ]
        #expect(ClassificationMetrics.topKError(scores: scores, labels: [1, 2, 0], classes: 3, k: 1) == 2.0 / 3.0)
        #expect(ClassificationMetrics.topKError(scores: scores, labels: [1, 2, 0], classes: 3, k: 2) == 1.0 / 3.0)
        #expect(ClassificationMetrics.topKError(scores: scores, labels: [1, 2, 0], classes: 3, k: 3) == 0)
    }
}
