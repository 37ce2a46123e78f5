import Foundation
import NormBenchEngine

/// Where a workload's model starts from (`model.init`): a safetensors
/// checkpoint, named by its path or by the run and cell that saved it
/// (`<run>/models/<cell>.safetensors`). Relative paths are relative to the
/// workload file's folder. Absent: the seeded random initialization.
public struct ModelInit: Codable, Sendable, Equatable {
    /// The checkpoint path as written (`init: <path>`), nil for the run form.
    public var file: String?
    /// The run folder as written (`init: {run: ..., cell: ...}`).
    public var run: String?
    /// The cell id whose model to load (a safe name).
    public var cell: String?
    /// The checkpoint file the runs read, resolved.
    public var path: String

    public init(file: String? = nil, run: String? = nil, cell: String? = nil, path: String) {
        self.file = file
        self.run = run
        self.cell = cell
        self.path = path
    }

    /// The file a run's `--save-model` writes for `cell`, relative to the run folder.
    public static func relativePath(cell: String) -> String { "models/\(cell).safetensors" }
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
    }
}
