/// Fully connected layer kernels.
///
/// Shapes: x `[n, in]`, weight `[out, in]`, bias `[out]`, y `[n, out]`.
/// Sums run in a fixed order over `in` (forward) or `n` (weight gradient), so
/// the result does not depend on the thread count.
public enum LinearKernel {
    /// y = x·Wᵀ + b. Overwrites `y`.
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor) {
        let n = x.shape[0], i = x.count / max(n, 1), o = weight.shape[0]
        precondition(weight.shape == [o, i] && y.shape == [n, o] && (bias == nil || bias!.shape == [o]),
                     "LinearKernel.forward: x \(x.shape), weight \(weight.shape), y \(y.shape), bias \(bias?.shape ?? [])")
        let xp = UncheckedSendable(x.data), wp = UncheckedSendable(weight.data), yp = UncheckedSendable(y.data)
        let bp = UncheckedSendable(bias?.data)
        Parallel.forEach(chunks: n) { s in
            let x = xp.value + s &* i, y = yp.value + s &* o
            for j in 0..<o {
                let w = wp.value + j &* i
                var acc: Float = 0
                for k in 0..<i { acc += x[k] * w[k] }
                y[j] = acc + (bp.value?[j] ?? 0)
            }
        }
    }

    /// gradX = gradY·W (overwrites `gradX`); gradWeight += gradYᵀ·x; gradBias += Σₙ gradY.
    public static func backward(
        _ gradY: Tensor, input x: Tensor, weight: Tensor,
        gradX: Tensor?, gradWeight: Tensor, gradBias: Tensor?
    ) {
        let n = x.shape[0], i = x.count / max(n, 1), o = weight.shape[0]
        precondition(gradY.shape == [n, o] && gradWeight.shape == [o, i] && (gradX == nil || gradX!.count == x.count),
                     "LinearKernel.backward: gradY \(gradY.shape), x \(x.shape), weight \(weight.shape)")
        let gp = UncheckedSendable(gradY.data), xp = UncheckedSendable(x.data), wp = UncheckedSendable(weight.data)
        if let gradX {
            let op = UncheckedSendable(gradX.data)
            Parallel.forEach(chunks: n) { s in
                let g = gp.value + s &* o, out = op.value + s &* i
                for k in 0..<i { out[k] = 0 }
                for j in 0..<o {
                    let gj = g[j], w = wp.value + j &* i
                    for k in 0..<i { out[k] += gj * w[k] }
                }
            }
        }
        let gwp = UncheckedSendable(gradWeight.data), gbp = UncheckedSendable(gradBias?.data)
        Parallel.forEach(chunks: o) { j in
            let gw = gwp.value + j &* i
            for s in 0..<n {
                let gj = gp.value[s &* o &+ j], x = xp.value + s &* i
                for k in 0..<i { gw[k] += gj * x[k] }
            }
            if let gb = gbp.value {
                var acc: Float = 0
                for s in 0..<n { acc += gp.value[s &* o &+ j] }
                gb[j] += acc
            }
        }
    }
}
