import Foundation

/// A committed summary of a run that later runs are checked against
/// (`Results/baseline/<name>.json`): per cell, the metrics `normbench check`
/// compares, plus the tolerances to compare them with.
///
/// Throughput is stored normalised by the run's own calibration (see
/// `Baseline.calibrationIndex`), so the baseline carries no absolute speed of
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

    /// Geometric mean of the calibration probes (conv GFLOP/s × memory GB/s)^½:
    /// one number for the machine's speed at that moment, covering both the
    /// compute-bound and the memory-bound part of a training step.
    public static func calibrationIndex(_ c: Calibration) -> Double {
        (c.convGFLOPS * c.bandwidthGBps).squareRoot()
    }

    /// The compared metrics of a record, by name. Throughput metrics end in
    /// `/cal`: the raw speed divided by `calibrationIndex`.
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
        if let t = r.throughput, let c = r.calibration, calibrationIndex(c) > 0 {
            let index = calibrationIndex(c)
            // Training speed at the median step (samples per step / median step time):
            // one slow step, preempted by another process on a shared 2-core machine,
            // moves the mean but not the median.
            let samples = Double(r.training?.samplesPerStep ?? 0)
            let train = samples > 0 && t.stepSecondsMedian > 0 ? samples / t.stepSecondsMedian : t.trainClipsPerSecond
            m["trainClipsPerSecond/cal"] = train / index
            m["evalClipsPerSecond/cal"] = t.evalClipsPerSecond / index
            if let d = t.decodeFramesPerSecond { m["decodeFramesPerSecond/cal"] = d / index }
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
