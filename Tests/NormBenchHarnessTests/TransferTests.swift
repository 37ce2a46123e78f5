import Foundation
import Testing
import NormBenchEngine
import NormBenchWorkloads
import NormBenchTestSupport
@testable import NormBenchHarness

/// The transfer setting: choosing the pretrained checkpoints (`model.init:
/// {workload: ...}`), from-scratch cells, the records' new fields read
/// alongside old records, and the transfer table on the page.
@Suite struct TransferTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A fine-tuning workload of the shipped shape, reading pretraining runs from `results`.
    static func fineTune(results: String, norms: String = "[frozenbn, bn, syncbn, gn]", scratch: String = "[bn, gn]", seeds: String = "[0, 1]", widths: String = "[4, 8]") throws -> WorkloadSpec {
        try WorkloadSpec.parse(yaml: """
            name: ft
            task: detection
            model: {widths: \(widths), blocks: [1, 1], init: {workload: pre, results: \(results)}}
            training: {workers: 2}
            sweep: {norms: \(norms), scratch: \(scratch), batches: [2], groups: [2], seeds: \(seeds), threads: [1]}
            """, file: "ft.yaml", defaultName: "ft")
    }

    /// A pretraining run folder `<results>/pre/<name>` written by hand: run.json
    /// (created at `created`), a completed record and a model file per cell in
    /// `cells` (norm, groups, seed, batch), or no record for the last `missing` cells.
    @discardableResult
    static func pretrainRun(_ results: String, _ name: String, created: String, cells: [(String, String, Int, Int)], missing: Int = 0, widths: [Int] = [4, 8]) throws -> String {
        let run = "\(results)/pre/\(name)"
        var spec = WorkloadSpec(name: "pre")
        spec.model.architecture = .resnet3dTinyDense
        spec.model.widths = widths
        spec.model.blocks = [1, 1]
        let keys = cells.map { CellKey(workload: "pre", norm: $0.0, batch: $0.3, workers: 1, groups: $0.1, seed: $0.2, threads: 1) }
        try FileManager.default.createDirectory(atPath: "\(run)/models", withIntermediateDirectories: true)
        try RecordStore.encode(RunManifest(workload: spec, cells: keys, created: created)).write(to: URL(fileURLWithPath: "\(run)/run.json"))
        for key in keys.dropLast(missing) {
            let model = "\(run)/models/\(key.id).safetensors"
            let bytes = Array("\(name) \(key.id)".utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: model))
            var r = sampleRecord(norm: key.norm, batch: key.batch, seed: key.seed)
            r.cell = key
            r.checkpoint = CheckpointRef(path: "models/\(key.id).safetensors", sha256: SHA256.hex(bytes))
            try RecordStore.write(r, in: run)
        }
        return run
    }

    static func resolved(_ spec: WorkloadSpec) throws -> WorkloadSpec {
        try PretrainedRuns.resolve(spec, cells: try spec.cells()).spec
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func newestCompleteRunAndFamilyMapping() throws {
        let results = scratchDirectory("transfer-resolve")
        let full: [(String, String, Int, Int)] = [("bn", "-", 0, 16), ("bn", "-", 0, 8), ("gn", "2", 0, 16), ("gn", "4", 0, 16), ("bn", "-", 1, 16)]
        try Self.pretrainRun(results, "a-old", created: "2026-01-01T00:00:00Z", cells: full)
        let newest = try Self.pretrainRun(results, "b-new", created: "2026-01-02T00:00:00Z", cells: full)
        try Self.pretrainRun(results, "c-incomplete", created: "2026-01-03T00:00:00Z", cells: full, missing: 1)
        try Self.pretrainRun(results, "d-other-widths", created: "2026-01-04T00:00:00Z", cells: full, widths: [8, 8])

        let spec = try Self.resolved(try Self.fineTune(results: results))
        let initialization = try #require(spec.model.initialization)
        func chosen(_ norm: String, seed: Int, groups: GroupSetting? = nil, scratch: Bool = false) throws -> PretrainedCheckpoint? {
            initialization.checkpoint(for: CellSettings(norm: try NormalizationSpec(parsing: norm), normName: norm, groups: groups, batch: 2, workers: 2, seed: seed, threads: 1, scratch: scratch))
        }
        // BN*, BN and SyncBN from the bn cell (the largest batch, the same seed); GN from the gn cell of the same groups.
        for norm in ["frozenbn", "bn", "syncbn"] {
            #expect(try chosen(norm, seed: 0)?.cell == "bn_b16_w1_g-_s0_t1", "\(norm)")
            #expect(try chosen(norm, seed: 1)?.cell == "bn_b16_w1_g-_s1_t1", "\(norm)")
        }
        #expect(try chosen("gn", seed: 0, groups: .count(2))?.cell == "gn_b16_w1_g2_s0_t1")
        // No gn cell of seed 1: the lowest seed's.
        #expect(try chosen("gn", seed: 1, groups: .count(2))?.cell == "gn_b16_w1_g2_s0_t1")
        #expect(try chosen("gn", seed: 0, groups: .count(4)) == nil)  // not a cell of this sweep, so not chosen
        #expect(try chosen("bn", seed: 0, scratch: true) == nil)
        let bn = try #require(try chosen("bn", seed: 0))
        #expect(bn.run == newest && bn.workload == "pre")
        #expect(bn.path == "\(newest)/models/bn_b16_w1_g-_s0_t1.safetensors")
        #expect(bn.sha256 == SHA256.hex(Array("b-new bn_b16_w1_g-_s0_t1".utf8)))
        #expect(bn.norms == ["frozenbn", "bn", "syncbn"] && bn.seeds == [0])

        // The choice is kept in the run description and decodes back.
        let manifest = RunManifest(workload: spec, cells: try spec.cells().map(\.key), created: "x")
        #expect(try JSONDecoder().decode(RunManifest.self, from: RecordStore.encode(manifest)) == manifest)
    }

    @Test func missingRunsAndCellsAreOneLineNamingWhatToRunFirst() throws {
        let results = scratchDirectory("transfer-missing")
        let none = Self.message { _ = try Self.resolved(try Self.fineTune(results: results)) }
        #expect(none == "model.init: \(results)/pre holds no run of pre (fine-tuning starts from its newest complete run); run `normbench run pre` first")

        try Self.pretrainRun(results, "r1", created: "2026-01-01T00:00:00Z", cells: [("bn", "-", 0, 16), ("gn", "2", 0, 16)], missing: 1)
        let incomplete = Self.message { _ = try Self.resolved(try Self.fineTune(results: results)) }
        #expect(incomplete.hasPrefix("model.init: \(results)/pre holds no complete run of pre (the newest, \(results)/pre/r1, has records for 1 of its 2 cells); finish it with `normbench run pre --resume`"))

        let run = try Self.pretrainRun(results, "r2", created: "2026-01-02T00:00:00Z", cells: [("bn", "-", 0, 16)])
        let noGN = Self.message { _ = try Self.resolved(try Self.fineTune(results: results)) }
        #expect(noGN == "model.init: \(run) (the newest complete run of pre) has no completed gn (G=2) cell with a saved model, which gn starts from; add it to pre's sweep.norms (with training.saveModel: true) and run `normbench run pre` first")
        // Without gn in the sweep it resolves.
        #expect(Self.message { _ = try Self.resolved(try Self.fineTune(results: results, norms: "[frozenbn]", scratch: "[gn]")) } == "no error")
        // A pretrained cell that did not learn is named as such.
        let failedRun = try Self.pretrainRun(results, "r3", created: "2026-01-03T00:00:00Z", cells: [("bn", "-", 0, 16), ("gn", "2", 0, 16)])
        var failed = try RecordStore.read(path: "\(failedRun)/cells/gn_b16_w1_g2_s0_t1.json")
        failed.status = .failed
        failed.note = "did not learn: mean training loss ..."
        try RecordStore.write(failed, in: failedRun)
        let notLearned = Self.message { _ = try Self.resolved(try Self.fineTune(results: results)) }
        #expect(notLearned == "model.init: \(failedRun) (the newest complete run of pre): its gn_b16_w1_g2_s0_t1 cell, which gn starts from, is failed, not completed (did not learn); train pre longer or fix its settings and run `normbench run pre` first")
        try FileManager.default.removeItem(atPath: failedRun)
        // A model of other widths is no candidate.
        let wider = Self.message { _ = try Self.resolved(try Self.fineTune(results: results, norms: "[bn]", widths: "[8, 16]")) }
        #expect(wider.contains("have model widths [4, 8], blocks [1, 1] but ft has widths [8, 16], blocks [1, 1]"))
        // A file that changed after its run saved it.
        try Data("changed".utf8).write(to: URL(fileURLWithPath: "\(run)/models/bn_b16_w1_g-_s0_t1.safetensors"))
        let changed = Self.message { _ = try Self.resolved(try Self.fineTune(results: results, norms: "[bn]", scratch: "[gn]")) }
        #expect(changed.contains("the file changed after the run saved it"))
        for m in [none, incomplete, noGN, wider, changed] { #expect(!m.contains("\n")) }
    }

    @Test func scratchCellsHaveTheirOwnIdsAndRows() throws {
        let spec = try Self.fineTune(results: "/nonexistent", norms: "[bn]", scratch: "[bn, gn]", seeds: "[0]")
        let ids = try spec.cells().map(\.key.id)
        #expect(ids == ["bn_b2_w2_g-_s0_t1", "bn_b2_w2_g-_s0_t1_scratch", "gn_b2_w2_g2_s0_t1_scratch"])
        // Scratch without model.init, and frozenbn from scratch, are refused.
        let noInit = Self.message { _ = try WorkloadSpec.parse(yaml: "name: x\nsweep: {scratch: [bn]}\n", file: "x.yaml", defaultName: "x") }
        #expect(noInit.hasPrefix("x.yaml: `sweep.scratch` lists bn to run from scratch beside the cells that start from `model.init`, but model.init is not set"))
        let frozen = Self.message { _ = try Self.fineTune(results: "/x", scratch: "[frozenbn]") }
        #expect(frozen.contains("`sweep.scratch` lists frozenbn"))
    }

    /// Records and run descriptions written before these fields existed read
    /// unchanged, keep their ids, and encode to the same bytes.
    @Test func committedRecordsAndRunDescriptionsStillLoad() throws {
        let folder = Self.repository.appendingPathComponent("Tests/Fixtures/legacy-records/video-det/20261125T181747").path
        let manifestData = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/run.json"))
        let manifest = try JSONDecoder().decode(RunManifest.self, from: manifestData)
        #expect(manifest.workload.sweep.scratch == nil && manifest.workload.model.initialization == nil)
        #expect(manifest.cells.allSatisfy { $0.scratch == nil && !$0.id.hasSuffix("_scratch") })
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(folder)/cells").filter { $0.hasSuffix(".json") }
        #expect(!files.isEmpty)
        for file in files {
            let path = "\(folder)/cells/\(file)"
            let record = try RecordStore.read(path: path)
            #expect(record.startedFrom == nil && !record.cell.isScratch)
            #expect(record.cell.id + ".json" == file)
            #expect(try RecordStore.encode(record) == Data(contentsOf: URL(fileURLWithPath: path)), "\(file)")
        }
    }

    /// A detection workload's convergence control (`<name>-long`) compares
    /// mAP@0.5, where higher is better.
    @Test func detectionConvergenceControlComparesMAP() throws {
        var records: [ResultRecord] = []
        for (workload, epochs, base) in [("ft", 2.0, 0.50), ("ft-long", 4.0, 0.55)] {
            for seed in 0..<3 {
                var r = sampleRecord(norm: "frozenbn", batch: 2, seed: seed)
                r.cell = CellKey(workload: workload, norm: "frozenbn", batch: 2, workers: 2, groups: "-", seed: seed, threads: 2)
                r.task = "detection"
                r.accuracy = Accuracy(mAP50: base + 0.02 * Double(seed), mAP: base / 2, evalLoss: 1)
                r.training?.epochs = epochs
                records.append(r)
            }
        }
        let files = try Publisher.render(records)
        let md = String(decoding: try #require(files.first { $0.path == "ft.md" }).contents, as: UTF8.self)
        #expect(md.contains("## Convergence control: the same cells trained longer ([ft-long](ft-long.md))"), "\(md)")
        #expect(md.contains("| method | batch | epochs | mAP@0.5 (%) | epochs (longer) | mAP@0.5 (%) (longer) | change, points [95 % CI] | change paired by seed |"), "\(md)")
        #expect(md.contains("| 2 | 2.0 | 52.0 ± 5.0 (n=3) | 4.0 | 57.0 ± 5.0 (n=3) | +5.0 ["), "\(md)")
        // mAP@0.5:0.95 (= half of mAP@0.5's base here) gets its own table.
        #expect(md.contains("| method | batch | epochs | mAP@0.5:0.95 (%) | epochs (longer) | mAP@0.5:0.95 (%) (longer) | change, points [95 % CI] | change paired by seed |"), "\(md)")
        #expect(md.contains("| 2 | 2.0 | 25.0 ± 0.0 (n=3) | 4.0 | 27.5 ± 0.0 (n=3) | +2.5"), "\(md)")
        #expect(md.contains("Change = longer minus this workload's mAP@0.5 or mAP@0.5:0.95 (positive: longer training helped)"), "\(md)")
    }

    /// How GN's gap to each other method changes with training: the gap at
    /// each length (Welch), its change (difference-in-differences over the four
    /// cells) and the same paired by seed; from-scratch rows are not paired
    /// with fine-tuned ones.
    @Test func convergenceControlGivesTheChangeOfEachGap() throws {
        // (norm, scratch, mAP@0.5 of seeds 0-2 at 2 epochs, at 4 epochs)
        let cells: [(String, Bool, [Double], [Double])] = [
            ("frozenbn", false, [0.50, 0.52, 0.54], [0.60, 0.62, 0.64]), ("gn", false, [0.40, 0.42, 0.44], [0.58, 0.60, 0.62]),
            ("bn", true, [0.30, 0.30, 0.30], [0.35, 0.35, 0.35]),
        ]
        var records: [ResultRecord] = []
        for (norm, scratch, short, long) in cells {
            for (workload, epochs, values) in [("ft", 2.0, short), ("ft-long", 4.0, long)] {
                for (seed, v) in values.enumerated() {
                    var r = sampleRecord(norm: norm, batch: 2, seed: seed)
                    r.cell = CellKey(workload: workload, norm: norm, batch: 2, workers: 2, groups: norm == "gn" ? "8" : "-", seed: seed, threads: 2, scratch: scratch)
                    r.task = "detection"
                    r.accuracy = Accuracy(mAP50: v, mAP: v / 2, evalLoss: 1)
                    r.training?.epochs = epochs
                    records.append(r)
                }
            }
        }
        let md = String(decoding: try #require(try Publisher.render(records).first { $0.path == "ft.md" }).contents, as: UTF8.self)
        #expect(md.contains("| difference | batch | mAP@0.5 gap | gap (longer) | change of the gap [95 % CI] | change paired by seed |"), "\(md)")
        // Gap −10 then −2: each side's s = 2 points over 3 seeds (Welch, 4 df); the change over four such cells (8 df); every seed's change is +8.
        #expect(md.contains("| GN (G=8) − BN* (frozen) | 2 | −10.0 [−14.5, −5.5] | −2.0 [−6.5, 2.5] | +8.0 [2.7, 13.3] | +8.0 [8.0, 8.0] (n=3) |"), "\(md)")
        #expect(md.contains("| GN (G=8) − BN* (frozen) | 2 | −5.0 [−7.3, −2.7] | −1.0 [−3.3, 1.3] | +4.0 [1.3, 6.7] | +4.0 [4.0, 4.0] (n=3) |"), "\(md)")
        let gapRows = md.split(separator: "\n").filter { $0.hasPrefix("| GN (G=8) − ") && $0.contains(" | 2 | ") }
        #expect(gapRows.count == 2, "\(gapRows)") // none against BN from scratch
        #expect(md.contains("Gap = GN minus the other method at each length (positive: GN scores higher)"), "\(md)")
    }

    /// A longer cell of one seed shows its bootstrap over evaluation clips, as
    /// the detection tables do, and the footnote says what that interval covers.
    @Test func convergenceControlGivesOneSeedItsBootstrap() throws {
        var records: [ResultRecord] = []
        for (workload, epochs, seeds) in [("ft", 2.0, 0..<3), ("ft-long", 4.0, 0..<1)] {
            for seed in seeds {
                var r = sampleRecord(norm: "frozenbn", batch: 2, seed: seed)
                r.cell = CellKey(workload: workload, norm: "frozenbn", batch: 2, workers: 2, groups: "-", seed: seed, threads: 2)
                r.task = "detection"
                r.accuracy = Accuracy(mAP50: 0.5 + 0.02 * Double(seed) + (epochs - 2) / 20, mAP: 0.25, evalLoss: 1)
                r.training?.epochs = epochs
                r.evaluation = EvaluationSection(protocol: "last", bootstrap: .init(resamples: 1000, confidence: 0.95, clips: 256, seed: 7,
                                                                                   intervals: ["mAP50": [0.58, 0.62], "mAP": [0.23, 0.27]]))
                records.append(r)
            }
        }
        let md = String(decoding: try #require(try Publisher.render(records).first { $0.path == "ft.md" }).contents, as: UTF8.self)
        #expect(md.contains("| 2 | 2.0 | 52.0 ± 5.0 (n=3) | 4.0 | 60.0 [58.0, 62.0] (n=1) ‡ | +8.0 (no interval) |"), "\(md)")
        #expect(md.contains("| 4.0 | 25.0 [23.0, 27.0] (n=1) ‡ |"), "\(md)")
        #expect(md.contains("longer training helped") && md.contains("not by its batch. ‡ one seed: the cell's value and the 95 % bootstrap interval"), "\(md)")
    }

    /// Hand-made detection records of a fine-tuning run: the transfer table
    /// shows each row's mean ± CI, the checkpoint it started from, and the differences.
    @Test func transferSectionRendersTheTable() throws {
        let maps: [(String, Bool, [Double])] = [
            ("frozenbn", false, [0.50, 0.52, 0.54]), ("bn", false, [0.30, 0.32, 0.34]), ("syncbn", false, [0.45, 0.46, 0.47]),
            ("gn", false, [0.60, 0.61, 0.62]), ("bn", true, [0.20, 0.22, 0.24]), ("gn", true, [0.40, 0.40, 0.40]),
        ]
        let bnRef = StartedFrom(path: "Results/pre/r/models/bn_b16_w1_g-_s0_t2.safetensors", sha256: String(repeating: "ab", count: 32), workload: "pre", run: "Results/pre/r", cell: "bn_b16_w1_g-_s0_t2")
        let gnRef = StartedFrom(path: "Results/pre/r/models/gn_b16_w1_g8_s0_t2.safetensors", sha256: String(repeating: "cd", count: 32), workload: "pre", run: "Results/pre/r", cell: "gn_b16_w1_g8_s0_t2")
        var records: [ResultRecord] = []
        for (norm, scratch, values) in maps {
            for (seed, v) in values.enumerated() {
                var r = sampleRecord(norm: norm, batch: 2, seed: seed)
                r.cell = CellKey(workload: "ft", norm: norm, batch: 2, workers: 2, groups: norm == "gn" ? "8" : "-", seed: seed, threads: 2, scratch: scratch)
                r.task = "detection"
                r.accuracy = Accuracy(mAP50: v, mAP: v / 2, evalLoss: 1)
                r.startedFrom = scratch ? nil : (norm == "gn" ? gnRef : bnRef)
                records.append(r)
            }
        }
        let files = try Publisher.render(records)
        let md = String(decoding: try #require(files.first { $0.path == "ft.md" }).contents, as: UTF8.self)
        #expect(md.contains("## Transfer: fine-tuned from a pretrained model vs from scratch"), "\(md)")
        let rows = md.split(separator: "\n").map(String.init)
        let table = rows.drop { !$0.hasPrefix("| method | started from | batch 2 |") }.prefix(8).joined(separator: "\n")
        #expect(table == """
            | method | started from | batch 2 |
            |---|---|---:|
            | BN* (frozen) | `bn_b16_w1_g-_s0_t2` of `r` (sha256 `abababababab`) | 52.0 ± 5.0 (n=3) |
            | BN | `bn_b16_w1_g-_s0_t2` of `r` (sha256 `abababababab`) | 32.0 ± 5.0 (n=3) |
            | SyncBN | `bn_b16_w1_g-_s0_t2` of `r` (sha256 `abababababab`) | 46.0 ± 2.5 (n=3) |
            | GN (G=8) | `gn_b16_w1_g8_s0_t2` of `r` (sha256 `cdcdcdcdcdcd`) | **61.0 ± 2.5 (n=3)** |
            | BN from scratch | random initialization (seeded) | 22.0 ± 5.0 (n=3) |
            | GN (G=8) from scratch | random initialization (seeded) | 40.0 ± 0.0 (n=3) |
            """, "\(md)")
        #expect(md.contains("| GN (G=8) − BN* (frozen) | +9.0 [4.8, 13.2] |"), "\(md)")
        #expect(md.contains("| BN − BN from scratch | +10.0 [5.5, 14.5] |"), "\(md)")
        // The second metric gets its own table of differences (mAP@0.5:0.95 = half of mAP@0.5 here).
        let strict = try #require(md.range(of: "Differences of mAP@0.5:0.95 (points, Welch 95 % CI over seeds):"))
        #expect(md[strict.upperBound...].contains("| GN (G=8) − BN* (frozen) | +4.5 [2.4, 6.6] |"), "\(md)")
        #expect(md.components(separatedBy: "A difference is resolved when").count == 2, "\(md)")
        #expect(md.contains("- `Results/pre/r/models/gn_b16_w1_g8_s0_t2.safetensors`: `\(String(repeating: "cd", count: 32))`"))
        // Detectron's published COCO numbers stand beside a detection transfer table, with the differences they show.
        #expect(md.contains("BN* 38.6 and GN 40.3 (GN +1.7) with the 2x schedule, BN* 38.9 and GN 40.8 (+1.9) with 3x; GN trained from scratch 39.5 (3x, −1.3 against GN fine-tuned)"), "\(md)")
        #expect(!md.contains("results fine-tune a pretrained backbone"), "\(md)")
        // The detection section does not repeat the transfer table's numbers, and every
        // section names frozen BN as the table does.
        #expect(md.contains("Every cell's mAP@0.5 and mAP@0.5:0.95: the transfer table above."), "\(md)")
        #expect(md.components(separatedBy: "32.0 ± 5.0 (n=3)").count == 2, "\(md)")
        let headlines = try #require(md.range(of: "## Headline differences"))
        #expect(md[headlines.upperBound...].contains("BN* (frozen)"), "\(md)")
        #expect(!md.contains("FrozenBN"), "\(md)")
        // The CSV tells scratch cells from fine-tuned ones and names the checkpoint.
        let csv = String(decoding: try #require(files.first { $0.path == "cells.csv" }).contents, as: UTF8.self)
        #expect(csv.split(separator: "\n")[0].hasSuffix(",start,init_workload,init_run,init_cell,init_checkpoint,init_sha256"))
        #expect(csv.contains(",scratch,,,,,"))
        #expect(csv.contains(",checkpoint,pre,Results/pre/r,gn_b16_w1_g8_s0_t2,Results/pre/r/models/gn_b16_w1_g8_s0_t2.safetensors,"))
        // A page without such records has no transfer section and no new CSV columns.
        let plain = try Publisher.render([sampleRecord(norm: "bn"), sampleRecord(norm: "gn")])
        #expect(!String(decoding: plain.first { $0.path == "smoke.md" }!.contents, as: UTF8.self).contains("Transfer"))
        #expect(!String(decoding: plain.first { $0.path == "cells.csv" }!.contents, as: UTF8.self).contains("init_sha256"))
    }

    /// `--norms` picks the from-scratch cells too: only the methods it names run
    /// from scratch, and none when it names none of `sweep.scratch`.
    @Test func normsOverrideFiltersTheScratchCells() throws {
        let path = Self.repository.appendingPathComponent("Workloads/video-det-transfer.yaml").path
        let shipped = try WorkloadSpec.load(path: path)
        #expect(shipped.sweep.scratch == ["bn", "gn"])
        func cells(_ norms: [String]) throws -> (spec: WorkloadSpec, ids: [String]) {
            var o = SweepOverrides()
            o.norms = norms
            let spec = try o.apply(to: shipped, file: path)
            return (spec, try spec.cells().map(\.key.id))
        }
        let gn = try cells(["gn"])
        #expect(gn.spec.sweep.scratch == ["gn"])
        #expect(gn.ids.filter { $0.hasSuffix("_scratch") } == (try shipped.cells()).map(\.key.id).filter { $0.hasPrefix("gn_") && $0.hasSuffix("_scratch") })
        #expect(gn.ids.allSatisfy { $0.hasPrefix("gn_") }, "\(gn.ids)")
        #expect(gn.ids.count == 2 * 2 * 3)  // (fine-tuned, scratch) × batches 2, 8 × seeds 0-2
        let noScratch = try cells(["frozenbn", "syncbn"])
        #expect(noScratch.spec.sweep.scratch == [])
        #expect(!noScratch.ids.contains { $0.hasSuffix("_scratch") })
        #expect(noScratch.ids.count == 2 * 2 * 3)
        // Without --norms the workload's lists stay as written.
        #expect(try SweepOverrides().apply(to: shipped, file: path).sweep.scratch == ["bn", "gn"])
    }

    /// The transfer section links the pretraining workload's page only when that
    /// page is published with it; alone, it names the workload and its run.
    @Test func pretrainedWorkloadIsLinkedOnlyWhenItsPageIsPublished() throws {
        let ref = StartedFrom(path: "Results/pre/r/models/gn_b16_w1_g8_s0_t2.safetensors", sha256: String(repeating: "cd", count: 32), workload: "pre", run: "Results/pre/r", cell: "gn_b16_w1_g8_s0_t2")
        var tuned: [ResultRecord] = []
        for seed in 0..<2 {
            var r = sampleRecord(norm: "gn", batch: 2, seed: seed)
            r.cell = CellKey(workload: "ft", norm: "gn", batch: 2, workers: 2, groups: "8", seed: seed, threads: 2)
            r.startedFrom = ref
            tuned.append(r)
        }
        func page(_ records: [ResultRecord]) throws -> String {
            String(decoding: try #require(try Publisher.render(records).first { $0.path == "ft.md" }).contents, as: UTF8.self)
        }
        let alone = try page(tuned)
        #expect(alone.contains("Pretrained by `pre` (run `Results/pre/r`, not published here). "), "\(alone)")
        #expect(!alone.contains("(pre.md)"))
        var pretrain = sampleRecord(norm: "gn", batch: 16)
        pretrain.cell.workload = "pre"
        let files = try Publisher.render(tuned + [pretrain])
        #expect(files.contains { $0.path == "pre.md" })
        let both = try page(tuned + [pretrain])
        #expect(both.contains("Pretrained by [pre](pre.md). "), "\(both)")
        // A record that does not name its run: the workload's name alone.
        for i in tuned.indices { tuned[i].startedFrom?.run = nil }
        #expect(try page(tuned).contains("Pretrained by `pre`. "))
    }
}
