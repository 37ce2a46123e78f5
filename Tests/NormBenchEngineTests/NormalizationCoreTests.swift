import Foundation
import Testing
import NormBenchEngine
import NormBenchTestSupport

// GN / LN / IN / BN against the Double reference (forward), central differences
// of the reference (backward), the exact identities, SyncBN = BN(concat),
// FrozenBN = eval BN, large-mean moments, thread-count independence.

/// Small NDHWC shapes: N = 1..3, odd D/H/W, channels with several group counts.
let normShapes: [[Int]] = [
    [1, 1, 3, 5, 4], [2, 3, 1, 5, 6], [3, 1, 3, 3, 8], [1, 3, 5, 3, 12], [2, 1, 1, 1, 16], [3, 2, 3, 1, 3],
]

@Suite struct NormalizationCoreTests {
    /// GroupNorm for every divisor of c (G = 1 and G = c included), forward and
    /// gradients (x, γ, β) against central differences of the Double reference.
    @Test func groupNormMatchesReference() throws {
        for (k, shape) in normShapes.enumerated() {
            let n = shape[0], c = shape[4], p = shape[1] * shape[2] * shape[3]
            for groups in (1...c).filter({ c % $0 == 0 }) {
                let seed = UInt64(100 * k + groups)
                let x = randomValues(n * p * c, seed: seed, mean: 0.5, scale: 2)
                let w = randomValues(n * p * c, seed: seed + 1)
                let gamma = randomValues(c, seed: seed + 2, mean: 1, scale: 0.5), beta = randomValues(c, seed: seed + 3)
                let layer = try GroupNorm(channels: c, groups: groups)
                layer.gamma!.value.copy(from: tensor([c], gamma))
                layer.beta!.value.copy(from: tensor([c], beta))
                let run = runLayer(layer, shape: shape, x: x, w: w)
                expectMatchesReference(run, x: x, gamma: gamma, beta: beta, w: w, "GN(G=\(groups)) \(shape)") {
                    referenceGroupNorm($0, n: n, p: p, c: c, groups: groups, gamma: $1, beta: $2)
                }
            }
        }
    }

    @Test func batchNormMatchesReference() {
        for (k, shape) in normShapes.enumerated() {
            let n = shape[0], c = shape[4], p = shape[1] * shape[2] * shape[3]
            let seed = UInt64(7000 + k)
            let x = randomValues(n * p * c, seed: seed, mean: -1, scale: 3)
            let w = randomValues(n * p * c, seed: seed + 1)
            let gamma = randomValues(c, seed: seed + 2, mean: 1, scale: 0.5), beta = randomValues(c, seed: seed + 3)
            let bn = BatchNorm(channels: c, momentum: 0.25)
            bn.gamma!.value.copy(from: tensor([c], gamma))
            bn.beta!.value.copy(from: tensor([c], beta))
            let run = runLayer(bn, shape: shape, x: x, w: w)
            let label = "BN \(shape)"
            expectMatchesReference(run, x: x, gamma: gamma, beta: beta, w: w, label) {
                referenceBatchNorm($0, n: n, p: p, c: c, gamma: $1, beta: $2)
            }
            // Running statistics: (1 − m)·(0, 1) + m·(mean, unbiased variance).
            let stats = referenceSetNorm(x.doubles, n: n, p: p, c: c, sets: c, setOf: { _, j in j },
                                         gamma: gamma.doubles, beta: beta.doubles, epsilon: 1e-5)
            let m = Double(n * p)
            expectClose(bn.runningMean.array, stats.mean.map { 0.25 * $0 }, "\(label) running mean")
            expectClose(bn.runningVariance.array, stats.variance.map { 0.75 + 0.25 * $0 * m / (m - 1) }, "\(label) running variance")
            // Evaluation uses the running statistics.
            let yEval = bn.forward(tensor(shape, x), mode: .evaluation).array
            let rm = bn.runningMean.array.doubles, rv = bn.runningVariance.array.doubles
            var expected = [Double](repeating: 0, count: x.count)
            for i in 0..<x.count {
                let j = i % c
                expected[i] = gamma.doubles[j] * (Double(x[i]) - rm[j]) / (rv[j] + 1e-5).squareRoot() + beta.doubles[j]
            }
            expectClose(yEval, expected, "\(label) eval y")
        }
    }

    /// N = 1 BN policy: with D·H·W > 1 the statistics are the sample's own (= IN);
    /// with a single element per channel, x̂ = 0 (y = β) and the running variance is kept.
    @Test func batchNormSingleSample() throws {
        let shape = [1, 2, 3, 3, 4]
        let x = randomValues(72, seed: 5, mean: 2, scale: 1.5)
        let bn = BatchNorm(channels: 4), inorm = GroupNorm.instanceNorm(channels: 4)
        #expect(bn.forward(tensor(shape, x), mode: .training).array == inorm.forward(tensor(shape, x), mode: .training).array)
        let single = BatchNorm(channels: 3)
        single.beta!.value.copy(from: tensor([3], [0.5, -1, 2]))
        let y = single.forward(tensor([1, 3], [10, 20, 30]), mode: .training).array
        #expect(y == [0.5, -1, 2])
        #expect(single.runningVariance.array == [1, 1, 1])
        let dx = single.backward(tensor([1, 3], [1, 2, 3])).array
        #expect(dx == [0, 0, 0], "a one-element set has x̂ ≡ 0, so dx = 0")
    }

    /// LN = GN(G=1) and IN = GN(G=c), bitwise, forward and backward.
    @Test func identitiesHoldExactly() throws {
        let shape = [2, 3, 5, 7, 12]
        let count = shape.reduce(1, *)
        let x = randomValues(count, seed: 11, mean: 3, scale: 2), w = randomValues(count, seed: 12)
        let ln = runLayer(GroupNorm.layerNorm(channels: 12), shape: shape, x: x, w: w)
        let gn1 = runLayer(try GroupNorm(channels: 12, groups: 1), shape: shape, x: x, w: w)
        let inorm = runLayer(GroupNorm.instanceNorm(channels: 12), shape: shape, x: x, w: w)
        let gnC = runLayer(try GroupNorm(channels: 12, channelsPerGroup: 1), shape: shape, x: x, w: w)
        #expect(ln.y == gn1.y && ln.dx == gn1.dx && ln.paramGrads == gn1.paramGrads, "LN != GN(1)")
        #expect(inorm.y == gnC.y && inorm.dx == gnC.dx && inorm.paramGrads == gnC.paramGrads, "IN != GN(C)")
        // And they are not trivially the same computation: LN and IN differ.
        #expect(ln.y != inorm.y)
    }

    /// SyncBN over W workers × b samples = BN over the concatenated W·b batch:
    /// outputs, input gradients and running statistics bitwise; γ/β gradients
    /// (each worker holds its local part) sum to BN's within float rounding.
    /// Workers may hold different micro-batch sizes (last case).
    @Test(arguments: [[2, 2], [2, 2, 2], [1, 3, 2]]) func syncBatchNormEqualsBatchNormOverConcatenation(batches: [Int]) {
        let workers = batches.count, total = batches.reduce(0, +)
        let d = 3, h = 5, w = 4, c = 6
        let full = [total, d, h, w, c]
        let sample = d * h * w * c
        let offsets = batches.indices.map { batches[..<$0].reduce(0, +) * sample }
        let x = randomValues(total * sample, seed: 21, mean: 5, scale: 2), dy = randomValues(total * sample, seed: 22)
        let gamma = randomValues(c, seed: 23, mean: 1, scale: 0.3)
        let bn = BatchNorm(channels: c)
        bn.gamma!.value.copy(from: tensor([c], gamma))
        let whole = runLayer(bn, shape: full, x: x, w: dy)

        let group = LocalCommunicatorGroup(size: workers)
        let layers = (0..<workers).map { rank -> BatchNorm in
            let l = BatchNorm(channels: c, reducer: CommunicatorReducer(communicator: group.endpoint(rank: rank), meter: CollectiveMeter()))
            l.gamma!.value.copy(from: tensor([c], gamma))
            return l
        }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var runs: [LayerRun?] = []
            func set(_ rank: Int, _ run: LayerRun) { lock.withLock { runs[rank] = run } }
        }
        let results = Results()
        results.runs = Array(repeating: nil, count: workers)
        let box = UncheckedSendable(layers)
        let done = DispatchGroup()
        for rank in 0..<workers {
            done.enter()
            let thread = Thread {
                let range = offsets[rank]..<offsets[rank] + batches[rank] * sample
                results.set(rank, runLayer(box.value[rank], shape: [batches[rank], d, h, w, c],
                                           x: Array(x[range]), w: Array(dy[range])))
                done.leave()
            }
            thread.start()
        }
        done.wait()
        let y = results.runs.flatMap { $0!.y }, dx = results.runs.flatMap { $0!.dx }
        #expect(y == whole.y, "SyncBN forward differs from BN over the whole batch")
        #expect(dx == whole.dx, "SyncBN input gradient differs from BN over the whole batch")
        for l in layers {
            #expect(l.runningMean.array == bn.runningMean.array && l.runningVariance.array == bn.runningVariance.array)
        }
        for k in 0..<2 {
            let summed = (0..<c).map { j in results.runs.reduce(0.0) { $0 + Double($1!.paramGrads[k][j]) } }
            expectClose(whole.paramGrads[k], summed, atol: 1e-4, rtol: 1e-5, "SyncBN param grad \(k) summed over workers")
        }
    }

    /// 2-D `[n, c]` inputs: BN over the batch per feature, LN per sample.
    @Test func twoDimensionalInputs() {
        let n = 5, c = 6
        let x = randomValues(n * c, seed: 91, mean: 1, scale: 2), w = randomValues(n * c, seed: 92)
        let ones = [Double](repeating: 1, count: c), zeros = [Double](repeating: 0, count: c)
        let bn = runLayer(BatchNorm(channels: c), shape: [n, c], x: x, w: w)
        let bnRef = { (x: [Double]) in referenceBatchNorm(x, n: n, p: 1, c: c, gamma: ones, beta: zeros) }
        expectClose(bn.y, bnRef(x.doubles), "BN [n, c] y")
        expectClose(bn.dx, centralDifference(x.doubles) { dot(bnRef($0), w.doubles) }, atol: 1e-4, rtol: 1e-3, "BN [n, c] dx")
        let ln = runLayer(GroupNorm.layerNorm(channels: c), shape: [n, c], x: x, w: w)
        let lnRef = { (x: [Double]) in referenceGroupNorm(x, n: n, p: 1, c: c, groups: 1, gamma: ones, beta: zeros) }
        expectClose(ln.y, lnRef(x.doubles), "LN [n, c] y")
        expectClose(ln.dx, centralDifference(x.doubles) { dot(lnRef($0), w.doubles) }, atol: 1e-4, rtol: 1e-3, "LN [n, c] dx")
    }

    /// affine = false: no parameters, γ = 1 and β = 0 implied.
    @Test func withoutAffine() throws {
        let shape = [2, 1, 3, 5, 8], count = 240
        let x = randomValues(count, seed: 95, mean: -2, scale: 0.5), w = randomValues(count, seed: 96)
        let ones = [Double](repeating: 1, count: 8), zeros = [Double](repeating: 0, count: 8)
        let gn = try GroupNorm(channels: 8, groups: 2, affine: false)
        let bn = BatchNorm(channels: 8, affine: false)
        #expect(gn.parameters.isEmpty && bn.parameters.isEmpty)
        let gnRun = runLayer(gn, shape: shape, x: x, w: w), bnRun = runLayer(bn, shape: shape, x: x, w: w)
        let gnRef = { (x: [Double]) in referenceGroupNorm(x, n: 2, p: 15, c: 8, groups: 2, gamma: ones, beta: zeros) }
        let bnRef = { (x: [Double]) in referenceBatchNorm(x, n: 2, p: 15, c: 8, gamma: ones, beta: zeros) }
        expectClose(gnRun.y, gnRef(x.doubles), "GN no affine y")
        expectClose(gnRun.dx, centralDifference(x.doubles) { dot(gnRef($0), w.doubles) }, atol: 1e-4, rtol: 1e-3, "GN no affine dx")
        expectClose(bnRun.y, bnRef(x.doubles), "BN no affine y")
        expectClose(bnRun.dx, centralDifference(x.doubles) { dot(bnRef($0), w.doubles) }, atol: 1e-4, rtol: 1e-3, "BN no affine dx")
    }

    /// FrozenBN = eval-mode BN with the same statistics, bitwise; its backward is dy·scale.
    @Test func frozenBatchNormEqualsEvalBatchNorm() {
        let shape = [2, 3, 3, 5, 8]
        let count = shape.reduce(1, *)
        let bn = BatchNorm(channels: 8)
        bn.gamma!.value.copy(from: tensor([8], randomValues(8, seed: 31, mean: 1)))
        bn.beta!.value.copy(from: tensor([8], randomValues(8, seed: 32)))
        _ = bn.forward(tensor(shape, randomValues(count, seed: 33, mean: 100, scale: 4)), mode: .training)
        let x = randomValues(count, seed: 34, mean: 10, scale: 3)
        let frozen = FrozenBatchNorm(freezing: bn)
        #expect(frozen.parameters.isEmpty)
        let yEval = bn.forward(tensor(shape, x), mode: .evaluation).array
        let yTrain = frozen.forward(tensor(shape, x), mode: .training).array
        #expect(yTrain == yEval, "FrozenBN != eval BN")
        let dy = randomValues(count, seed: 35)
        let dx = frozen.backward(tensor(shape, dy)).array
        let expected = (0..<count).map { i -> Double in
            let j = i % 8
            return Double(dy[i]) * Double(bn.gamma!.value.data[j]) / (Double(bn.runningVariance.data[j]) + 1e-5).squareRoot()
        }
        expectClose(dx, expected, "FrozenBN dx")
    }

    /// 1000 + N(0, 1) over 2·10⁶ elements per set: mean and variance within 1e-4
    /// relative of float64 (the naive E[x²] − E[x]² in float gets the variance wrong
    /// by orders of magnitude here); outputs match the Double reference.
    @Test func largeMeanMomentsAreSound() {
        let count = 2_000_000
        let x = randomValues(count, seed: 41, mean: 1000, scale: 1)
        var mean = 0.0
        for v in x { mean += Double(v) }
        mean /= Double(count)
        var variance = 0.0
        for v in x { variance += (Double(v) - mean) * (Double(v) - mean) }
        variance /= Double(count)
        let ln = GroupNorm.layerNorm(channels: 8)
        let gnShape = [1, 1, 500, 500, 8]
        let s = ln.statistics(tensor(gnShape, x))
        #expect(abs(s.mean[0] - mean) <= 1e-4 * abs(mean), "LN mean \(s.mean[0]) vs \(mean)")
        #expect(abs(s.variance[0] - variance) <= 1e-4 * variance, "LN variance \(s.variance[0]) vs \(variance)")
        let bnShape = [8, 1, 500, 500, 1]
        let b = BatchNorm(channels: 1).statistics(tensor(bnShape, x))
        #expect(abs(b.mean[0] - mean) <= 1e-4 * abs(mean), "BN mean \(b.mean[0]) vs \(mean)")
        #expect(abs(b.variance[0] - variance) <= 1e-4 * variance, "BN variance \(b.variance[0]) vs \(variance)")
        // Output: x̂ to float precision (x − mean formed from the split mean).
        let y = ln.forward(tensor(gnShape, x), mode: .evaluation).array
        let rstd = 1 / (variance + 1e-5).squareRoot()
        let expected = x.map { (Double($0) - mean) * rstd }
        expectClose(y, expected, atol: 2e-5, rtol: 1e-4, "LN y, mean 1000")
    }

    /// Forward and backward stay accurate when |mean| ≫ σ (x = 1000 + N(0, 1)): the
    /// kernels subtract a split mean and accumulate Σdy·(x − μ), not Σdy·x − μΣdy.
    @Test func largeMeanForwardAndBackward() throws {
        let shape = [2, 1, 3, 5, 8], count = 240
        let x = randomValues(count, seed: 97, mean: 1000, scale: 1), w = randomValues(count, seed: 98)
        let ones = [Double](repeating: 1, count: 8), zeros = [Double](repeating: 0, count: 8)
        let gn = runLayer(try GroupNorm(channels: 8, groups: 2), shape: shape, x: x, w: w)
        let bn = runLayer(BatchNorm(channels: 8), shape: shape, x: x, w: w)
        let gnRef = { (x: [Double]) in referenceGroupNorm(x, n: 2, p: 15, c: 8, groups: 2, gamma: ones, beta: zeros) }
        let bnRef = { (x: [Double]) in referenceBatchNorm(x, n: 2, p: 15, c: 8, gamma: ones, beta: zeros) }
        expectClose(gn.y, gnRef(x.doubles), atol: 1e-5, rtol: 1e-5, "GN mean 1000 y")
        expectClose(bn.y, bnRef(x.doubles), atol: 1e-5, rtol: 1e-5, "BN mean 1000 y")
        expectClose(gn.dx, centralDifference(x.doubles) { dot(gnRef($0), w.doubles) }, atol: 1e-4, rtol: 1e-3, "GN mean 1000 dx")
        expectClose(bn.dx, centralDifference(x.doubles) { dot(bnRef($0), w.doubles) }, atol: 1e-4, rtol: 1e-3, "BN mean 1000 dx")
    }

    /// The engine's kernels give bitwise identical results for 1 and 2 threads
    /// (shapes with several chunks per sample; with 2 samples GroupNorm gives each
    /// thread a whole sample, with 3 it splits every sample's chunks).
    @Test(arguments: [[3, 8, 32, 32, 32], [2, 8, 32, 32, 32]])
    func bitwiseIdenticalAcrossThreadCounts(shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let x = randomValues(count, seed: 51, mean: 2, scale: 3), w = randomValues(count, seed: 52)
        var runs: [[LayerRun]] = []
        for threads in [1, 2] {
            try Parallel.$scopedThreads.withValue(threads) {
                #expect(Parallel.threads == threads)
                runs.append([
                    runLayer(try GroupNorm(channels: 32, groups: 8), shape: shape, x: x, w: w),
                    runLayer(BatchNorm(channels: 32), shape: shape, x: x, w: w),
                    runLayer(FilterResponseNorm(channels: 32), shape: shape, x: x, w: w),
                    runLayer(try EvoNormS0(channels: 32, groups: 4), shape: shape, x: x, w: w),
                ])
            }
        }
        for k in 0..<runs[0].count {
            #expect(runs[0][k].y == runs[1][k].y, "layer \(k): forward differs between 1 and 2 threads")
            #expect(runs[0][k].dx == runs[1][k].dx, "layer \(k): dx differs between 1 and 2 threads")
            #expect(runs[0][k].paramGrads == runs[1][k].paramGrads, "layer \(k): parameter gradients differ")
        }
    }

    /// GroupNorm runs its two passes slab by slab (consecutive samples, a few MiB
    /// each): on shapes cut into several slabs forward and backward, every
    /// sample's y and dx are bit for bit what that sample gives alone, and y
    /// matches the Double reference.
    @Test func slabsLeaveEverySampleAsAlone() throws {
        for shape in [[3, 8, 32, 64, 32], [5, 8, 32, 32, 32]] {
            let n = shape[0], per = shape.dropFirst().reduce(1, *), c = shape[4]
            let x = randomValues(n * per, seed: 61, mean: 1, scale: 2), w = randomValues(n * per, seed: 62)
            let gamma = randomValues(c, seed: 63, mean: 1, scale: 0.5), beta = randomValues(c, seed: 64)
            func layer() throws -> GroupNorm {
                let gn = try GroupNorm(channels: c, groups: 8)
                gn.gamma!.value.copy(from: tensor([c], gamma))
                gn.beta!.value.copy(from: tensor([c], beta))
                return gn
            }
            let batch = runLayer(try layer(), shape: shape, x: x, w: w)
            for s in 0..<n {
                let part = s * per..<(s + 1) * per
                let alone = runLayer(try layer(), shape: [1] + shape.dropFirst(), x: Array(x[part]), w: Array(w[part]))
                #expect(Array(batch.y[part]) == alone.y, "\(shape) sample \(s): y differs from the sample alone")
                #expect(Array(batch.dx[part]) == alone.dx, "\(shape) sample \(s): dx differs from the sample alone")
            }
            expectClose(batch.y, referenceGroupNorm(x.doubles, n: n, p: per / c, c: c, groups: 8, gamma: gamma.doubles, beta: beta.doubles), "GN \(shape) y")
        }
    }

    /// Streaming stores (outputs beyond the last-level cache) compute every
    /// element with the same operations: GN, BN and IN give the same bits with
    /// them and without, forward and backward.
    @Test func streamingStoresGiveTheSameBits() throws {
        let shape = [3, 4, 8, 8, 32]
        let count = shape.reduce(1, *)
        let x = randomValues(count, seed: 81, mean: 2, scale: 3), w = randomValues(count, seed: 82)
        func runs(_ stream: Bool) throws -> [LayerRun] {
            try StreamingStores.$forced.withValue(stream) {
                [runLayer(try GroupNorm(channels: 32, groups: 8), shape: shape, x: x, w: w),
                 runLayer(BatchNorm(channels: 32), shape: shape, x: x, w: w),
                 runLayer(GroupNorm.instanceNorm(channels: 32), shape: shape, x: x, w: w)]
            }
        }
        func differing(_ a: [Float], _ b: [Float]) -> Int { zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count }
        let plain = try runs(false), streamed = try runs(true)
        for k in 0..<plain.count {
            #expect(differing(plain[k].y, streamed[k].y) == 0, "layer \(k): forward differs with streaming stores")
            #expect(differing(plain[k].dx, streamed[k].dx) == 0, "layer \(k): dx differs with streaming stores")
            #expect(plain[k].paramGrads == streamed[k].paramGrads, "layer \(k): parameter gradients differ")
        }
    }
}
