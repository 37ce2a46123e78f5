import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// How `normbench run` runs a sweep.
public struct RunOptions: Sendable {
    /// The run folder; default `<resultsRoot>/<workload>/<UTC timestamp>`.
    public var out: String?
    /// Continue the latest (or the given) run: cells with a record are kept, not re-run.
    public var resume = false
    /// Cells whose predicted peak memory exceeds this are recorded as over budget, not run.
    public var memoryBudget: Int?
    /// Count and skip clips that fail to decode instead of stopping.
    public var skipBadClips = false
    /// Where the decoded clips are kept: in memory, or in an unlinked file in the run folder.
    public var dataBank = DataBankStorage.file
    public var resultsRoot = "Results"
    /// Debugging and tests: write each cell's trained state (`ModelState.values`,
    /// little-endian float32) to `<folder>/<cell>.f32`.
    public var finalStateFolder: String?
    /// Save each cell's trained model to `<run folder>/models/<cell>.safetensors`
    /// (also on with the workload's `training.saveModel`).
    public var saveModel = false

    public init() {}
}

/// Where `normbench run` keeps the decoded data set (`--data-bank`).
public enum DataBankStorage: String, Sendable, CaseIterable {
    case memory, file

    /// The bank's placement for a run whose folder is `runFolder`: the file goes
    /// there (it is unlinked at once), or to the temporary folder on a host that
    /// does not see the run folder (other MPI hosts).
    func placement(runFolder: String) -> ClipBankPlacement {
        switch self {
        case .memory: return .memory
        case .file: return .file(folder: FileManager.default.fileExists(atPath: runFolder) ? runFolder : NSTemporaryDirectory())
        }
    }
}

/// The run folder's description of itself, written first (`run.json`).
public struct RunManifest: Codable, Sendable, Equatable {
    public var workload: WorkloadSpec
    public var cells: [CellKey]
    public var created: String
}

/// Runs every cell of a sweep and writes one record per cell, atomically, as
/// each finishes: an interrupted sweep loses only the cell in flight, and
/// `--resume` skips the cells that have a record.
public final class SweepRunner {
    public let spec: WorkloadSpec
    public let options: RunOptions
    let display: ProgressDisplay
    /// Read once, when the runner is made (commit included): the working tree may
    /// move on while a long sweep runs.
    let environment = Environment.current()
    /// Set by `runDistributed`: how the ranks run this sweep, stamped on every record.
    var distribution: DistributedRun?
    /// The run folder's lock, held while the runner writes it (one writer per run folder).
    var runLock: RunLock?
    /// The run folder, once chosen (`setUpRunFolder`).
    var folder: String?

    public init(spec: WorkloadSpec, options: RunOptions, display: ProgressDisplay = ProgressDisplay()) {
        self.spec = spec
        self.options = options
        self.display = display
    }

    /// Runs the sweep. Returns the run folder and every record in it.
    /// - Throws: `HarnessError` (output not writable, run folder of another sweep),
    ///   `DatasetError` (bad clips), `WorkloadError`, `NormalizationError`.
    public func run() throws -> (folder: String, records: [ResultRecord]) {
        let cells = try spec.cells()
        let setup = try setUpRunFolder(cells) { "\($0) cells" }
        defer { runLock = nil }
        let (train, eval, data, decode) = try decodeData(try prepareData(), runFolder: setup.folder)
        for k in setup.pending {
            let record = try runCell(
                cells[k], index: k, of: cells.count, train: train, eval: eval, data: data, decode: decode,
                cellOptions: CellRunOptions(keepFinalState: options.finalStateFolder != nil))
            try RecordStore.write(record, in: setup.folder)
        }
        return (setup.folder, try RecordStore.readAll(setup.folder))
    }

    /// The run folder of a serial or distributed run (rank 0), ready to write:
    /// chosen (`runFolder`), locked (one writer per folder), `run.json` written or,
    /// when resuming, checked to describe the same sweep; and the indices of the
    /// cells still to run (with `--resume`, a cell with a readable record is kept).
    func setUpRunFolder(_ cells: [SweepCell], describe: (Int) -> String) throws -> (folder: String, pending: [Int]) {
        let folder = try runFolder()
        self.folder = folder
        runLock = try RunLock.acquire(folder)
        let manifest = RunManifest(workload: spec, cells: cells.map(\.key), created: ISO8601DateFormatter().string(from: Date()))
        try checkOrWriteManifest(manifest, folder: folder)
        display.line("run folder: \(folder) (\(describe(cells.count)))")
        var pending: [Int] = []
        for (k, cell) in cells.enumerated() {
            let path = RecordStore.path(of: cell.key, in: folder)
            if options.resume, FileManager.default.fileExists(atPath: path), (try? RecordStore.read(path: path)) != nil {
                display.line("cell \(k + 1)/\(cells.count) \(cell.key.id): done earlier, kept")
            } else {
                pending.append(k)
            }
        }
        return (folder, pending)
    }

    /// Data: generated once (cached) or a user's folder.
    func prepareData() throws -> (folder: String, manifest: DatasetManifest) {
        spec.data.source == .synthetic
            ? try SyntheticDataset.prepare(spec, threads: Self.dataThreads) { self.display.line($0) }
            : try FolderDataset.load(spec)
    }

    /// Threads that decode the data set and run the calibration taken right after
    /// it: one, so a record's decode speed is that of one decoding thread.
    static let dataThreads = 1

    /// Decodes the data set once for every cell, into memory or a file (`options.dataBank`).
    func decodeData(_ source: (folder: String, manifest: DatasetManifest), runFolder: String) throws
        -> (train: ClipBank, eval: ClipBank, data: DataSummary, decode: (framesPerSecond: Double, calibration: Calibration)) {
        let (dataFolder, dataManifest) = source
        let frames = spec.framesPerClip, placement = options.dataBank.placement(runFolder: runFolder)
        let train = try ClipBank.decode(manifest: dataManifest, folder: dataFolder, split: "train", size: spec.clip.size, frames: frames,
                                        threads: Self.dataThreads, skipBad: options.skipBadClips, placement: placement)
        let eval = try ClipBank.decode(manifest: dataManifest, folder: dataFolder, split: "eval", size: spec.clip.size, frames: frames,
                                       threads: Self.dataThreads, skipBad: options.skipBadClips, placement: placement)
        let decodeFPS = Double(train.framesDecoded + eval.framesDecoded) / max(train.decodeSeconds + eval.decodeSeconds, 1e-9)
        // The machine's speed right after the decode, which `normbench check` divides decode speed by.
        let decodeCalibration = Calibration.measure(threads: Self.dataThreads)
        display.line(String(format: "data: %@ (decoded %d frames at %.0f frames/s%@)", dataManifest.description,
                            train.framesDecoded + eval.framesDecoded, decodeFPS,
                            train.skipped.isEmpty && eval.skipped.isEmpty ? "" : "; skipped \(train.skipped + eval.skipped)"))
        let data = DataSummary(description: dataManifest.description, trainClips: train.count, evalClips: eval.count, digest: dataManifest.digest,
                               evalViews: spec.clip.evalViews, bank: DataBankSummary(storage: options.dataBank.rawValue, bytes: train.bytes + eval.bytes))
        return (train, eval, data, (decodeFPS, decodeCalibration))
    }

    func runCell(
        _ cell: SweepCell, index k: Int, of n: Int, train: ClipBank, eval: ClipBank, data: DataSummary,
        decode: (framesPerSecond: Double, calibration: Calibration), cellOptions: CellRunOptions = CellRunOptions()
    ) throws -> ResultRecord {
        let key = cell.key, threads = cell.settings.threads
        let label = "cell \(k + 1)/\(n) \(key.norm)\(key.isScratch ? " from scratch" : "") b=\(key.batch) W=\(key.workers) G=\(key.groups) seed=\(key.seed) T=\(threads)"
        if let budget = options.memoryBudget {
            let predicted = MemoryPlanner.predictProcessPeak(try MemoryPlanner.predict(spec: spec, cell: cell.settings), dataBank: train.residentBytes + eval.residentBytes)
            if predicted > budget {
                display.line("\(label): over budget (predicted \(mib(predicted)) MiB > \(mib(budget)) MiB), not run")
                return ResultRecord(
                    cell: key, status: .overBudget,
                    note: "predicted process peak \(predicted) bytes > budget \(budget) bytes", task: spec.task.rawValue,
                    memory: Memory(ledgerPeakBytes: 0, ledgerAtPeakBytes: [:], predictedPeakBytes: predicted),
                    data: data, environment: environmentNow())
            }
        }
        let calibration = Calibration.measure(threads: threads)
        _ = Convolution3D.takeExecutedImplementations()  // the probe's, not the cell's
        let started = Date()
        let m: CellMeasurement
        var cellOptions = cellOptions
        let checkpoint = try checkpointTarget(key, cellOptions)
        if let checkpoint {
            cellOptions.checkpointPath = checkpoint.path
            cellOptions.checkpointMetadata = ["git_commit": environment.gitCommit, "cell": key.id]
        }
        do {
            let progress = { (p: CellProgress) in self.display.progress(label, p, elapsed: Date().timeIntervalSince(started)) }
            m = try CellRun.run(spec: spec, cell: cell.settings, train: train, eval: eval, options: cellOptions, progress: progress)
        } catch let error as TrainingError {
            // A method that diverges at some setting is a result, not a broken sweep.
            display.line("\(label): \(error)")
            var record = ResultRecord(
                cell: key, status: .diverged, note: "\(error)", task: spec.task.rawValue,
                memory: Memory(ledgerPeakBytes: 0, ledgerAtPeakBytes: [:]), calibration: calibration,
                data: data, environment: environmentNow())
            record.startedFrom = startedFrom(cell.settings)
            return record
        }
        let fingerprint = NumericsFingerprint.current(executed: Convolution3D.takeExecutedImplementations(), threads: threads)
        let calibrationAfter = Calibration.measure(threads: threads)
        let steps = m.stepSeconds
        let measured = steps.reduce(0, +)
        let total = max(m.convolutionSeconds + m.normalizationSeconds + m.otherSeconds, 1e-12)
        var record = ResultRecord(
            cell: key, status: .completed, task: spec.task.rawValue,
            accuracy: Accuracy(m.metrics.merging([Metric.evalLoss.name: m.evalLoss]) { a, _ in a }),
            training: TrainingSummary(
                steps: m.steps, epochs: m.epochs, samplesPerStep: m.samplesPerStep, learningRate: m.peakLearningRate,
                lossCurve: LossPoint.curve(m.lossCurve)),
            throughput: Throughput(
                trainClipsPerSecond: measured > 0 ? Double(steps.count * m.samplesPerStep) / measured : 0,
                stepSecondsMedian: Quantiles.percentile(steps, 0.5), stepSecondsP90: Quantiles.percentile(steps, 0.9), evalClipsPerSecond: m.evalClipsPerSecond,
                decodeFramesPerSecond: decode.framesPerSecond, decodeCalibration: decode.calibration),
            timeShare: TimeShare(
                convolution: m.convolutionSeconds / total, normalization: m.normalizationSeconds / total, other: m.otherSeconds / total),
            memory: Memory(
                ledgerPeakBytes: m.ledger.peakTotal,
                ledgerAtPeakBytes: Dictionary(uniqueKeysWithValues: m.ledger.atPeak.map { ($0.key.rawValue, $0.value) }),
                processPeakBytes: m.processPeakBytes,
                process: m.processPeakBytes.flatMap { peak in
                    m.residentAtStartBytes.map {
                        ProcessAccount(peak: peak, residentAtStart: $0, dataBank: train.residentBytes + eval.residentBytes,
                                       ledgerAtStart: m.ledgerAtStartBytes, ledgerPeak: m.ledger.peakTotal,
                                       allocatorAtStart: m.allocatorAtStartBytes, allocatorPeak: m.allocatorPeakBytes)
                    }
                }),
            calibration: calibration.followed(by: calibrationAfter), data: data, environment: environmentNow())
        record.fingerprint = fingerprint
        if let checkpoint, let sha256 = m.checkpointSHA256 { record.checkpoint = CheckpointRef(path: checkpoint.relative, sha256: sha256) }
        record.startedFrom = startedFrom(cell.settings)
        record.channelsPerGroup = m.channelsPerGroup
        record.evaluation = EvaluationSection(m)
        // A cell that trained without learning is recorded as failed, with its measurements.
        if let why = LearningCriterion.failure(m.lossCurve.map(\.loss))
            ?? LearningCriterion.detectionFailure(mAP50: m.metrics["mAP50"]) {
            record.status = .failed
            record.note = why
        }
        record.distributed = distribution.map { d in var d = d; d.collective = m.collective.map(CollectiveCost.init); return d }
        if let state = m.finalState, let folder = options.finalStateFolder { try writeFinalState(state, of: key, in: folder) }
        display.finish(label, record)
        return record
    }

    /// Where this cell's model is saved, when the run saves models: the path
    /// (checked to stay in the run folder) and the record's relative path. Under
    /// data-parallel MPI, rank 0 saves.
    func checkpointTarget(_ key: CellKey, _ cellOptions: CellRunOptions) throws -> (path: String, relative: String)? {
        guard options.saveModel || spec.training.saveModel == true, let folder else { return nil }
        if let comm = cellOptions.dataParallel, comm.rank != 0 { return nil }
        let relative = ModelInit.relativePath(cell: key.id)
        return (try OutputPath.resolve(relative, under: folder), relative)
    }

    /// The checkpoint `cell` loaded before training (`model.init`), as `run` chose
    /// and hashed it (`PretrainedRuns.resolve`); nil for a scratch cell or without model.init.
    func startedFrom(_ cell: CellSettings) -> StartedFrom? {
        guard let c = spec.model.initialization?.checkpoint(for: cell), let sha = c.sha256 else { return nil }
        return StartedFrom(path: c.path, sha256: sha, workload: c.workload, run: c.run, cell: c.cell)
    }

    /// The run's environment with this moment's date.
    func environmentNow() -> Environment {
        var e = environment
        e.date = ISO8601DateFormatter().string(from: Date())
        return e
    }

    /// The run folder: `--out`, or the latest run of this workload when resuming, or a new one.
    func runFolder() throws -> String {
        if let out = options.out {
            try OutputPath.checkRoot(out, option: "--out")
            if options.resume && !FileManager.default.fileExists(atPath: "\(out)/run.json") {
                throw HarnessError.mismatch("\(out): --resume found no earlier run here (no run.json); run without --resume to start one")
            }
            return out
        }
        if let problem = SafeName.problem(spec.name) {
            throw HarnessError.mismatch("workload name \(problem); it names the results folder, so it must be \(SafeName.rule)")
        }
        let root = "\(options.resultsRoot)/\(spec.name)"
        if options.resume {
            let runs = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
                .filter { FileManager.default.fileExists(atPath: "\(root)/\($0)/run.json") }.sorted()
            guard let last = runs.last else {
                throw HarnessError.mismatch("\(root): --resume found no earlier run of \(spec.name); run without --resume, or pass --out <run folder>")
            }
            return "\(root)/\(last)"
        }
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withYear, .withMonth, .withDay, .withTime])
        return "\(root)/\(stamp)"
    }

    /// A new run writes `run.json`; a resumed run must describe the same sweep.
    func checkOrWriteManifest(_ manifest: RunManifest, folder: String) throws {
        let path = "\(folder)/run.json"
        if let data = FileManager.default.contents(atPath: path) {
            guard let old = try? JSONDecoder().decode(RunManifest.self, from: data) else {
                throw HarnessError.read(path: path, reason: "not a normbench run description")
            }
            // Run descriptions written before `model.init` recorded its chosen checkpoints describe the same sweep without them.
            var current = manifest.workload
            if old.workload.model.initialization?.checkpoints == nil { current.model.initialization?.checkpoints = nil }
            guard old.workload == current, old.cells == manifest.cells else {
                throw HarnessError.mismatch(
                    "\(folder): holds a different sweep (workload settings or cells differ); pass --out <new folder>, or resume with the same workload and options")
            }
            return
        }
        try AtomicFile.write(RecordStore.encode(manifest), to: OutputPath.resolve("run.json", under: folder))
    }
}

func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
