import NormBenchEngine

/// What a workload's model predicts, how it learns and how it is scored: one
/// type per task. The shared training loop (`CellRun`, `TrainingLoop`) and the
/// memory planner call only this; the harness's CSV export, pages, baseline and
/// check read a task's metrics from `metrics`.
///
/// Adding a task: a conforming type, a case in `WorkloadSpec.Task` that returns
/// it from `implementation`, its model (an architecture in `ModelSpec`), and its
/// samples in the data sources (docs/architecture.md).
public protocol WorkloadTask: Sendable {
    /// The metrics `evaluate` reports, in the order tables and CSV columns show them.
    static var metrics: [Metric] { get }

    /// The model of a cell: training and `MemoryPlanner` build it here.
    func makeModel(_ spec: WorkloadSpec, norm: NormalizationSpec, seed: UInt64) throws -> Sequential

    /// One micro-batch: forward, loss (its gradient scaled by `lossScale`),
    /// backward (accumulating into the parameters' gradients). Returns the loss.
    func microStep(
        _ model: Sequential, _ spec: WorkloadSpec, samples: [BatchAssembler.Sample], input: Tensor, from bank: ClipBank, lossScale: Float
    ) -> Double

    /// Scores the trained model on the evaluation clips' windows (`pass`).
    func evaluate(_ model: Sequential, _ spec: WorkloadSpec, eval: ClipBank, pass: EvaluationPass) -> TaskEvaluation
}

/// One metric of a task: its key in records (`accuracy.<name>`), how tables,
/// CSV and the regression check show and judge it.
public struct Metric: Sendable, Equatable {
    /// How much a metric may move on a known fingerprint (`CheckTolerances`).
    public enum Tolerance: String, Sendable {
        /// An error fraction: `errorClips` evaluation clips.
        case errorClips
        /// A fraction compared absolutely: `mAPAbsolute`.
        case absolute
        /// Compared relative to the baseline: `evalLossRelative`.
        case relative
    }

    /// Key in the record's `accuracy` object and in baselines.
    public var name: String
    /// CSV column.
    public var column: String
    /// What a table or message calls it.
    public var title: String
    /// Whether the value is a fraction in 0...1 (shown as %).
    public var isFraction: Bool
    public var higherIsBetter: Bool
    public var tolerance: Tolerance

    public init(name: String, column: String, title: String, isFraction: Bool, higherIsBetter: Bool, tolerance: Tolerance) {
        self.name = name
        self.column = column
        self.title = title
        self.isFraction = isFraction
        self.higherIsBetter = higherIsBetter
        self.tolerance = tolerance
    }

    /// Mean evaluation loss: every task reports it.
    public static let evalLoss = Metric(name: "evalLoss", column: "eval_loss", title: "evaluation loss", isFraction: false, higherIsBetter: false, tolerance: .relative)

    /// Every metric of every task, then `evalLoss`: the columns of `cells.csv`.
    public static var catalog: [Metric] {
        WorkloadSpec.Task.allCases.flatMap { type(of: $0.implementation).metrics } + [evalLoss]
    }

    /// Each task's first metric, the one a summary line shows.
    public static var headlines: [Metric] {
        WorkloadSpec.Task.allCases.compactMap { type(of: $0.implementation).metrics.first }
    }

    /// A fraction as "lower is better" (an error as is, a score as 1 − score), for one-number summaries.
    public func asError(_ value: Double) -> Double { higherIsBetter ? 1 - value : value }

    /// The summary's name of `asError`: "top-1 error (%)", "100 − mAP@0.5 (%)".
    public var asErrorTitle: String { higherIsBetter ? "100 − \(title) (%)" : "\(title) (%)" }

    /// The catalog entry named `name`.
    public static func named(_ name: String) -> Metric? { catalog.first { $0.name == name } }
}

/// What evaluating a trained model gave.
public struct TaskEvaluation: Sendable {
    /// By `Metric.name`; a metric a cell does not have (top-5 with ≤ 5 classes) is absent.
    public var metrics: [String: Double]
    /// Mean loss over the evaluation clips.
    public var loss: Double
    /// What `EvaluationPass.run` measured.
    public var clipsPerSecond: Double
    /// Classification: the predicted class of every evaluation clip, in clip order
    /// (over the averaged softmax with several views; `ClassificationMetrics.predictions`).
    /// nil for tasks without one class per clip.
    public var predictions: [Int]?
    /// Detection: the evaluation's detections and ground truths, prepared for a
    /// bootstrap over clips (`DetectionBootstrap`); nil for other tasks.
    public var bootstrap: DetectionBootstrap?

    public init(metrics: [String: Double], loss: Double, clipsPerSecond: Double, predictions: [Int]? = nil, bootstrap: DetectionBootstrap? = nil) {
        self.metrics = metrics
        self.loss = loss
        self.clipsPerSecond = clipsPerSecond
        self.predictions = predictions
        self.bootstrap = bootstrap
    }
}

extension WorkloadSpec {
    /// The ResNet3D settings of this workload's model (`model.*`, `clip.*`, classes).
    public func resNetConfig(seed: UInt64) -> ResNet3DConfig {
        ResNet3DConfig(
            frames: clip.frames, height: clip.size, width: clip.size, widths: model.widths, depths: model.blocks,
            classes: classes, zeroInitLastNorm: model.zeroInitLastGamma, seed: seed)
    }
}

extension WorkloadSpec.Task {
    /// The type that implements the task.
    public var implementation: any WorkloadTask {
        switch self {
        case .classification: ClassificationTask()
        case .detection: DetectionTask()
        }
    }
}
