/// Weight Standardization (Qiao et al. 2019), used with GroupNorm (gn+ws): each
/// output filter of a convolution is standardized over its kd·kh·kw·cIn weights,
/// ŵ = (w − mean)/√(var + ε), before the convolution uses it.
///
/// It is LayerNorm without affine applied to the weight seen as `[cOut, K, 1]`,
/// computed with the same kernels; backward is
/// dw = rstd·(dŵ − mean(dŵ) − ŵ·mean(dŵ·ŵ)) per filter.
///
/// Shapes: weight, ŵ `[cOut, kd, kh, kw, cIn]`.
/// Memory: forward keeps a reference to the weight and saves mean (hi, lo) and rstd
/// per filter (12·cOut bytes, activations) until `backward`.
public final class WeightStandardization: WeightTransform {
    public let epsilon: Float
    private let workspace = NormWorkspace()
    private var saved: (weight: Tensor, stats: Tensor)?

    public init(epsilon: Float = 1e-5) { self.epsilon = epsilon }

    private func plan(_ shape: [Int]) -> NormPlan {
        precondition(shape.count >= 2, "WeightStandardization: expected [cOut, kd, kh, kw, cIn], got \(shape)")
        return NormPlan(n: shape[0], p: shape.dropFirst().reduce(1, *), c: 1)
    }

    public func forward(_ weight: Tensor) -> Tensor {
        let plan = plan(weight.shape)
        let buffer = workspace.doubleBuffer(2 * (plan.chunks + plan.n))
        let mean = buffer + 2 * plan.chunks, m2 = mean + plan.n
        NormKernels.sampleMoments(weight.data, plan, chunkStats: buffer, mean: mean, m2: m2)
        let coef = workspace.floatBuffer(plan.n * Coef.rows)
        let stats = Tensor(shape: [plan.n, 3], category: .activations)
        for f in 0..<plan.n {
            let (hi, lo) = splitMean(mean[f])
            let rstd = 1 / (max(0, m2[f] / Double(plan.p)) + Double(epsilon)).squareRoot()
            stats.data[3 * f] = hi
            stats.data[3 * f + 1] = lo
            stats.data[3 * f + 2] = Float(rstd)
            let row = coef + f * Coef.rows
            row[Coef.meanHi] = hi
            row[Coef.meanLo] = lo
            row[Coef.scale] = Float(rstd)
            row[Coef.shift] = 0
        }
        let out = Tensor(shape: weight.shape, category: .workspace)
        NormKernels.apply(weight.data, out.data, plan, coef: coef)
        saved = (weight, stats)
        return out
    }

    public func backward(_ gradTransformed: Tensor) -> Tensor {
        guard let (weight, stats) = saved else { preconditionFailure("WeightStandardization.backward without forward") }
        precondition(gradTransformed.shape == weight.shape,
                     "WeightStandardization.backward: gradient \(gradTransformed.shape) for weight \(weight.shape)")
        saved = nil
        let plan = plan(weight.shape)
        let buffer = workspace.doubleBuffer(2 * (plan.chunks + plan.n))
        let sumDy = buffer + 2 * plan.chunks, sumDyXc = sumDy + plan.n
        let coef = workspace.floatBuffer(plan.n * Coef.rows)
        for f in 0..<plan.n {
            coef[f * Coef.rows + Coef.meanHi] = stats.data[3 * f]
            coef[f * Coef.rows + Coef.meanLo] = stats.data[3 * f + 1]
        }
        NormKernels.gradientSums(weight.data, gradTransformed.data, plan, coef: coef, chunkStats: buffer, sumDy: sumDy, sumDyXc: sumDyXc)
        let k = Double(plan.p)
        for f in 0..<plan.n {
            let rstd = Double(stats.data[3 * f + 2])
            let row = coef + f * Coef.rows
            row[Coef.k1] = Float(rstd)
            row[Coef.k2] = Float(-rstd * rstd * rstd * sumDyXc[f] / k)
            row[Coef.k3] = Float(-rstd * sumDy[f] / k)
        }
        let dw = Tensor(shape: weight.shape, category: .workspace)
        NormKernels.gradientInput(weight.data, gradTransformed.data, dw.data, plan, coef: coef)
        return dw
    }
}
