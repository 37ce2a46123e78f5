import Foundation
import Testing
import NormBenchEngine
import NormBenchWorkloads

/// When evaluations run, how their medians become the headline, and how a
/// classification evaluation's per-clip predictions relate to its error.
@Suite struct EvaluationProtocolTests {
    @Test(arguments: [
        (1000, 5, 0.2, [800, 850, 900, 950, 1000]),
        (1000, 1, 0.2, [1000]),
        (100, 3, 0.1, [90, 95, 100]),
        (7, 4, 0.5, [3, 4, 6, 7]),
        (10, 2, 1.0, [1, 10]),
        (3, 10, 1.0, [1, 2, 3]),
        (1, 5, 0.2, [1]),
        (50, 5, 0.01, [49, 50]),
    ])
    func evaluationSteps(steps: Int, evaluations: Int, phase: Double, expected: [Int]) {
        #expect(EvaluationSchedule.steps(totalSteps: steps, evaluations: evaluations, phase: phase) == expected)
    }

    /// Over many settings: ascending and distinct, the last after the final step, none
    /// before the phase, and all N whenever the phase has room for them.
    @Test func evaluationStepsHoldTheirDefinition() {
        for steps in [1, 2, 3, 10, 37, 100, 1001] {
            for n in [1, 2, 3, 5, 7, 20] {
                for phase in [0.01, 0.1, 0.2, 0.5, 1.0] {
                    let s = EvaluationSchedule.steps(totalSteps: steps, evaluations: n, phase: phase)
                    let length = min(steps - 1, max(1, Int((phase * Double(steps)).rounded())))
                    #expect(s.last == steps)
                    #expect(zip(s, s.dropFirst()).allSatisfy { $0 < $1 })
                    #expect(s.count <= n && s.allSatisfy { $0 >= 1 })
                    if steps > 1 && n > 1 {
                        #expect(s.first == steps - length)
                        if length >= n - 1 { #expect(s.count == n, "\(steps) \(n) \(phase): \(s)") }
                    }
                }
            }
        }
    }

    @Test func medianOfTheLastFive() {
        // Seven runs: the first two are left out.
        let runs = [0.9, 0.8, 0.5, 0.1, 0.4, 0.2, 0.3].map { ["top1Error": $0, "evalLoss": 10 * $0] }
        let h = EvaluationProtocol.headline(runs)
        #expect(h["top1Error"] == 0.3 && h["evalLoss"] == 3)
        #expect(EvaluationProtocol.description(runs: 7) == "median of last 5 of 7 evaluations")
        #expect(EvaluationProtocol.description(runs: 1) == "median of last 1 of 1 evaluations")
    }

    /// A tie that includes the label counts as the label, exactly as top-1 error
    /// counts it; other ties take the lowest class.
    @Test func predictionsAgreeWithTopOneError() {
        let scores: [Float] = [
            0.1, 0.7, 0.2,  // label 1: right
            0.5, 0.5, 0.0,  // label 1: tie with 0, counted right
            0.3, 0.3, 0.1,  // label 2: tie of 0 and 1, predicted 0
            0.0, 0.0, 0.9,  // label 0: predicted 2
        ]
        let labels = [1, 1, 2, 0]
        let p = ClassificationMetrics.predictions(scores: scores, labels: labels, classes: 3)
        #expect(p == [1, 1, 0, 2])
        let m = ClassificationMetrics.confusion(labels: labels, predictions: p, classes: 3)
        #expect(m == [[0, 0, 1], [0, 2, 0], [1, 0, 0]])
        let error = ClassificationMetrics.topKError(scores: scores, labels: labels, classes: 3, k: 1)
        #expect(Double((0..<3).map { m[$0][$0] }.reduce(0, +)) / 4 == 1 - error)
    }
}
