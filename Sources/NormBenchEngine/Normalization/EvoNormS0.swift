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
            let sc = coef + s * 3 * c, sh = sc + c, vv = sh + c
            for r in lo..<hi {
                let o = (s * plan.p + r) * c
                for j in 0..<c {
                    let xv = x[o + j]
                    y[o + j] = sh[j].addingProduct(xv * Self.sigmoid(vv[j] * xv), sc[j])
                }
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
        // Pass 1 per chunk and channel: Σ dy·num, Σ dy, Σ dy·x²·sig·(1 − sig).
        let partial = workspace.doubleBuffer(3 * c * (plan.chunks + plan.n))
        let box = UncheckedSendable((x.data, gradOutput.data, v.value.data, partial))
        Parallel.forEach(chunks: plan.chunks) { k in
            let (x, dy, vv, partial) = box.value
            let (s, lo, hi) = plan.rows(k)
            let out = partial + k * 3 * c
            out.update(repeating: 0, count: 3 * c)
            for r in lo..<hi {
                let o = (s * plan.p + r) * c
                for j in 0..<c {
                    let xv = Double(x[o + j]), g = Double(dy[o + j])
                    let sig = Double(Self.sigmoid(vv[j] * x[o + j]))
                    out[j] += g * xv * sig
                    out[c + j] += g
                    out[2 * c + j] += g * xv * xv * sig * (1 - sig)
                }
            }
        }
        let sums = partial + 3 * c * plan.chunks
        let coef = workspace.floatBuffer(plan.n * 6 * c)
        for s in 0..<plan.n {
            let dst = sums + s * 3 * c
            dst.update(repeating: 0, count: 3 * c)
            for k in s * plan.chunksPerSample..<(s + 1) * plan.chunksPerSample {
                for i in 0..<3 * c { dst[i] += partial[k * 3 * c + i] }
            }
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
            let mh = coef + s * 6 * c, ml = mh + c, k1 = ml + c, k2 = k1 + c, vv = k2 + c
            for r in lo..<hi {
                let o = (s * plan.p + r) * c
                for j in 0..<c {
                    let xv = x[o + j]
                    let sig = Self.sigmoid(vv[j] * xv)
                    let local = sig + vv[j] * xv * sig * (1 - sig)
                    dx[o + j] = (k1[j] * dy[o + j] * local).addingProduct(k2[j], (xv - mh[j]) - ml[j])
                }
            }
        }
        return dx
    }
}
