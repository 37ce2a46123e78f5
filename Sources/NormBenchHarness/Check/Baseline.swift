import NormBenchEngine
import NormBenchWorkloads
import Foundation

/// A committed summary of runs that later runs are checked against
/// (`Results/baseline/<name>.json`).
///
/// - `cells`: the cells a checked run must hold; per cell, the exact metric
///   values measured on each numerics fingerprint (`NumericsFingerprint`) the
///   baseline was made on. A run with one of these fingerprints must reproduce
///   them (accuracy and memory exactly, throughput within the tolerances).
/// - `spreads`: per cell group (a cell without its seed) and accuracy metric, the
///   values measured over several seeds and fingerprints. A run on a fingerprint
///   the baseline does not know is judged against these statistically.
///
/// Throughput is stored normalised by the run's own calibration (see
/// `Calibration.index`), so the baseline carries no absolute speed.
public struct Baseline: Codable, Sendable, Equatable {
    public var schema = Baseline.currentSchema
    public static let currentSchema = 2

    public var workloads: [String]
    public var tolerances: CheckTolerances
    /// The fingerprints of the exact entries, by id.
    public var fingerprints: [String: NumericsFingerprint]
    public var cells: [Cell]
    public var spreads: [Spread]
    /// Provenance of the runs it was made from (machine, commit), for people.
    public var madeFrom: String

    /// One cell a checked run must hold.
    public struct Cell: Codable, Sendable, Equatable {
        public var cell: CellKey
        public var status: ResultRecord.Status
        public var dataDigest: String
        /// The cell's metrics (`Baseline.metrics(of:)`) per fingerprint it was measured on.
        public var entries: [Entry]
    }

    public struct Entry: Codable, Sendable, Equatable {
        /// `NumericsFingerprint.id`, or "unknown" for records without one.
        public var fingerprint: String
        public var metrics: [String: Double]
    }

    /// The accuracy metrics of one cell group over seeds and fingerprints.
    public struct Spread: Codable, Sendable, Equatable {
        /// `Baseline.group(of:)`: the cell id without its seed.
        public var group: String
        /// "s<seed>@<fingerprint>" per sample, in the order of the values.
        public var sources: [String]
        /// Metric name → one value per source.
        public var samples: [String: [Double]]
    }

    /// Metrics that depend on the float trajectory of training: exact on a known
    /// fingerprint, statistical on another.
    /// Every task's accuracy metrics (`Metric.catalog`).
    public static var statisticalMetrics: Set<String> { Set(Metric.catalog.map(\.name)) }

    /// Which cells are the same experiment up to the seed.
    public static func group(of key: CellKey) -> String {
        "\(key.workload)/\(key.norm.replacingOccurrences(of: "+", with: "-"))_b\(key.batch)_w\(key.workers)_g\(key.groups)_t\(key.threads)"
    }

    /// A baseline from runs of one sweep, measured on one or more fingerprints,
    /// plus optional runs of more seeds (or other fingerprints) for the spreads.
    ///
    /// Each `runs` folder must hold the same cells: they become the cells a checked
    /// run must hold. Runs on the same fingerprint must agree on every metric but
    /// throughput (`/cal`), which is their median; otherwise the sweep is not
    /// reproducible and no baseline is made. Spreads take one value per distinct
    /// (seed, fingerprint) from every completed record of `runs` and `spreadRuns`.
    /// - Throws: `HarnessError.mismatch` naming the folder and cell that disagree.
    public init(runs: [(folder: String, records: [ResultRecord])], spreadRuns: [(folder: String, records: [ResultRecord])] = [], tolerances: CheckTolerances = .standard) throws {
        guard let first = runs.first else { throw HarnessError.mismatch("no runs to make a baseline from") }
        let keys = first.records.map(\.cell).sorted()
        var cells: [Cell] = []
        var fingerprints: [String: NumericsFingerprint] = [:]
        for key in keys {
            var byFingerprint: [String: [(folder: String, metrics: [String: Double])]] = [:]
            var reference: ResultRecord?
            for run in runs {
                guard run.records.map(\.cell).sorted() == keys, let r = run.records.first(where: { $0.cell == key }) else {
                    throw HarnessError.mismatch("\(run.folder): holds other cells than \(first.folder); pass runs of the same sweep (more seeds go in --spread)")
                }
                if let ref = reference, ref.status != r.status || ref.data.digest != r.data.digest {
                    throw HarnessError.mismatch("\(run.folder): cell \(key.workload)/\(key.id) has status or data digest unlike \(first.folder); pass runs of the same sweep and data")
                }
                reference = reference ?? r
                let id = r.fingerprint?.id ?? "unknown"
                if let f = r.fingerprint { fingerprints[id] = f }
                byFingerprint[id, default: []].append((run.folder, Baseline.metrics(of: r)))
            }
            var entries: [Entry] = []
            for (id, measured) in byFingerprint.sorted(by: { $0.key < $1.key }) {
                var metrics = measured[0].metrics
                for other in measured.dropFirst() {
                    for (name, value) in metrics where !name.hasSuffix("/cal") && other.metrics[name] != value {
                        throw HarnessError.mismatch("\(other.folder): cell \(key.workload)/\(key.id) has \(name) = \(other.metrics[name].map { "\($0)" } ?? "none") but \(measured[0].folder) has \(value) on the same fingerprint \(id); the runs are not reproducible, so no baseline was written")
                    }
                }
                for name in metrics.keys where name.hasSuffix("/cal") {
                    metrics[name] = Quantiles.median(measured.compactMap { $0.metrics[name] })
                }
                entries.append(Entry(fingerprint: id, metrics: metrics))
            }
            cells.append(Cell(cell: key, status: reference!.status, dataDigest: reference!.data.digest, entries: entries))
        }
        self.workloads = Set(keys.map(\.workload)).sorted()
        self.tolerances = tolerances
        self.fingerprints = fingerprints
        self.cells = cells
        self.spreads = Self.spreads(from: (runs + spreadRuns).flatMap(\.records), groups: Set(keys.map(Self.group(of:))))
        let all = (runs + spreadRuns).flatMap(\.records)
        let envs = Set(all.map { "\($0.environment.cpuModel), \($0.environment.logicalCPUs) CPUs, commit \($0.environment.gitCommit), \($0.environment.date.prefix(10))" })
        madeFrom = envs.sorted().joined(separator: "; ")
            + " (\(runs.count) run\(runs.count == 1 ? "" : "s") of the checked cells, \(spreadRuns.count) more for the spreads)"
    }

    /// One value per distinct (seed, fingerprint) for every statistical metric of
    /// the completed records whose group is in `groups`.
    static func spreads(from records: [ResultRecord], groups: Set<String>) -> [Spread] {
        var byGroup: [String: [String: ResultRecord]] = [:]
        for r in records where r.status == .completed && groups.contains(group(of: r.cell)) {
            byGroup[group(of: r.cell), default: [:]]["s\(r.cell.seed)@\(r.fingerprint?.id ?? "unknown")"] = r
        }
        return byGroup.sorted { $0.key < $1.key }.map { group, bySource in
            let sources = bySource.keys.sorted()
            var samples: [String: [Double]] = [:]
            for name in statisticalMetrics {
                let values = sources.compactMap { metrics(of: bySource[$0]!)[name] }
                if values.count == sources.count { samples[name] = values }
            }
            return Spread(group: group, sources: sources, samples: samples)
        }
    }

    /// The compared metrics of a record, by name. Throughput metrics end in
    /// `/cal`: the raw speed divided by the calibration index (`Calibration.index`)
    /// measured around the cell (decoding: right after the decode).
    public static func metrics(of r: ResultRecord) -> [String: Double] {
        var m: [String: Double] = [:]
        m["data.trainClips"] = Double(r.data.trainClips)
        m["data.evalClips"] = Double(r.data.evalClips)
        for metric in Metric.catalog { m[metric.name] = r.accuracy?[metric] }
        if let t = r.training { m["training.steps"] = Double(t.steps) }
        m["ledgerPeakBytes"] = Double(r.memory.ledgerPeakBytes)
        for (category, bytes) in r.memory.ledgerAtPeakBytes { m["ledgerAtPeak.\(category)"] = Double(bytes) }
        if let t = r.throughput, let index = r.calibration?.index, index > 0 {
            // Training speed at the median step (samples per step / median step time):
            // one slow step, preempted by another process on a shared 2-core machine,
            // moves the mean but not the median.
            let samples = Double(r.training?.samplesPerStep ?? 0)
            let train = samples > 0 && t.stepSecondsMedian > 0 ? samples / t.stepSecondsMedian : t.trainClipsPerSecond
            m["trainClipsPerSecond/cal"] = train / index
            m["evalClipsPerSecond/cal"] = t.evalClipsPerSecond / index
            if let d = t.decodeFramesPerSecond {
                let decodeIndex = t.decodeCalibration?.index ?? index
                if decodeIndex > 0 { m["decodeFramesPerSecond/cal"] = d / decodeIndex }
            }
        }
        return m
    }
}
