import Foundation

/// Per-set statistics a normalization layer computed (biased variance).
public struct NormStatistics: Equatable, Sendable {
    /// Mean of each statistics set, in the layer's set order.
    public var mean: [Double]
    /// Biased variance (divide by the set size) of each set.
    public var variance: [Double]
    /// Elements per set.
    public var count: Int
}

/// Group Normalization (Wu & He 2018): x̂ = (x − μ)/σ over (C/G, D, H, W) per
/// (sample, group), then y = γ·x̂ + β per channel. G = 1 is LayerNorm, G = C is
/// InstanceNorm; both are this class (`layerNorm(channels:)`,
/// `instanceNorm(channels:)`), so the identities hold exactly.
///
/// Shapes: x, y `[n, d, h, w, c]` (or `[n, c]`, any rank ≥ 2 with channels last);
/// γ, β `[c]`; sets `[n][groups]`.
///
/// Memory: training-mode forward keeps a reference to x (no copy; the previous
/// layer's output is alive anyway) and saves mean (hi, lo) and rstd per set:
/// 12 bytes × n × groups in the ledger's `activations` (with a fused ReLU, 8 bytes
/// × n × c more: `ReLUCoef`), freed by `backward`.
/// Workspace: 16·c·(chunks + 2n) bytes of Double partials and 20·n·c bytes of
/// per-(sample, channel) coefficients, kept between calls.
/// Traffic: forward reads x twice and writes y once (3 × 4 bytes per element);
/// backward reads x and dy twice and writes dx once (5 × 4 bytes). Both run slab
/// by slab or sample by sample (`eachSlab`), so the second read comes from cache.
public final class GroupNorm: ReLUFusing {
    public let channels: Int
    public let groups: Int
    public let epsilon: Float
    public let affine: Bool
    /// Scale γ (role normScale), nil without affine.
    public let gamma: Parameter?
    /// Shift β (role normShift), nil without affine.
    public let beta: Parameter?
    /// The name in messages: "GroupNorm", "LayerNorm" or "InstanceNorm".
    public let name: String

    public var kind: LayerKind { .normalization }
    public var parameters: [Parameter] { affine ? [gamma!, beta!] : [] }
    public var fusedReLU = false

    private let workspace = NormWorkspace()
    /// x, the per-set statistics, and with a fused ReLU the forward's scale and shift (`ReLUCoef`).
    private var saved: (x: Tensor, stats: Tensor, relu: Tensor?)?

    /// - Parameters:
    ///   - channels: channels of the activation (its last dimension).
    ///   - groups: number of groups; must divide `channels`.
    ///   - epsilon: added to the variance.
    ///   - affine: learn per-channel γ and β.
    ///   - initialGamma: γ's initial value (0 for the last norm of a residual block).
    /// - Throws: `NormalizationError.groupsDoNotDivide` ("GroupNorm: channels (48) must be divisible by groups (32)").
    public init(channels: Int, groups: Int, epsilon: Float = 1e-5, affine: Bool = true, initialGamma: Float = 1, name: String = "GroupNorm") throws {
        guard channels >= 1, groups >= 1, channels % groups == 0 else {
            throw NormalizationError.groupsDoNotDivide(method: name, channels: channels, groups: groups)
        }
        self.channels = channels
        self.groups = groups
        self.epsilon = epsilon
        self.affine = affine
        self.name = name
        (gamma, beta) = Parameter.normAffine(channels: channels, initialGamma: initialGamma, affine: affine)
    }

    /// GroupNorm with `channelsPerGroup` channels in each group.
    /// - Throws: `NormalizationError.channelsPerGroupDoesNotDivide`.
    public convenience init(channels: Int, channelsPerGroup: Int, epsilon: Float = 1e-5, affine: Bool = true, initialGamma: Float = 1) throws {
        guard channels >= 1, channelsPerGroup >= 1, channels % channelsPerGroup == 0 else {
            throw NormalizationError.channelsPerGroupDoesNotDivide(method: "GroupNorm", channels: channels, channelsPerGroup: channelsPerGroup)
        }
        try self.init(channels: channels, groups: channels / channelsPerGroup, epsilon: epsilon, affine: affine, initialGamma: initialGamma)
    }

    /// LayerNorm over (C, D, H, W) per sample: GroupNorm with one group.
    public static func layerNorm(channels: Int, epsilon: Float = 1e-5, affine: Bool = true, initialGamma: Float = 1) -> GroupNorm {
        try! GroupNorm(channels: channels, groups: 1, epsilon: epsilon, affine: affine, initialGamma: initialGamma, name: "LayerNorm")
    }

    /// InstanceNorm over (D, H, W) per sample and channel: GroupNorm with one channel per group.
    public static func instanceNorm(channels: Int, epsilon: Float = 1e-5, affine: Bool = true, initialGamma: Float = 1) -> GroupNorm {
        try! GroupNorm(channels: channels, groups: channels, epsilon: epsilon, affine: affine, initialGamma: initialGamma, name: "InstanceNorm")
    }

    private func checkShape(_ x: Tensor) -> NormPlan {
        precondition(x.shape.count >= 2 && x.shape.last == channels,
                     "\(name): expected [n, d, h, w, \(channels)] (channels last), got \(x.shape)")
        return NormPlan(shape: x.shape)
    }

    /// The mean and biased variance of every (sample, group) set of `x`, in the
    /// order n-major, group-minor: what `forward` normalizes with.
    public func statistics(_ x: Tensor) -> NormStatistics {
        let plan = checkShape(x)
        let moments = momentBuffers(plan)
        setMoments(x, plan, moments, samples: 0..<plan.n)
        let sets = plan.n * groups
        return NormStatistics(mean: Array(UnsafeBufferPointer(start: moments.setMean, count: sets)),
                              variance: Array(UnsafeBufferPointer(start: moments.setVariance, count: sets)),
                              count: plan.p * (channels / groups))
    }

    private typealias Moments = (chunkStats: UnsafeMutablePointer<Double>, mean: UnsafeMutablePointer<Double>, m2: UnsafeMutablePointer<Double>,
                                 setMean: UnsafeMutablePointer<Double>, setVariance: UnsafeMutablePointer<Double>)

    /// Workspace for per-chunk, per-(sample, channel) and per-set moments (Double).
    private func momentBuffers(_ plan: NormPlan) -> Moments {
        let c = channels
        let buffer = workspace.doubleBuffer(2 * c * (plan.chunks + 2 * plan.n) + 2 * plan.n * groups)
        let sMean = buffer + 2 * c * plan.chunks, sM2 = sMean + plan.n * c
        let setMean = sM2 + plan.n * c
        return (buffer, sMean, sM2, setMean, setMean + plan.n * groups)
    }

    /// Per-set mean and variance of `samples` into `m.setMean`, `m.setVariance`.
    private func setMoments(_ x: Tensor, _ plan: NormPlan, _ m: Moments, samples: Range<Int>) {
        NormKernels.sampleMoments(x.data, plan, chunkStats: m.chunkStats, mean: m.mean, m2: m.m2, samples: samples)
        NormKernels.foldGroups(plan, groups: groups, mean: m.mean, m2: m.m2, setMean: m.setMean, setVariance: m.setVariance, samples: samples)
    }

    /// Runs `body` (both passes of the layer over a range of samples) over every sample once.
    /// With T > 1 threads and a batch that divides evenly among them, each thread
    /// takes whole samples: one parallel region for the layer's forward (or
    /// backward) instead of two per slab, no chunk left over for one thread, and
    /// each sample's second pass reads what its own thread just read. Otherwise
    /// slab by slab (`NormPlan.slabs`), each pass parallel over chunks. The chunks
    /// are the same either way, and so are the bits. `body` may only write memory
    /// of its samples. `NORMBENCH_SAMPLES_PER_THREAD=0` always takes slabs.
    private func eachSlab(_ plan: NormPlan, streams: Int, _ body: (Range<Int>) -> Void) {
        let threads = Parallel.threads
        if threads > 1 && plan.n % threads == 0 && Self.samplesPerThread {
            // Task-local settings do not follow the work onto the pool's threads:
            // carry the streaming-store choice over, and run the kernels inside on
            // each thread alone.
            let forced = StreamingStores.forced
            Parallel.forEach(chunks: plan.n, threads: threads) { s in
                StreamingStores.$forced.withValue(forced) {
                    Parallel.withThreads(1) { body(s..<s + 1) }
                }
            }
        } else {
            for slab in plan.slabs(streams: streams) { body(slab) }
        }
    }
    private static let samplesPerThread = ProcessInfo.processInfo.environment["NORMBENCH_SAMPLES_PER_THREAD"] != "0"

    /// Statistics and normalization run slab by slab or sample by sample
    /// (`eachSlab`), so the normalizing pass reads what the statistics pass just
    /// left in cache.
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let plan = checkShape(x)
        let c = channels, cpg = channels / groups
        let moments = momentBuffers(plan)
        let stats = Tensor(shape: [plan.n * groups, 3], category: .activations)
        let coef = workspace.floatBuffer(plan.n * Coef.rows * c)
        let y = Tensor(shape: x.shape, category: .activations)
        let relu = fusedReLU && mode == .training ? Tensor(shape: [plan.n, ReLUCoef.rows, c], category: .activations) : nil
        eachSlab(plan, streams: 1) { slab in
            setMoments(x, plan, moments, samples: slab)
            for s in slab {
                for g in 0..<groups {
                    let set = s * groups + g
                    let (hi, lo) = splitMean(moments.setMean[set])
                    let rstd = 1 / (moments.setVariance[set] + Double(epsilon)).squareRoot()
                    stats.data[3 * set] = hi
                    stats.data[3 * set + 1] = lo
                    stats.data[3 * set + 2] = Float(rstd)
                    let row = coef + s * Coef.rows * c
                    for j in g * cpg..<(g + 1) * cpg {
                        let scale = Float(Double(gamma?.value.data[j] ?? 1) * rstd), shift = beta?.value.data[j] ?? 0
                        row[Coef.meanHi * c + j] = hi
                        row[Coef.meanLo * c + j] = lo
                        row[Coef.scale * c + j] = scale
                        row[Coef.shift * c + j] = shift
                        if let relu {
                            let rc = relu.data + s * ReLUCoef.rows * c
                            rc[ReLUCoef.scale * c + j] = scale
                            rc[ReLUCoef.shift * c + j] = NormKernels.foldedShift(shift, meanLo: lo, scale: scale)
                        }
                    }
                }
            }
            NormKernels.apply(x.data, y.data, plan, coef: coef, samples: slab, relu: fusedReLU)
        }
        saved = mode == .training ? (x, stats, relu) : nil
        return y
    }

    /// dx_i = rstd·(γ_i dy_i − (1/M) Σ_j γ_j dy_j − x̂_i (1/M) Σ_j γ_j dy_j x̂_j) over the
    /// set's M elements; dγ += Σ dy·x̂, dβ += Σ dy (docs/normalization.md).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let (x, stats, relu) = saved else {
            preconditionFailure("\(name).backward without a training-mode forward")
        }
        precondition(gradOutput.shape == x.shape, "\(name).backward: gradient \(gradOutput.shape) for input \(x.shape)")
        saved = nil
        let plan = NormPlan(shape: x.shape)
        let c = channels, cpg = channels / groups
        let buffer = workspace.doubleBuffer(2 * c * (plan.chunks + plan.n))
        let chunkStats = buffer, sumDy = buffer + 2 * c * plan.chunks, sumDyXc = sumDy + plan.n * c
        let coef = workspace.floatBuffer(plan.n * Coef.rows * c)
        for s in 0..<plan.n {
            let row = coef + s * Coef.rows * c
            for j in 0..<c {
                let set = s * groups + j / cpg
                row[Coef.meanHi * c + j] = stats.data[3 * set]
                row[Coef.meanLo * c + j] = stats.data[3 * set + 1]
            }
        }
        let setSize = Double(plan.p * cpg)
        let dx = Tensor(shape: x.shape, category: .activations)
        // As in `forward` (`eachSlab`): the input-gradient pass re-reads x and dy from cache.
        eachSlab(plan, streams: 2) { slab in
            NormKernels.gradientSums(x.data, gradOutput.data, plan, coef: coef, chunkStats: chunkStats, sumDy: sumDy, sumDyXc: sumDyXc,
                                     samples: slab, relu: relu?.data)
            for s in slab {
                let row = coef + s * Coef.rows * c
                for g in 0..<groups {
                    let rstd = Double(stats.data[3 * (s * groups + g) + 2])
                    var a = 0.0, b = 0.0
                    for j in g * cpg..<(g + 1) * cpg {
                        let gj = Double(gamma?.value.data[j] ?? 1)
                        a += gj * sumDy[s * c + j]
                        b += gj * sumDyXc[s * c + j]
                    }
                    let k2 = Float(-rstd * rstd * rstd * b / setSize)
                    let k3 = Float(-rstd * a / setSize)
                    for j in g * cpg..<(g + 1) * cpg {
                        // A one-element set has x̂ ≡ 0: its input gradient is exactly 0.
                        row[Coef.k1 * c + j] = setSize > 1 ? Float(rstd * Double(gamma?.value.data[j] ?? 1)) : 0
                        row[Coef.k2 * c + j] = setSize > 1 ? k2 : 0
                        row[Coef.k3 * c + j] = setSize > 1 ? k3 : 0
                    }
                }
            }
            NormKernels.gradientInput(x.data, gradOutput.data, dx.data, plan, coef: coef, samples: slab, relu: relu?.data)
        }
        if let gamma, let beta {
            for j in 0..<c {
                var dg = 0.0, db = 0.0
                for s in 0..<plan.n {
                    dg += Double(stats.data[3 * (s * groups + j / cpg) + 2]) * sumDyXc[s * c + j]
                    db += sumDy[s * c + j]
                }
                gamma.grad.data[j] += Float(dg)
                beta.grad.data[j] += Float(db)
            }
        }
        return dx
    }
}
