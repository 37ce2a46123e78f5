import NormBenchEngine
import NormBenchWorkloads

/// Command-line overrides of a workload's sweep and training length.
public struct SweepOverrides: Sendable, Equatable {
    /// Replaces `sweep.norms`, and keeps of `sweep.scratch` only the methods it lists.
    public var norms: [String]?
    public var batches: [Int]?
    public var workers: Int?
    public var seeds: [Int]?
    public var threads: [Int]?
    public var groups: [GroupSetting]?
    public var steps: Int?
    public var epochs: Int?

    public init() {}

    /// The workload with these overrides applied, validated again.
    public func apply(to spec: WorkloadSpec, file: String) throws -> WorkloadSpec {
        var s = spec
        if let norms {
            s.sweep.norms = norms
            // The from-scratch reference cells follow the same choice: only the listed methods run.
            let listed = Set(norms.map(Self.method))
            s.sweep.scratch = s.sweep.scratch?.filter { listed.contains(Self.method($0)) }
        }
        if let batches {
            s.sweep.batches = batches
            s.sweep.batchesByNorm = nil
        }
        if let workers { s.training.workers = workers }
        if let seeds { s.sweep.seeds = seeds }
        if let threads { s.sweep.threads = threads }
        if let groups { s.sweep.groups = groups }
        if let steps { s.training.steps = steps }
        if let epochs {
            s.training.epochs = epochs
            s.training.steps = nil
        }
        try s.validate(file: file)
        return s
    }

    /// The method of a norm name: `gn` of `gn:ws`.
    private static func method(_ name: String) -> String { name.split(separator: ":").first.map(String.init) ?? name }
}

/// One cell of a sweep: its settings (the one value training reads) and the
/// workload it belongs to; the record's key is derived from them.
public struct SweepCell: Sendable, Equatable {
    public var workload: String
    public var settings: CellSettings

    public var key: CellKey {
        CellKey(
            workload: workload, norm: settings.normName, batch: settings.batch, workers: settings.workers,
            groups: settings.groups?.description ?? "-", seed: settings.seed, threads: settings.threads, scratch: settings.scratch)
    }
}

extension WorkloadSpec {
    /// Every cell of the sweep, in a fixed order: norm, batch, groups, seed, threads;
    /// then the from-scratch cells of `sweep.scratch` in the same order.
    /// Groups vary only for methods that have groups (`NormMethod.hasGroups`).
    /// `run` and `plan` both take their cells from here.
    public func cells() throws -> [SweepCell] {
        var out: [SweepCell] = []
        for (name, scratch) in sweep.norms.map({ ($0, false) }) + (sweep.scratch ?? []).map({ ($0, true) }) {
            let base = try NormalizationSpec(parsing: name)
            let groupSettings: [GroupSetting?] = base.method.hasGroups ? sweep.groups.map { $0 } : [nil]
            for batch in sweep.batches(for: name) {
                for g in groupSettings {
                    var norm = base
                    norm.zeroInitLastGamma = model.zeroInitLastGamma
                    switch g {
                    case .count(let n)?: norm.groups = n
                    case .perChannel?: norm.channelsPerGroup = 1
                    case nil: break
                    }
                    // Fail now, not after an hour: every width must accept the grouping.
                    for c in model.widths { _ = try norm.make(channels: c, role: .standard) }
                    for seed in sweep.seeds {
                        for threads in sweep.threads {
                            out.append(SweepCell(workload: self.name, settings: CellSettings(
                                norm: norm, normName: name, groups: g, batch: batch, workers: sweep.workers(batch: batch, training: training), seed: seed, threads: threads, scratch: scratch)))
                        }
                    }
                }
            }
        }
        return out
    }
}
