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

    /// One evaluation: `step`, `epoch`, `metrics` and, with PreciseBN, `precise`.
    public typealias Run = EvaluationRun

    public init(
        protocol: String, runs: [Run] = [], precise: [String: Double]? = nil,
        labels: [Int]? = nil, predictions: [Int]? = nil, confusion: [[Int]]? = nil
    ) {
        self.protocol = `protocol`
        self.runs = runs
        self.precise = precise
        self.labels = labels
        self.predictions = predictions
        self.confusion = confusion
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
            precise: m.precise, labels: m.labels, predictions: m.predictions, confusion: m.confusion)
    }
}
