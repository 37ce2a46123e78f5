import Foundation
import Testing
import NormBenchEngine
import NormBenchWorkloads
import NormBenchTestSupport

/// Where a fine-tuning cell's weights start: the checkpoint chosen for its
/// normalization family, or, for a from-scratch cell (`sweep.scratch`), the
/// seeded random initialization.
@Suite struct TransferInitTests {
    let folder = scratchDirectory("transfer-init")

    static func spec(task: WorkloadSpec.Task = .detection) -> WorkloadSpec {
        var s = WorkloadSpec(name: "ft")
        s.task = task
        s.model = ModelSpec(for: task)
        s.model.widths = [4, 8]
        s.model.blocks = [1, 1]
        return s
    }

    static func cell(_ norm: String, seed: Int = 0, scratch: Bool = false) throws -> CellSettings {
        let spec = try NormalizationSpec(parsing: norm)
        return CellSettings(norm: spec, normName: norm.split(separator: ":").first.map(String.init), groups: spec.method.hasGroups ? .count(2) : nil,
                            batch: 2, workers: 2, seed: seed, threads: 1, scratch: scratch)
    }

    static func tensor(_ model: Sequential, _ name: String) -> [Float]? {
        ModelCheckpoint.entries(of: model).first { $0.name == name }?.values
    }

    /// A "pretrained" classifier of the dense backbone: a model of seed 7, saved.
    func pretrained(_ norm: String) throws -> (path: String, stem: [Float]) {
        var pre = Self.spec(task: .classification)
        pre.model.architecture = .resnet3dTinyDense  // video-pretrain's: the detector's backbone
        let c = try Self.cell(norm)
        let model = try pre.task.implementation.makeModel(pre, norm: c.norm, seed: 7)
        let path = "\(folder)/\(norm.split(separator: ":")[0]).safetensors"
        _ = try CellCheckpoint.save(model, spec: pre, cell: c, to: path)
        return (path, try #require(Self.tensor(model, "stem.weight")))
    }

    /// A cell's model as training starts it: made with the cell's seed, then `model.init`.
    func start(_ spec: WorkloadSpec, _ cell: CellSettings) throws -> Sequential {
        let model = try spec.task.implementation.makeModel(spec, norm: cell.norm, seed: UInt64(cell.seed))
        try CellCheckpoint.initialize(model, spec: spec, cell: cell)
        return model
    }

    @Test func fineTuneCellsLoadTheirFamilysCheckpointAndScratchCellsStayFresh() throws {
        let bn = try pretrained("bn"), gn = try pretrained("gn:groups=2")
        var ft = Self.spec()
        ft.model.initialization = ModelInit(workload: "pre", path: "Results/pre", checkpoints: [
            PretrainedCheckpoint(path: bn.path, sha256: "x", workload: "pre", cell: "bn", norms: ["frozenbn", "bn", "syncbn"], seeds: [0]),
            PretrainedCheckpoint(path: gn.path, sha256: "y", workload: "pre", cell: "gn", norms: ["gn"], groups: "2", seeds: [0]),
        ])
        let fresh = try #require(Self.tensor(try ft.task.implementation.makeModel(ft, norm: try Self.cell("bn").norm, seed: 0), "stem.weight"))
        #expect(fresh != bn.stem)
        for norm in ["frozenbn", "bn", "syncbn"] {
            #expect(Self.tensor(try start(ft, try Self.cell(norm)), "stem.weight") == bn.stem, "\(norm)")
        }
        let gnModel = try start(ft, try Self.cell("gn:groups=2"))
        #expect(Self.tensor(gnModel, "stem.weight") == gn.stem)
        // The new detection head keeps its fresh weights.
        #expect(Self.tensor(gnModel, "head.out.weight") == Self.tensor(try ft.task.implementation.makeModel(ft, norm: try Self.cell("gn:groups=2").norm, seed: 0), "head.out.weight"))
        // From scratch: exactly the seeded random model, for BN and GN.
        #expect(Self.tensor(try start(ft, try Self.cell("bn", scratch: true)), "stem.weight") == fresh)
        let gnFresh = try ft.task.implementation.makeModel(ft, norm: try Self.cell("gn:groups=2").norm, seed: 0)
        #expect(Self.tensor(try start(ft, try Self.cell("gn:groups=2", scratch: true)), "stem.weight") == Self.tensor(gnFresh, "stem.weight"))
        // A cell no checkpoint was chosen for (another seed) is refused in one line.
        do {
            _ = try start(ft, try Self.cell("bn", seed: 5))
            Issue.record("loaded without a chosen checkpoint")
        } catch {
            #expect("\(error)" == "Results/pre: cannot start from this checkpoint (model.init): no pretrained checkpoint was chosen for bn seed 5; run normbench run <workload>, which chooses them from the newest complete run of pre")
        }
        // verify loads each distinct checkpoint once per method and skips scratch cells.
        #expect(try CellCheckpoint.verify(spec: ft, cells: [try Self.cell("bn"), try Self.cell("gn:groups=2"), try Self.cell("bn", scratch: true)]).count == 2)
    }

    @Test func workloadFormParses() throws {
        func parse(_ model: String, sweep: String = "{norms: [frozenbn, gn], scratch: [gn], groups: [2]}") throws -> WorkloadSpec {
            try WorkloadSpec.parse(yaml: "name: ft\ntask: detection\nmodel: \(model)\nsweep: \(sweep)\n", file: "ft.yaml", defaultName: "ft")
        }
        let s = try parse("{widths: [4, 8], blocks: [1, 1], init: {workload: video-pretrain}}")
        #expect(s.model.initialization == ModelInit(workload: "video-pretrain", path: "Results/video-pretrain"))
        #expect(s.sweep.scratch == ["gn"])
        let other = try parse("{widths: [4, 8], blocks: [1, 1], init: {workload: pre, results: /data/runs}}")
        #expect(other.model.initialization?.path == "/data/runs/pre")
        do {
            _ = try parse("{widths: [4, 8], blocks: [1, 1], init: {workload: ../x}}")
            Issue.record("accepted a workload name that is a path")
        } catch {
            #expect("\(error)".contains("`model.init.workload`"))
        }
    }
}
