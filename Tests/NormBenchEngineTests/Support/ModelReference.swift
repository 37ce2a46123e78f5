import Foundation
import NormBenchEngine

// A Double-precision interpreter of the engine's layer tree (convolution, ReLU,
// residual blocks, global average pool, linear) with parameter values taken
// from a table: the reference that whole-model gradients are checked against.

struct DoubleModel {
    /// Parameter values by identity; perturbed by the finite-difference loop.
    var values: [ObjectIdentifier: [Double]]

    init(_ model: any Layer) {
        values = Dictionary(uniqueKeysWithValues: model.parameters.map { (ObjectIdentifier($0), $0.value.array.map(Double.init)) })
    }

    func forward(_ layer: any Layer, _ x: [Double], _ shape: [Int]) -> (values: [Double], shape: [Int]) {
        switch layer {
        case let s as Sequential:
            var h = (values: x, shape: shape)
            for l in s.layers { h = forward(l, h.values, h.shape) }
            return h
        case let r as ResidualBlock:
            let b = forward(r.branch, x, shape)
            let s = r.shortcut.map { forward($0, x, shape) } ?? (values: x, shape: shape)
            return (zip(b.values, s.values).map { max($0 + $1, 0) }, b.shape)
        case let c as Convolution3DLayer:
            let g = c.geometry(for: shape)
            let y = convolutionReference(x, values[ObjectIdentifier(c.weight)]!, c.bias.map { values[ObjectIdentifier($0)]! }, g)
            return (y, g.outputShape)
        case is ReLULayer:
            return (x.map { max($0, 0) }, shape)
        case is GlobalAveragePoolLayer:
            let n = shape[0], c = shape.last!, spatial = x.count / (n * c)
            let y = (0..<n * c).map { j in (0..<spatial).reduce(0.0) { $0 + x[((j / c) * spatial + $1) * c + j % c] } / Double(spatial) }
            return (y, [n, c])
        case let l as LinearLayer:
            let w = values[ObjectIdentifier(l.weight)]!, b = values[ObjectIdentifier(l.bias)]!
            let n = shape[0], i = x.count / n, o = b.count
            let y = (0..<n * o).map { j in b[j % o] + (0..<i).reduce(0.0) { $0 + x[(j / o) * i + $1] * w[(j % o) * i + $1] } }
            return (y, [n, o])
        default:
            fatalError("DoubleModel: no reference for \(type(of: layer))")
        }
    }

    func loss(_ model: any Layer, _ x: [Double], _ shape: [Int], _ labels: [Int]) -> Double {
        let z = forward(model, x, shape)
        let n = z.shape[0], k = z.shape[1]
        return (0..<n).reduce(0.0) { acc, s in
            let row = Array(z.values[s * k..<(s + 1) * k])
            let m = row.max()!
            return acc + log(row.reduce(0) { $0 + exp($1 - m) }) + m - row[labels[s]]
        } / Double(n)
    }
}
