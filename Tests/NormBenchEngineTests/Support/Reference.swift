import Testing
import NormBenchEngine

// Shared test support: tolerance comparison and finite differences.
// Kernels are checked against plain Double references; gradients against
// central finite differences of those references.

/// Checks `actual` against `expected` elementwise with |a − e| ≤ atol + rtol·|e|.
/// On failure, one issue names the label, the max error and the first bad index.
func expectClose(
    _ actual: [Float], _ expected: [Double], atol: Double = 1e-5, rtol: Double = 1e-4,
    _ label: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var maxError = 0.0
    var firstBad: Int?
    for i in 0..<actual.count {
        let e = abs(Double(actual[i]) - expected[i])
        maxError = max(maxError, e.isNaN ? .infinity : e)
        if firstBad == nil && !(e <= atol + rtol * abs(expected[i])) { firstBad = i }
    }
    if let i = firstBad {
        Issue.record(
            "\(label): NOT OK, max error \(maxError), first bad index \(i): got \(actual[i]), expected \(expected[i]) (atol \(atol), rtol \(rtol))",
            sourceLocation: sourceLocation)
    }
}

/// Same as above for a Double-valued actual (e.g. a Double-accumulated result).
func expectClose(
    _ actual: [Double], _ expected: [Double], atol: Double = 1e-9, rtol: Double = 1e-6,
    _ label: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    expectClose(actual.map { Float($0) }, expected, atol: atol, rtol: rtol, label, sourceLocation: sourceLocation)
}

/// Deterministic test data: `count` normal samples scaled by `scale`, shifted by `mean`.
func randomValues(_ count: Int, seed: UInt64, mean: Float = 0, scale: Float = 1) -> [Float] {
    var g = SeededGenerator(seed: seed)
    return (0..<count).map { _ in mean + scale * g.nextNormal() }
}

/// A tensor of the given shape filled from `values`.
func tensor(_ shape: [Int], _ values: [Float], category: MemoryCategory = .activations) -> Tensor {
    Tensor(shape: shape, category: category, values: values)
}
