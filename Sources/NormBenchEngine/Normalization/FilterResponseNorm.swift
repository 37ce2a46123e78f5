/// Filter Response Normalization with a Thresholded Linear Unit (Singh & Krishnan
/// 2020): per (sample, channel), ν² = mean over (D, H, W) of x²,
/// y = max(γ·x/√(ν² + ε) + β, τ). No mean subtraction, no batch dependence.
///
/// Backward, with x̂ = x·rstd, z = γx̂ + β, m = [z > τ], dz = dy·m:
/// dx = rstd·γ·dz − x·rstd³·γ·Σ(dz·x)/P, dγ += Σ dz·x̂, dβ += Σ dz, dτ += Σ dy·(1 − m).
///
/// Shapes: x, y `[n, d, h, w, c]`; γ, β, τ `[c]`.
/// Memory: training forward keeps a reference to x and saves rstd per
/// (sample, channel): 4·n·c bytes (activations).
public final class FilterResponseNorm: Layer {
    public let channels: Int
    public let epsilon: Float
    public let gamma: Parameter
    public let beta: Parameter
    /// TLU threshold τ (role normShift).
    public let tau: Parameter

    public var kind: LayerKind { .normalization }
    public var parameters: [Parameter] { [gamma, beta, tau] }

    private let workspace = NormWorkspace()
    private var saved: (x: Tensor, rstd: Tensor)?

    public init(channels: Int, epsilon: Float = 1e-6, initialGamma: Float = 1) {
        precondition(channels >= 1, "FilterResponseNorm: channels must be >= 1, got \(channels)")
        self.channels = channels
        self.epsilon = epsilon
        gamma = Parameter(name: "gamma", role: .normScale, shape: [channels])
        gamma.value.fill(initialGamma)
        beta = Parameter(name: "beta", role: .normShift, shape: [channels])
        tau = Parameter(name: "tau", role: .normShift, shape: [channels])
    }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        precondition(x.shape.count >= 2 && x.shape.last == channels,
                     "FilterResponseNorm: expected [n, d, h, w, \(channels)] (channels last), got \(x.shape)")
        let plan = NormPlan(shape: x.shape)
        let c = channels
        let buffer = workspace.doubleBuffer(2 * c * (plan.chunks + plan.n))
        let mean = buffer + 2 * c * plan.chunks, m2 = mean + plan.n * c
        NormKernels.sampleMoments(x.data, plan, chunkStats: buffer, mean: mean, m2: m2)
        let rstd = Tensor(shape: [plan.n, c], category: .activations)
        let coef = workspace.floatBuffer(plan.n * 3 * c)
        for i in 0..<plan.n * c {
            let nu2 = mean[i] * mean[i] + max(0, m2[i] / Double(plan.p))
            let r = 1 / (nu2 + Double(epsilon)).squareRoot()
            rstd.data[i] = Float(r)
            let s = i / c, j = i % c
            coef[s * 3 * c + j] = Float(Double(gamma.value.data[j]) * r)
            coef[s * 3 * c + c + j] = beta.value.data[j]
            coef[s * 3 * c + 2 * c + j] = tau.value.data[j]
        }
        let y = Tensor(shape: x.shape, category: .activations)
        let box = UncheckedSendable((x.data, y.data, UnsafePointer(coef)))
        Parallel.forEach(chunks: plan.chunks) { k in
            let (x, y, coef) = box.value
            let (s, lo, hi) = plan.rows(k)
            let sc = coef + s &* 3 &* c, sh = sc + c, th = sh + c
            var o = (s &* plan.p &+ lo) &* c
            for _ in lo..<hi {
                let xr = x + o, yr = y + o
                var j = 0
                while j &+ 8 <= c {
                    let z = load8(sh + j).addingProduct(load8(xr + j), load8(sc + j))
                    store8(z.replacing(with: load8(th + j), where: z .<= load8(th + j)), yr + j)
                    j &+= 8
                }
                while j < c {
                    yr[j] = max(sh[j].addingProduct(xr[j], sc[j]), th[j])
                    j &+= 1
                }
                o &+= c
            }
        }
        saved = mode == .training ? (x, rstd) : nil
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let (x, rstd) = saved else { preconditionFailure("FilterResponseNorm.backward without a training-mode forward") }
        precondition(gradOutput.shape == x.shape, "FilterResponseNorm.backward: gradient \(gradOutput.shape) for input \(x.shape)")
        saved = nil
        let plan = NormPlan(shape: x.shape)
        let c = channels
        // Per sample and channel: Σ dz·x, Σ dz, Σ dy·(1 − m), in Double.
        let partial = workspace.doubleBuffer(3 * c * (plan.chunks + plan.n))
        let coef = workspace.floatBuffer(plan.n * 3 * c)
        for i in 0..<plan.n * c {
            let s = i / c, j = i % c
            coef[s * 3 * c + j] = gamma.value.data[j] * rstd.data[i]
            coef[s * 3 * c + c + j] = beta.value.data[j]
            coef[s * 3 * c + 2 * c + j] = tau.value.data[j]
        }
        let sums = partial + 3 * c * plan.chunks
        let xs = x.data, dys = gradOutput.data
        NormKernels.channelSums(plan, quantities: 3, chunkStats: partial, sums: [sums, sums + c, sums + 2 * c], sampleStride: 3 * c) { s, o, a in
            let sc = coef + s &* 3 &* c, sh = sc + c, th = sh + c
            let b = a + c, t = b + c
            let xr = xs + o, gr = dys + o
            var j = 0
            while j &+ 8 <= c {
                let xv = load8(xr + j), g = load8(gr + j)
                let dz = g.replacing(with: 0, where: load8(sh + j).addingProduct(xv, load8(sc + j)) .<= load8(th + j))
                store8(load8(a + j).addingProduct(dz, xv), a + j)
                store8(load8(b + j) + dz, b + j)
                store8(load8(t + j) + (g - dz), t + j)
                j &+= 8
            }
            while j < c {
                let xv = xr[j], g = gr[j]
                let dz: Float = sh[j].addingProduct(xv, sc[j]) > th[j] ? g : 0
                a[j].addProduct(dz, xv)
                b[j] += dz
                t[j] += g - dz
                j &+= 1
            }
        }
        for s in 0..<plan.n {
            let dst = sums + s * 3 * c
            for j in 0..<c {
                let r = Double(rstd.data[s * c + j])
                gamma.grad.data[j] += Float(r * dst[j])
                beta.grad.data[j] += Float(dst[c + j])
                tau.grad.data[j] += Float(dst[2 * c + j])
            }
        }
        // Pass 2 coefficients: dx = k1·dz + k2·x with k1 = γ·rstd, k2 = −γ·rstd³·Σ(dz·x)/P.
        let back = workspace.floatBuffer(plan.n * 5 * c)
        for i in 0..<plan.n * c {
            let s = i / c, j = i % c
            let r = Double(rstd.data[i]), g = Double(gamma.value.data[j])
            back[s * 5 * c + j] = Float(g * r)
            back[s * 5 * c + c + j] = beta.value.data[j]
            back[s * 5 * c + 2 * c + j] = tau.value.data[j]
            back[s * 5 * c + 3 * c + j] = Float(-g * r * r * r * sums[s * 3 * c + j] / Double(plan.p))
            back[s * 5 * c + 4 * c + j] = Float(g * r)
        }
        let dx = Tensor(shape: x.shape, category: .activations)
        let box2 = UncheckedSendable((x.data, gradOutput.data, dx.data, UnsafePointer(back)))
        Parallel.forEach(chunks: plan.chunks) { k in
            let (x, dy, dx, back) = box2.value
            let (s, lo, hi) = plan.rows(k)
            let sc = back + s &* 5 &* c, sh = sc + c, th = sh + c, k2 = th + c, k1 = k2 + c
            var o = (s &* plan.p &+ lo) &* c
            for _ in lo..<hi {
                let xr = x + o, gr = dy + o, outr = dx + o
                var j = 0
                while j &+ 8 <= c {
                    let xv = load8(xr + j)
                    let dz = load8(gr + j).replacing(with: 0, where: load8(sh + j).addingProduct(xv, load8(sc + j)) .<= load8(th + j))
                    store8((load8(k1 + j) * dz).addingProduct(load8(k2 + j), xv), outr + j)
                    j &+= 8
                }
                while j < c {
                    let xv = xr[j]
                    let dz: Float = sh[j].addingProduct(xv, sc[j]) > th[j] ? gr[j] : 0
                    outr[j] = (k1[j] * dz).addingProduct(k2[j], xv)
                    j &+= 1
                }
                o &+= c
            }
        }
        return dx
    }
}
