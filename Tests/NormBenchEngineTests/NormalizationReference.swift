import Testing
import Foundation
import NormBenchEngine
import NormBenchTestSupport

// Plain Double references for the normalization layers, written from the
// formulas (not from the kernels): an activation is [n, p, c] in memory,
// element (s, r, j) at (s·p + r)·c + j. Gradients come from central differences
// of these forward functions.

/// Forward of "normalize over a set, then per-channel affine" in Double.
/// `setOf(s, j)` names the statistics set of sample s, channel j.
/// Returns y and each set's mean and biased variance.
func referenceSetNorm(
    _ x: [Double], n: Int, p: Int, c: Int, sets: Int, setOf: (Int, Int) -> Int,
    gamma: [Double], beta: [Double], epsilon: Double,
    renorm: (r: [Double], d: [Double])? = nil
) -> (y: [Double], mean: [Double], variance: [Double]) {
    var sum = [Double](repeating: 0, count: sets), count = [Double](repeating: 0, count: sets)
    for s in 0..<n { for r in 0..<p { for j in 0..<c {
        sum[setOf(s, j)] += x[(s * p + r) * c + j]; count[setOf(s, j)] += 1
    } } }
    let mean = zip(sum, count).map { $0 / $1 }
    var sq = [Double](repeating: 0, count: sets)
    for s in 0..<n { for r in 0..<p { for j in 0..<c {
        let d = x[(s * p + r) * c + j] - mean[setOf(s, j)]
        sq[setOf(s, j)] += d * d
    } } }
    let variance = zip(sq, count).map { $0 / $1 }
    var y = [Double](repeating: 0, count: x.count)
    for s in 0..<n { for r in 0..<p { for j in 0..<c {
        let i = (s * p + r) * c + j, k = setOf(s, j)
        var xHat = (x[i] - mean[k]) / (variance[k] + epsilon).squareRoot()
        if let renorm { xHat = xHat * renorm.r[j] + renorm.d[j] }
        y[i] = gamma[j] * xHat + beta[j]
    } } }
    return (y, mean, variance)
}

/// GroupNorm reference (G = 1: LayerNorm, G = c: InstanceNorm).
func referenceGroupNorm(_ x: [Double], n: Int, p: Int, c: Int, groups: Int, gamma: [Double], beta: [Double], epsilon: Double = 1e-5) -> [Double] {
    referenceSetNorm(x, n: n, p: p, c: c, sets: n * groups, setOf: { s, j in s * groups + j / (c / groups) },
                     gamma: gamma, beta: beta, epsilon: epsilon).y
}

/// BatchNorm (training) reference.
func referenceBatchNorm(_ x: [Double], n: Int, p: Int, c: Int, gamma: [Double], beta: [Double], epsilon: Double = 1e-5,
                        renorm: (r: [Double], d: [Double])? = nil) -> [Double] {
    referenceSetNorm(x, n: n, p: p, c: c, sets: c, setOf: { _, j in j }, gamma: gamma, beta: beta, epsilon: epsilon, renorm: renorm).y
}

/// FRN + TLU reference.
func referenceFRN(_ x: [Double], n: Int, p: Int, c: Int, gamma: [Double], beta: [Double], tau: [Double], epsilon: Double) -> [Double] {
    var y = [Double](repeating: 0, count: x.count)
    for s in 0..<n { for j in 0..<c {
        var nu2 = 0.0
        for r in 0..<p { nu2 += x[(s * p + r) * c + j] * x[(s * p + r) * c + j] }
        nu2 /= Double(p)
        for r in 0..<p {
            let i = (s * p + r) * c + j
            y[i] = max(gamma[j] * x[i] / (nu2 + epsilon).squareRoot() + beta[j], tau[j])
        }
    } }
    return y
}

/// EvoNorm-S0 reference.
func referenceEvoNorm(_ x: [Double], n: Int, p: Int, c: Int, groups: Int, gamma: [Double], beta: [Double], v: [Double], epsilon: Double) -> [Double] {
    let stats = referenceSetNorm(x, n: n, p: p, c: c, sets: n * groups, setOf: { s, j in s * groups + j / (c / groups) },
                                 gamma: gamma, beta: beta, epsilon: epsilon)
    var y = [Double](repeating: 0, count: x.count)
    for s in 0..<n { for r in 0..<p { for j in 0..<c {
        let i = (s * p + r) * c + j
        let sig = 1 / (1 + exp(-v[j] * x[i]))
        y[i] = x[i] * sig / (stats.variance[s * groups + j / (c / groups)] + epsilon).squareRoot() * gamma[j] + beta[j]
    } } }
    return y
}

/// Σ w·y: the scalar loss whose gradient the layers' backward computes for dy = w.
func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// What one training step of a layer returned.
struct LayerRun {
    var y: [Float]
    var dx: [Float]
    var paramGrads: [[Float]]
}

/// Runs forward (training) and backward with dy = `w` on fresh zeroed gradients.
func runLayer(_ layer: any Layer, shape: [Int], x: [Float], w: [Float]) -> LayerRun {
    for p in layer.parameters { p.grad.fill(0) }
    let y = layer.forward(tensor(shape, x), mode: .training)
    let dx = layer.backward(tensor(shape, w))
    return LayerRun(y: y.array, dx: dx.array, paramGrads: layer.parameters.map { $0.grad.array })
}

extension Array where Element == Float {
    var doubles: [Double] { map(Double.init) }
}

/// Checks an affine normalization's output and its x, γ, β gradients against a
/// Double reference `ref(x, γ, β)` and central differences of ⟨ref, w⟩.
func expectMatchesReference(
    _ run: LayerRun, x: [Float], gamma: [Float], beta: [Float], w: [Float], _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation, ref: ([Double], [Double], [Double]) -> [Double]
) {
    let (xd, gd, bd, wd) = (x.doubles, gamma.doubles, beta.doubles, w.doubles)
    expectClose(run.y, ref(xd, gd, bd), "\(label) y", sourceLocation: sourceLocation)
    expectClose(run.dx, centralDifference(xd) { dot(ref($0, gd, bd), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dx", sourceLocation: sourceLocation)
    expectClose(run.paramGrads[0], centralDifference(gd) { dot(ref(xd, $0, bd), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dgamma", sourceLocation: sourceLocation)
    expectClose(run.paramGrads[1], centralDifference(bd) { dot(ref(xd, gd, $0), wd) }, atol: 1e-4, rtol: 1e-3, "\(label) dbeta", sourceLocation: sourceLocation)
}
