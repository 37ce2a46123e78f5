import Foundation
import NormBenchWorkloads

/// Progress of a sweep on standard output: one status line redrawn in place on
/// a terminal; plain lines (every 10 % of a cell's steps) otherwise, so logs and
/// CI output stay readable. Thread-safe: a distributed sweep's rank 0 reports
/// other ranks' records from a second thread.
public final class ProgressDisplay: @unchecked Sendable {
    private let lock = NSRecursiveLock()
    private let interactive: Bool
    private var lastDecile = -1
    private var statusShown = false
    private let write: (String) -> Void

    /// - Parameters:
    ///   - interactive: redraw one line in place (default: standard output is a terminal).
    ///   - write: where text goes (default: standard output, flushed).
    public init(interactive: Bool = isatty(STDOUT_FILENO) != 0, write: @escaping (String) -> Void = { text in
        FileHandle.standardOutput.write(Data(text.utf8))
    }) {
        self.interactive = interactive
        self.write = write
    }

    /// A line of its own.
    public func line(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        clearStatus()
        write(text + "\n")
    }

    /// Step progress of the current cell.
    public func progress(_ label: String, _ p: CellProgress, elapsed: Double) {
        lock.lock(); defer { lock.unlock() }
        let eta = p.step > 0 ? elapsed / Double(p.step) * Double(p.steps - p.step) : 0
        let text = String(format: "%@ step %d/%d epoch %.1f loss %.3f %.1f clips/s ETA %@", label, p.step, p.steps, p.epoch, p.loss, p.clipsPerSecond, Self.duration(eta))
        if interactive {
            write("\r\u{1B}[K" + text)
            statusShown = true
        } else {
            let decile = p.step * 10 / max(p.steps, 1)
            if decile != lastDecile {
                lastDecile = decile
                write(text + "\n")
            }
        }
    }

    /// The cell's result line.
    public func finish(_ label: String, _ r: ResultRecord) {
        lock.lock(); defer { lock.unlock() }
        lastDecile = -1
        var parts: [String] = []
        for m in Metric.headlines { if let v = r.accuracy?[m] { parts.append(String(format: "%@ %.1f%%", m.title, v * 100)) } }
        if let t = r.throughput { parts.append(String(format: "%.1f clips/s", t.trainClipsPerSecond)) }
        parts.append("peak \(mib(r.memory.ledgerPeakBytes)) MiB (ledger)")
        if let p = r.memory.process {
            let cache = p.allocatorCacheBytes.map { ", allocator cache \(mib($0))" } ?? ""
            parts.append("process \(mib(p.totalBytes)) MiB (data bank \(mib(p.dataBankBytes))\(cache), runtime \(mib(p.runtimeBytes)), unattributed \(mib(p.unattributedBytes)))")
        }
        if r.status == .failed { parts.append("FAILED: \(r.note ?? "did not learn")") }
        line("\(label): " + parts.joined(separator: ", "))
    }

    private func clearStatus() {
        if interactive && statusShown {
            write("\r\u{1B}[K")
            statusShown = false
        }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
