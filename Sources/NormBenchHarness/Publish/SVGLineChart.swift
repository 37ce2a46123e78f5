import Foundation

/// A line chart written as SVG text, no plotting dependency: categorical x axis
/// (batch sizes, group counts: evenly spaced, as the paper's Figure 1), linear
/// y axis with round ticks, one line per series with optional ± error bars, a
/// legend on the right. White background so it reads in GitHub's dark mode too.
struct SVGLineChart {
    struct Point {
        var x: Int
        var y: Double
        var error: Double = 0
    }

    /// A labelled horizontal line (chance level).
    struct ReferenceLine {
        var y: Double
        var label: String
    }

    struct Series {
        var name: String
        var points: [Point]
        var dashed = false
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var xTicks: [String]
    var series: [Series]
    /// Start the y axis at zero (throughput, memory) instead of near the data (error).
    var yFromZero = false
    var caption: String?
    /// Draw earlier series wider, so lines that coincide (memory is often the
    /// same for several methods) show as nested coloured bands, not one line.
    var nestCoincidentLines = false
    /// Where each x tick sits (e.g. log₂ of the batch), spread over the axis;
    /// nil: evenly spaced.
    var xPositions: [Double]? = nil
    /// Horizontal lines drawn dashed grey with their label at the right end.
    var referenceLines: [ReferenceLine] = []
    /// The values the quantity can take (0-100 for a percentage): error bars are cut
    /// at its ends, and a cut end is drawn as an arrowhead instead of a cap, so that
    /// a Student-t interval of a few scattered seeds does not stretch the axis past them.
    var yLimits: ClosedRange<Double>? = nil

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    private let width = 760.0, height = 460.0
    private let left = 78.0, right = 190.0, top = 52.0, bottom = 78.0

    func render() -> String {
        let plotW = width - left - right, plotH = height - top - bottom
        let values = series.flatMap { $0.points.flatMap { [clamped($0.y - $0.error), clamped($0.y + $0.error)] } } + referenceLines.map(\.y)
        let ticks = Self.niceTicks(low: yFromZero ? min(0, values.min() ?? 0) : (values.min() ?? 0), high: values.max() ?? 1)
        let yLow = ticks.first!, yHigh = ticks.last!
        func px(_ x: Int) -> Double {
            if let xs = xPositions, xs.count == xTicks.count, let lo = xs.min(), let hi = xs.max(), hi > lo {
                return left + plotW * (0.05 + 0.9 * (xs[x] - lo) / (hi - lo))
            }
            return xTicks.count <= 1 ? left + plotW / 2 : left + plotW * (0.05 + 0.9 * Double(x) / Double(xTicks.count - 1))
        }
        func py(_ y: Double) -> Double { top + plotH * (1 - (y - yLow) / (yHigh - yLow)) }
        let f = { (v: Double) in Format.fixed(v, 1) }

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        s += "<text x=\"\(f(width / 2))\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        // Grid and y ticks.
        let decimals = Self.decimals(step: ticks.count > 1 ? ticks[1] - ticks[0] : 1)
        for t in ticks {
            let y = py(t)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"#e0e0e0\"/>\n"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Format.fixed(t, decimals))</text>\n"
        }
        // Axes.
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotH))\" stroke=\"#333333\"/>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(left + plotW))\" y2=\"\(f(top + plotH))\" stroke=\"#333333\"/>\n"
        for (i, label) in xTicks.enumerated() {
            let x = px(i)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(top + plotH))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH + 5))\" stroke=\"#333333\"/>\n"
            s += "<text x=\"\(f(x))\" y=\"\(f(top + plotH + 20))\" text-anchor=\"middle\">\(Self.escape(label))</text>\n"
        }
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH + 44))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        let yMid = top + plotH / 2
        s += "<text x=\"20\" y=\"\(f(yMid))\" text-anchor=\"middle\" transform=\"rotate(-90 20 \(f(yMid)))\">\(Self.escape(yLabel))</text>\n"
        if let caption {
            s += "<text x=\"\(f(left))\" y=\"\(f(height - 10))\" font-size=\"11\" fill=\"#555555\">\(Self.escape(caption))</text>\n"
        }
        for line in referenceLines {
            let y = py(line.y)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"#777777\" stroke-dasharray=\"3 3\"/>\n"
            s += "<text x=\"\(f(left + plotW - 4))\" y=\"\(f(y - 5))\" text-anchor=\"end\" font-size=\"11\" fill=\"#555555\">\(Self.escape(line.label))</text>\n"
        }
        // Series: error bars, line segments between neighbouring points, markers.
        for (k, line) in series.enumerated() {
            let color = Self.palette[k % Self.palette.count]
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            let strokeWidth = nestCoincidentLines ? 2 + 2.5 * Double(series.count - 1 - k) : 2
            let points = line.points.sorted { $0.x < $1.x }
            for p in points where p.error > 0 {
                let x = px(p.x), low = clamped(p.y - p.error), high = clamped(p.y + p.error)
                // An end: a cap, or an arrowhead pointing on where the interval was cut.
                func end(_ v: Double, cut: Bool, up: Bool) -> String {
                    let y = py(v)
                    return cut ? "M\(f(x - 4)) \(f(y + (up ? 6 : -6)))L\(f(x)) \(f(y))L\(f(x + 4)) \(f(y + (up ? 6 : -6)))" : "M\(f(x - 4)) \(f(y))H\(f(x + 4))"
                }
                let d = end(low, cut: low > p.y - p.error, up: false) + "M\(f(x)) \(f(py(low)))V\(f(py(high)))" + end(high, cut: high < p.y + p.error, up: true)
                s += "<path d=\"\(d)\" stroke=\"\(color)\" fill=\"none\"/>\n"
            }
            var segment: [Point] = []
            func flush() {
                if segment.count > 1 {
                    let d = segment.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                    s += "<polyline points=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(f(strokeWidth))\" stroke-linejoin=\"round\"\(dash)/>\n"
                }
                segment = []
            }
            for p in points {
                if let last = segment.last, p.x != last.x + 1 { flush() }
                segment.append(p)
            }
            flush()
            for p in points {
                s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3.5\" fill=\"\(color)\"/>\n"
            }
            // Legend entry.
            let ly = top + 12 + Double(k) * 22, lx = left + plotW + 18
            s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 24))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"\(f(min(strokeWidth, 6)))\"\(dash)/>\n"
            s += "<circle cx=\"\(f(lx + 12))\" cy=\"\(f(ly))\" r=\"3.5\" fill=\"\(color)\"/>\n"
            s += "<text x=\"\(f(lx + 32))\" y=\"\(f(ly + 4))\">\(Self.escape(line.name))</text>\n"
        }
        // Under the legend, what an arrowhead means, when a bar has one.
        if let limits = yLimits, series.contains(where: { $0.points.contains(where: isCut) }) {
            let ly = top + 12 + Double(series.count) * 22, lx = left + plotW + 18
            s += "<path d=\"M\(f(lx + 8)) \(f(ly + 3))L\(f(lx + 12)) \(f(ly - 3))L\(f(lx + 16)) \(f(ly + 3))\" stroke=\"#333333\" fill=\"none\"/>\n"
            s += "<text x=\"\(f(lx + 32))\" y=\"\(f(ly + 4))\" font-size=\"11\">interval cut at \(Format.fixed(limits.lowerBound, 0))-\(Format.fixed(limits.upperBound, 0))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    private func clamped(_ v: Double) -> Double { yLimits.map { min(max(v, $0.lowerBound), $0.upperBound) } ?? v }
    private func isCut(_ p: Point) -> Bool { clamped(p.y - p.error) != p.y - p.error || clamped(p.y + p.error) != p.y + p.error }

    /// Round tick values (steps of 1, 2 or 5 × 10^k) covering low...high, 4-8 ticks.
    static func niceTicks(low: Double, high: Double) -> [Double] {
        var lo = low, hi = high
        if !(lo.isFinite && hi.isFinite) { lo = 0; hi = 1 }
        if hi - lo < 1e-12 { let pad = max(abs(hi) * 0.1, 1e-3); lo -= pad; hi += pad }
        let raw = (hi - lo) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = floor(lo / step + 1e-9), last = ceil(hi / step - 1e-9)
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    static func decimals(step: Double) -> Int { step >= 1 ? 0 : Int(ceil(-log10(step) - 1e-9)) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
