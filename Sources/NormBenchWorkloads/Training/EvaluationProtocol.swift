import NormBenchEngine

/// When a cell is evaluated, and how its evaluations become the record's headline.
///
/// `training.evaluations` = N evaluations run over the last `training.evaluationPhase`
/// = φ of training, the last one after the final step. With S steps, the phase is
/// L = min(S − 1, max(1, round(φ·S))) steps long and evaluation k (k = 1 … N) runs
/// after s_k = S − round((N − k)·L / (N − 1)) completed steps (rounding half up, in
/// integers), so the first runs L steps before the end and the rest follow evenly:
/// S = 1000, N = 5, φ = 0.2 gives 800, 850, 900, 950, 1000. N = 1 (or S = 1) is one
/// evaluation after step S. When the phase has fewer steps than evaluations, those
/// falling on the same step run once.
public enum EvaluationSchedule {
    /// The completed-step counts after which evaluations run: ascending, distinct, the last = `steps`.
    public static func steps(totalSteps S: Int, evaluations N: Int, phase: Double) -> [Int] {
        guard N > 1, S > 1 else { return [max(S, 0)] }
        let length = min(S - 1, max(1, Int((phase * Double(S)).rounded())))
        var out: [Int] = []
        for k in 1...N {
            let step = S - ((N - k) * length + (N - 1) / 2) / (N - 1)
            if out.last != step { out.append(step) }
        }
        return out
    }
}

/// One evaluation of a cell: after `step` completed optimizer steps (`epoch`
/// epochs of the training clips), the task's metrics and `evalLoss` with the EMA
/// running statistics, and, with PreciseBN, with the statistics it recomputed then.
public struct EvaluationRun: Codable, Sendable, Equatable {
    public var step: Int
    public var epoch: Double
    /// By `Metric.name`, `evalLoss` included.
    public var metrics: [String: Double]
    /// The same with PreciseBN statistics (`training.preciseBNBatches` > 0 and a
    /// method with batch statistics); nil otherwise.
    public var precise: [String: Double]?

    public init(step: Int, epoch: Double, metrics: [String: Double], precise: [String: Double]? = nil) {
        self.step = step
        self.epoch = epoch
        self.metrics = metrics
        self.precise = precise
    }
}

/// The headline of several evaluations: per metric, the median of the last
/// min(5, R) of the R evaluations (the mean of the two middle values for an even count).
public enum EvaluationProtocol {
    /// How many of the last evaluations the median takes, at most.
    public static let window = 5

    /// Per metric, the median of its values in the last min(`window`, R) of `runs`.
    public static func headline(_ runs: [[String: Double]]) -> [String: Double] {
        let last = runs.suffix(window)
        let names = Set(last.flatMap(\.keys))
        var out: [String: Double] = [:]
        for name in names {
            let values = last.compactMap { $0[name] }
            if !values.isEmpty { out[name] = Quantiles.median(values) }
        }
        return out
    }

    /// "median of last 5 of 5 evaluations": the record's `evaluation.protocol`.
    public static func description(runs: Int) -> String {
        "median of last \(min(window, runs)) of \(runs) evaluations"
    }
}
