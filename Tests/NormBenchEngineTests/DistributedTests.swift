import Foundation
import Testing
import NormBenchEngine
import NormBenchTestSupport

/// The engine's data-parallel pieces, with ranks as threads of this process
/// (`LocalCommunicatorGroup`) or the group of one: running-statistics replay,
/// gradient all-reduce, SyncBN over a communicator, model-state digests.
@Suite struct DistributedTests {
    /// Per-worker BN on W replicas, each seeing only its micro-batch and
    /// replaying every rank's deferred update in rank order, ends with bitwise
    /// the running statistics of one layer that ran the W micro-batches in turn
    /// (the simulation). Includes a one-element set (no variance update) and
    /// two forwards per step.
    @Test(arguments: [[[2, 3, 4, 2, 5], [2, 3, 4, 2, 5], [2, 3, 4, 2, 5]], [[1, 5], [3, 5]]])
    func runningStatisticsReplayEqualsSequentialUpdates(shapes: [[Int]]) {
        let c = shapes[0].last!
        let inputs = shapes.enumerated().map { r, s in randomValues(s.reduce(1, *), seed: 40 + UInt64(r), mean: 3, scale: 2) }
        let sequential = BatchNorm(channels: c, momentum: 0.2)
        for _ in 0..<2 {
            for (r, s) in shapes.enumerated() { _ = sequential.forward(tensor(s, inputs[r]), mode: .training) }
        }
        let replicas = (0..<shapes.count).map { _ in BatchNorm(channels: c, momentum: 0.2) }
        let exchanges = replicas.map { RunningStatisticsExchange(model: $0) }
        for _ in 0..<2 {
            var payloads: [[Double]] = []
            for (r, s) in shapes.enumerated() {
                let before = replicas[r].runningMean.array
                _ = replicas[r].forward(tensor(s, inputs[r]), mode: .training)
                #expect(replicas[r].runningMean.array == before, "a deferring layer must not touch its running mean")
                payloads.append(exchanges[r].payload())
            }
            for e in exchanges { e.apply(payloads) }
        }
        for (r, bn) in replicas.enumerated() {
            #expect(bn.runningMean.array == sequential.runningMean.array, "replica \(r): running mean differs from the sequential updates")
            #expect(bn.runningVariance.array == sequential.runningVariance.array, "replica \(r): running variance differs")
        }
        // Detached, a layer updates its own statistics again.
        exchanges[0].detach()
        let before = replicas[0].runningMean.array
        _ = replicas[0].forward(tensor(shapes[0], inputs[0]), mode: .training)
        #expect(replicas[0].runningMean.array != before)
    }

    /// The all-reduce leaves every rank with the sum of every parameter's gradient
    /// (packed into one buffer and unpacked), and meters its payload.
    @Test func gradientAllReduceSumsEveryParameter() {
        let ranks = 3
        let group = LocalCommunicatorGroup(size: ranks)
        let shapes = [[4, 3], [5], [2, 2, 2]]
        let grads = (0..<ranks).map { r in shapes.enumerated().map { k, s in randomValues(s.reduce(1, *), seed: 100 + UInt64(10 * r + k)) } }
        let results = runRanks(ranks) { rank -> ([[Float]], Int) in
            let params = shapes.enumerated().map { k, s -> Parameter in
                let p = Parameter(name: "p\(k)", role: .weight, shape: s)
                p.grad.copy(from: tensor(s, grads[rank][k], category: .gradients))
                return p
            }
            let meter = CollectiveMeter()
            GradientAllReduce(parameters: params).run(group.endpoint(rank: rank), meter: meter)
            return (params.map { $0.grad.array }, meter.bytes[CollectiveMeter.Purpose.gradients.rawValue])
        }
        for (k, s) in shapes.enumerated() {
            let expected = (0..<s.reduce(1, *)).map { i in (1..<ranks).reduce(grads[0][k][i]) { $0 + grads[$1][k][i] } }
            for r in 0..<ranks { #expect(results[r].0[k] == expected, "rank \(r), parameter \(k)") }
        }
        #expect(results.allSatisfy { $0.1 == 4 * (12 + 5 + 8) })
    }

    /// BatchNorm with a `CommunicatorReducer` over W ranks = BN over the
    /// concatenated batch (forward and input gradient bitwise), and the meter
    /// counts what every rank received: forward 1 + 2C doubles per sample,
    /// backward a sample count per rank and 2C sums per sample.
    @Test func syncBatchNormOverACommunicatorEqualsBatchNormOverConcatenation() {
        let ranks = 2, b = 2, d = 2, h = 3, w = 3, c = 4
        let sample = d * h * w * c
        let x = randomValues(ranks * b * sample, seed: 61, mean: 2, scale: 3), dy = randomValues(ranks * b * sample, seed: 62)
        let whole = runLayer(BatchNorm(channels: c), shape: [ranks * b, d, h, w, c], x: x, w: dy)
        let group = LocalCommunicatorGroup(size: ranks)
        let results = runRanks(ranks) { rank -> (LayerRun, Int, Int) in
            let meter = CollectiveMeter()
            let bn = BatchNorm(channels: c, reducer: CommunicatorReducer(communicator: group.endpoint(rank: rank), meter: meter))
            let range = rank * b * sample..<(rank + 1) * b * sample
            let run = runLayer(bn, shape: [b, d, h, w, c], x: Array(x[range]), w: Array(dy[range]))
            return (run, meter.bytes[CollectiveMeter.Purpose.syncBN.rawValue], meter.calls[CollectiveMeter.Purpose.syncBN.rawValue])
        }
        #expect(results.flatMap(\.0.y) == whole.y, "SyncBN over a communicator: forward differs from BN over the whole batch")
        #expect(results.flatMap(\.0.dx) == whole.dx, "SyncBN over a communicator: input gradient differs")
        // Forward: every sample's [count, mean[c], M2[c]]; backward: per rank [n] + Σdy[n·c] + Σdy·xc[n·c].
        let expectedBytes = 8 * (ranks * b * (1 + 2 * c) + ranks * (1 + 2 * b * c))
        #expect(results.allSatisfy { $0.1 == expectedBytes && $0.2 == 2 }, "metered \(results.map(\.1)) bytes, expected \(expectedBytes)")
    }

    /// The group of one changes nothing, and the state digest sees a one-ulp change.
    @Test func groupOfOneAndStateDigest() {
        let one = LocalCommunicatorGroup(size: 1).endpoint(rank: 0)
        var values: [Float] = [1, 2, 3]
        values.withUnsafeMutableBufferPointer { one.allReduceSum($0.baseAddress!, count: 3) }
        #expect(values == [1, 2, 3])
        #expect(one.allGather([4, 5]) == [[4, 5]])
        #expect(one.broadcast([7], root: 0) == [7])
        let bn = BatchNorm(channels: 3)
        let state = ModelState.values(of: bn)
        #expect(state.count == 4 * 3)  // γ, β, running mean, running variance
        var nudged = state
        nudged[5] = nudged[5].nextUp
        #expect(ModelState.digest(state) == ModelState.digest(ModelState.values(of: bn)))
        #expect(ModelState.digest(state) != ModelState.digest(nudged))
    }
}
