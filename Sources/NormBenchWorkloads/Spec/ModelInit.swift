import Foundation
import NormBenchEngine

/// Where a workload's model starts from (`model.init`): a safetensors
/// checkpoint, named by its path or by the run and cell that saved it
/// (`<run>/models/<cell>.safetensors`), or a pretraining workload whose newest
/// complete run gives each cell the checkpoint of its normalization family
/// (`{workload: video-pretrain}`, docs/transfer.md). Relative paths of the
/// first two forms are relative to the workload file's folder. Absent: the
/// seeded random initialization.
public struct ModelInit: Codable, Sendable, Equatable {
    /// The checkpoint path as written (`init: <path>`), nil for the run form.
    public var file: String?
    /// The run folder as written (`init: {run: ..., cell: ...}`).
    public var run: String?
    /// The cell id whose model to load (a safe name).
    public var cell: String?
    /// The pretraining workload as written (`init: {workload: ...}`).
    public var workload: String?
    /// The checkpoint file the runs read, resolved; for the workload form, the
    /// folder whose runs are searched (`<results>/<workload>`).
    public var path: String
    /// The checkpoints `run` chose when it started (every form; absent before,
    /// and in run descriptions written before this key existed).
    public var checkpoints: [PretrainedCheckpoint]?

    public init(file: String? = nil, run: String? = nil, cell: String? = nil, workload: String? = nil, path: String, checkpoints: [PretrainedCheckpoint]? = nil) {
        self.file = file
        self.run = run
        self.cell = cell
        self.workload = workload
        self.path = path
        self.checkpoints = checkpoints
    }

    /// The file a run's `--save-model` writes for `cell`, relative to the run folder.
    public static func relativePath(cell: String) -> String { "models/\(cell).safetensors" }

    /// The checkpoint `cell` starts from: nil for a scratch cell; the resolved
    /// checkpoint that fits the cell (`PretrainedCheckpoint.fits`) when `run`
    /// has resolved them; else, for the file and run forms, `path`.
    public func checkpoint(for cell: CellSettings) -> PretrainedCheckpoint? {
        if cell.scratch { return nil }
        if let checkpoints {
            return checkpoints.first { ($0.norms.isEmpty || $0.norms.contains(cell.normName)) && ($0.groups == nil || $0.groups == cell.groups?.description) && ($0.seeds?.contains(cell.seed) ?? true) }
        }
        return workload == nil ? PretrainedCheckpoint(path: path) : nil
    }
}

/// One checkpoint a fine-tuning run starts cells from, chosen when `run`
/// starts: the file, its SHA-256, where it came from, and which cells use it.
public struct PretrainedCheckpoint: Codable, Sendable, Equatable {
    /// The file, as the run reads it.
    public var path: String
    /// SHA-256 of its bytes (lowercase hex); nil until read.
    public var sha256: String?
    /// The pretraining workload, run folder and cell (the workload and run forms).
    public var workload: String?
    public var run: String?
    public var cell: String?
    /// The fine-tuning norms (as `sweep.norms` lists them) that start from it;
    /// empty for the file and run forms, where every cell does.
    public var norms: [String]
    /// The fine-tuning groups it serves (grouped methods), nil for any.
    public var groups: String?
    /// The fine-tuning seeds it serves, nil for any.
    public var seeds: [Int]?

    public init(path: String, sha256: String? = nil, workload: String? = nil, run: String? = nil, cell: String? = nil, norms: [String] = [], groups: String? = nil, seeds: [Int]? = nil) {
        self.path = path
        self.sha256 = sha256
        self.workload = workload
        self.run = run
        self.cell = cell
        self.norms = norms
        self.groups = groups
        self.seeds = seeds
    }
}

extension ModelSpec {
    /// Reads `init` (a path, or `{run, cell}`) from the `model:` mapping.
    mutating func readInit(_ r: inout SpecReader) throws {
        guard r.has("init") else { return }
        let example = "init: ../Results/pretrain/models/bn_b8_w1_g-_s0_t2.safetensors"
        let base = (r.file as NSString).deletingLastPathComponent
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") || base.isEmpty ? path : "\(base)/\(path)"
        }
        func fail(_ key: String, _ problem: String, _ example: String) -> WorkloadError {
            .invalid(file: r.file, line: nil, key: r.key(key), problem: problem, example: example)
        }
        if r.isMapping("init"), var s = try r.section("init"), s.has("workload") {
            // The pretraining workload's newest complete run, under the results
            // folder of the working directory (where `normbench run` writes).
            var workload = "", results = "Results"
            try s.string("workload", &workload, example: "workload: video-pretrain")
            try s.string("results", &results, example: "results: Results")
            try s.finish()
            if let problem = SafeName.problem(workload) {
                throw fail("init.workload", "\(problem); a workload name is \(SafeName.rule)", "workload: video-pretrain")
            }
            do {
                try OutputPath.checkRoot(results, option: "init.results")
            } catch let e as OutputPath.Refused {
                throw fail("init.results", e.message, "results: Results")
            }
            initialization = ModelInit(workload: workload, path: "\(results)/\(workload)")
            return
        }
        if r.isMapping("init"), var s = try r.section("init") {
            var run = "", cell = ""
            try s.string("run", &run, example: "run: Results/pretrain/20260101T000000Z")
            try s.string("cell", &cell, example: "cell: bn_b8_w1_g-_s0_t2")
            try s.finish()
            if run.isEmpty { throw fail("init.run", "is required with `init.cell`", "run: Results/pretrain/20260101T000000Z") }
            if cell.isEmpty { throw fail("init.cell", "is required with `init.run`", "cell: bn_b8_w1_g-_s0_t2") }
            do {
                try OutputPath.checkRoot(run, option: "init.run")
            } catch let e as OutputPath.Refused {
                throw fail("init.run", e.message, "run: Results/pretrain/20260101T000000Z")
            }
            if let problem = SafeName.problem(cell) {
                throw fail("init.cell", "\(problem); a cell id is \(SafeName.rule)", "cell: bn_b8_w1_g-_s0_t2")
            }
            let path: String
            do {
                path = try OutputPath.resolve(ModelInit.relativePath(cell: cell), under: resolve(run))
            } catch let e as OutputPath.Refused {
                throw fail("init.run", e.message, "run: Results/pretrain/20260101T000000Z")
            }
            initialization = ModelInit(run: run, cell: cell, path: path)
            return
        }
        var file = ""
        try r.string("init", &file, example: example)
        do {
            try OutputPath.checkRoot(file, option: "init", example: "checkpoint.safetensors")
        } catch let e as OutputPath.Refused {
            throw fail("init", e.message, example)
        }
        guard file.hasSuffix(".safetensors") else {
            throw fail("init", "is \"\(SafeName.escaped(file))\"; it must name a .safetensors checkpoint (normbench run --save-model writes them)", example)
        }
        initialization = ModelInit(file: file, path: resolve(file))
    }
}

extension WorkloadSpec {
    /// Checks what checkpoints need: frozenbn's statistics come from one.
    func validateCheckpointSettings(file: String) throws {
        if model.initialization == nil, sweep.norms.contains(where: { $0.split(separator: ":").first == "frozenbn" }) {
            throw WorkloadError.invalid(
                file: file, line: nil, key: "sweep.norms",
                problem: "lists frozenbn, whose statistics and affine (BN*) must come from a pretrained checkpoint, but `model.init` is not set; add model.init (a checkpoint saved by normbench run --save-model) or remove frozenbn",
                example: "init: ../Results/pretrain/models/bn_b8_w1_g-_s0_t2.safetensors")
        }
        guard let scratch = sweep.scratch, !scratch.isEmpty else { return }
        if model.initialization == nil {
            throw WorkloadError.invalid(
                file: file, line: nil, key: "sweep.scratch",
                problem: "lists \(scratch.joined(separator: ", ")) to run from scratch beside the cells that start from `model.init`, but model.init is not set, so every cell already starts from scratch; add model.init or remove sweep.scratch",
                example: "init: {workload: video-pretrain}")
        }
        if scratch.contains(where: { $0.split(separator: ":").first == "frozenbn" }) {
            throw WorkloadError.invalid(
                file: file, line: nil, key: "sweep.scratch",
                problem: "lists frozenbn, whose statistics and affine (BN*) come from the checkpoint, so it cannot start from scratch; remove it (bn is the from-scratch reference)",
                example: "scratch: [bn, gn]")
        }
    }
}
