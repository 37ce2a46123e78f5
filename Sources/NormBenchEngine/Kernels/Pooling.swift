/// 3-D max and average pooling on NDHWC tensors.
///
/// Shapes: input `[n, d, h, w, c]`, output `[n, oD, oH, oW, c]` with
/// `o = (in + 2·pad − k) / stride + 1`. Padding never wins a max and is not
/// counted by the average (the divisor is the number of input elements in the
/// window). Work is split over (sample, block of 8 channels): every chunk
/// writes its own channels only, so backward scatters need no atomics and the
/// result does not depend on the thread count.
public struct PoolGeometry: Hashable, Sendable {
    public var kernel: [Int]
    public var stride: [Int]
    public var padding: [Int]

    public init(kernel: [Int], stride: [Int], padding: [Int]) {
        precondition(kernel.count == 3 && stride.count == 3 && padding.count == 3, "PoolGeometry: 3 entries each (d, h, w)")
        let valid = zip(kernel, padding).allSatisfy { (k: Int, p: Int) -> Bool in k >= 1 && p >= 0 && p < k }
        precondition(valid && stride.allSatisfy { $0 >= 1 },
                     "PoolGeometry: kernel \(kernel), stride \(stride) >= 1 and 0 <= padding \(padding) < kernel")
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// Output shape for an NDHWC input shape.
    public func outputShape(_ input: [Int]) -> [Int] {
        precondition(input.count == 5, "PoolGeometry: input must be [n, d, h, w, c], got \(input)")
        let o = (0..<3).map { (i: Int) -> Int in (input[i + 1] + 2 * padding[i] - kernel[i]) / stride[i] + 1 }
        precondition(o.allSatisfy { $0 >= 1 }, "PoolGeometry: input \(input) too small for kernel \(kernel)")
        return [input[0]] + o + [input[4]]
    }
}

public enum Pooling {
    static let channelBlock = 8

    /// Calls `body(outIndex, [inIndex of each valid tap])` per output position for one sample;
    /// indexes are in units of pixels (multiply by c for elements).
    @inline(__always)
    private static func forEachWindow(
        _ n: Int, _ inShape: [Int], _ outShape: [Int], _ g: PoolGeometry,
        _ body: (_ outPixel: Int, _ taps: UnsafeMutableBufferPointer<Int>, _ tapCount: Int) -> Void
    ) {
        let (id, ih, iw) = (inShape[1], inShape[2], inShape[3])
        let (od, oh, ow) = (outShape[1], outShape[2], outShape[3])
        let maxTaps = g.kernel[0] * g.kernel[1] * g.kernel[2]
        withUnsafeTemporaryAllocation(of: Int.self, capacity: maxTaps) { taps in
            for z in 0..<od { for y in 0..<oh { for x in 0..<ow {
                var t = 0
                for kd in 0..<g.kernel[0] {
                    let zz = z &* g.stride[0] &- g.padding[0] &+ kd
                    if zz < 0 || zz >= id { continue }
                    for kh in 0..<g.kernel[1] {
                        let yy = y &* g.stride[1] &- g.padding[1] &+ kh
                        if yy < 0 || yy >= ih { continue }
                        for kw in 0..<g.kernel[2] {
                            let xx = x &* g.stride[2] &- g.padding[2] &+ kw
                            if xx < 0 || xx >= iw { continue }
                            taps[t] = ((n &* id &+ zz) &* ih &+ yy) &* iw &+ xx
                            t &+= 1
                        }
                    }
                }
                body(((n &* od &+ z) &* oh &+ y) &* ow &+ x, taps, t)
            }}}
        }
    }

    /// Runs `body(n, channelRange)` for every fixed (sample, channel block) chunk.
    private static func chunks(_ n: Int, _ c: Int, _ body: (Int, Range<Int>) -> Void) {
        let blocks = (c + channelBlock - 1) / channelBlock
        Parallel.forEach(chunks: n * blocks) { k in
            let b = k % blocks
            body(k / blocks, b * channelBlock..<min(c, (b + 1) * channelBlock))
        }
    }

    /// y = max over each window. Saves nothing: backward recomputes the argmax from `x`.
    public static func maxForward(_ x: Tensor, into y: Tensor, geometry g: PoolGeometry) {
        precondition(y.shape == g.outputShape(x.shape), "Pooling.maxForward: output \(y.shape), expected \(g.outputShape(x.shape))")
        let c = x.shape[4], xp = UncheckedSendable(x.data), yp = UncheckedSendable(y.data)
        chunks(x.shape[0], c) { n, cr in
            forEachWindow(n, x.shape, y.shape, g) { o, taps, t in
                for ch in cr {
                    var m = -Float.infinity
                    for k in 0..<t { m = max(m, xp.value[taps[k] &* c &+ ch]) }
                    yp.value[o &* c &+ ch] = m
                }
            }
        }
    }

    /// gradX = gradY routed to each window's first maximum. Overwrites `gradX`.
    public static func maxBackward(_ gradY: Tensor, input x: Tensor, into gradX: Tensor, geometry g: PoolGeometry) {
        precondition(gradY.shape == g.outputShape(x.shape) && gradX.shape == x.shape,
                     "Pooling.maxBackward: gradY \(gradY.shape), x \(x.shape), gradX \(gradX.shape)")
        let c = x.shape[4], xp = UncheckedSendable(x.data), gp = UncheckedSendable(gradY.data), op = UncheckedSendable(gradX.data)
        let pixels = x.count / max(x.shape[0] * c, 1)
        chunks(x.shape[0], c) { n, cr in
            for p in 0..<pixels { for ch in cr { op.value[(n &* pixels &+ p) &* c &+ ch] = 0 } }
            forEachWindow(n, x.shape, gradY.shape, g) { o, taps, t in
                for ch in cr {
                    var best = taps[0] &* c &+ ch
                    for k in 1..<max(t, 1) where xp.value[taps[k] &* c &+ ch] > xp.value[best] { best = taps[k] &* c &+ ch }
                    op.value[best] += gp.value[o &* c &+ ch]
                }
            }
        }
    }

    /// y = mean over the valid input elements of each window.
    public static func averageForward(_ x: Tensor, into y: Tensor, geometry g: PoolGeometry) {
        precondition(y.shape == g.outputShape(x.shape), "Pooling.averageForward: output \(y.shape), expected \(g.outputShape(x.shape))")
        let c = x.shape[4], xp = UncheckedSendable(x.data), yp = UncheckedSendable(y.data)
        chunks(x.shape[0], c) { n, cr in
            forEachWindow(n, x.shape, y.shape, g) { o, taps, t in
                let inv = 1 / Float(t)
                for ch in cr {
                    var s: Float = 0
                    for k in 0..<t { s += xp.value[taps[k] &* c &+ ch] }
                    yp.value[o &* c &+ ch] = s * inv
                }
            }
        }
    }

    /// gradX = each window's gradY spread evenly over its valid inputs. Overwrites `gradX`.
    public static func averageBackward(_ gradY: Tensor, into gradX: Tensor, geometry g: PoolGeometry) {
        precondition(gradY.shape == g.outputShape(gradX.shape), "Pooling.averageBackward: gradY \(gradY.shape), gradX \(gradX.shape)")
        let c = gradX.shape[4], gp = UncheckedSendable(gradY.data), op = UncheckedSendable(gradX.data)
        let pixels = gradX.count / max(gradX.shape[0] * c, 1)
        chunks(gradX.shape[0], c) { n, cr in
            for p in 0..<pixels { for ch in cr { op.value[(n &* pixels &+ p) &* c &+ ch] = 0 } }
            forEachWindow(n, gradX.shape, gradY.shape, g) { o, taps, t in
                let inv = 1 / Float(t)
                for ch in cr {
                    let v = gp.value[o &* c &+ ch] * inv
                    for k in 0..<t { op.value[taps[k] &* c &+ ch] += v }
                }
            }
        }
    }

    /// y[n, c] = mean over d, h, w of x[n, d, h, w, c]. Shapes: x `[n, d, h, w, c]` (or any `[n, ..., c]`), y `[n, c]`.
    public static func globalAverageForward(_ x: Tensor, into y: Tensor) {
        let n = x.shape[0], c = x.shape.last!, spatial = x.count / max(n * c, 1)
        precondition(y.shape == [n, c], "Pooling.globalAverageForward: y \(y.shape), expected [\(n), \(c)]")
        let xp = UncheckedSendable(x.data), yp = UncheckedSendable(y.data)
        let inv = 1 / Float(spatial)
        Parallel.forEach(chunks: n) { s in
            let x = xp.value + s &* spatial &* c, y = yp.value + s &* c
            for ch in 0..<c { y[ch] = 0 }
            for p in 0..<spatial {
                let row = x + p &* c
                for ch in 0..<c { y[ch] += row[ch] }
            }
            for ch in 0..<c { y[ch] *= inv }
        }
    }

    /// gradX[n, ..., c] = gradY[n, c] / spatial. Overwrites `gradX`.
    public static func globalAverageBackward(_ gradY: Tensor, into gradX: Tensor) {
        let n = gradX.shape[0], c = gradX.shape.last!, spatial = gradX.count / max(n * c, 1)
        precondition(gradY.shape == [n, c], "Pooling.globalAverageBackward: gradY \(gradY.shape), expected [\(n), \(c)]")
        let gp = UncheckedSendable(gradY.data), op = UncheckedSendable(gradX.data)
        let inv = 1 / Float(spatial)
        Parallel.forEach(chunks: n) { s in
            let g = gp.value + s &* c, o = op.value + s &* spatial &* c
            for p in 0..<spatial {
                let row = o + p &* c
                for ch in 0..<c { row[ch] = g[ch] * inv }
            }
        }
    }
}
