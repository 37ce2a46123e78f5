import Foundation
import Testing
import NormBenchEngine
import NormBenchTestSupport

// Weight Standardization, Batch Renormalization, FRN + TLU, EvoNorm-S0 against
// Double references and central differences; the factory, its parser and errors;
// PreciseBN.

@Suite struct NormalizationVariantTests {
    @Test func weightStandardizationMatchesReference() {
        for (k, shape) in [[4, 3, 3, 3, 5], [2, 1, 3, 3, 7], [3, 1, 1, 1, 16]].enumerated() {
            let cOut = shape[0], kk = shape.dropFirst().reduce(1, *)
            let wv = randomValues(cOut * kk, seed: UInt64(300 + k), mean: 0.1, scale: 0.05)
            let g = randomValues(cOut * kk, seed: UInt64(310 + k))
            let ws = WeightStandardization(epsilon: 1e-5)
            let out = ws.forward(tensor(shape, wv)).array
            let dw = ws.backward(tensor(shape, g)).array
            // Reference: LayerNorm over each filter's K weights, no affine.
            let ref = { (w: [Double]) in
                referenceGroupNorm(w, n: cOut, p: kk, c: 1, groups: 1, gamma: [1], beta: [0])
            }
            expectClose(out, ref(wv.doubles), atol: 1e-5, rtol: 1e-4, "WS \(shape) forward")
            expectClose(dw, centralDifference(wv.doubles, step: 1e-6) { dot(ref($0), g.doubles) },
                        atol: 1e-2, rtol: 1e-3, "WS \(shape) backward")
        }
        #expect(NormalizationSpec(method: .groupNormWS).makeWeightTransform() is WeightStandardization)
        #expect(NormalizationSpec(method: .groupNorm).makeWeightTransform() == nil)
    }

    /// BRN with r and d as constants in backward (stop-gradient): the reference is
    /// differentiated with r, d frozen at the values of the unperturbed input.
    @Test func batchRenormMatchesReference() {
        let shape = [3, 2, 3, 1, 5]
        let n = 3, p = 6, c = 5, count = 90
        let x = randomValues(count, seed: 71, mean: 0.3, scale: 1.5), w = randomValues(count, seed: 72)
        let gamma = randomValues(c, seed: 73, mean: 1, scale: 0.3), beta = randomValues(c, seed: 74)
        let runMean: [Float] = [0.3, 0.0, 5.0, -4.0, 0.2], runVar: [Float] = [2.0, 0.01, 1.0, 100.0, 1.5]
        for step in [0, 500, 5000] {
            let options = BatchRenormOptions(rMax: 3, dMax: 5, warmupSteps: 1000)
            let brn = BatchNorm(channels: c, renorm: options)
            brn.gamma!.value.copy(from: tensor([c], gamma))
            brn.beta!.value.copy(from: tensor([c], beta))
            for _ in 0..<step where step <= 500 {
                _ = brn.forward(tensor(shape, x), mode: .training)  // advance the warm-up counter
            }
            if step > 500 { for _ in 0..<1001 { _ = brn.forward(tensor([1, 5], [0, 0, 0, 0, 0]), mode: .training) } }
            brn.runningMean.copy(from: tensor([c], runMean))
            brn.runningVariance.copy(from: tensor([c], runVar))
            let limits = options.limits(step: brn.step)
            let stats = referenceSetNorm(x.doubles, n: n, p: p, c: c, sets: c, setOf: { _, j in j },
                                         gamma: gamma.doubles, beta: beta.doubles, epsilon: 1e-5)
            var r = [Double](), d = [Double]()
            for j in 0..<c {
                let runStd = (Double(runVar[j]) + 1e-5).squareRoot()
                r.append(min(max((stats.variance[j] + 1e-5).squareRoot() / runStd, 1 / limits.rMax), limits.rMax))
                d.append(min(max((stats.mean[j] - Double(runMean[j])) / runStd, -limits.dMax), limits.dMax))
            }
            let run = runLayer(brn, shape: shape, x: x, w: w)
            expectMatchesReference(run, x: x, gamma: gamma, beta: beta, w: w, "BRN step \(step) (rMax \(limits.rMax), dMax \(limits.dMax))") {
                referenceBatchNorm($0, n: n, p: p, c: c, gamma: $1, beta: $2, renorm: (r, d))
            }
        }
        #expect(BatchRenormOptions(rMax: 3, dMax: 5, warmupSteps: 100).limits(step: 0) == (1, 0))
        #expect(BatchRenormOptions(rMax: 3, dMax: 5, warmupSteps: 100).limits(step: 50) == (2, 2.5))
        #expect(BatchRenormOptions(rMax: 3, dMax: 5, warmupSteps: 100).limits(step: 500) == (3, 5))
    }

    @Test func filterResponseNormMatchesReference() {
        // c = 16 and 11 exercise the 8-lane SIMD path and its scalar tail.
        for (k, shape) in [[2, 3, 1, 5, 4], [1, 1, 3, 3, 6], [3, 2, 2, 1, 3], [2, 1, 2, 3, 16], [1, 2, 1, 3, 11]].enumerated() {
            let n = shape[0], c = shape[4], p = shape[1] * shape[2] * shape[3]
            let seed = UInt64(400 + 10 * k)
            let x = randomValues(n * p * c, seed: seed, mean: 0.2, scale: 1.5), w = randomValues(n * p * c, seed: seed + 1)
            let gamma = randomValues(c, seed: seed + 2, mean: 1, scale: 0.3)
            let beta = randomValues(c, seed: seed + 3, scale: 0.3), tau = randomValues(c, seed: seed + 4, scale: 0.3)
            let frn = FilterResponseNorm(channels: c, epsilon: 1e-6)
            frn.gamma.value.copy(from: tensor([c], gamma))
            frn.beta.value.copy(from: tensor([c], beta))
            frn.tau.value.copy(from: tensor([c], tau))
            let run = runLayer(frn, shape: shape, x: x, w: w)
            let ref = { (x: [Double], g: [Double], b: [Double], t: [Double]) in
                referenceFRN(x, n: n, p: p, c: c, gamma: g, beta: b, tau: t, epsilon: 1e-6)
            }
            let (xd, gd, bd, td, wd) = (x.doubles, gamma.doubles, beta.doubles, tau.doubles, w.doubles)
            let label = "FRN \(shape)"
            expectClose(run.y, ref(xd, gd, bd, td), "\(label) y")
            expectClose(run.dx, centralDifference(xd) { dot(ref($0, gd, bd, td), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dx")
            expectClose(run.paramGrads[0], centralDifference(gd) { dot(ref(xd, $0, bd, td), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dgamma")
            expectClose(run.paramGrads[1], centralDifference(bd) { dot(ref(xd, gd, $0, td), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dbeta")
            expectClose(run.paramGrads[2], centralDifference(td) { dot(ref(xd, gd, bd, $0), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dtau")
        }
    }

    @Test func evoNormS0MatchesReference() throws {
        let cases: [(shape: [Int], groups: Int)] = [([2, 3, 1, 5, 4], 2), ([1, 1, 3, 3, 6], 3), ([3, 2, 2, 1, 4], 1), ([2, 1, 3, 1, 4], 4), ([2, 1, 2, 3, 16], 4), ([1, 2, 1, 3, 24], 3)]
        for (k, (shape, groups)) in cases.enumerated() {
            let n = shape[0], c = shape[4], p = shape[1] * shape[2] * shape[3]
            let seed = UInt64(500 + 10 * k)
            let x = randomValues(n * p * c, seed: seed, mean: 0.5, scale: 1.5), w = randomValues(n * p * c, seed: seed + 1)
            let gamma = randomValues(c, seed: seed + 2, mean: 1, scale: 0.3)
            let beta = randomValues(c, seed: seed + 3, scale: 0.3), v = randomValues(c, seed: seed + 4, mean: 1, scale: 0.5)
            let evo = try EvoNormS0(channels: c, groups: groups)
            evo.gamma.value.copy(from: tensor([c], gamma))
            evo.beta.value.copy(from: tensor([c], beta))
            evo.v.value.copy(from: tensor([c], v))
            let run = runLayer(evo, shape: shape, x: x, w: w)
            let ref = { (x: [Double], g: [Double], b: [Double], v: [Double]) in
                referenceEvoNorm(x, n: n, p: p, c: c, groups: groups, gamma: g, beta: b, v: v, epsilon: 1e-5)
            }
            let (xd, gd, bd, vd, wd) = (x.doubles, gamma.doubles, beta.doubles, v.doubles, w.doubles)
            let label = "EvoNorm-S0 G=\(groups) \(shape)"
            expectClose(run.y, ref(xd, gd, bd, vd), "\(label) y")
            expectClose(run.dx, centralDifference(xd) { dot(ref($0, gd, bd, vd), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dx")
            expectClose(run.paramGrads[0], centralDifference(gd) { dot(ref(xd, $0, bd, vd), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dgamma")
            expectClose(run.paramGrads[1], centralDifference(bd) { dot(ref(xd, gd, $0, vd), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dbeta")
            expectClose(run.paramGrads[2], centralDifference(vd) { dot(ref(xd, gd, bd, $0), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dv")
        }
    }

    /// PreciseBN: running statistics become the averages of the K batches' mean and
    /// unbiased variance, whatever the momentum would have given.
    @Test func preciseBatchNormAveragesBatchStatistics() {
        let shape = [2, 1, 3, 4, 3]
        let bn = BatchNorm(channels: 3, momentum: 0.1)
        var batches: [[Float]] = []
        for k in 0..<4 {
            batches.append(randomValues(72, seed: UInt64(80 + k), mean: Float(k), scale: Float(1 + k)))
        }
        PreciseBN.recompute(layers: [bn], batches: batches.count) { k in
            _ = bn.forward(tensor(shape, batches[k]), mode: .training)
        }
        var mean = [Double](repeating: 0, count: 3), variance = [Double](repeating: 0, count: 3)
        for b in batches {
            let s = referenceSetNorm(b.doubles, n: 2, p: 12, c: 3, sets: 3, setOf: { _, j in j },
                                     gamma: [1, 1, 1], beta: [0, 0, 0], epsilon: 0)
            for j in 0..<3 {
                mean[j] += s.mean[j] / 4
                variance[j] += s.variance[j] * 24 / 23 / 4
            }
        }
        expectClose(bn.runningMean.array, mean, "PreciseBN mean")
        expectClose(bn.runningVariance.array, variance, "PreciseBN variance")
        #expect(bn.step == 0, "PreciseBN batches must not advance the BRN warm-up")
    }

    /// The finder walks Sequential and ResidualBlock; PreciseBN(model:) reaches nested BNs.
    @Test func findsNormalizationLayersInAModel() throws {
        let inner = BatchNorm(channels: 4), outer = BatchNorm(channels: 4), short = BatchNorm(channels: 4)
        let block = ResidualBlock(branch: Sequential([inner, try GroupNorm(channels: 4, groups: 2)]), shortcut: Sequential([short]))
        let model = Sequential([outer, block])
        #expect(NormalizationLayers.leaves(of: model).count == 4)
        #expect(NormalizationLayers.batchNorms(in: model).map { ObjectIdentifier($0) } == [outer, inner, short].map { ObjectIdentifier($0) })
        NormalizationLayers.synchronize(model, reducer: CommunicatorReducer(communicator: LocalCommunicatorGroup(size: 1).endpoint(rank: 0), meter: CollectiveMeter()))
        #expect(inner.reducer != nil && outer.reducer != nil && short.reducer != nil)
        let x = randomValues(2 * 3 * 4, seed: 7, mean: 3)
        PreciseBN.recompute(model: model, batches: 1) { _ in _ = model.forward(tensor([2, 3, 4], x), mode: .training) }
        #expect(outer.runningMean.array.allSatisfy { $0 > 1 }, "PreciseBN replaced the running mean (not the 0.1-momentum EMA)")
    }

    @Test func factoryBuildsEachMethodAndExplainsErrors() throws {
        for method in NormMethod.allCases {
            let layer = try NormalizationSpec(method: method).make(channels: 64, role: .standard)
            let isNone = method == .none
            #expect((layer == nil) == isNone, "\(method)")
            if let layer { #expect(layer.kind == .normalization) }
        }
        // Zero-γ for the last norm of a residual branch.
        let last = try NormalizationSpec(method: .groupNorm).make(channels: 64, role: .residualLast) as! GroupNorm
        #expect(last.gamma!.value.array.allSatisfy { $0 == 0 })
        #expect(last.parameters.map(\.role) == [.normScale, .normShift])
        // Groups that do not divide the channels.
        let error = #expect(throws: NormalizationError.self) {
            try NormalizationSpec(method: .groupNorm).make(channels: 48, role: .standard)
        }
        #expect(error?.description.hasPrefix("GroupNorm: channels (48) must be divisible by groups (32)") == true)
        #expect(throws: NormalizationError.self) { try GroupNorm(channels: 10, channelsPerGroup: 4) }
        #expect(throws: NormalizationError.self) { try EvoNormS0(channels: 10, groups: 4) }
        // Parser.
        let gn = try NormalizationSpec(parsing: "gn:groups=16,eps=1e-3")
        #expect(gn.method == .groupNorm && gn.groups == 16 && gn.epsilon == 1e-3 && gn.name == "gn:groups=16,eps=0.001")
        #expect(try NormalizationSpec(parsing: "gn:cpg=4").groupCount(channels: 64) == 16)
        #expect(try NormalizationSpec(parsing: "brn:rmax=2,dmax=1,warmup=10").renorm == BatchRenormOptions(rMax: 2, dMax: 1, warmupSteps: 10))
        // PreciseBN and weight decay on γ, β are workload settings (training.preciseBNBatches, weightDecayNorm), not norm options.
        #expect(throws: NormalizationError.self) { try NormalizationSpec(parsing: "bn:precise=50") }
        for name in ["bn", "syncbn", "frozenbn", "ln", "in", "gn", "gn+ws", "brn", "frn", "evonorm", "none"] {
            #expect(try NormalizationSpec(parsing: name).method.rawValue == name)
        }
        let unknown = #expect(throws: NormalizationError.self) { try NormalizationSpec(parsing: "xn") }
        #expect(unknown?.description.contains("expected one of bn, syncbn") == true)
        #expect(throws: NormalizationError.self) { try NormalizationSpec(parsing: "gn:groups=0") }
        #expect(throws: NormalizationError.self) { try NormalizationSpec(parsing: "gn:colour=red") }
    }
}
