import Foundation

/// The outcome of `normbench check`: one row per compared metric.
public struct CheckReport: Sendable {
    public enum Verdict: String, Sendable {
        case unchanged
        case withinTolerance = "ok"
        case improved
        case regression = "REGRESSION"
        /// Moved, and shown, but not gated (e.g. throughput on another CPU).
        case reported
    }

    public struct Row: Sendable, Equatable {
        public var cell: String
        public var metric: String
        public var baseline: String
        public var current: String
        public var change: String
        public var tolerance: String
        public var verdict: Verdict
    }

    public var rows: [Row]
    public var cells: Int
    /// Printed first: how the run's numerics fingerprints compare with the baseline's.
    public var header: [String] = []
    /// Warnings printed above the verdict (e.g. a machine that was busy during the run).
    public var notes: [String] = []

    public var regressions: [Row] { rows.filter { $0.verdict == .regression } }
    public var passed: Bool { regressions.isEmpty }

    /// A plain-text table of every metric that moved (unchanged ones are counted
    /// in the summary line), regressions first, then a one-line verdict.
    public func render() -> String {
        let moved = rows.filter { $0.verdict != .unchanged }
        let order: [Verdict: Int] = [.regression: 0, .improved: 1, .withinTolerance: 2, .reported: 3]
        let shown = moved.enumerated().sorted { (order[$0.element.verdict]!, $0.offset) < (order[$1.element.verdict]!, $1.offset) }.map(\.element)
        var text = header.map { $0 + "\n" }.joined()
        if !shown.isEmpty {
            let header = ["cell", "metric", "baseline", "current", "change", "allowed", "verdict"]
            let table = [header] + shown.map { [$0.cell, $0.metric, $0.baseline, $0.current, $0.change, $0.tolerance, $0.verdict.rawValue] }
            let widths = header.indices.map { i in table.map { $0[i].count }.max()! }
            for (n, line) in table.enumerated() {
                text += line.enumerated().map { i, s in i == line.count - 1 ? s : s.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ") + "\n"
                if n == 0 { text += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
            }
        }
        for note in notes { text += "note: \(note)\n" }
        let unchanged = rows.count - moved.count
        let improved = rows.filter { $0.verdict == .improved }.count
        let reported = rows.filter { $0.verdict == .reported }.count
        text += "\(rows.count) metrics in \(cells) cells: \(unchanged) unchanged, \(moved.count - improved - reported - regressions.count) moved within tolerance, \(improved) improved, \(reported) moved but not gated, \(regressions.count) regressed\n"
        text += passed ? "PASS\n" : "FAIL: \(regressions.count) regression\(regressions.count == 1 ? "" : "s")\n"
        return text
    }

    /// Shortest round-trip text of a number; integers without a fraction.
    static func plain(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return String(Int(v)) }
        return String(format: "%.6g", v)
    }

    /// "+12.5%" relative change, or the absolute change when the baseline is 0.
    static func change(baseline b: Double, current c: Double) -> String {
        if c == b { return "0" }
        if b == 0 { return (c > 0 ? "+" : "") + plain(c) }
        let r = (c - b) / abs(b) * 100
        return (r > 0 ? "+" : "") + Format.fixed(r, 2) + "%"
    }
}
