import NormBenchEngine

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

extension DetectionMetrics {
    /// The IoU thresholds of `summary`: 0.5, 0.55, ..., 0.95.
    public static let thresholds = (0..<10).map { 0.5 + 0.05 * Double($0) }

    /// Whether each detection is a true positive at `iouThreshold`, matched as
    /// `averagePrecision` matches them (per class, by score, ties in input order),
    /// indexed like `detections`.
    public static func truePositives(detections: [Box], truths: [Box], iouThreshold: Double) -> [Bool] {
        var flags = [Bool](repeating: false, count: detections.count)
        var truthsByKey: [Int: [Int: [Int]]] = [:]  // label → image → truth indices
        for (i, t) in truths.enumerated() { truthsByKey[t.label, default: [:]][t.image, default: []].append(i) }
        var matched = [Bool](repeating: false, count: truths.count)
        let order = detections.indices.sorted { detections[$0].score > detections[$1].score || (detections[$0].score == detections[$1].score && $0 < $1) }
        for k in order {
            let d = detections[k]
            var best = -1
            var bestIoU = iouThreshold
            for t in truthsByKey[d.label]?[d.image] ?? [] where !matched[t] {
                let v = iou(d, truths[t])
                if v >= bestIoU && (best < 0 || v > bestIoU) {
                    best = t
                    bestIoU = v
                }
            }
            if best >= 0 {
                matched[best] = true
                flags[k] = true
            }
        }
        return flags
    }
}

/// A percentile bootstrap of mAP@0.5 and mAP@[.5:.95] over evaluation clips.
///
/// A resample draws `clips` clips with replacement; a clip drawn m times brings
/// its images' detections and ground truths m times, and mAP is computed on that
/// set exactly as `DetectionMetrics.summary` would compute it on the copies.
/// Greedy matching never crosses images, so each detection's true-positive flag
/// at each IoU threshold is fixed by its own clip: the flags are computed once
/// and each class's detections sorted once by score (ties in input order). A
/// resample then weights every detection by how often its clip was drawn (the m
/// copies of a detection are adjacent in that order and share its flag):
/// one pass sums the weights in score order, and per threshold a walk over the
/// true positives alone gives each one's precision (true-positive weight so far
/// ÷ all weight so far) and its recall step (weight ÷ ground truths drawn).
/// Precision rises along the copies of one true positive, so AP's envelope needs
/// only the precision after the last copy. Detections after a class's last true
/// positive cannot change an AP and are dropped.
/// The interval of each metric is the ⌈B·α/2⌉-th and ⌈B·(1 − α/2)⌉-th smallest of
/// the B resampled values: with B = 1000 and 95 %, the 25th and the 975th.
public struct DetectionBootstrap: Sendable {
    /// One class: its detections in score order (each one's clip), the positions
    /// in that order of the true positives at each IoU threshold, and its ground truths per clip.
    struct ClassList: Sendable {
        var clip: [Int32]
        var truePositives: [[Int32]]
        var truthsPerClip: [Int32]
    }

    public let clips: Int
    let classes: [ClassList]

    /// - Parameters:
    ///   - clipOf: the evaluation clip of an image (`Box.image`), in `0..<clips`.
    public init(detections: [DetectionMetrics.Box], truths: [DetectionMetrics.Box], clips: Int, clipOf: (Int) -> Int) {
        self.clips = clips
        let labels = Set(truths.map(\.label)).sorted()
        var lists: [ClassList] = []
        for c in labels {
            let dets = detections.filter { $0.label == c }
            let gts = truths.filter { $0.label == c }
            let flags = DetectionMetrics.thresholds.map { DetectionMetrics.truePositives(detections: dets, truths: gts, iouThreshold: $0) }
            var order = dets.indices.sorted { dets[$0].score > dets[$1].score || (dets[$0].score == dets[$1].score && $0 < $1) }
            let last = order.lastIndex { k in flags.contains { $0[k] } }
            order = last.map { Array(order[...$0]) } ?? []
            var perClip = [Int32](repeating: 0, count: clips)
            for g in gts { perClip[clipOf(g.image)] += 1 }
            lists.append(ClassList(
                clip: order.map { Int32(clipOf(dets[$0].image)) },
                truePositives: flags.map { f in order.indices.filter { f[order[$0]] }.map(Int32.init) },
                truthsPerClip: perClip))
        }
        classes = lists
    }

    /// mAP@0.5 and mAP@[.5:.95] with clip k counted `weights[k]` times (all 1:
    /// the point estimate, equal to `DetectionMetrics.summary` up to rounding).
    public func summary(weights: [Int32]) -> (mAP50: Double, mAP: Double) {
        var sum50 = 0.0, sumAll = 0.0, counted = 0
        var cumulative: [Int32] = []
        var gains: [Int32] = [], precisions: [Double] = []
        weights.withUnsafeBufferPointer { w in
            for list in classes {
                var n: Int32 = 0
                for (k, g) in list.truthsPerClip.enumerated() where g > 0 { n += g * w[k] }
                guard n > 0 else { continue }
                counted += 1
                // Weight of all detections up to and including each position, in score order.
                cumulative.removeAll(keepingCapacity: true)
                var total: Int32 = 0
                for c in list.clip {
                    total += w[Int(c)]
                    cumulative.append(total)
                }
                for (t, positives) in list.truePositives.enumerated() {
                    gains.removeAll(keepingCapacity: true)
                    precisions.removeAll(keepingCapacity: true)
                    var tp: Int32 = 0
                    for i in positives {
                        let m = w[Int(list.clip[Int(i)])]
                        if m == 0 { continue }
                        tp += m
                        gains.append(m)
                        precisions.append(Double(tp) / Double(cumulative[Int(i)]))
                    }
                    var weighted = 0.0, envelope = 0.0
                    for j in stride(from: gains.count - 1, through: 0, by: -1) {
                        envelope = max(envelope, precisions[j])
                        weighted += Double(gains[j]) * envelope
                    }
                    let ap = weighted / Double(n)
                    if t == 0 { sum50 += ap }
                    sumAll += ap
                }
            }
        }
        guard counted > 0 else { return (0, 0) }
        return (sum50 / Double(counted), sumAll / Double(counted * DetectionMetrics.thresholds.count))
    }

    /// The point estimate: every clip once.
    public var estimate: (mAP50: Double, mAP: Double) { summary(weights: [Int32](repeating: 1, count: clips)) }

    /// Percentile intervals from `resamples` resamples drawn with `SeededGenerator(seed:)`
    /// (clip = next() mod clips, so the same seed gives the same interval).
    public func interval(resamples: Int = 1000, seed: UInt64, confidence: Double = 0.95) -> MetricBootstrap {
        Self.interval(ofMedian: [self], resamples: resamples, seed: seed, confidence: confidence)
    }

    /// Intervals of the median over several evaluations of the same clips (the
    /// headline of `EvaluationProtocol`): each resample draws one set of clip
    /// weights, applies it to every evaluation, and keeps the median of their
    /// metrics, so the interval covers the statistic the record reports. One
    /// evaluation gives `interval(resamples:seed:confidence:)`.
    public static func interval(ofMedian sets: [DetectionBootstrap], resamples: Int = 1000, seed: UInt64, confidence: Double = 0.95) -> MetricBootstrap {
        let clips = sets.first?.clips ?? 0
        precondition(sets.allSatisfy { $0.clips == clips }, "evaluations of different clip sets")
        var g = SeededGenerator(seed: seed)
        var v50: [Double] = [], vAll: [Double] = []
        v50.reserveCapacity(resamples)
        vAll.reserveCapacity(resamples)
        var weights = [Int32](repeating: 0, count: clips)
        for _ in 0..<resamples where clips > 0 {
            for k in weights.indices { weights[k] = 0 }
            for _ in 0..<clips { weights[Int(g.next() % UInt64(clips))] += 1 }
            let s = sets.map { $0.summary(weights: weights) }
            v50.append(Quantiles.median(s.map(\.mAP50)))
            vAll.append(Quantiles.median(s.map(\.mAP)))
        }
        return MetricBootstrap(
            resamples: resamples, confidence: confidence, clips: clips, seed: seed,
            intervals: ["mAP50": percentiles(v50, confidence), "mAP": percentiles(vAll, confidence)])
    }

    /// The ⌈B·α/2⌉-th and ⌈B·(1 − α/2)⌉-th smallest values (1-based).
    static func percentiles(_ values: [Double], _ confidence: Double) -> [Double] {
        guard !values.isEmpty else { return [] }
        let s = values.sorted(), b = Double(s.count), alpha = 1 - confidence
        let lo = max(0, Int((b * alpha / 2).rounded(.up)) - 1)
        let hi = min(s.count - 1, max(0, Int((b * (1 - alpha / 2)).rounded(.up)) - 1))
        return [s[lo], s[hi]]
    }
}

/// A bootstrap interval per metric over evaluation clips (one cell, one evaluation).
public struct MetricBootstrap: Sendable, Equatable {
    public var resamples: Int
    public var confidence: Double
    public var clips: Int
    public var seed: UInt64
    /// Metric name → [lower, upper].
    public var intervals: [String: [Double]]

    public init(resamples: Int, confidence: Double, clips: Int, seed: UInt64, intervals: [String: [Double]]) {
        self.resamples = resamples
        self.confidence = confidence
        self.clips = clips
        self.seed = seed
        self.intervals = intervals
    }

    /// The seed of a cell's bootstrap: fixed by the cell's seed, so a record is reproducible.
    public static func seed(cellSeed: Int) -> UInt64 { UInt64(truncatingIfNeeded: cellSeed) &+ 0xB007_5EED }

    /// Resamples of every detection cell's bootstrap.
    public static let defaultResamples = 1000
}
