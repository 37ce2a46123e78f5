import NormBenchEngine

// Plain Double-precision 3-D convolution on NDHWC / [cOut, kd, kh, kw, cIn]:
// the reference the oneDNN passes are checked against. Backward passes are the
// adjoint loops of the same index map (and are themselves checked against
// central differences of `convolutionReference` in ConvolutionTests).

/// Calls `body(n, o, i, wIndex)` for every (output element, input element, weight element) triple.
private func forEachTap(_ g: ConvolutionGeometry, _ body: (Int, Int, Int) -> Void) {
    let o = g.output
    let (cin, cout) = (g.inChannels, g.outChannels)
    for n in 0..<g.batch {
        for od in 0..<o[0] { for oh in 0..<o[1] { for ow in 0..<o[2] {
            for kd in 0..<g.kernel[0] { for kh in 0..<g.kernel[1] { for kw in 0..<g.kernel[2] {
                let id = od * g.stride[0] - g.padding[0] + kd
                let ih = oh * g.stride[1] - g.padding[1] + kh
                let iw = ow * g.stride[2] - g.padding[2] + kw
                guard id >= 0, id < g.input[0], ih >= 0, ih < g.input[1], iw >= 0, iw < g.input[2] else { continue }
                let inBase = (((n * g.input[0] + id) * g.input[1] + ih) * g.input[2] + iw) * cin
                let outBase = (((n * o[0] + od) * o[1] + oh) * o[2] + ow) * cout
                for co in 0..<cout {
                    let wBase = (((co * g.kernel[0] + kd) * g.kernel[1] + kh) * g.kernel[2] + kw) * cin
                    for ci in 0..<cin { body(outBase + co, inBase + ci, wBase + ci) }
                }
            }}}
        }}}
    }
}

func convolutionReference(_ x: [Double], _ w: [Double], _ b: [Double]?, _ g: ConvolutionGeometry) -> [Double] {
    var y = [Double](repeating: 0, count: g.outputShape.reduce(1, *))
    forEachTap(g) { o, i, k in y[o] += x[i] * w[k] }
    if let b {
        for j in 0..<y.count { y[j] += b[j % g.outChannels] }
    }
    return y
}

func convolutionBackwardDataReference(_ gy: [Double], _ w: [Double], _ g: ConvolutionGeometry) -> [Double] {
    var gx = [Double](repeating: 0, count: g.inputShape.reduce(1, *))
    forEachTap(g) { o, i, k in gx[i] += gy[o] * w[k] }
    return gx
}

func convolutionBackwardWeightsReference(_ x: [Double], _ gy: [Double], _ g: ConvolutionGeometry) -> (w: [Double], b: [Double]) {
    var gw = [Double](repeating: 0, count: g.weightShape.reduce(1, *))
    forEachTap(g) { o, i, k in gw[k] += gy[o] * x[i] }
    var gb = [Double](repeating: 0, count: g.outChannels)
    for j in 0..<gy.count { gb[j % g.outChannels] += gy[j] }
    return (gw, gb)
}
