import Foundation
import Testing
import NormBenchEngine
import NormBenchTestSupport

// Swift kernels against plain Double references, and their backward passes
// against central differences of those references.

/// Double reference pooling: for each output (pixel, channel), the list of valid input indices.
private func poolWindows(_ shape: [Int], _ g: PoolGeometry) -> [[Int]] {
    let o = g.outputShape(shape)
    let c = shape[4]
    var out: [[Int]] = []
    for n in 0..<shape[0] { for z in 0..<o[1] { for y in 0..<o[2] { for x in 0..<o[3] { for ch in 0..<c {
        var taps: [Int] = []
        for kd in 0..<g.kernel[0] { for kh in 0..<g.kernel[1] { for kw in 0..<g.kernel[2] {
            let zz = z * g.stride[0] - g.padding[0] + kd, yy = y * g.stride[1] - g.padding[1] + kh
            let xx = x * g.stride[2] - g.padding[2] + kw
            if zz < 0 || zz >= shape[1] || yy < 0 || yy >= shape[2] || xx < 0 || xx >= shape[3] { continue }
            taps.append((((n * shape[1] + zz) * shape[2] + yy) * shape[3] + xx) * c + ch)
        }}}
        out.append(taps)
    }}}}}
    return out
}

private func dot(_ a: [Double], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * Double($1.1) } }
private func dbl(_ a: [Float]) -> [Double] { a.map(Double.init) }

@Suite struct KernelTests {
    static let pools: [(shape: [Int], geometry: PoolGeometry)] = [
        ([1, 3, 5, 5, 3], PoolGeometry(kernel: [3, 3, 3], stride: [1, 2, 2], padding: [1, 1, 1])),
        ([2, 4, 6, 7, 9], PoolGeometry(kernel: [2, 2, 2], stride: [2, 2, 2], padding: [0, 0, 0])),
        ([1, 5, 5, 5, 16], PoolGeometry(kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1])),
    ]

    @Test(arguments: 0..<3)
    func maxAndAveragePooling(_ index: Int) {
        let (shape, g) = Self.pools[index]
        let count = shape.reduce(1, *)
        let xv = randomValues(count, seed: 10 + UInt64(index))
        let windows = poolWindows(shape, g)
        let outShape = g.outputShape(shape)
        let gyv = randomValues(windows.count, seed: 20 + UInt64(index))
        let x = tensor(shape, xv), gy = tensor(outShape, gyv)

        // Max: reference value, and the gradient routed to the first maximum.
        let y = Tensor(shape: outShape, category: .activations)
        Pooling.maxForward(x, into: y, geometry: g)
        expectClose(y.array, windows.map { $0.map { Double(xv[$0]) }.max()! }, atol: 0, rtol: 0, "max pool \(shape)")
        var gmax = [Double](repeating: 0, count: count)
        for (o, taps) in windows.enumerated() {
            var best = taps[0]
            for t in taps where xv[t] > xv[best] { best = t }
            gmax[best] += Double(gyv[o])
        }
        let gx = Tensor(shape: shape, category: .workspace)
        Pooling.maxBackward(gy, input: x, into: gx, geometry: g)
        expectClose(gx.array, gmax, atol: 1e-6, rtol: 1e-6, "max pool backward \(shape)")

        // Average: reference, and backward against central differences.
        func avg(_ xs: [Double]) -> [Double] { windows.map { w in w.reduce(0) { $0 + xs[$1] } / Double(w.count) } }
        Pooling.averageForward(x, into: y, geometry: g)
        expectClose(y.array, avg(dbl(xv)), atol: 1e-6, rtol: 1e-5, "avg pool \(shape)")
        Pooling.averageBackward(gy, into: gx, geometry: g)
        expectClose(gx.array, centralDifference(dbl(xv)) { dot(avg($0), gyv) }, atol: 1e-6, rtol: 1e-5, "avg pool backward \(shape)")
    }

    @Test func globalAveragePool() {
        let shape = [3, 2, 3, 5, 7], c = 7, spatial = 30
        let xv = randomValues(shape.reduce(1, *), seed: 30)
        func ref(_ xs: [Double]) -> [Double] {
            (0..<3 * c).map { j in (0..<spatial).reduce(0) { $0 + xs[((j / c) * spatial + $1) * c + j % c] } / Double(spatial) }
        }
        let y = Tensor(shape: [3, c], category: .activations)
        Pooling.globalAverageForward(tensor(shape, xv), into: y)
        expectClose(y.array, ref(dbl(xv)), atol: 1e-6, rtol: 1e-5, "global average pool")
        let gyv = randomValues(3 * c, seed: 31)
        let gx = Tensor(shape: shape, category: .workspace)
        Pooling.globalAverageBackward(tensor([3, c], gyv), into: gx)
        expectClose(gx.array, centralDifference(dbl(xv)) { dot(ref($0), gyv) }, atol: 1e-6, rtol: 1e-5, "global average pool backward")
    }

    @Test func linear() {
        let (n, i, o) = (3, 13, 5)
        let xv = randomValues(n * i, seed: 40), wv = randomValues(o * i, seed: 41), bv = randomValues(o, seed: 42)
        let gyv = randomValues(n * o, seed: 43)
        func ref(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            (0..<n * o).map { j in b[j % o] + (0..<i).reduce(0) { $0 + x[(j / o) * i + $1] * w[(j % o) * i + $1] } }
        }
        let x = tensor([n, i], xv), w = tensor([o, i], wv, category: .parameters), b = tensor([o], bv, category: .parameters)
        let y = Tensor(shape: [n, o], category: .activations)
        LinearKernel.forward(x, weight: w, bias: b, into: y)
        expectClose(y.array, ref(dbl(xv), dbl(wv), dbl(bv)), atol: 1e-5, rtol: 1e-5, "linear forward")
        let gx = Tensor(shape: [n, i], category: .workspace)
        let gw = Tensor(shape: [o, i], category: .gradients, values: [Float](repeating: 0.5, count: o * i))
        let gb = Tensor(shape: [o], category: .gradients, zeroed: true)
        LinearKernel.backward(tensor([n, o], gyv), input: x, weight: w, gradX: gx, gradWeight: gw, gradBias: gb)
        expectClose(gx.array, centralDifference(dbl(xv)) { dot(ref($0, dbl(wv), dbl(bv)), gyv) }, atol: 1e-6, rtol: 1e-5, "linear gradX")
        // gradWeight accumulates onto what was there (0.5).
        expectClose(gw.array, centralDifference(dbl(wv)) { dot(ref(dbl(xv), $0, dbl(bv)), gyv) }.map { $0 + 0.5 },
                    atol: 1e-6, rtol: 1e-5, "linear gradWeight (accumulated)")
        expectClose(gb.array, centralDifference(dbl(bv)) { dot(ref(dbl(xv), dbl(wv), $0), gyv) }, atol: 1e-6, rtol: 1e-5, "linear gradBias")
    }

    @Test func reluAndAdd() {
        let count = 70_001  // several parallel blocks and a scalar tail
        let av = randomValues(count, seed: 50), bv = randomValues(count, seed: 51), gv = randomValues(count, seed: 52)
        let a = tensor([count], av), b = tensor([count], bv), y = Tensor(shape: [count], category: .activations)
        Elementwise.reluForward(a, into: y)
        expectClose(y.array, av.map { Double(max($0, 0)) }, atol: 0, rtol: 0, "relu forward")
        let gx = Tensor(shape: [count], category: .workspace)
        Elementwise.reluBackward(tensor([count], gv), output: y, into: gx)
        expectClose(gx.array, (0..<count).map { av[$0] > 0 ? Double(gv[$0]) : 0 }, atol: 0, rtol: 0, "relu backward")
        Elementwise.add(a, b, into: y)
        expectClose(y.array, (0..<count).map { Double(av[$0]) + Double(bv[$0]) }, atol: 1e-6, rtol: 1e-6, "add")
        Elementwise.addReLU(a, b, into: y)
        expectClose(y.array, (0..<count).map { max(Double(av[$0]) + Double(bv[$0]), 0) }, atol: 1e-6, rtol: 1e-6, "add+relu")
    }

    @Test func softmaxCrossEntropy() {
        let (n, k) = (4, 6)
        let zv = randomValues(n * k, seed: 60, scale: 3)
        let labels = [0, 5, 2, 2]
        func ref(_ z: [Double]) -> Double {
            (0..<n).reduce(0) { acc, s in
                let row = z[s * k..<(s + 1) * k]
                let m = row.max()!
                return acc + log(row.reduce(0) { $0 + exp($1 - m) }) + m - z[s * k + labels[s]]
            } / Double(n)
        }
        let g = Tensor(shape: [n, k], category: .workspace)
        let (loss, _) = Losses.softmaxCrossEntropy(logits: tensor([n, k], zv), labels: labels, gradLogits: g, scale: 0.5)
        expectClose([loss], [ref(dbl(zv))], atol: 1e-6, rtol: 1e-6, "softmax CE loss")
        expectClose(g.array, centralDifference(dbl(zv), ref).map { $0 * 0.5 }, atol: 1e-6, rtol: 1e-5, "softmax CE gradient (scaled)")
    }

    @Test func focalAndL1() {
        let count = 37
        let xv = randomValues(count, seed: 70, scale: 2)
        let tv: [Float] = (0..<count).map { $0 % 5 == 0 ? 1 : 0 }
        func focal(_ x: [Double]) -> Double {
            (0..<count).reduce(0) { acc, i in
                let p = 1 / (1 + exp(-x[i])), t = Double(tv[i])
                let pt = p * t + (1 - p) * (1 - t), at = 0.25 * t + 0.75 * (1 - t)
                return acc - at * pow(1 - pt, 2) * log(pt)
            } / 8
        }
        let g = Tensor(shape: [count], category: .workspace)
        let loss = Losses.sigmoidFocal(logits: tensor([count], xv), targets: tensor([count], tv), gradLogits: g, normalizer: 8)
        expectClose([loss], [focal(dbl(xv))], atol: 1e-6, rtol: 1e-6, "focal loss")
        expectClose(g.array, centralDifference(dbl(xv), focal), atol: 1e-6, rtol: 1e-5, "focal gradient")

        let targets = randomValues(count, seed: 71), weights: [Float] = (0..<count).map { Float($0 % 3) }
        func l1(_ x: [Double]) -> Double {
            (0..<count).reduce(0) { $0 + Double(weights[$1]) * abs(x[$1] - Double(targets[$1])) } / 4
        }
        let l = Losses.l1(predictions: tensor([count], xv), targets: tensor([count], targets), weights: tensor([count], weights),
                          gradPredictions: g, normalizer: 4)
        expectClose([l], [l1(dbl(xv))], atol: 1e-6, rtol: 1e-6, "L1 loss")
        expectClose(g.array, centralDifference(dbl(xv), l1), atol: 1e-6, rtol: 1e-5, "L1 gradient")
    }

    /// The engine's own kernels give bitwise identical results on 1 and 2 threads.
    @Test func kernelsIdenticalForOneAndTwoThreads() {
        let shape = [2, 4, 9, 9, 24], count = shape.reduce(1, *)
        let x = tensor(shape, randomValues(count, seed: 80)), b = tensor(shape, randomValues(count, seed: 81))
        let pool = PoolGeometry(kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1])
        func run(_ threads: Int) -> [[Float]] { Parallel.$scopedThreads.withValue(threads) { compute() } }
        func compute() -> [[Float]] {
            let y = Tensor(shape: shape, category: .activations)
            Elementwise.addReLU(x, b, into: y)
            let p = Tensor(shape: pool.outputShape(shape), category: .activations)
            Pooling.maxForward(y, into: p, geometry: pool)
            let gx = Tensor(shape: shape, category: .workspace)
            Pooling.averageBackward(p, into: gx, geometry: pool)
            let gap = Tensor(shape: [2, 24], category: .activations)
            Pooling.globalAverageForward(gx, into: gap)
            return [y.array, p.array, gx.array, gap.array]
        }
        #expect(run(1) == run(2))
    }
}
