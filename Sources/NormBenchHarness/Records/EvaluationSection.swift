import Foundation
import NormBenchWorkloads

/// How a cell's accuracy was evaluated, and what the evaluations saw (optional
/// record section `evaluation`; records without it read as before).
///
/// ```json
/// "evaluation": {
///   "protocol": "median of last 5 of 5 evaluations",
///   "runs": [{"step": 400, "epoch": 10.0, "metrics": {"top1Error": 0.31}, "precise": {"top1Error": 0.30}}],
///   "precise": {"top1Error": 0.30},
///   "labels": [0, 3, 1], "predictions": [0, 2, 1],
///   "confusion": [[1, 0], [0, 1]]
/// }
/// ```
///
/// A detection cell has `bootstrap` instead of the per-clip classification fields:
///
/// ```json
/// "bootstrap": {"resamples": 1000, "confidence": 0.95, "clips": 128, "seed": 2953273069, "mAP50": [0.47, 0.55], "mAP": [0.21, 0.26]}
/// ```
public struct EvaluationSection: Codable, Sendable, Equatable {
    /// How the headline `accuracy` was taken from the evaluations, in words.
    public var `protocol`: String
    /// Every evaluation during training, in step order.
    public var runs: [Run]
    /// Headline metrics evaluated with precise batch statistics (PreciseBN:
    /// statistics recomputed over many training batches with the weights
    /// frozen) instead of the running averages; BN-family methods only.
    public var precise: [String: Double]?
    /// Ground-truth class per evaluation clip, in a fixed clip order.
    public var labels: [Int]?
    /// The predicted class per evaluation clip, same order as `labels`.
    public var predictions: [Int]?
    /// Confusion counts, rows true class, columns predicted class.
    public var confusion: [[Int]]?
    /// Detection: percentile bootstrap intervals over the evaluation clips of the
    /// last evaluation (EMA statistics); absent for other tasks and in older records.
    public var bootstrap: Bootstrap?

    /// `{"resamples": 1000, "confidence": 0.95, "clips": 128, "seed": 2953273069, "mAP50": [0.47, 0.55], "mAP": [0.21, 0.26]}`:
    /// the metrics' intervals as `[lower, upper]` under their `Metric.name`.
    public struct Bootstrap: Codable, Sendable, Equatable {
        public var resamples: Int
        public var confidence: Double
        /// Evaluation clips resampled (with replacement, as many as there are).
        public var clips: Int
        /// The resampling generator's seed (from the cell's seed).
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

        public init(_ b: MetricBootstrap) {
            self.init(resamples: b.resamples, confidence: b.confidence, clips: b.clips, seed: b.seed, intervals: b.intervals)
        }

        /// The interval of a metric: (lower, upper).
        public subscript(metric: String) -> (lower: Double, upper: Double)? {
            guard let v = intervals[metric], v.count == 2 else { return nil }
            return (v[0], v[1])
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
            static let fixed = ["resamples", "confidence", "clips", "seed"]
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            resamples = try c.decode(Int.self, forKey: Key(stringValue: "resamples"))
            confidence = try c.decodeIfPresent(Double.self, forKey: Key(stringValue: "confidence")) ?? 0.95
            clips = try c.decodeIfPresent(Int.self, forKey: Key(stringValue: "clips")) ?? 0
            seed = try c.decodeIfPresent(UInt64.self, forKey: Key(stringValue: "seed")) ?? 0
            var intervals: [String: [Double]] = [:]
            for key in c.allKeys where !Key.fixed.contains(key.stringValue) {
                intervals[key.stringValue] = try c.decode([Double].self, forKey: key)
            }
            self.intervals = intervals
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(resamples, forKey: Key(stringValue: "resamples"))
            try c.encode(confidence, forKey: Key(stringValue: "confidence"))
            try c.encode(clips, forKey: Key(stringValue: "clips"))
            try c.encode(seed, forKey: Key(stringValue: "seed"))
            for (name, v) in intervals where !Key.fixed.contains(name) { try c.encode(v, forKey: Key(stringValue: name)) }
        }
    }

    /// One evaluation: `step`, `epoch`, `metrics` and, with PreciseBN, `precise`.
    public typealias Run = EvaluationRun

    public init(
        protocol: String, runs: [Run] = [], precise: [String: Double]? = nil,
        labels: [Int]? = nil, predictions: [Int]? = nil, confusion: [[Int]]? = nil, bootstrap: Bootstrap? = nil
    ) {
        self.protocol = `protocol`
        self.runs = runs
        self.precise = precise
        self.labels = labels
        self.predictions = predictions
        self.confusion = confusion
        self.bootstrap = bootstrap
    }
}

extension EvaluationSection {
    /// The section of a measured cell: `accuracy` is, per metric, the median of
    /// the last min(5, N) `runs` (`training.evaluations` in the final
    /// `training.evaluationPhase`), and `protocol` says so in words.
    public init(_ m: CellMeasurement) {
        self.init(
            protocol: EvaluationProtocol.description(runs: m.evaluations.count),
            runs: m.evaluations,
            precise: m.precise, labels: m.labels, predictions: m.predictions, confusion: m.confusion,
            bootstrap: m.bootstrap.map(Bootstrap.init))
    }
}
