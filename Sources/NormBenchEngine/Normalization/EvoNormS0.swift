import Foundation

/// EvoNorm-S0 (Liu et al. 2020): y = x·σ(v·x)/√(var_g(x) + ε)·γ + β, with the
/// variance over (C/G, D, H, W) per (sample, group) as in GroupNorm; no batch
/// dependence. Parameters γ, β, v per channel.
///
/// Backward, with sig = σ(v x), num = x·sig, rstd per set of M elements and mean μ:
/// dx = γ·rstd·dy·(sig + v·x·sig·(1 − sig)) − (x − μ)·rstd³·Σ_set(γ·dy·num)/M,
/// dγ += Σ dy·num·rstd, dβ += Σ dy, dv += Σ dy·γ·rstd·x²·sig·(1 − sig).
///
/// Shapes: x, y `[n, d, h, w, c]`; γ, β, v `[c]`.
/// Memory: training forward keeps a reference to x and saves mean (hi, lo) and rstd
/// per set: 12·n·groups bytes (activations).
public final class EvoNormS0: Layer {
    public let channels: Int
    public let groups: Int
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    /// The sigmoid gate's per-channel slope v (role normScale).
    public let v: Parameter

    public var kind: LayerKind { .normalization }
    public var parameters: [Parameter] { [gamma, beta, v] }

    private let workspace = NormWorkspace()
    private var saved: (x: Tensor, stats: Tensor)?

    /// - Throws: `NormalizationError.groupsDoNotDivide` when groups does not divide channels.
    public init(channels: Int, groups: Int, epsilon: Float = 1e-5, initialGamma: Float = 1) throws {
        guard channels >= 1, groups >= 1, channels % groups == 0 else {
            throw NormalizationError.groupsDoNotDivide(method: "EvoNorm-S0", channels: channels, groups: groups)
        }
        self.channels = channels
        self.groups = groups
        self.epsilon = epsilon
        gamma = Parameter(name: "gamma", role: .normScale, shape: [channels])
        gamma.value.fill(initialGamma)
        beta = Parameter(name: "beta", role: .normShift, shape: [channels])
        v = Parameter(name: "v", role: .normScale, shape: [channels])
        v.value.fill(1)
    }

    @inline(__always) private static func sigmoid(_ z: Float) -> Float { 1 / (1 + expf(-z)) }

    /// σ(z) for eight lanes: 1/(1 + e^(−z)) with a Cephes-style e^x (range reduction
    /// by ln 2, degree-5 polynomial; relative error ≈ 1e-7).
    @inline(__always) private static func sigmoid(_ z: SIMD8<Float>) -> SIMD8<Float> {
        var x = -z
        let lo = SIMD8<Float>(repeating: -87), hi = SIMD8<Float>(repeating: 88)
        x.replace(with: lo, where: x .< lo)
        x.replace(with: hi, where: x .> hi)
        // k = round(x·log2 e) by the 1.5·2^23 trick; its low mantissa bits are k as an integer.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let t = x.addingProduct(x, SIMD8(repeating: 0.442_695_04)) + magic
        let k = t - magic
        var r = x.addingProduct(k, SIMD8(repeating: -0.693_359_375))
        r = r.addingProduct(k, SIMD8(repeating: 2.121_944_4e-4))
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = SIMD8(repeating: 1.398_199_950_7e-3).addingProduct(p, r)
        p = SIMD8(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
        p = SIMD8(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
        p = SIMD8(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
        p = SIMD8(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
        let e = (r + 1).addingProduct(p, r * r)
        let kBits = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((kBits &+ 127) &<< 23, to: SIMD8<Float>.self)
        return 1 / (1 + e * scale)
    }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        precondition(x.shape.count >= 2 && x.shape.last == channels,
                     "EvoNorm-S0: expected [n, d, h, w, \(channels)] (channels last), got \(x.shape)")
        let plan = NormPlan(shape: x.shape)
        let c = channels, cpg = c / groups
        let buffer = workspace.doubleBuffer(2 * c * (plan.chunks + plan.n) + 2 * plan.n * groups)
        let sMean = buffer + 2 * c * plan.chunks, sM2 = sMean + plan.n * c
        let setMean = sM2 + plan.n * c, setVar = setMean + plan.n * groups
        NormKernels.sampleMoments(x.data, plan, chunkStats: buffer, mean: sMean, m2: sM2)
        NormKernels.foldGroups(plan, groups: groups, mean: sMean, m2: sM2, setMean: setMean, setVariance: setVar)
        let stats = Tensor(shape: [plan.n * groups, 3], category: .activations)
        let coef = workspace.floatBuffer(plan.n * 3 * c)
        for s in 0..<plan.n {
            for j in 0..<c {
                let set = s * groups + j / cpg
                let rstd = 1 / (setVar[set] + Double(epsilon)).squareRoot()
                let (hi, lo) = splitMean(setMean[set])
                stats.data[3 * set] = hi
                stats.data[3 * set + 1] = lo
                stats.data[3 * set + 2] = Float(rstd)
                coef[s * 3 * c + j] = Float(Double(gamma.value.data[j]) * rstd)
                coef[s * 3 * c + c + j] = beta.value.data[j]
                coef[s * 3 * c + 2 * c + j] = v.value.data[j]
            }
        }
        let y = Tensor(shape: x.shape, category: .activations)
        let box = UncheckedSendable((x.data, y.data, UnsafePointer(coef)))
        Parallel.forEach(chunks: plan.chunks) { k in
            let (x, y, coef) = box.value
            let (s, lo, hi) = plan.rows(k)
            let sc = coef + s &* 3 &* c, sh = sc + c, vv = sh + c
            var o = (s &* plan.p &+ lo) &* c
            for _ in lo..<hi {
                let xr = x + o, yr = y + o
                var j = 0
                while j &+ 8 <= c {
                    let xv = load8(xr + j)
                    store8(load8(sh + j).addingProduct(xv * Self.sigmoid(load8(vv + j) * xv), load8(sc + j)), yr + j)
                    j &+= 8
                }
                while j < c {
                    let xv = xr[j]
                    yr[j] = sh[j].addingProduct(xv * Self.sigmoid(vv[j] * xv), sc[j])
                    j &+= 1
                }
                o &+= c
            }
        }
        saved = mode == .training ? (x, stats) : nil
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let (x, stats) = saved else { preconditionFailure("EvoNorm-S0.backward without a training-mode forward") }
        precondition(gradOutput.shape == x.shape, "EvoNorm-S0.backward: gradient \(gradOutput.shape) for input \(x.shape)")
        saved = nil
        let plan = NormPlan(shape: x.shape)
        let c = channels, cpg = c / groups
        // Pass 1 per sample and channel: Σ dy·num, Σ dy, Σ dy·x²·sig·(1 − sig).
        let partial = workspace.doubleBuffer(3 * c * (plan.chunks + plan.n))
        let sums = partial + 3 * c * plan.chunks
        let xs = x.data, dys = gradOutput.data, vv = v.value.data
        NormKernels.channelSums(plan, quantities: 3, chunkStats: partial, sums: [sums, sums + c, sums + 2 * c], sampleStride: 3 * c) { _, o, a in
            let b = a + c, t = b + c
            let xr = xs + o, gr = dys + o
            var j = 0
            while j &+ 8 <= c {
                let xv = load8(xr + j), g = load8(gr + j)
                let sig = Self.sigmoid(load8(vv + j) * xv)
                let gx = g * xv
                store8(load8(a + j).addingProduct(gx, sig), a + j)
                store8(load8(b + j) + g, b + j)
                store8(load8(t + j).addingProduct(gx * xv, sig * (1 - sig)), t + j)
                j &+= 8
            }
            while j < c {
                let xv = xr[j], g = gr[j]
                let sig = Self.sigmoid(vv[j] * xv)
                let gx = g * xv
                a[j].addProduct(gx, sig)
                b[j] += g
                t[j].addProduct(gx * xv, sig * (1 - sig))
                j &+= 1
            }
        }
        let coef = workspace.floatBuffer(plan.n * 6 * c)
        for s in 0..<plan.n {
            let dst = sums + s * 3 * c
            for g in 0..<groups {
                let set = s * groups + g
                let rstd = Double(stats.data[3 * set + 2])
                var t = 0.0
                for j in g * cpg..<(g + 1) * cpg { t += Double(gamma.value.data[j]) * dst[j] }
                let k2 = Float(-rstd * rstd * rstd * t / Double(plan.p * cpg))
                for j in g * cpg..<(g + 1) * cpg {
                    let gj = Double(gamma.value.data[j])
                    gamma.grad.data[j] += Float(rstd * dst[j])
                    beta.grad.data[j] += Float(dst[c + j])
                    v.grad.data[j] += Float(gj * rstd * dst[2 * c + j])
                    let row = coef + s * 6 * c
                    row[j] = stats.data[3 * set]
                    row[c + j] = stats.data[3 * set + 1]
                    row[2 * c + j] = Float(gj * rstd)
                    row[3 * c + j] = k2
                    row[4 * c + j] = v.value.data[j]
                }
            }
        }
        let dx = Tensor(shape: x.shape, category: .activations)
        let box2 = UncheckedSendable((x.data, gradOutput.data, dx.data, UnsafePointer(coef)))
        Parallel.forEach(chunks: plan.chunks) { k in
            let (x, dy, dx, coef) = box2.value
            let (s, lo, hi) = plan.rows(k)
            let mh = coef + s &* 6 &* c, ml = mh + c, k1 = ml + c, k2 = k1 + c, vv = k2 + c
            var o = (s &* plan.p &+ lo) &* c
            for _ in lo..<hi {
                let xr = x + o, gr = dy + o, outr = dx + o
                var j = 0
                while j &+ 8 <= c {
                    let xv = load8(xr + j), v8 = load8(vv + j)
                    let sig = Self.sigmoid(v8 * xv)
                    let local = sig.addingProduct(v8 * xv, sig * (1 - sig))
                    let xc = (xv - load8(mh + j)) - load8(ml + j)
                    store8((load8(k1 + j) * load8(gr + j) * local).addingProduct(load8(k2 + j), xc), outr + j)
                    j &+= 8
                }
                while j < c {
                    let xv = xr[j]
                    let sig = Self.sigmoid(vv[j] * xv)
                    let local = sig.addingProduct(vv[j] * xv, sig * (1 - sig))
                    outr[j] = (k1[j] * gr[j] * local).addingProduct(k2[j], (xv - mh[j]) - ml[j])
                    j &+= 1
                }
                o &+= c
            }
        }
        return dx
    }
}
