// Raw kernels shared by every normalization method.
//
// Legend (an activation seen as a 3-D array in memory order):
//   n        samples
//   p        spatial rows per sample (d·h·w; 1 for a 2-D [n, c] input)
//   c        channels, innermost: element (n, r, j) is at (n·p + r)·c + j
//   chunk    a fixed run of rows of one sample; the unit of parallel work
//   block    a run of rows inside a chunk small enough to stay in L1/L2
//
// The kernels neither allocate nor throw. They are parallelized over chunks of a
// `NormPlan`, whose partition depends only on the shape, and every partial result
// is merged in chunk order, so results are bitwise identical for any thread count.

import CStreamStore
import Foundation

enum NormKernels {
    /// shift − mLo·scale: the shift `apply` adds to (x − mHi)·scale, and the one
    /// a fused ReLU's backward recomputes the forward's values with.
    @inline(__always)
    static func foldedShift(_ shift: Float, meanLo: Float, scale: Float) -> Float { shift - meanLo * scale }

    /// Welford/Chan moments of every (sample, channel) over the spatial rows.
    ///
    /// Each block of rows is reduced in two passes over L1/L2-resident data (sum →
    /// block mean m; then Σ(x − m), Σ(x − m)², the corrected two-pass formula), and
    /// blocks are merged into Double (mean, M2) with Chan's parallel update. Memory
    /// traffic: one read of x. Sound for |mean| ≫ σ.
    ///
    /// Shapes: x `[n, p, c]`; chunkStats `[chunks][2][c]` Double (scratch);
    /// mean, m2 `[n][c]` Double (out, count p each).
    /// `samples` limits the work to those samples (a slab); outputs of other samples are untouched.
    static func sampleMoments(
        _ x: UnsafePointer<Float>, _ plan: NormPlan,
        chunkStats: UnsafeMutablePointer<Double>, mean: UnsafeMutablePointer<Double>, m2: UnsafeMutablePointer<Double>,
        samples: Range<Int>? = nil
    ) {
        let samples = samples ?? 0..<plan.n
        let chunks = plan.chunks(of: samples)
        let box = UncheckedSendable((x, chunkStats))
        Parallel.forEach(chunks: chunks.count) { i in
            let (x, stats) = box.value
            let k = chunks.lowerBound &+ i
            chunkMoments(x, plan, chunk: k, mean: stats + k * 2 * plan.c, m2: stats + k * 2 * plan.c + plan.c)
        }
        let c = plan.c
        for s in samples {
            let outMean = mean + s * c, outM2 = m2 + s * c
            var countA = 0.0
            for k in s * plan.chunksPerSample..<(s + 1) * plan.chunksPerSample {
                let (_, lo, hi) = plan.rows(k)
                let countB = Double(hi - lo)
                let bMean = chunkStats + k * 2 * c, bM2 = bMean + c
                if countA == 0 {
                    outMean.update(from: bMean, count: c)
                    outM2.update(from: bM2, count: c)
                } else {
                    chanMerge(mean: outMean, m2: outM2, countA: countA, bMean: bMean, bM2: bM2, countB: countB, c: c)
                }
                countA += countB
            }
        }
    }

    /// Folds per-(sample, channel) moments (count p each) into per-(sample, group)
    /// mean and biased variance with Chan's merge, channels in order.
    ///
    /// Shapes: mean, m2 `[n][c]`; setMean, setVariance `[n][groups]`; only `samples` (default all).
    static func foldGroups(
        _ plan: NormPlan, groups: Int, mean: UnsafePointer<Double>, m2: UnsafePointer<Double>,
        setMean: UnsafeMutablePointer<Double>, setVariance: UnsafeMutablePointer<Double>, samples: Range<Int>? = nil
    ) {
        let c = plan.c, cpg = c / groups
        let p = Double(plan.p)
        for s in samples ?? 0..<plan.n {
            for g in 0..<groups {
                let first = s * c + g * cpg
                var mu = mean[first], sq = m2[first]
                var count = p
                for j in 1..<cpg {
                    let delta = mean[first + j] - mu
                    let total = count + p
                    mu += delta * (p / total)
                    sq += m2[first + j] + delta * delta * (count * p / total)
                    count = total
                }
                setMean[s * groups + g] = mu
                setVariance[s * groups + g] = max(0, sq / count)
            }
        }
    }

    /// Merges moments B (count countB) into A (count countA) for `c` channels.
    @inline(__always)
    static func chanMerge(
        mean: UnsafeMutablePointer<Double>, m2: UnsafeMutablePointer<Double>, countA: Double,
        bMean: UnsafePointer<Double>, bM2: UnsafePointer<Double>, countB: Double, c: Int
    ) {
        let total = countA + countB
        let wB = countB / total
        let cross = countA * countB / total
        for j in 0..<c {
            let delta = bMean[j] - mean[j]
            mean[j] += delta * wB
            m2[j] += bM2[j] + delta * delta * cross
        }
    }

    /// Moments of one chunk: Double mean and M2 per channel over its rows.
    static func chunkMoments(
        _ x: UnsafePointer<Float>, _ plan: NormPlan, chunk k: Int,
        mean: UnsafeMutablePointer<Double>, m2: UnsafeMutablePointer<Double>
    ) {
        let c = plan.c
        let (sample, lo, hi) = plan.rows(k)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * c) { tmp in
            let s = tmp.baseAddress!, q = s + c, m = q + c
            var countA = 0.0
            var r0 = lo
            while r0 < hi {
                let nb = min(hi, r0 &+ plan.blockRows) &- r0
                let base = x + (sample &* plan.p &+ r0) &* c
                s.update(repeating: 0, count: c)
                for r in 0..<nb {
                    let row = base + r &* c
                    for j in 0..<c { s[j] += row[j] }
                }
                let inv = 1 / Float(nb)
                for j in 0..<c {
                    m[j] = s[j] * inv
                    s[j] = 0
                    q[j] = 0
                }
                for r in 0..<nb {
                    let row = base + r &* c
                    for j in 0..<c {
                        let d = row[j] - m[j]
                        s[j] += d
                        q[j].addProduct(d, d)
                    }
                }
                let countB = Double(nb)
                if countA == 0 {
                    for j in 0..<c {
                        let sd = Double(s[j])
                        mean[j] = Double(m[j]) + sd / countB
                        m2[j] = max(0, Double(q[j]) - sd * sd / countB)
                    }
                } else {
                    let total = countA + countB
                    let wB = countB / total
                    let cross = countA * countB / total
                    for j in 0..<c {
                        let sd = Double(s[j])
                        let bMean = Double(m[j]) + sd / countB
                        let bM2 = max(0, Double(q[j]) - sd * sd / countB)
                        let delta = bMean - mean[j]
                        mean[j] += delta * wB
                        m2[j] += bM2 + delta * delta * cross
                    }
                }
                countA += countB
                r0 &+= nb
            }
        }
    }

    /// y = (x − mean)·scale + shift, one streaming pass (1 read + 1 write); with
    /// `relu`, followed by ReLU in the same pass (0 where the value is below 0,
    /// the value otherwise: `Elementwise.reluForward`'s bits).
    ///
    /// Shapes: x, y `[n, p, c]`; coef `[n][Coef.rows][c]`; only `samples` (default all).
    static func apply(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ plan: NormPlan, coef: UnsafePointer<Float>,
        samples: Range<Int>? = nil, relu: Bool = false
    ) {
        let chunks = plan.chunks(of: samples ?? 0..<plan.n)
        let stream = StreamingStores.use(plan)
        let box = UncheckedSendable((x, y, coef))
        Parallel.forEach(chunks: chunks.count) { i in
            let (x, y, coef) = box.value
            let k = chunks.lowerBound &+ i
            let c = plan.c
            let (sample, lo, hi) = plan.rows(k)
            let cf = coef + sample &* Coef.rows &* c
            let mh = cf + Coef.meanHi &* c, ml = cf + Coef.meanLo &* c
            let sc = cf + Coef.scale &* c, sh = cf + Coef.shift &* c
            // Fold the low half of the mean into the shift once per chunk:
            // y = (x − mHi)·scale + (shift − mLo·scale); x − mHi is exact near the mean.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { tmp in
                let shift = tmp.baseAddress!
                for j in 0..<c { shift[j] = foldedShift(sh[j], meanLo: ml[j], scale: sc[j]) }
                var offset = (sample &* plan.p &+ lo) &* c
                if stream && Int(bitPattern: y + offset) % 32 == 0 {
                    nb_stream_apply(x + offset, y + offset, hi - lo, c, mh, sc, shift, relu ? 1 : 0)
                    return
                }
                for _ in lo..<hi {
                    let xr = x + offset, yr = y + offset
                    if relu {
                        for j in 0..<c {
                            let v = shift[j].addingProduct(xr[j] - mh[j], sc[j])
                            yr[j] = v < 0 ? 0 : v
                        }
                    } else {
                        for j in 0..<c { yr[j] = shift[j].addingProduct(xr[j] - mh[j], sc[j]) }
                    }
                    offset &+= c
                }
            }
        }
    }

    /// Per-(sample, channel) sums of `quantities` values over a sample's rows: the
    /// reduction every normalization backward starts with. Each chunk adds its rows
    /// into Float partial sums per block of `plan.blockRows` rows, folded into Double
    /// per block; chunks are then merged per sample in chunk order, so the result is
    /// the same for any thread count.
    ///
    /// `row(sample, offset, acc)` adds one row's values (elements `offset ..< offset + c`
    /// of the caller's `[n, p, c]` tensors) into `acc[q·c + j]` for each quantity q.
    /// Shapes: chunkStats `[chunks][quantities][c]` Double (scratch); `sums[q]` is
    /// quantity q's output, sample s at `sums[q] + s·sampleStride`, c Doubles;
    /// only `samples` (default all) are summed and written.
    @inline(__always)
    static func channelSums(
        _ plan: NormPlan, quantities m: Int, chunkStats: UnsafeMutablePointer<Double>,
        sums: [UnsafeMutablePointer<Double>], sampleStride: Int, samples: Range<Int>? = nil,
        row: (_ sample: Int, _ offset: Int, _ acc: UnsafeMutablePointer<Float>) -> Void
    ) {
        let c = plan.c
        let samples = samples ?? 0..<plan.n
        let chunks = plan.chunks(of: samples)
        let box = UncheckedSendable(chunkStats)
        Parallel.forEach(chunks: chunks.count) { i in
            let k = chunks.lowerBound &+ i
            let (sample, lo, hi) = plan.rows(k)
            let out = box.value + k &* m &* c
            out.update(repeating: 0, count: m * c)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m * c) { tmp in
                let acc = tmp.baseAddress!
                var r0 = lo
                while r0 < hi {
                    let nb = min(hi, r0 &+ plan.blockRows) &- r0
                    acc.update(repeating: 0, count: m * c)
                    var offset = (sample &* plan.p &+ r0) &* c
                    for _ in 0..<nb {
                        row(sample, offset, acc)
                        offset &+= c
                    }
                    for j in 0..<m * c { out[j] += Double(acc[j]) }
                    r0 &+= nb
                }
            }
        }
        for s in samples {
            for q in 0..<m { (sums[q] + s * sampleStride).update(repeating: 0, count: c) }
            for k in s * plan.chunksPerSample..<(s + 1) * plan.chunksPerSample {
                for q in 0..<m {
                    let src = chunkStats + (k * m + q) * c, dst = sums[q] + s * sampleStride
                    for j in 0..<c { dst[j] += src[j] }
                }
            }
        }
    }

    /// Per-(sample, channel) Σdy and Σdy·(x − mean), merged in chunk order. With
    /// `relu` (a normalization whose ReLU is fused; `ReLUCoef`), dy counts as 0
    /// where the forward's value before the ReLU, recomputed from x, was ≤ 0: the
    /// gradient `Elementwise.reluBackward` would have passed on.
    ///
    /// Shapes: x, dy `[n, p, c]`; coef `[n][Coef.rows][c]` (rows meanHi, meanLo used);
    /// relu `[n][ReLUCoef.rows][c]`; chunkStats `[chunks][2][c]` Double (scratch);
    /// sumDy, sumDyXc `[n][c]` Double (out).
    static func gradientSums(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ plan: NormPlan, coef: UnsafePointer<Float>,
        chunkStats: UnsafeMutablePointer<Double>, sumDy: UnsafeMutablePointer<Double>, sumDyXc: UnsafeMutablePointer<Double>,
        samples: Range<Int>? = nil, relu: UnsafePointer<Float>? = nil
    ) {
        let c = plan.c
        if let relu {
            channelSums(plan, quantities: 2, chunkStats: chunkStats, sums: [sumDy, sumDyXc], sampleStride: c, samples: samples) { sample, offset, acc in
                let cf = coef + sample &* Coef.rows &* c, rc = relu + sample &* ReLUCoef.rows &* c
                let mh = cf + Coef.meanHi &* c, ml = cf + Coef.meanLo &* c
                let sc = rc + ReLUCoef.scale &* c, sh = rc + ReLUCoef.shift &* c
                let xr = x + offset, gr = dy + offset, q = acc + c
                // Written in SIMD8: with this many pointers the compiler does not
                // vectorize the scalar loop (same operations per lane, same bits).
                var j = 0
                while j &+ 8 <= c {
                    let d = load8(xr + j) - load8(mh + j)
                    let g = load8(gr + j).replacing(with: 0, where: load8(sh + j).addingProduct(d, load8(sc + j)) .<= 0)
                    store8(load8(acc + j) + g, acc + j)
                    store8(load8(q + j).addingProduct(g, d - load8(ml + j)), q + j)
                    j &+= 8
                }
                while j < c {
                    let d = xr[j] - mh[j]
                    let g: Float = sh[j].addingProduct(d, sc[j]) <= 0 ? 0 : gr[j]
                    acc[j] += g
                    q[j].addProduct(g, d - ml[j])
                    j &+= 1
                }
            }
            return
        }
        channelSums(plan, quantities: 2, chunkStats: chunkStats, sums: [sumDy, sumDyXc], sampleStride: c, samples: samples) { sample, offset, acc in
            let cf = coef + sample &* Coef.rows &* c
            let mh = cf + Coef.meanHi &* c, ml = cf + Coef.meanLo &* c
            let xr = x + offset, gr = dy + offset, q = acc + c
            for j in 0..<c {
                let g = gr[j]
                acc[j] += g
                q[j].addProduct(g, (xr[j] - mh[j]) - ml[j])
            }
        }
    }

    /// dx = k1·dy + k2·(x − mean) + k3, one streaming pass (2 reads + 1 write);
    /// with `relu`, dy counts as 0 where the forward's value was ≤ 0, as in `gradientSums`.
    ///
    /// Shapes: x, dy, dx `[n, p, c]`; coef `[n][Coef.rows][c]`; relu `[n][ReLUCoef.rows][c]`;
    /// only `samples` (default all).
    static func gradientInput(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
        _ plan: NormPlan, coef: UnsafePointer<Float>, samples: Range<Int>? = nil, relu: UnsafePointer<Float>? = nil
    ) {
        let chunks = plan.chunks(of: samples ?? 0..<plan.n)
        let stream = StreamingStores.use(plan)
        let box = UncheckedSendable((x, dy, dx, coef, relu))
        Parallel.forEach(chunks: chunks.count) { i in
            let (x, dy, dx, coef, relu) = box.value
            let k = chunks.lowerBound &+ i
            let c = plan.c
            let (sample, lo, hi) = plan.rows(k)
            let cf = coef + sample &* Coef.rows &* c
            let mh = cf + Coef.meanHi &* c, ml = cf + Coef.meanLo &* c
            let k1 = cf + Coef.k1 &* c, k2 = cf + Coef.k2 &* c, k3 = cf + Coef.k3 &* c
            let rc = relu.map { $0 + sample &* ReLUCoef.rows &* c }
            let rsc = rc.map { $0 + ReLUCoef.scale &* c }, rsh = rc.map { $0 + ReLUCoef.shift &* c }
            // As in `apply`: k3 − k2·mLo once per chunk, then k1·dy + k2·(x − mHi) + that.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { tmp in
                let k0 = tmp.baseAddress!
                for j in 0..<c { k0[j] = k3[j] - k2[j] * ml[j] }
                var offset = (sample &* plan.p &+ lo) &* c
                if stream && Int(bitPattern: dx + offset) % 32 == 0 {
                    nb_stream_gradient_input(x + offset, dy + offset, dx + offset, hi - lo, c, mh, k0, k1, k2, rsc, rsh)
                    return
                }
                for _ in lo..<hi {
                    let xr = x + offset, gr = dy + offset, outr = dx + offset
                    if let rsc, let rsh {
                        var j = 0
                        while j &+ 8 <= c {  // SIMD8, as in `gradientSums`
                            let d = load8(xr + j) - load8(mh + j)
                            let g = load8(gr + j).replacing(with: 0, where: load8(rsh + j).addingProduct(d, load8(rsc + j)) .<= 0)
                            store8(load8(k0 + j).addingProduct(load8(k2 + j), d).addingProduct(load8(k1 + j), g), outr + j)
                            j &+= 8
                        }
                        while j < c {
                            let d = xr[j] - mh[j]
                            let g: Float = rsh[j].addingProduct(d, rsc[j]) <= 0 ? 0 : gr[j]
                            outr[j] = k0[j].addingProduct(k2[j], d).addingProduct(k1[j], g)
                            j &+= 1
                        }
                    } else {
                        for j in 0..<c { outr[j] = k0[j].addingProduct(k2[j], xr[j] - mh[j]).addingProduct(k1[j], gr[j]) }
                    }
                    offset &+= c
                }
            }
        }
    }
}

/// Eight floats from `p` (any alignment).
@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores eight floats at `p` (any alignment).
@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Splits a Double mean into the float pair (hi, lo) that the kernels subtract.
@inline(__always)
func splitMean(_ mean: Double) -> (hi: Float, lo: Float) {
    let hi = Float(mean)
    return (hi, Float(mean - Double(hi)))
}

/// Scratch memory for a normalization layer, kept between calls and counted in
/// the ledger as workspace. Grows when a larger shape arrives; never shrinks.
final class NormWorkspace {
    private var doubles: Tensor?
    private var floats: Tensor?

    /// `count` Doubles, valid until the next call.
    func doubleBuffer(_ count: Int) -> UnsafeMutablePointer<Double> {
        if (doubles?.count ?? -1) < 2 * count {
            doubles = Tensor(shape: [2 * max(count, 1)], category: .workspace)
        }
        return UnsafeMutableRawPointer(doubles!.data).bindMemory(to: Double.self, capacity: max(count, 1))
    }

    /// `count` Floats, valid until the next call.
    func floatBuffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        if (floats?.count ?? -1) < count {
            floats = Tensor(shape: [max(count, 1)], category: .workspace)
        }
        return floats!.data
    }
}
