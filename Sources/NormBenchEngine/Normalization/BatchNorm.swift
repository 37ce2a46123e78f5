/// Batch Renormalization's limits (Ioffe 2017): r ∈ [1/rMax, rMax], d ∈ [−dMax, dMax],
/// ramped linearly from (1, 0) to (rMax, dMax) over the first `warmupSteps`
/// training steps (0: no ramp).
public struct BatchRenormOptions: Equatable, Sendable {
    public var rMax: Float
    public var dMax: Float
    public var warmupSteps: Int

    public init(rMax: Float = 3, dMax: Float = 5, warmupSteps: Int = 5000) {
        self.rMax = rMax
        self.dMax = dMax
        self.warmupSteps = warmupSteps
    }

    /// The limits in force at training step `step` (0-based).
    public func limits(step: Int) -> (rMax: Double, dMax: Double) {
        let t = warmupSteps > 0 ? min(1, Double(step) / Double(warmupSteps)) : 1
        return (1 + t * (Double(rMax) - 1), t * Double(dMax))
    }
}

/// Layers whose population statistics PreciseBN can recompute.
public protocol PreciseStatisticsLayer: AnyObject {
    /// Starts collecting: every training-mode forward from now on adds its batch
    /// mean and unbiased variance (and does not advance warm-up counters).
    func beginPreciseStatistics()
    /// Sets the running statistics to the averages over the collected batches
    /// (no-op if none) and stops collecting.
    func finalizePreciseStatistics()
}

/// PreciseBN (PySlowFast / fvcore `update_bn_stats`): before evaluation, replace
/// the running (EMA) statistics of every BN-type layer with the average of the
/// batch statistics over K training batches.
public enum PreciseBN {
    /// Runs `forwardBatch(k)` for k in 0..<batches between begin and finalize on
    /// every `PreciseStatisticsLayer` in `layers`. `forwardBatch` must run the
    /// model's forward in `.training` mode (no backward, no optimizer step).
    public static func recompute(layers: [any Layer], batches: Int, _ forwardBatch: (Int) throws -> Void) rethrows {
        let bns = layers.compactMap { $0 as? any PreciseStatisticsLayer }
        for l in bns { l.beginPreciseStatistics() }
        for k in 0..<batches { try forwardBatch(k) }
        for l in bns { l.finalizePreciseStatistics() }
    }
}

/// Batch Normalization over (N, D, H, W) per channel, with SyncBN and Batch
/// Renormalization as options.
///
/// Training: statistics of this call's batch (the worker's micro-batch), or, with
/// a `reducer`, of all workers' batches (SyncBN); running mean/variance updated
/// with `momentum` (running = (1 − m)·running + m·batch; the variance is unbiased).
/// Evaluation: the running statistics. The kernel runs in phases — local
/// per-sample moments, exchange through the reducer, merge in global sample
/// order, normalize — and the same for backward's sums.
///
/// N = 1: the statistics are the single sample's over (D, H, W), which is defined
/// (and equals InstanceNorm for that batch). A set of one element (`[1, c]` input)
/// normalizes to x̂ = 0 (y = β) and leaves the running variance unchanged
/// (its unbiased estimate is undefined).
///
/// Shapes: x, y `[n, d, h, w, c]` or `[n, c]`; γ, β, running stats `[c]`.
/// Memory: training forward keeps a reference to x and saves 20 bytes per channel
/// (mean hi/lo, rstd, r, d) in `activations`, with a fused ReLU 8 bytes more per
/// sample and channel (`ReLUCoef`), freed by `backward`.
public final class BatchNorm: ReLUFusing, PreciseStatisticsLayer {
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float
    public let affine: Bool
    public let gamma: Parameter?
    public let beta: Parameter?
    /// Population mean estimate `[c]` (ledger: parameters; not learned).
    public let runningMean: Tensor
    /// Population variance estimate `[c]` (unbiased; ledger: parameters).
    public let runningVariance: Tensor
    /// nil: per-worker BN. Set: SyncBN over the reducer's workers.
    public var reducer: (any StatisticsReducer)?
    /// Batch Renormalization limits; nil for plain BN.
    public let renorm: BatchRenormOptions?
    /// Training-mode forwards so far (drives the BRN warm-up).
    public private(set) var step = 0
    /// Data-parallel replicas (`RunningStatisticsExchange`): when true, training
    /// forwards (outside PreciseBN) leave the running statistics alone and queue
    /// their batch statistics in `pendingRunningUpdates`; `applyRunningUpdate`
    /// applies one later with the same arithmetic, so every replica can replay
    /// every worker's update in rank order.
    public var defersRunningUpdates = false
    /// Batch statistics of the deferred training forwards, oldest first.
    public private(set) var pendingRunningUpdates: [RunningUpdate] = []

    /// One training forward's contribution to the running statistics.
    public struct RunningUpdate: Equatable, Sendable {
        /// Batch mean per channel.
        public var mean: [Double]
        /// Unbiased batch variance per channel; nil for a one-element set (no update).
        public var unbiasedVariance: [Double]?

        public init(mean: [Double], unbiasedVariance: [Double]?) {
            self.mean = mean
            self.unbiasedVariance = unbiasedVariance
        }
    }

    public var kind: LayerKind { .normalization }
    public var parameters: [Parameter] { affine ? [gamma!, beta!] : [] }
    public var fusedReLU = false

    private let workspace = NormWorkspace()
    /// x, the per-channel statistics, the set size, and with a fused ReLU the
    /// forward's scale and shift (`ReLUCoef`).
    private var saved: (x: Tensor, stats: Tensor, count: Double, relu: Tensor?)?
    private var precise: (batches: Int, mean: [Double], variance: [Double])?

    public init(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true,
                initialGamma: Float = 1, reducer: (any StatisticsReducer)? = nil, renorm: BatchRenormOptions? = nil) {
        precondition(channels >= 1, "BatchNorm: channels must be >= 1, got \(channels)")
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        self.affine = affine
        self.reducer = reducer
        self.renorm = renorm
        (gamma, beta) = Parameter.normAffine(channels: channels, initialGamma: initialGamma, affine: affine)
        runningMean = Tensor(shape: [channels], category: .parameters, zeroed: true)
        runningVariance = Tensor(shape: [channels], category: .parameters)
        runningVariance.fill(1)
    }

    private var name: String { renorm != nil ? "BatchRenorm" : (reducer != nil ? "SyncBatchNorm" : "BatchNorm") }

    /// Per-channel mean and biased variance of `x` as a training forward would
    /// use them (through the reducer, if any). Does not touch running statistics.
    public func statistics(_ x: Tensor) -> NormStatistics {
        let (mean, m2, count) = batchMoments(x)
        return NormStatistics(mean: mean, variance: m2.map { max(0, $0 / count) }, count: Int(count))
    }

    /// Channel (mean, M2, count) over the (possibly synchronized) batch: local
    /// per-sample moments, allgather, Chan merge in global sample order.
    private func batchMoments(_ x: Tensor) -> (mean: [Double], m2: [Double], count: Double) {
        precondition(x.shape.count >= 2 && x.shape.last == channels,
                     "\(name): expected [n, d, h, w, \(channels)] (channels last), got \(x.shape)")
        let plan = NormPlan(shape: x.shape)
        let c = channels
        let buffer = workspace.doubleBuffer(2 * c * (plan.chunks + plan.n))
        let sMean = buffer + 2 * c * plan.chunks, sM2 = sMean + plan.n * c
        NormKernels.sampleMoments(x.data, plan, chunkStats: buffer, mean: sMean, m2: sM2)
        let stride = 1 + 2 * c
        var payload = [Double](repeating: 0, count: plan.n * stride)
        for s in 0..<plan.n {
            payload[s * stride] = Double(plan.p)
            for j in 0..<c {
                payload[s * stride + 1 + j] = sMean[s * c + j]
                payload[s * stride + 1 + c + j] = sM2[s * c + j]
            }
        }
        if let reducer { payload = reducer.allGather(payload) }
        precondition(payload.count % stride == 0, "\(name): reducer returned \(payload.count) values, not a multiple of \(stride)")
        var mean = [Double](repeating: 0, count: c), m2 = [Double](repeating: 0, count: c)
        var count = 0.0
        payload.withUnsafeBufferPointer { pl in
            mean.withUnsafeMutableBufferPointer { mean in
                m2.withUnsafeMutableBufferPointer { m2 in
                    for s in 0..<pl.count / stride {
                        let row = pl.baseAddress! + s * stride
                        let countB = row[0]
                        if count == 0 {
                            mean.baseAddress!.update(from: row + 1, count: c)
                            m2.baseAddress!.update(from: row + 1 + c, count: c)
                        } else {
                            NormKernels.chanMerge(mean: mean.baseAddress!, m2: m2.baseAddress!, countA: count,
                                                  bMean: row + 1, bM2: row + 1 + c, countB: countB, c: c)
                        }
                        count += countB
                    }
                }
            }
        }
        return (mean, m2, count)
    }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        precondition(x.shape.count >= 2 && x.shape.last == channels,
                     "\(name): expected [n, d, h, w, \(channels)] (channels last), got \(x.shape)")
        let plan = NormPlan(shape: x.shape)
        let c = channels
        guard mode == .training else {
            saved = nil
            let coef = workspace.floatBuffer(plan.n * Coef.rows * c)
            for j in 0..<c {
                let (hi, lo, scale, shift) = inferenceCoefficients(
                    mean: runningMean.data[j], variance: runningVariance.data[j],
                    gamma: gamma?.value.data[j] ?? 1, beta: beta?.value.data[j] ?? 0, epsilon: epsilon)
                setForwardCoef(coef, plan, j, hi, lo, scale, shift)
            }
            let y = Tensor(shape: x.shape, category: .activations)
            NormKernels.apply(x.data, y.data, plan, coef: coef, relu: fusedReLU)
            return y
        }
        let (mean, m2, count) = batchMoments(x)
        let limits = renorm?.limits(step: step)
        let stats = Tensor(shape: [c, 5], category: .activations)
        let coef = workspace.floatBuffer(plan.n * Coef.rows * c)
        let relu = fusedReLU ? Tensor(shape: [plan.n, ReLUCoef.rows, c], category: .activations) : nil
        let deferred = defersRunningUpdates && precise == nil
        if deferred {
            pendingRunningUpdates.append(RunningUpdate(mean: mean, unbiasedVariance: count > 1 ? m2.map { $0 / (count - 1) } : nil))
        }
        for j in 0..<c {
            let variance = max(0, m2[j] / count)
            let rstd = 1 / (variance + Double(epsilon)).squareRoot()
            var r = 1.0, d = 0.0
            if let limits {
                let runStd = (Double(runningVariance.data[j]) + Double(epsilon)).squareRoot()
                r = min(max((variance + Double(epsilon)).squareRoot() / runStd, 1 / limits.rMax), limits.rMax)
                d = min(max((mean[j] - Double(runningMean.data[j])) / runStd, -limits.dMax), limits.dMax)
            }
            let unbiased = count > 1 ? m2[j] / (count - 1) : nil
            if precise != nil {
                precise!.mean[j] += mean[j]
                precise!.variance[j] += unbiased ?? Double(runningVariance.data[j])
            }
            if !deferred { updateRunning(j, mean: mean[j], unbiased: unbiased) }
            let (hi, lo) = splitMean(mean[j])
            let g = Double(gamma?.value.data[j] ?? 1)
            stats.data[5 * j] = hi
            stats.data[5 * j + 1] = lo
            stats.data[5 * j + 2] = Float(rstd)
            stats.data[5 * j + 3] = Float(r)
            stats.data[5 * j + 4] = Float(d)
            let scale = Float(g * r * rstd), shift = Float(Double(beta?.value.data[j] ?? 0) + g * d)
            setForwardCoef(coef, plan, j, hi, lo, scale, shift)
            if let relu {
                let folded = NormKernels.foldedShift(shift, meanLo: lo, scale: scale)
                for s in 0..<plan.n {
                    relu.data[(s * ReLUCoef.rows + ReLUCoef.scale) * c + j] = scale
                    relu.data[(s * ReLUCoef.rows + ReLUCoef.shift) * c + j] = folded
                }
            }
        }
        if precise != nil { precise!.batches += 1 } else { step += 1 }
        let y = Tensor(shape: x.shape, category: .activations)
        NormKernels.apply(x.data, y.data, plan, coef: coef, relu: fusedReLU)
        saved = (x, stats, count, relu)
        return y
    }

    /// running = (1 − m)·running + m·batch for channel `j` (the variance only when
    /// the batch has an unbiased estimate).
    @inline(__always)
    private func updateRunning(_ j: Int, mean: Double, unbiased: Double?) {
        let m = Double(momentum)
        runningMean.data[j] = Float((1 - m) * Double(runningMean.data[j]) + m * mean)
        if let unbiased {
            runningVariance.data[j] = Float((1 - m) * Double(runningVariance.data[j]) + m * unbiased)
        }
    }

    /// Applies one (possibly another replica's) training forward's update to the
    /// running statistics, exactly as that forward would have.
    public func applyRunningUpdate(_ update: RunningUpdate) {
        precondition(update.mean.count == channels && (update.unbiasedVariance?.count ?? channels) == channels,
                     "\(name).applyRunningUpdate: \(update.mean.count) means for \(channels) channels")
        for j in 0..<channels { updateRunning(j, mean: update.mean[j], unbiased: update.unbiasedVariance?[j]) }
    }

    /// Removes and returns the queued updates (see `defersRunningUpdates`).
    public func takePendingRunningUpdates() -> [RunningUpdate] {
        defer { pendingRunningUpdates = [] }
        return pendingRunningUpdates
    }

    private func setForwardCoef(_ coef: UnsafeMutablePointer<Float>, _ plan: NormPlan, _ j: Int,
                                _ hi: Float, _ lo: Float, _ scale: Float, _ shift: Float) {
        let c = channels
        for s in 0..<plan.n {
            let row = coef + s * Coef.rows * c
            row[Coef.meanHi * c + j] = hi
            row[Coef.meanLo * c + j] = lo
            row[Coef.scale * c + j] = scale
            row[Coef.shift * c + j] = shift
        }
    }

    /// BN backward with the batch (or synchronized) sums; BRN's r and d are constants:
    /// dx = γr·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ += Σ dy·(r·x̂ + d), dβ += Σ dy.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let (x, stats, count, relu) = saved else {
            preconditionFailure("\(name).backward without a training-mode forward")
        }
        precondition(gradOutput.shape == x.shape, "\(name).backward: gradient \(gradOutput.shape) for input \(x.shape)")
        saved = nil
        let plan = NormPlan(shape: x.shape)
        let c = channels
        let buffer = workspace.doubleBuffer(2 * c * (plan.chunks + plan.n))
        let sumDy = buffer + 2 * c * plan.chunks, sumDyXc = sumDy + plan.n * c
        let coef = workspace.floatBuffer(plan.n * Coef.rows * c)
        for s in 0..<plan.n {
            let row = coef + s * Coef.rows * c
            for j in 0..<c {
                row[Coef.meanHi * c + j] = stats.data[5 * j]
                row[Coef.meanLo * c + j] = stats.data[5 * j + 1]
            }
        }
        NormKernels.gradientSums(x.data, gradOutput.data, plan, coef: coef, chunkStats: buffer, sumDy: sumDy, sumDyXc: sumDyXc,
                                 relu: relu?.data)
        var localDy = [Double](repeating: 0, count: c), localDyXc = [Double](repeating: 0, count: c)
        for s in 0..<plan.n {
            for j in 0..<c {
                localDy[j] += sumDy[s * c + j]
                localDyXc[j] += sumDyXc[s * c + j]
            }
        }
        var totalDy = localDy, totalDyXc = localDyXc
        if let reducer {
            // Each worker contributes [samples, Σdy per (sample, c), Σdy·xc per (sample, c)];
            // the totals add the samples' sums in global sample order, as BN over the whole batch does.
            let all = reducer.allGather([Double(plan.n)]
                                        + Array(UnsafeBufferPointer(start: sumDy, count: plan.n * c))
                                        + Array(UnsafeBufferPointer(start: sumDyXc, count: plan.n * c)))
            totalDy = [Double](repeating: 0, count: c)
            totalDyXc = [Double](repeating: 0, count: c)
            var offset = 0
            while offset < all.count {
                let samples = Int(all[offset])
                precondition(samples >= 0 && offset + 1 + 2 * samples * c <= all.count,
                             "\(name): malformed gathered gradient sums (\(all.count) values)")
                for s in 0..<samples {
                    for j in 0..<c {
                        totalDy[j] += all[offset + 1 + s * c + j]
                        totalDyXc[j] += all[offset + 1 + (samples + s) * c + j]
                    }
                }
                offset += 1 + 2 * samples * c
            }
        }
        for j in 0..<c {
            let rstd = Double(stats.data[5 * j + 2]), r = Double(stats.data[5 * j + 3]), d = Double(stats.data[5 * j + 4])
            let gEff = Double(gamma?.value.data[j] ?? 1) * r
            // A one-element set has x̂ ≡ 0: its input gradient is exactly 0.
            let k1 = count > 1 ? Float(rstd * gEff) : 0
            let k2 = count > 1 ? Float(-rstd * rstd * rstd * gEff * totalDyXc[j] / count) : 0
            let k3 = count > 1 ? Float(-rstd * gEff * totalDy[j] / count) : 0
            for s in 0..<plan.n {
                let row = coef + s * Coef.rows * c
                row[Coef.k1 * c + j] = k1
                row[Coef.k2 * c + j] = k2
                row[Coef.k3 * c + j] = k3
            }
            if let gamma, let beta {
                gamma.grad.data[j] += Float(r * rstd * localDyXc[j] + d * localDy[j])
                beta.grad.data[j] += Float(localDy[j])
            }
        }
        let dx = Tensor(shape: x.shape, category: .activations)
        NormKernels.gradientInput(x.data, gradOutput.data, dx.data, plan, coef: coef, relu: relu?.data)
        return dx
    }

    public func beginPreciseStatistics() {
        precise = (0, [Double](repeating: 0, count: channels), [Double](repeating: 0, count: channels))
    }

    public func finalizePreciseStatistics() {
        defer { precise = nil }
        guard let precise, precise.batches > 0 else { return }
        for j in 0..<channels {
            runningMean.data[j] = Float(precise.mean[j] / Double(precise.batches))
            runningVariance.data[j] = Float(precise.variance[j] / Double(precise.batches))
        }
    }
}

/// The fixed affine of inference-mode BN: y = ((x − mHi) − mLo)·γ/√(var + ε) + β.
/// Shared by eval-mode BatchNorm and FrozenBatchNorm so the two agree bitwise.
func inferenceCoefficients(mean: Float, variance: Float, gamma: Float, beta: Float, epsilon: Float)
    -> (hi: Float, lo: Float, scale: Float, shift: Float) {
    let rstd = 1 / (Double(variance) + Double(epsilon)).squareRoot()
    let (hi, lo) = splitMean(Double(mean))
    return (hi, lo, Float(Double(gamma) * rstd), beta)
}
