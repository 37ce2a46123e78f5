import Foundation

/// Loss functions: each returns the loss and writes dLoss/dinput.
///
/// Losses are accumulated in Double, per sample, then summed in sample order:
/// identical for any thread count. `scale` multiplies the gradient only (the
/// trainer passes 1/W to average over W simulated workers).
public enum Losses {
    /// Mean softmax cross-entropy over the batch.
    ///
    /// Shapes: logits `[n, k]`, labels `n` class indices in `0..<k`, gradLogits `[n, k]`.
    /// - Returns: (mean loss, number of samples whose argmax equals the label).
    @discardableResult
    public static func softmaxCrossEntropy(
        logits: Tensor, labels: [Int], gradLogits: Tensor?, scale: Float = 1
    ) -> (loss: Double, correct: Int) {
        let n = logits.shape[0], k = logits.count / max(n, 1)
        precondition(labels.count == n, "Losses.softmaxCrossEntropy: \(labels.count) labels for \(n) samples")
        precondition(labels.allSatisfy { $0 >= 0 && $0 < k }, "Losses.softmaxCrossEntropy: labels must be in 0..<\(k), got \(labels)")
        precondition(gradLogits == nil || gradLogits!.shape == logits.shape, "Losses.softmaxCrossEntropy: gradLogits shape")
        var loss = 0.0
        var correct = 0
        let g = gradLogits?.data
        for s in 0..<n {
            let z = logits.data + s * k
            var m = z[0], arg = 0
            for j in 1..<k where z[j] > m { m = z[j]; arg = j }
            if arg == labels[s] { correct += 1 }
            var sum = 0.0
            for j in 0..<k { sum += exp(Double(z[j] - m)) }
            loss += log(sum) - Double(z[labels[s]] - m)
            if let g {
                let row = g + s * k
                let f = Double(scale) / Double(n)
                for j in 0..<k {
                    let p = exp(Double(z[j] - m)) / sum
                    row[j] = Float((p - (j == labels[s] ? 1 : 0)) * f)
                }
            }
        }
        return (loss / Double(n), correct)
    }

    /// Sigmoid focal loss (RetinaNet): Σ −α_t (1 − p_t)^γ log p_t / normalizer.
    ///
    /// Shapes: logits, targets (in [0, 1], usually 0/1) and gradLogits have the
    /// same element count. `p = σ(x)`, `p_t = p·t + (1 − p)(1 − t)`,
    /// `α_t = α·t + (1 − α)(1 − t)`. `normalizer` is typically the number of
    /// positive anchors (at least 1).
    public static func sigmoidFocal(
        logits: Tensor, targets: Tensor, gradLogits: Tensor?, alpha: Double = 0.25, gamma: Double = 2,
        normalizer: Double, scale: Float = 1
    ) -> Double {
        precondition(logits.count == targets.count && (gradLogits == nil || gradLogits!.count == logits.count),
                     "Losses.sigmoidFocal: logits \(logits.shape), targets \(targets.shape) differ")
        precondition(normalizer > 0, "Losses.sigmoidFocal: normalizer must be > 0, got \(normalizer)")
        var loss = 0.0
        for i in 0..<logits.count {
            let x = Double(logits.data[i]), t = Double(targets.data[i])
            let p = 1 / (1 + exp(-x))
            // log σ(x) and log(1 − σ(x)) computed stably.
            let logP = -softplus(-x), log1mP = -softplus(x)
            let pt = p * t + (1 - p) * (1 - t)
            let alphaT = alpha * t + (1 - alpha) * (1 - t)
            let ce = -(t * logP + (1 - t) * log1mP)
            let mod = pow(1 - pt, gamma)
            loss += alphaT * mod * ce
            if let g = gradLogits {
                // d/dx [α_t (1−p_t)^γ ce]: dce/dx = p − t; dp_t/dx = (2t − 1)·p(1 − p).
                let dpt = (2 * t - 1) * p * (1 - p)
                let dmod = gamma > 0 ? -gamma * pow(1 - pt, gamma - 1) * dpt : 0
                g.data[i] = Float(alphaT * (dmod * ce + mod * (p - t)) / normalizer * Double(scale))
            }
        }
        return loss / normalizer
    }

    /// Weighted L1 loss: Σ wᵢ |xᵢ − tᵢ| / normalizer (weights default to 1; use
    /// them to mask out negative anchors). Gradient: wᵢ·sign(xᵢ − tᵢ)/normalizer (0 at 0).
    public static func l1(
        predictions x: Tensor, targets: Tensor, weights: Tensor? = nil, gradPredictions: Tensor?,
        normalizer: Double, scale: Float = 1
    ) -> Double {
        precondition(x.count == targets.count && (weights == nil || weights!.count == x.count)
                     && (gradPredictions == nil || gradPredictions!.count == x.count),
                     "Losses.l1: predictions \(x.shape), targets \(targets.shape), weights \(weights?.shape ?? []) differ")
        precondition(normalizer > 0, "Losses.l1: normalizer must be > 0, got \(normalizer)")
        var loss = 0.0
        let f = Double(scale) / normalizer
        for i in 0..<x.count {
            let w = Double(weights?.data[i] ?? 1)
            let d = Double(x.data[i]) - Double(targets.data[i])
            loss += w * abs(d)
            gradPredictions?.data[i] = Float(d > 0 ? w * f : d < 0 ? -w * f : 0)
        }
        return loss / normalizer
    }

    private static func softplus(_ x: Double) -> Double {
        x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
    }
}
