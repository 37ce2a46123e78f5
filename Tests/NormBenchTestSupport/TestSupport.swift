import Foundation

// Helpers every test target uses. A plain library target (no Testing import),
// so test targets share one copy.

/// A new, empty directory under the system's temporary directory.
public func scratchDirectory(_ label: String) -> String {
    let path = NSTemporaryDirectory() + "normbench-\(label)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// dL/dx by central differences: (L(x + h·e_i) − L(x − h·e_i)) / 2h for every i.
public func centralDifference(_ x: [Double], step h: Double = 1e-5, _ loss: ([Double]) -> Double) -> [Double] {
    var x = x
    var grad = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        let saved = x[i]
        x[i] = saved + h
        let plus = loss(x)
        x[i] = saved - h
        let minus = loss(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * h)
    }
    return grad
}
