import Foundation

/// A committed summary of a run that later runs are checked against
/// (`Results/baseline/<name>.json`): per cell, the metrics `normbench check`
/// compares, plus the tolerances to compare them with.
///
/// Throughput is stored normalised by the run's own calibration (see
/// `Calibration.index`), so the baseline carries no absolute speed of
/// the machine it was made on.
public struct Baseline: Codable, Sendable, Equatable {
    public var schema = Baseline.currentSchema
    public static let currentSchema = 1

    public var workloads: [String]
    public var tolerances: CheckTolerances
    public var cells: [Cell]
    /// Provenance of the run it was made from (machine, commit), for people.
    public var madeFrom: String

    /// One cell's metrics: name → value (see `Baseline.metrics(of:)` for names).
    public struct Cell: Codable, Sendable, Equatable {
        public var cell: CellKey
        public var status: ResultRecord.Status
        public var dataDigest: String
        public var metrics: [String: Double]
    }

    public init(workloads: [String], tolerances: CheckTolerances, cells: [Cell], madeFrom: String) {
        self.workloads = workloads
        self.tolerances = tolerances
        self.cells = cells
        self.madeFrom = madeFrom
    }

    /// A baseline from a run's records.
    public init(records: [ResultRecord], tolerances: CheckTolerances = .standard) {
        let sorted = records.sorted { $0.cell < $1.cell }
        workloads = Set(sorted.map(\.cell.workload)).sorted()
        self.tolerances = tolerances
        cells = sorted.map { Cell(cell: $0.cell, status: $0.status, dataDigest: $0.data.digest, metrics: Baseline.metrics(of: $0)) }
        let envs = Set(sorted.map { "\($0.environment.cpuModel), \($0.environment.logicalCPUs) CPUs, commit \($0.environment.gitCommit), \($0.environment.date.prefix(10))" })
        madeFrom = envs.sorted().joined(separator: "; ")
    }

    /// A baseline from several runs of the same sweep: throughput (`/cal`) is the
    /// median over the runs, so one run on a busy machine does not set the bar;
    /// every other metric must be identical in every run.
    /// - Throws: `HarnessError.mismatch` when the runs hold different cells or a
    ///   deterministic metric differs between them (the sweep is not reproducible
    ///   on this machine, and a baseline of it would fail at random).
    public init(runs: [(folder: String, records: [ResultRecord])], tolerances: CheckTolerances = .standard) throws {
        guard let first = runs.first else { throw HarnessError.mismatch("no runs to make a baseline from") }
        var base = Baseline(records: first.records, tolerances: tolerances)
        for run in runs.dropFirst() {
            let other = Baseline(records: run.records, tolerances: tolerances)
            guard other.cells.map(\.cell) == base.cells.map(\.cell) else {
                throw HarnessError.mismatch("\(run.folder): holds other cells than \(first.folder); pass runs of the same sweep")
            }
            for (a, b) in zip(base.cells, other.cells) {
                let label = "\(a.cell.workload)/\(a.cell.id)"
                if a.status != b.status || a.dataDigest != b.dataDigest {
                    throw HarnessError.mismatch("\(run.folder): cell \(label) has status or data digest unlike \(first.folder); pass runs of the same sweep and data")
                }
                for (name, value) in a.metrics where !name.hasSuffix("/cal") && b.metrics[name] != value {
                    throw HarnessError.mismatch("\(run.folder): cell \(label) has \(name) = \(b.metrics[name].map { "\($0)" } ?? "none") but \(first.folder) has \(value); the runs are not reproducible (same build, CPU and threads?), so no baseline was written")
                }
            }
        }
        for k in base.cells.indices {
            for name in base.cells[k].metrics.keys where name.hasSuffix("/cal") {
                let values = runs.compactMap { run in
                    run.records.first { $0.cell == base.cells[k].cell }.flatMap { Baseline.metrics(of: $0)[name] }
                }.sorted()
                base.cells[k].metrics[name] = values.count % 2 == 1
                    ? values[values.count / 2] : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
            }
        }
        if runs.count > 1 { base.madeFrom += " (throughput: median of \(runs.count) runs)" }
        self = base
    }

    /// The compared metrics of a record, by name. Throughput metrics end in
    /// `/cal`: the raw speed divided by the calibration index (`Calibration.index`)
    /// measured around the cell (decoding: right after the decode).
    public static func metrics(of r: ResultRecord) -> [String: Double] {
        var m: [String: Double] = [:]
        m["data.trainClips"] = Double(r.data.trainClips)
        m["data.evalClips"] = Double(r.data.evalClips)
        if let a = r.accuracy {
            m["top1Error"] = a.top1Error
            m["top5Error"] = a.top5Error
            m["mAP50"] = a.mAP50
            m["mAP"] = a.mAP
            m["evalLoss"] = a.evalLoss
        }
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

    /// Reads a baseline file. - Throws: `HarnessError.read` naming the file.
    public static func read(path: String) throws -> Baseline {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HarnessError.mismatch("\(path): cannot read baseline (\(FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file")); make one with `normbench check --update-baseline --baseline \(path) RUN_DIR`")
        }
        let baseline: Baseline
        do { baseline = try JSONDecoder().decode(Baseline.self, from: data) } catch {
            throw HarnessError.mismatch("\(path): not a normbench baseline (\(error.localizedDescription)); regenerate it with `normbench check --update-baseline`")
        }
        guard baseline.schema == currentSchema else {
            throw HarnessError.mismatch("\(path): baseline schema \(baseline.schema), this normbench reads \(currentSchema); regenerate it with `normbench check --update-baseline`")
        }
        return baseline
    }

    /// Writes the baseline atomically (sorted keys: same run, same bytes).
    public func write(path: String) throws {
        try AtomicFile.write(RecordStore.encode(self), to: path)
    }
}
