import Foundation
import Testing
import NormBenchEngine
import NormBenchWorkloads
import NormBenchTestSupport

/// Whole cells with several evaluations and PreciseBN on a tiny workload
/// (16×16 clips, 6 steps).
@Suite(.serialized) struct EvaluationRunTests {
    let spec: WorkloadSpec
    let train: ClipBank
    let eval: ClipBank

    init() throws {
        (spec, train, eval) = try tinyCellData(cache: scratchDirectory("data"), evalClips: 6, steps: 6)
    }

    func run(_ spec: WorkloadSpec, _ norm: String, batch: Int = 2, workers: Int = 1, options: CellRunOptions = CellRunOptions(keepFinalState: true)) throws -> CellMeasurement {
        let settings = CellSettings(norm: try NormalizationSpec(parsing: norm), batch: batch, workers: workers, seed: 0, threads: 2)
        return try MemoryLedger.$scoped.withValue(MemoryLedger()) {
            try CellRun.run(spec: spec, cell: settings, train: train, eval: eval, options: options)
        }
    }

    func with(evaluations: Int, phase: Double = 1, precise: Int = 0, views: Int = 1) -> WorkloadSpec {
        var s = spec
        s.training.evaluations = evaluations
        s.training.evaluationPhase = phase
        s.training.preciseBNBatches = precise
        s.clip.evalViews = views
        return s
    }

    /// Evaluating in the middle of training changes nothing training does: the
    /// same loss at every step and the same final state (parameters and BN running
    /// statistics), bit for bit; the final evaluation is the one-evaluation run's.
    @Test(arguments: ["bn", "gn:groups=2", "syncbn"]) func evaluationsLeaveTheLossCurveUnchanged(norm: String) throws {
        let one = try run(with(evaluations: 1), norm, workers: norm == "syncbn" ? 2 : 1)
        let five = try run(with(evaluations: 5), norm, workers: norm == "syncbn" ? 2 : 1)
        #expect(five.lossCurve.map(\.loss) == one.lossCurve.map(\.loss))
        #expect(five.lossCurve.map(\.step) == one.lossCurve.map(\.step))
        #expect(five.finalState == one.finalState)
        #expect(one.evaluations.count == 1 && five.evaluations.count == 5)
        #expect(five.evaluations.map(\.step) == [1, 2, 3, 5, 6])
        #expect(five.evaluations.map(\.step) == EvaluationSchedule.steps(totalSteps: 6, evaluations: 5, phase: 1))
        #expect(five.evaluations.last == one.evaluations.last)
        #expect(one.metrics.merging(["evalLoss": one.evalLoss]) { a, _ in a } == one.evaluations[0].metrics)
    }

    /// The headline is, per metric, the median of the last min(5, N) recorded runs.
    @Test func headlineIsTheMedianOfTheRecordedRuns() throws {
        let m = try run(with(evaluations: 6), "bn", batch: 1)
        #expect(m.evaluations.count == 6)
        let last = Array(m.evaluations.suffix(5))
        for name in m.metrics.keys {
            #expect(m.metrics[name] == last.map { $0.metrics[name]! }.sorted()[2])
        }
        #expect(m.evalLoss == last.map { $0.metrics["evalLoss"]! }.sorted()[2])
        #expect(m.evaluations.map(\.epoch) == m.evaluations.map { Double($0.step * 1) / 8 })
    }

    /// PreciseBN at each evaluation, then the EMA statistics restored: training and
    /// the EMA evaluations are bit-identical to a run without PreciseBN, and the
    /// PreciseBN evaluations are recorded beside them (their medians too).
    @Test(arguments: ["bn", "syncbn"]) func preciseBNRestoresTheRunningStatistics(norm: String) throws {
        let workers = norm == "syncbn" ? 2 : 1
        let plain = try run(with(evaluations: 3), norm, workers: workers)
        let precise = try run(with(evaluations: 3, precise: 2), norm, workers: workers)
        #expect(precise.lossCurve.map(\.loss) == plain.lossCurve.map(\.loss))
        #expect(precise.finalState == plain.finalState)
        #expect(precise.evaluations.map(\.metrics) == plain.evaluations.map(\.metrics))
        #expect(precise.metrics == plain.metrics && precise.evalLoss == plain.evalLoss)
        #expect(plain.precise == nil && plain.evaluations.allSatisfy { $0.precise == nil })
        let runs = precise.evaluations.compactMap(\.precise)
        #expect(runs.count == 3)
        #expect(precise.precise == EvaluationProtocol.headline(runs))
        // Recomputed statistics are other statistics: the evaluation loss moves.
        #expect(runs.map { $0["evalLoss"] } != precise.evaluations.map { $0.metrics["evalLoss"] })
        // GroupNorm has no batch statistics: nothing to recompute.
        let gn = try run(with(evaluations: 2, precise: 2), "gn:groups=2")
        #expect(gn.precise == nil)
    }

    /// The confusion matrix counts every evaluation clip once; its diagonal is the
    /// share the final evaluation got right (1 − top-1 error), with one view and
    /// with the softmax averaged over several.
    @Test(arguments: [1, 3]) func confusionMatchesTopOneError(views: Int) throws {
        let m = try run(with(evaluations: 2, views: views), "bn")
        let labels = try #require(m.labels), predictions = try #require(m.predictions), confusion = try #require(m.confusion)
        #expect(labels == eval.labels && predictions.count == eval.count)
        #expect(confusion.count == spec.classes && confusion.allSatisfy { $0.count == spec.classes })
        #expect(confusion.flatMap { $0 }.reduce(0, +) == eval.count)
        let right = (0..<spec.classes).map { confusion[$0][$0] }.reduce(0, +)
        let top1 = try #require(m.evaluations.last?.metrics["top1Error"])
        #expect(abs(Double(right) / Double(eval.count) - (1 - top1)) < 1e-12)
        #expect(zip(labels, predictions).filter { $0 == $1 }.count == right)
    }

    /// Channels per group of every grouped layer, in forward order.
    @Test func channelsPerGroupOfEveryGroupedLayer() throws {
        let model = try ClassificationTask().makeModel(spec, norm: NormalizationSpec(parsing: "gn:groups=2"), seed: 0)
        let grouped = channelsPerGroup(model)
        let cpg = try #require(grouped)
        #expect(Set(cpg) == [2, 4])
        #expect(cpg.first == 2)  // the stem: 4 channels in 2 groups
        let inorm = try ClassificationTask().makeModel(spec, norm: NormalizationSpec(parsing: "in"), seed: 0)
        #expect(channelsPerGroup(inorm)?.allSatisfy { $0 == 1 } == true)
        let bn = try ClassificationTask().makeModel(spec, norm: NormalizationSpec(parsing: "bn"), seed: 0)
        #expect(channelsPerGroup(bn) == nil)
    }

    /// Data-parallel over one rank with evaluations in the middle and PreciseBN:
    /// the same as the simulation (SyncBN's reducer is set aside and put back).
    @Test(arguments: ["bn", "syncbn"]) func dataParallelEvaluationsEqualTheSimulation(norm: String) throws {
        let s = with(evaluations: 3, precise: 2)
        let simulated = try run(s, norm)
        let parallel = try run(s, norm, options: CellRunOptions(dataParallel: LocalCommunicatorGroup(size: 1).endpoint(rank: 0), keepFinalState: true))
        #expect(parallel.lossCurve.map(\.loss) == simulated.lossCurve.map(\.loss))
        #expect(parallel.evaluations == simulated.evaluations)
        #expect(parallel.finalState == simulated.finalState)
    }
}
