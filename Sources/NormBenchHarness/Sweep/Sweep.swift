import NormBenchEngine
import NormBenchWorkloads

/// Command-line overrides of a workload's sweep and training length.
public struct SweepOverrides: Sendable, Equatable {
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
        if let norms { s.sweep.norms = norms }
        if let batches { s.sweep.batches = batches }
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
}

/// One cell of a sweep: its key (for records) and its settings (for training).
public struct SweepCell: Sendable {
    public var key: CellKey
    public var settings: CellSettings
    public var threads: Int
}

extension WorkloadSpec {
    /// Every cell of the sweep, in a fixed order: norm, batch, groups, seed, threads.
    /// Groups vary only for methods that have groups (gn, gn+ws, evonorm).
    public func cells() throws -> [SweepCell] {
        var out: [SweepCell] = []
        for name in sweep.norms {
            let base = try NormalizationSpec(parsing: name)
            let grouped = [.groupNorm, .groupNormWS, .evoNormS0].contains(base.method)
            let groupSettings: [GroupSetting?] = grouped ? sweep.groups.map { $0 } : [nil]
            for batch in sweep.batches {
                for g in groupSettings {
                    for seed in sweep.seeds {
                        for threads in sweep.threads {
                            var norm = base
                            norm.zeroInitLastGamma = model.zeroInitLastGamma
                            norm.weightDecayOnNorm = training.weightDecayNorm
                            norm.preciseBN = PreciseBNOptions(enabled: training.preciseBNBatches > 0, batches: training.preciseBNBatches)
                            switch g {
                            case .count(let n)?: norm.groups = n
                            case .perChannel?: norm.channelsPerGroup = 1
                            case nil: break
                            }
                            // Fail now, not after an hour: every width must accept the grouping.
                            for c in model.widths { _ = try norm.make(channels: c, role: .standard) }
                            let key = CellKey(
                                workload: self.name, norm: name, batch: batch, workers: training.workers,
                                groups: g?.description ?? "-", seed: seed, threads: threads)
                            out.append(SweepCell(
                                key: key, settings: CellSettings(norm: norm, batch: batch, workers: training.workers, seed: seed),
                                threads: threads))
                        }
                    }
                }
            }
        }
        return out
    }
}
