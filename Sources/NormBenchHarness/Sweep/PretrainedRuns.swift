import Foundation
import NormBenchEngine
import NormBenchWorkloads

/// Chooses, when `run` starts, the checkpoint every cell of a fine-tuning
/// workload starts from (`model.init`), and reads each file's SHA-256 so the
/// records can name it (docs/transfer.md).
///
/// With `init: {workload: W}` the run is the newest complete run of W under
/// the results folder (`Results/W/<run>/`, where `normbench run W` writes):
/// complete = its `run.json` and a record for every cell it lists, and the
/// same `model.widths` and `model.blocks` as the fine-tuning workload. Each
/// fine-tuning cell then takes the completed pretrained cell of its
/// normalization family (`sources(for:)`) that saved a model: the same groups
/// for grouped methods; the same seed when the pretraining run has it, else
/// its lowest seed; of several batches, the largest (then the fewest workers).
public enum PretrainedRuns {
    /// What is missing before this fine-tuning run can start: one line naming
    /// what to run first.
    public struct Missing: Error, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The pretraining methods whose cells a fine-tuning method starts from, in
    /// order of preference: every BN-type method (bn, syncbn, brn, frozenbn) from
    /// a `bn` cell, else a `syncbn` cell (BatchNorm statistics and affine either
    /// way); every other method from a cell of the same method, as loading
    /// requires (a GN model needs GN's γ, β; LN, IN, FRN, EvoNorm and none alike).
    public static func sources(for method: NormMethod) -> [NormMethod] {
        ModelCheckpoint.batchNormFamily.contains(method) ? [.batchNorm, .syncBatchNorm] : [method]
    }

    /// `spec` with `model.init`'s checkpoints chosen and hashed, and notice lines
    /// saying which run and cells were taken; `spec` unchanged without `model.init`.
    /// A file that cannot be read keeps no hash here: loading it (`CellCheckpoint.verify`)
    /// then names the problem.
    /// - Throws: `Missing` when the pretraining workload has no usable run or cell.
    public static func resolve(_ spec: WorkloadSpec, cells: [SweepCell]) throws -> (spec: WorkloadSpec, notices: [String]) {
        guard var initialization = spec.model.initialization else { return (spec, []) }
        var notices: [String] = []
        if let workload = initialization.workload {
            let (run, chosen) = try choose(workload: workload, folder: initialization.path, spec: spec, cells: cells)
            initialization.checkpoints = chosen
            let uses = chosen.map { "\($0.norms.joined(separator: ", "))\($0.groups.map { " (G=\($0))" } ?? "") seeds \(($0.seeds ?? []).map(String.init).joined(separator: ", ")) ← \($0.cell ?? $0.path)" }
            notices.append("model.init: \(workload)'s newest complete run \(run): " + uses.joined(separator: "; "))
        } else {
            let sha = (try? SafeTensors.readBytes(path: initialization.path)).map(SHA256.hex)
            initialization.checkpoints = [PretrainedCheckpoint(path: initialization.path, sha256: sha, run: initialization.run, cell: initialization.cell)]
        }
        var s = spec
        s.model.initialization = initialization
        return (s, notices)
    }

    /// A pretraining run folder with its description and records.
    struct Candidate {
        var folder: String
        var manifest: RunManifest
        var recorded: Int
        var complete: Bool { recorded == manifest.cells.count }
    }

    /// The run folders under `folder` (newest first, by `run.json`'s creation
    /// time, then name) with how many of their cells have records.
    static func runs(in folder: String) -> [Candidate] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let found: [Candidate] = names.compactMap { name in
            let run = "\(folder)/\(name)"
            guard let data = FileManager.default.contents(atPath: "\(run)/run.json"),
                  let manifest = try? JSONDecoder().decode(RunManifest.self, from: data) else { return nil }
            let recorded = manifest.cells.filter { FileManager.default.fileExists(atPath: RecordStore.path(of: $0, in: run)) }.count
            return Candidate(folder: run, manifest: manifest, recorded: recorded)
        }
        return found.sorted { ($0.manifest.created, $0.folder) > ($1.manifest.created, $1.folder) }
    }

    static func choose(workload: String, folder: String, spec: WorkloadSpec, cells: [SweepCell]) throws -> (run: String, checkpoints: [PretrainedCheckpoint]) {
        let first = "run `normbench run \(workload)` first"
        let all = runs(in: folder)
        guard !all.isEmpty else {
            throw Missing(message: "model.init: \(folder) holds no run of \(workload) (fine-tuning starts from its newest complete run); \(first)")
        }
        let complete = all.filter(\.complete)
        guard !complete.isEmpty else {
            let newest = all[0]
            throw Missing(message: "model.init: \(folder) holds no complete run of \(workload) (the newest, \(newest.folder), has records for \(newest.recorded) of its \(newest.manifest.cells.count) cells); finish it with `normbench run \(workload) --resume`, or \(first)")
        }
        func shape(_ m: ModelSpec) -> String { "widths \(m.widths), blocks \(m.blocks)" }
        guard let run = complete.first(where: { $0.manifest.workload.model.widths == spec.model.widths && $0.manifest.workload.model.blocks == spec.model.blocks }) else {
            throw Missing(message: "model.init: the complete runs of \(workload) in \(folder) have model \(shape(complete[0].manifest.workload.model)) but \(spec.name) has \(shape(spec.model)); give \(workload) the same model.widths and model.blocks and \(first)")
        }
        let records = try RecordStore.readAll(run.folder).filter { !$0.cell.isScratch }
        var chosen: [String: PretrainedCheckpoint] = [:]
        for cell in cells where !cell.settings.scratch {
            let method = cell.settings.norm.method
            let sources = sources(for: method)
            let groups = method.hasGroups ? cell.key.groups : nil
            func rank(_ r: ResultRecord) -> (Int, Int, Int, Int, Int, Int)? {
                guard r.status == .completed, r.checkpoint != nil,
                      let m = try? NormalizationSpec(parsing: r.cell.norm).method, let preference = sources.firstIndex(of: m),
                      groups == nil || r.cell.groups == groups else { return nil }
                return (preference, r.cell.seed == cell.key.seed ? 0 : 1, r.cell.seed, -r.cell.batch, r.cell.workers, r.cell.threads)
            }
            guard let best = records.compactMap({ r in rank(r).map { (r, $0) } }).min(by: { $0.1 < $1.1 })?.0,
                  let ref = best.checkpoint else {
                let wanted = sources.map(\.rawValue).joined(separator: " or ") + (groups.map { " (G=\($0))" } ?? "")
                if let bad = records.first(where: { r in
                    (try? NormalizationSpec(parsing: r.cell.norm).method).map(sources.contains) == true && (groups == nil || r.cell.groups == groups) && r.status != .completed
                }) {
                    throw Missing(message: "model.init: \(run.folder) (the newest complete run of \(workload)): its \(bad.cell.id) cell, which \(cell.settings.normName) starts from, is \(bad.status.rawValue), not completed (\(bad.note?.split(separator: ":").first.map(String.init) ?? "see its record")); train \(workload) longer or fix its settings and \(first)")
                }
                throw Missing(message: "model.init: \(run.folder) (the newest complete run of \(workload)) has no completed \(wanted) cell with a saved model, which \(cell.settings.normName) starts from; add it to \(workload)'s sweep.norms (with training.saveModel: true) and \(first)")
            }
            let path = "\(run.folder)/\(ref.path)"
            var entry = chosen[best.cell.id] ?? PretrainedCheckpoint(path: path, workload: workload, run: run.folder, cell: best.cell.id, norms: [], groups: groups, seeds: [])
            if entry.sha256 == nil {
                guard let bytes = try? SafeTensors.readBytes(path: path) else {
                    throw Missing(message: "model.init: \(path): cannot read the model that \(run.folder)/cells/\(best.cell.id).json names; \(first)")
                }
                let sha = SHA256.hex(bytes)
                guard sha == ref.sha256 else {
                    throw Missing(message: "model.init: \(path): its SHA-256 is \(sha) but its record says \(ref.sha256) (the file changed after the run saved it); \(first)")
                }
                entry.sha256 = sha
            }
            if !entry.norms.contains(cell.settings.normName) { entry.norms.append(cell.settings.normName) }
            if !(entry.seeds ?? []).contains(cell.key.seed) { entry.seeds = ((entry.seeds ?? []) + [cell.key.seed]).sorted() }
            chosen[best.cell.id] = entry
        }
        return (run.folder, chosen.keys.sorted().map { chosen[$0]! })
    }
}
