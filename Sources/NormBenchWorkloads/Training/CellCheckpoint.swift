import Foundation
import NormBenchEngine

/// Saving a cell's trained model and starting a cell from a checkpoint
/// (`model.init`), in safetensors (docs/checkpoints.md).
///
/// Fine-tuning per method: the checkpoint gives every convolution's filters,
/// every γ and β and the BN running statistics. `frozenbn` keeps statistics
/// and affine fixed (BN*); `bn`, `brn` and `syncbn` train γ, β from the
/// checkpoint's values and normalize with the fine-tuning batches' statistics
/// (per worker, or over the W workers for syncbn), their running averages
/// starting from the checkpoint's; `gn` (and the other methods) load a
/// checkpoint trained with the same method.
public enum CellCheckpoint {
    /// The checkpoint format's version in `__metadata__`.
    public static let formatVersion = "1"

    /// The `__metadata__` of a cell's checkpoint: what the tensors are and
    /// where they came from (all values are text).
    public static func metadata(spec: WorkloadSpec, cell: CellSettings, model: Sequential, extra: [String: String] = [:]) -> [String: String] {
        let norm = cell.norm
        var m: [String: String] = [
            "format": "normbench-checkpoint",
            "format_version": formatVersion,
            "normbench_version": BuildInfo.version,
            "git_commit": "unknown",
            "workload": spec.name,
            "task": spec.task.rawValue,
            "architecture": spec.model.architecture.rawValue,
            "widths": spec.model.widths.map(String.init).joined(separator: ","),
            "blocks": spec.model.blocks.map(String.init).joined(separator: ","),
            "classes": "\(spec.classes)",
            "outputs": "\(outputs(of: model))",
            "input": "[n, \(spec.clip.frames), \(spec.clip.size), \(spec.clip.size), 3] (NDHWC)",
            "norm": cell.normName,
            "norm_method": norm.method.rawValue,
            "norm_epsilon": "\(norm.epsilon)",
            "seed": "\(cell.seed)",
            "layout": "convolution weight [out, kd, kh, kw, in]; linear weight [out, in]; normalization and bias [c]; little-endian float32, row-major",
        ]
        if norm.method.hasGroups {
            m["norm_groups"] = norm.channelsPerGroup.map { "cpg=\($0)" } ?? "\(norm.groups)"
        }
        return m.merging(extra) { _, new in new }
    }

    /// Channels of the model's last layer with parameters (the logits or the head's outputs).
    static func outputs(of model: Sequential) -> Int {
        ModelCheckpoint.slots(of: model).last { !$0.isStatistic }?.tensor.shape.first ?? 0
    }

    /// Writes the cell's model to `path` atomically.
    /// - Returns: the file's SHA-256 (hex).
    public static func save(_ model: Sequential, spec: WorkloadSpec, cell: CellSettings, to path: String, extra: [String: String] = [:]) throws -> String {
        let bytes = try SafeTensors.write(ModelCheckpoint.entries(of: model), metadata: metadata(spec: spec, cell: cell, model: model, extra: extra), to: path)
        return SHA256.hex(bytes)
    }

    /// Loads `spec.model.init` into a freshly built model of `cell`.
    /// - Returns: the notice line for head layers left fresh or checkpoint
    ///   head tensors unused, nil when everything loaded one to one (or there is no `init`).
    /// - Throws: `CheckpointError` naming the file and the first mismatch.
    /// A scratch cell (`sweep.scratch`) keeps the seeded random initialization;
    /// with `{workload: ...}` each cell loads the checkpoint `run` chose for it.
    @discardableResult
    public static func initialize(_ model: Sequential, spec: WorkloadSpec, cell: CellSettings) throws -> String? {
        guard let source = spec.model.initialization, !cell.scratch else { return nil }
        guard let path = source.checkpoint(for: cell)?.path else {
            throw CheckpointError(path: source.path, problem: "no pretrained checkpoint was chosen for \(cell.normName) seed \(cell.seed)",
                                  fix: "run normbench run <workload>, which chooses them from the newest complete run of \(source.workload ?? "the pretraining workload")")
        }
        let file: SafeTensors.File
        do {
            file = try SafeTensors.read(path: path)
        } catch let e {
            if case .io(_, let reason) = e {
                throw CheckpointError(path: path, problem: "cannot read the checkpoint (\(reason))",
                                      fix: "save one with normbench run <workload> --save-model and point model.init at <run>/models/<cell>.safetensors")
            }
            throw CheckpointError(path: path, problem: "\(e)", fix: "point model.init at a file saved by normbench run --save-model")
        }
        let target = cell.norm.method
        if let name = file.metadata["norm_method"] {
            guard let trained = NormMethod(rawValue: name) else {
                throw CheckpointError(path: path, problem: "was trained with normalization \"\(SafeName.escaped(name))\", which this normbench does not know",
                                      fix: "load a checkpoint saved by this version of normbench")
            }
            if !ModelCheckpoint.canInitialize(target, from: trained) {
                let family = ModelCheckpoint.batchNormFamily.contains(trained)
                    ? "sweep.norms of BN-type methods (bn, syncbn, brn, frozenbn)" : "sweep.norms: [\(trained.rawValue)]"
                throw CheckpointError(path: path, problem: "was trained with \(trained.rawValue) and cannot initialize a \(target.rawValue) model",
                                      fix: "fine-tune with \(family), or pretrain with \(target.rawValue)")
            }
        } else if target == .frozenBatchNorm && !file.entries.contains(where: { $0.name.hasSuffix(".running_var") }) {
            throw CheckpointError(path: path, problem: "holds no BatchNorm statistics (running_mean, running_var), which frozenbn needs",
                                  fix: "load a checkpoint trained with bn, syncbn or brn")
        }
        let report: ModelCheckpoint.LoadReport
        do {
            report = try ModelCheckpoint.load(file, into: model)
        } catch let m {
            throw CheckpointError(path: path, problem: m.problem, fix: m.fix)
        }
        var parts: [String] = []
        if !report.freshHead.isEmpty {
            let shapes = Dictionary(ModelCheckpoint.slots(of: model).map { ($0.name, $0.tensor.shape) }) { a, _ in a }
            let listed = report.freshHead.map { name in
                "\(name) \(shapes[name] ?? [])" + (file.entry(name).map { " (checkpoint \($0.shape))" } ?? " (not in checkpoint)")
            }
            parts.append("head left freshly initialized (another task or class count): \(listed.joined(separator: ", "))")
        }
        if !report.ignoredHead.isEmpty { parts.append("checkpoint head tensors not used: \(report.ignoredHead.joined(separator: ", "))") }
        return parts.isEmpty ? nil : "\(path): loaded \(report.loaded.count) tensors; " + parts.joined(separator: "; ")
    }

    /// Loads the checkpoint into a model of every method of the sweep, without
    /// training: a mismatch fails here, before data is prepared.
    /// - Returns: the notice lines (distinct), see `initialize`.
    public static func verify(spec: WorkloadSpec, cells: [CellSettings]) throws -> [String] {
        guard spec.model.initialization != nil else { return [] }
        var seen = Set<String>(), notices: [String] = []
        for cell in cells where !cell.scratch && seen.insert("\(cell.normName) \(spec.model.initialization?.checkpoint(for: cell)?.path ?? "")").inserted {
            let model = try spec.task.implementation.makeModel(spec, norm: cell.norm, seed: UInt64(cell.seed))
            if let n = try initialize(model, spec: spec, cell: cell), !notices.contains(n) { notices.append(n) }
        }
        return notices
    }
}

/// A checkpoint that cannot start a workload's model: one line naming the
/// file, the first mismatch and a fix.
public struct CheckpointError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let problem: String
    public let fix: String

    public var description: String { "\(path): cannot start from this checkpoint (model.init): \(problem); \(fix)" }
}
