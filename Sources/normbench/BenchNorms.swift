import ArgumentParser
import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// `normbench bench norms`: forward and forward+backward time of each normalization
/// method on 5-D activations, as effective GB/s of the minimum traffic and as a
/// fraction of the copy bandwidth measured in the same run.
struct BenchNorms: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "norms",
        abstract: "Time the normalization kernels against memory bandwidth measured in the same run.",
        discussion: """
            Shapes are (N,C,D,H,W) as in the GN paper; tensors are NDHWC in memory. Minimum \
            traffic per element: forward 2 reads + 1 write (moments pass, then apply), \
            backward 2 reads (Σdy, Σdy·x̂) + 2 reads + 1 write (dx); FrozenBN 1 read + 1 write each way. \
            "% bw" = the time the minimum traffic takes at the measured bandwidth ÷ the measured time, \
            where a read costs 4 B ÷ (reduction GB/s) and a write costs what a copy adds to a read: \
            8 B ÷ (copy GB/s) − 4 B ÷ (reduction GB/s), both probes measured in this run at the same thread count.
            """)

    static let defaultNorms = "gn,ln,in,bn,frozenbn,brn,frn,evonorm"
    @Option(name: .customLong("norms"), help: "Normalization methods, comma-separated (short names; default \(defaultNorms)).")
    var normsOption: String?
    var norms: String { normsOption ?? Self.defaultNorms }
    @Option(name: .customLong("methods"), help: .hidden)
    var methodsDeprecated: String?

    @Option(help: "Semicolon-separated shapes N,C,D,H,W.")
    var shapes = "2,64,8,56,56;8,64,8,56,56;4,256,4,14,14;1,32,16,112,112;16,128,4,28,28"

    @Option(help: "Comma-separated thread counts.")
    var threads = "1,2"

    @Option(help: "Timed repeats per measurement (the median is reported).")
    var repeats = 7

    @Option(help: "GroupNorm groups (and EvoNorm's) unless a method sets its own (gn:groups=16, gn:cpg=4).")
    var groups = 32

    @Flag(help: "Print the table as one JSON object on stdout (docs/cli.md).")
    var json = false

    mutating func validate() throws {
        try validating {
            normsOption = try deprecatedAlias(methodsDeprecated, normsOption, old: "--methods", new: "--norms")
            methodsDeprecated = nil
            guard (1...10_000).contains(repeats) else { throw UsageError(message: "--repeats must be in 1...10000, e.g. --repeats 7") }
            guard Limits.groups.contains(groups) else { throw UsageError(message: "--groups must be in \(Limits.groups), e.g. --groups 32") }
            guard try !parsedShapes().isEmpty, try !parsedThreads().isEmpty, !norms.split(separator: ",").isEmpty else {
                throw UsageError(message: "--shapes, --threads and --norms need at least one value, e.g. --shapes 8,64,8,56,56 --threads 2 --norms gn")
            }
            for m in norms.split(separator: ",") {
                do { _ = try NormalizationSpec(parsing: String(m)) } catch { throw UsageError(message: "--norms: \(error)") }
            }
        }
    }

    static let maxElements = 1 << 26

    private func parsedShapes() throws -> [[Int]] {
        try shapes.split(separator: ";").map { s in
            let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) ?? 0 }
            guard v.count == 5, v.allSatisfy({ $0 >= 1 }) else {
                throw UsageError(message: "--shapes: '\(s)' is not N,C,D,H,W with positive integers, e.g. 8,64,8,56,56")
            }
            // A few tensors of this size are live at once: keep one under 256 MiB.
            let elements = v.reduce(1) { product, d in product.multipliedReportingOverflow(by: d).overflow ? Int.max : product * d }
            guard elements <= Self.maxElements else {
                throw UsageError(message: "--shapes: '\(s)' has \(elements == Int.max ? "too many" : String(elements)) elements; at most \(Self.maxElements) (256 MiB of floats), e.g. 8,64,8,56,56")
            }
            return v
        }
    }

    private func parsedThreads() throws -> [Int] { try threadList(threads) }

    func run() throws {
        let shapeList = try parsedShapes(), threadList = try parsedThreads()
        let llc = BuildInfo.lastLevelCacheBytes
        let probe = BandwidthProbe(bytes: 256 << 20)
        Report.begin("bench norms", json: json)
        Deprecation.flush()
        emit("normbench bench norms — \(BuildInfo.cpuModel), \(BuildInfo.configuration), built for \(BuildInfo.targetFeatures.joined(separator: " "))")
        emit("median of \(repeats) after a warm-up; bandwidth probes (256 MiB copy and sum) re-measured before each shape and thread count")
        emit("")
        emit("| shape (N,C,D,H,W) | MiB | method | thr | fwd ms | fwd GB/s | fwd % bw | fwd+bwd ms | f+b GB/s | f+b % bw |")
        emit("|---|---|---|---|---|---|---|---|---|---|")
        let f = { (v: Double, digits: Int) in String(format: "%.\(digits)f", v) }
        for s in shapeList {
            let (n, c, d, h, w) = (s[0], s[1], s[2], s[3], s[4])
            let shape = [n, d, h, w, c]
            let count = shape.reduce(1, *)
            let x = Tensor(shape: shape, category: .data)
            let dy = Tensor(shape: shape, category: .data)
            var g = SeededGenerator(seed: 1)
            for i in 0..<count {
                x.data[i] = 1 + g.nextUniform()
                dy.data[i] = g.nextUniform() - 0.5
            }
            let label = "\(n),\(c),\(d),\(h),\(w) | \(f(Double(count * 4) / Double(1 << 20), 1))\(2 * count * 4 > llc ? "" : " (in LLC)")"
            var layers: [(name: String, layer: any Layer, traffic: (fwd: (Int, Int), bwd: (Int, Int)))] = []
            for name in norms.split(separator: ",").map(String.init) {
                var spec = try NormalizationSpec(parsing: name)
                if !name.contains("groups=") && !name.contains("cpg=") { spec.groups = min(groups, c) }
                spec.zeroInitLastGamma = false
                guard let layer = try spec.make(channels: c, role: .standard) else { continue }
                // (reads, writes) per element at minimum.
                layers.append((name, layer, spec.method == .frozenBatchNorm ? ((1, 1), (1, 1)) : ((2, 1), (4, 1))))
            }
            for t in threadList { Parallel.withThreads(t) {
                let copy = probe.copy(threads: t, repeats: repeats)
                let reduction = probe.reduction(threads: t, repeats: repeats)
                emit("| \(label) | *bandwidth* | \(t) | copy \(f(copy, 1)) GB/s (read + write) | reduction \(f(reduction, 1)) GB/s (read) | | | | |")
                // Seconds per element for a read and for a write at the measured bandwidth.
                let readCost = 4 / (reduction * 1e9)
                let writeCost = max(0, 8 / (copy * 1e9) - readCost)
                let bound = { (rw: (Int, Int)) in Double(count) * (Double(rw.0) * readCost + Double(rw.1) * writeCost) }
                for (name, layer, traffic) in layers {
                    let fwd = BandwidthProbe.median(repeats) {
                        _ = layer.forward(x, mode: .training)
                    }!
                    let both = BandwidthProbe.median(repeats) {
                        _ = layer.forward(x, mode: .training)
                        _ = layer.backward(dy)
                    }!
                    let total = (traffic.fwd.0 + traffic.bwd.0, traffic.fwd.1 + traffic.bwd.1)
                    let fwdGBs = Double((traffic.fwd.0 + traffic.fwd.1) * count * 4) / fwd / 1e9
                    let bothGBs = Double((total.0 + total.1) * count * 4) / both / 1e9
                    emit("| \(label) | \(name) | \(t) | "
                          + "\(f(fwd * 1e3, 2)) | \(f(fwdGBs, 1)) | \(f(100 * bound(traffic.fwd) / fwd, 0))% | "
                          + "\(f(both * 1e3, 2)) | \(f(bothGBs, 1)) | \(f(100 * bound(total) / both, 0))% |")
                    fflush(nil)
                }
            } }
        }
        try Report.shared.finish()
    }
}
