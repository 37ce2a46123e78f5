import Foundation
import NormBenchEngine

/// Targets, loss and box decoding of the CenterNet-style head (Zhou et al.,
/// "Objects as Points", 2019), per frame.
///
/// Output channels per cell (channels-last): `classes` heatmap logits, then box
/// width and height, then the centre's sub-cell offset (x, y), all in output
/// cells (input pixels / stride).
///
/// Loss = focal(heatmap) + 0.1 · L1(size) + L1(offset), each normalized by the
/// number of objects. The heatmap loss is CenterNet's penalty-reduced focal loss:
/// at a centre (target 1) −(1 − p)² log p; elsewhere −(1 − t)⁴ p² log(1 − p),
/// where t is the target's Gaussian splat. Its gradient w.r.t. the logit x
/// (p = σ(x)): centre (1 − p)²(2p log p − (1 − p)); elsewhere (1 − t)⁴ p²(p − 2(1 − p) log(1 − p)).
public struct CenterNetHead: Sendable {
    public let classes: Int
    public let stride: Int
    public var sizeWeight = 0.1
    public var offsetWeight = 1.0

    public init(classes: Int, stride: Int) {
        self.classes = classes
        self.stride = stride
    }

    public var channels: Int { classes + 4 }

    /// Dense targets for a batch.
    public struct Targets {
        /// `[n, t, h, w, classes]` heatmap in 0...1.
        public var heat: [Float]
        /// Per cell (n, t, h, w): 1 at an object's centre cell, else 0.
        public var mask: [Float]
        /// Per cell: width, height, offset x, offset y (meaningful where mask = 1).
        public var box: [Float]
        public var objects: Int
    }

    /// Targets for `boxes[sample][frame]` (input pixels) on an output grid of `h × w` cells.
    public func targets(_ boxes: [[[SyntheticRenderer.Box]]], h: Int, w: Int) -> Targets {
        let frames = boxes.first?.count ?? 0
        let cells = boxes.count * frames * h * w
        var t = Targets(heat: [Float](repeating: 0, count: cells * classes), mask: [Float](repeating: 0, count: cells),
                        box: [Float](repeating: 0, count: cells * 4), objects: 0)
        for (n, sample) in boxes.enumerated() {
            for (f, frame) in sample.enumerated() {
                for b in frame {
                    let bw = (b.x1 - b.x0) / Double(stride), bh = (b.y1 - b.y0) / Double(stride)
                    let cx = (b.x0 + b.x1) / 2 / Double(stride), cy = (b.y0 + b.y1) / 2 / Double(stride)
                    let ix = Int(cx), iy = Int(cy)
                    guard ix >= 0, iy >= 0, ix < w, iy < h, bw > 0, bh > 0 else { continue }
                    let radius = max(0, Int(Self.gaussianRadius(height: bh, width: bw)))
                    let sigma = Double(2 * radius + 1) / 6
                    for y in max(0, iy - radius)...min(h - 1, iy + radius) {
                        for x in max(0, ix - radius)...min(w - 1, ix + radius) {
                            let d2 = Double((x - ix) * (x - ix) + (y - iy) * (y - iy))
                            let v = Float(exp(-d2 / (2 * sigma * sigma)))
                            let k = (((n * frames + f) * h + y) * w + x) * classes + b.label
                            t.heat[k] = max(t.heat[k], v)
                        }
                    }
                    let cell = ((n * frames + f) * h + iy) * w + ix
                    t.heat[cell * classes + b.label] = 1
                    if t.mask[cell] == 0 { t.objects += 1 }
                    t.mask[cell] = 1
                    t.box[cell * 4] = Float(bw)
                    t.box[cell * 4 + 1] = Float(bh)
                    t.box[cell * 4 + 2] = Float(cx - Double(ix))
                    t.box[cell * 4 + 3] = Float(cy - Double(iy))
                }
            }
        }
        return t
    }

    /// CenterNet's Gaussian radius for a box of `height × width` cells (min IoU 0.7).
    static func gaussianRadius(height: Double, width: Double, minOverlap: Double = 0.7) -> Double {
        let b1 = height + width, c1 = width * height * (1 - minOverlap) / (1 + minOverlap)
        let r1 = (b1 + (b1 * b1 - 4 * c1).squareRoot()) / 2
        let b2 = 2 * (height + width), c2 = (1 - minOverlap) * width * height
        let r2 = (b2 + (b2 * b2 - 16 * c2).squareRoot()) / 2
        let a3 = 4 * minOverlap, b3 = -2 * minOverlap * (height + width), c3 = (minOverlap - 1) * width * height
        let r3 = (b3 + (b3 * b3 - 4 * a3 * c3).squareRoot()) / 2
        return min(r1, r2, r3)
    }

    /// The loss of `output` `[n, t, h, w, classes + 4]`; writes dLoss/doutput · `scale` into `grad`.
    public func loss(_ output: Tensor, _ t: Targets, grad: Tensor?, scale: Float = 1) -> Double {
        let cells = output.count / channels
        precondition(output.count == cells * channels && t.mask.count == cells, "CenterNetHead.loss: output \(output.shape) vs \(t.mask.count) target cells")
        let norm = Double(max(t.objects, 1))
        var total = 0.0
        let o = output.data
        for cell in 0..<cells {
            let base = cell * channels
            for c in 0..<classes {
                let x = Double(o[base + c]), target = Double(t.heat[cell * classes + c])
                let p = min(max(1 / (1 + exp(-x)), 1e-6), 1 - 1e-6)
                let l: Double, d: Double
                if target == 1 {
                    l = -(1 - p) * (1 - p) * log(p)
                    d = (1 - p) * (1 - p) * (2 * p * log(p) - (1 - p))
                } else {
                    let wNeg = pow(1 - target, 4)
                    l = -wNeg * p * p * log(1 - p)
                    d = wNeg * p * p * (p - 2 * (1 - p) * log(1 - p))
                }
                total += l / norm
                grad?.data[base + c] = Float(d / norm) * scale
            }
            let m = Double(t.mask[cell])
            for j in 0..<4 {
                let weight = (j < 2 ? sizeWeight : offsetWeight) * m
                let diff = Double(o[base + classes + j]) - Double(t.box[cell * 4 + j])
                total += weight * abs(diff) / norm
                grad?.data[base + classes + j] = Float(weight * (diff > 0 ? 1 : diff < 0 ? -1 : 0) / norm) * scale
            }
        }
        return total
    }

    /// Detections per (sample, frame): 3×3 local maxima of the class heatmaps,
    /// the `topK` highest per frame, boxes in input pixels.
    public func decode(_ output: Tensor, topK: Int = 20) -> [[[DetectionMetrics.Box]]] {
        let (n, frames, h, w) = (output.shape[0], output.shape[1], output.shape[2], output.shape[3])
        let o = output.data
        func logit(_ f: Int, _ y: Int, _ x: Int, _ c: Int) -> Float { o[((f * h + y) * w + x) * channels + c] }
        var out: [[[DetectionMetrics.Box]]] = []
        for s in 0..<n {
            var perFrame: [[DetectionMetrics.Box]] = []
            for t in 0..<frames {
                let f = s * frames + t
                var peaks: [(score: Float, c: Int, y: Int, x: Int)] = []
                for y in 0..<h {
                    for x in 0..<w {
                        for c in 0..<classes {
                            let v = logit(f, y, x, c)
                            var isPeak = true
                            for dy in -1...1 where isPeak {
                                for dx in -1...1 where (dy != 0 || dx != 0) && isPeak {
                                    let yy = y + dy, xx = x + dx
                                    if yy >= 0, yy < h, xx >= 0, xx < w, logit(f, yy, xx, c) > v { isPeak = false }
                                }
                            }
                            if isPeak { peaks.append((1 / (1 + exp(-v)), c, y, x)) }
                        }
                    }
                }
                peaks.sort { $0.score > $1.score || ($0.score == $1.score && ($0.c, $0.y, $0.x) < ($1.c, $1.y, $1.x)) }
                perFrame.append(peaks.prefix(topK).map { p in
                    let base = ((f * h + p.y) * w + p.x) * channels + classes
                    let bw = Double(max(o[base], 0)) * Double(stride), bh = Double(max(o[base + 1], 0)) * Double(stride)
                    let cx = (Double(p.x) + Double(o[base + 2])) * Double(stride)
                    let cy = (Double(p.y) + Double(o[base + 3])) * Double(stride)
                    return DetectionMetrics.Box(image: 0, label: p.c, x0: cx - bw / 2, y0: cy - bh / 2, x1: cx + bw / 2, y1: cy + bh / 2, score: Double(p.score))
                })
            }
            out.append(perFrame)
        }
        return out
    }
}
