/// Mean average precision, computed the standard way.
///
/// Per class: detections sorted by score (ties keep input order), each matched
/// greedily to the unmatched ground-truth box of the same image with the highest
/// IoU, a match when IoU ≥ threshold; precision made monotone from the right
/// (the envelope), then integrated over every recall step (all-point
/// interpolation, as VOC2010+ and COCO's per-threshold AP without the
/// 101-point sampling). mAP averages over classes that have ground truth.
public enum DetectionMetrics {
    /// An axis-aligned box `[x0, x1) × [y0, y1)` in one image (e.g. one frame of one clip).
    public struct Box: Sendable, Equatable {
        public var image: Int
        public var label: Int
        public var x0, y0, x1, y1: Double
        /// Confidence (detections only).
        public var score: Double

        public init(image: Int, label: Int, x0: Double, y0: Double, x1: Double, y1: Double, score: Double = 1) {
            self.image = image
            self.label = label
            self.x0 = x0
            self.y0 = y0
            self.x1 = x1
            self.y1 = y1
            self.score = score
        }

        var area: Double { max(0, x1 - x0) * max(0, y1 - y0) }
    }

    /// Intersection over union of two boxes (0 when both are empty).
    public static func iou(_ a: Box, _ b: Box) -> Double {
        let w = min(a.x1, b.x1) - max(a.x0, b.x0)
        let h = min(a.y1, b.y1) - max(a.y0, b.y0)
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        return inter / (a.area + b.area - inter)
    }

    /// Average precision of one class at one IoU threshold.
    public static func averagePrecision(detections: [Box], truths: [Box], iouThreshold: Double) -> Double {
        guard !truths.isEmpty else { return 0 }
        var truthsByImage: [Int: [Int]] = [:]
        for (i, t) in truths.enumerated() { truthsByImage[t.image, default: []].append(i) }
        var matched = [Bool](repeating: false, count: truths.count)
        let order = detections.indices.sorted { detections[$0].score > detections[$1].score || (detections[$0].score == detections[$1].score && $0 < $1) }
        var tp = 0.0, fp = 0.0
        var precision: [Double] = [], recall: [Double] = []
        for d in order.map({ detections[$0] }) {
            var best = -1
            var bestIoU = iouThreshold
            for t in truthsByImage[d.image] ?? [] where !matched[t] {
                let v = iou(d, truths[t])
                if v >= bestIoU && (best < 0 || v > bestIoU) {
                    best = t
                    bestIoU = v
                }
            }
            if best >= 0 {
                matched[best] = true
                tp += 1
            } else {
                fp += 1
            }
            precision.append(tp / (tp + fp))
            recall.append(tp / Double(truths.count))
        }
        // Envelope: precision at recall r is the best precision at any recall ≥ r.
        var ap = 0.0
        var envelope = 0.0
        for i in stride(from: precision.count - 1, through: 0, by: -1) {
            envelope = max(envelope, precision[i])
            let previousRecall = i > 0 ? recall[i - 1] : 0
            ap += (recall[i] - previousRecall) * envelope
        }
        return ap
    }

    /// mAP over classes with ground truth, at one IoU threshold.
    public static func meanAveragePrecision(detections: [Box], truths: [Box], iouThreshold: Double) -> Double {
        let classes = Set(truths.map(\.label)).sorted()
        guard !classes.isEmpty else { return 0 }
        let aps = classes.map { c in
            averagePrecision(detections: detections.filter { $0.label == c }, truths: truths.filter { $0.label == c }, iouThreshold: iouThreshold)
        }
        return aps.reduce(0, +) / Double(aps.count)
    }

    /// mAP@0.5 and mAP averaged over IoU 0.5, 0.55, ..., 0.95 (COCO's primary metric).
    public static func summary(detections: [Box], truths: [Box]) -> (mAP50: Double, mAP: Double) {
        let thresholds = (0..<10).map { 0.5 + 0.05 * Double($0) }
        let maps = thresholds.map { meanAveragePrecision(detections: detections, truths: truths, iouThreshold: $0) }
        return (maps[0], maps.reduce(0, +) / Double(maps.count))
    }
}

/// Classification error rates.
public enum ClassificationMetrics {
    /// Fraction of samples whose label is not among the `k` highest scores.
    /// - Parameters:
    ///   - scores: `labels.count × classes` logits or probabilities, row-major.
    public static func topKError(scores: [Float], labels: [Int], classes: Int, k: Int) -> Double {
        precondition(scores.count == labels.count * classes, "topKError: \(scores.count) scores for \(labels.count) samples × \(classes) classes")
        guard !labels.isEmpty else { return 0 }
        var wrong = 0
        for (i, label) in labels.enumerated() {
            let row = scores[(i * classes)..<((i + 1) * classes)]
            let target = row[row.startIndex + label]
            // Rank = how many classes score strictly higher (ties count in the sample's favour).
            let higher = row.filter { $0 > target }.count
            if higher >= k { wrong += 1 }
        }
        return Double(wrong) / Double(labels.count)
    }

    /// The predicted class of each sample: the highest score; a tie that includes
    /// the label counts as the label (as `topKError` counts it), other ties take the
    /// lowest class. So `predictions[i] == labels[i]` exactly for the samples top-1 counts right.
    public static func predictions(scores: [Float], labels: [Int], classes: Int) -> [Int] {
        precondition(scores.count == labels.count * classes, "predictions: \(scores.count) scores for \(labels.count) samples × \(classes) classes")
        return labels.enumerated().map { i, label in
            let row = scores[(i * classes)..<((i + 1) * classes)]
            let top = row.max() ?? 0
            if row[row.startIndex + label] >= top { return label }
            return (row.firstIndex { $0 >= top } ?? row.startIndex) - row.startIndex
        }
    }

    /// Counts by (true class, predicted class): row = label, column = prediction.
    public static func confusion(labels: [Int], predictions: [Int], classes: Int) -> [[Int]] {
        precondition(labels.count == predictions.count, "confusion: \(labels.count) labels, \(predictions.count) predictions")
        var m = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (t, p) in zip(labels, predictions) { m[t][p] += 1 }
        return m
    }
}
