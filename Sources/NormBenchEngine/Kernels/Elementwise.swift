/// Element-wise kernels: ReLU and the residual addition.
///
/// Shapes: any; inputs and outputs have the same element count.
/// Work is cut into fixed blocks of `blockSize` elements (independent of the
/// thread count), so results are identical for any `Parallel.threads`.
public enum Elementwise {
    /// Elements per parallel chunk (fixed: results never depend on the thread count).
    public static let blockSize = 32_768

    /// Runs `body(range)` over `count` elements in fixed blocks, in parallel.
    @inlinable
    static func blocks(_ count: Int, _ body: (Range<Int>) -> Void) {
        let chunks = (count + blockSize - 1) / blockSize
        Parallel.forEach(chunks: chunks) { k in
            body(k * blockSize..<min(count, (k + 1) * blockSize))
        }
    }

    /// y = max(x, 0). `y` may be `x` (in place).
    public static func reluForward(_ x: Tensor, into y: Tensor) {
        precondition(x.count == y.count, "Elementwise.reluForward: x has \(x.count) elements, y \(y.count)")
        let xp = UncheckedSendable(x.data), yp = UncheckedSendable(y.data)
        blocks(x.count) { r in
            let x = xp.value, y = yp.value
            var i = r.lowerBound
            while i &+ 8 <= r.upperBound {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: 0, where: v .< 0), as: SIMD8<Float>.self)
                i &+= 8
            }
            while i < r.upperBound { y[i] = max(x[i], 0); i &+= 1 }
        }
    }

    /// gradX = gradY where y > 0, else 0 (`y` is ReLU's output). `gradX` may be `gradY`.
    public static func reluBackward(_ gradY: Tensor, output y: Tensor, into gradX: Tensor) {
        precondition(gradY.count == y.count && gradX.count == y.count,
                     "Elementwise.reluBackward: gradY \(gradY.count), y \(y.count), gradX \(gradX.count) elements differ")
        let gp = UncheckedSendable(gradY.data), yp = UncheckedSendable(y.data), op = UncheckedSendable(gradX.data)
        blocks(y.count) { r in
            let g = gp.value, y = yp.value, o = op.value
            var i = r.lowerBound
            while i &+ 8 <= r.upperBound {
                let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
                let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(o + i).storeBytes(of: gv.replacing(with: 0, where: yv .<= 0), as: SIMD8<Float>.self)
                i &+= 8
            }
            while i < r.upperBound { o[i] = y[i] > 0 ? g[i] : 0; i &+= 1 }
        }
    }

    /// y = a + b. `y` may be `a` or `b`.
    public static func add(_ a: Tensor, _ b: Tensor, into y: Tensor) {
        sum(a, b, into: y, relu: false, "Elementwise.add")
    }

    /// y = a + b followed by ReLU, in one pass (the end of a residual block).
    public static func addReLU(_ a: Tensor, _ b: Tensor, into y: Tensor) {
        sum(a, b, into: y, relu: true, "Elementwise.addReLU")
    }

    /// y = a + b, clamped at 0 when `relu`.
    private static func sum(_ a: Tensor, _ b: Tensor, into y: Tensor, relu: Bool, _ name: String) {
        precondition(a.count == b.count && a.count == y.count,
                     "\(name): a \(a.shape), b \(b.shape), y \(y.shape) element counts differ")
        let ap = UncheckedSendable(a.data), bp = UncheckedSendable(b.data), yp = UncheckedSendable(y.data)
        let floor: Float = relu ? 0 : -.infinity
        blocks(a.count) { r in
            let a = ap.value, b = bp.value, y = yp.value
            var i = r.lowerBound
            while i &+ 8 <= r.upperBound {
                let s = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
                    + UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: s.replacing(with: floor, where: s .< floor), as: SIMD8<Float>.self)
                i &+= 8
            }
            while i < r.upperBound { y[i] = Swift.max(a[i] + b[i], floor); i &+= 1 }
        }
    }

    /// y += x (gradient accumulation).
    public static func accumulate(_ x: Tensor, into y: Tensor) {
        add(y, x, into: y)
    }

    /// y = s · y.
    public static func scale(_ y: Tensor, by s: Float) {
        let yp = UncheckedSendable(y.data)
        blocks(y.count) { r in
            let y = yp.value
            for i in r { y[i] *= s }
        }
    }
}
