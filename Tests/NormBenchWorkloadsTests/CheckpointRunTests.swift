import Foundation
import Testing
import NormBenchEngine
import NormBenchWorkloads
import NormBenchTestSupport

/// Saving cells' models and fine-tuning from them (`model.init`) on a tiny workload.
@Suite(.serialized) struct CheckpointRunTests {
    let spec: WorkloadSpec
    let train: ClipBank
    let eval: ClipBank
    let folder: String

    init() throws {
        folder = scratchDirectory("ckpt")
        (spec, train, eval) = try tinyCellData(cache: "\(folder)/data")
    }

    func settings(_ norm: String, batch: Int = 2, workers: Int = 1) throws -> CellSettings {
        CellSettings(norm: try NormalizationSpec(parsing: norm), batch: batch, workers: workers, seed: 0, threads: 2)
    }

    /// Trains a cell and saves its model.
    func pretrain(_ norm: String, to path: String, spec: WorkloadSpec? = nil) throws -> CellMeasurement {
        var options = CellRunOptions()
        options.checkpointPath = path
        return try MemoryLedger.$scoped.withValue(MemoryLedger()) {
            try CellRun.run(spec: spec ?? self.spec, cell: try settings(norm), train: train, eval: eval, options: options)
        }
    }

    func withInit(_ path: String, _ change: (inout WorkloadSpec) -> Void = { _ in }) -> WorkloadSpec {
        var s = spec
        s.model.initialization = ModelInit(file: path, path: path)
        change(&s)
        return s
    }

    /// The model a fine-tuning cell starts from, evaluated before any step.
    func evaluateAtStart(_ spec: WorkloadSpec, _ norm: String) throws -> Double {
        let cell = try settings(norm)
        return try Parallel.withThreads(cell.threads) {
            let task = spec.task.implementation
            let model = try task.makeModel(spec, norm: cell.norm, seed: 99)
            try CellCheckpoint.initialize(model, spec: spec, cell: cell)
            return task.evaluate(model, spec, eval: eval, pass: EvaluationPass(spec: spec)).loss
        }
    }

    /// The file, its record hash, its metadata; a fine-tune starts at the saved
    /// weights (the evaluation loss right after loading is the pretrained
    /// model's, for bn, bn re-estimated and BN* alike), then trains.
    @Test func fineTuneStartsAtTheSavedModel() throws {
        let path = "\(folder)/bn.safetensors"
        let pre = try pretrain("bn", to: path)
        let bytes = try SafeTensors.readBytes(path: path)
        #expect(pre.checkpointSHA256 == SHA256.hex(bytes))
        let file = try SafeTensors.decode(bytes)
        #expect(file.metadata["norm_method"] == "bn")
        #expect(file.metadata["task"] == "classification" && file.metadata["widths"] == "4,8,8" && file.metadata["classes"] == "4")
        #expect(file.metadata["format"] == "normbench-checkpoint" && file.metadata["normbench_version"] == BuildInfo.version)
        #expect(file.metadata["architecture"] == "resnet3d-tiny" && file.metadata["outputs"] == "4")

        let fine = withInit(path)
        for norm in ["bn", "frozenbn", "syncbn", "brn"] {
            #expect(try evaluateAtStart(fine, norm) == pre.evalLoss, "\(norm)")
        }
        // Without the checkpoint the start is another model.
        #expect(try evaluateAtStart(spec, "bn") != pre.evalLoss)

        // BN* fine-tuning: the statistics and affine stay the checkpoint's, the filters move.
        let tunedPath = "\(folder)/frozen.safetensors"
        let tuned = try pretrain("frozenbn", to: tunedPath, spec: fine)
        #expect(tuned.lossCurve.count == 3)
        let after = try SafeTensors.read(path: tunedPath)
        for e in file.entries where e.name.contains(".norm") {
            #expect(after.entry(e.name)?.values == e.values, "\(e.name) moved under frozenbn")
        }
        #expect(after.entry("stem.weight")?.values != file.entry("stem.weight")?.values)
        #expect(after.metadata["norm_method"] == "frozenbn")
        // bn fine-tuning trains γ.
        let bnPath = "\(folder)/bn-tuned.safetensors"
        _ = try pretrain("bn", to: bnPath, spec: fine)
        #expect(try SafeTensors.read(path: bnPath).entry("stem.norm.gamma")?.values != file.entry("stem.norm.gamma")?.values)
    }

    @Test func mismatchesFailWithOneLineNamingTheFile() throws {
        let path = "\(folder)/gn.safetensors"
        _ = try pretrain("gn:groups=2", to: path)
        func message(_ spec: WorkloadSpec, _ norm: String) throws -> String {
            let cell = try settings(norm)
            do {
                try CellCheckpoint.initialize(try spec.task.implementation.makeModel(spec, norm: cell.norm, seed: 0), spec: spec, cell: cell)
                return "loaded"
            } catch { return "\(error)" }
        }
        let fine = withInit(path)
        let bn = try message(fine, "bn")
        #expect(bn == "\(path): cannot start from this checkpoint (model.init): was trained with gn and cannot initialize a bn model; fine-tune with sweep.norms: [gn], or pretrain with bn")
        #expect(try message(fine, "gn:groups=2") == "loaded")
        let wider = withInit(path) { $0.model.widths = [8, 8, 8] }
        #expect(try message(wider, "gn:groups=2") == "\(path): cannot start from this checkpoint (model.init): stem.weight is [4, 3, 3, 3, 3] in the checkpoint but [8, 3, 3, 3, 3] in the model; load a checkpoint of the same model.widths, model.blocks and normalization family")
        let deeper = withInit(path) { $0.model.blocks = [1, 2, 1] }
        #expect(try message(deeper, "gn:groups=2").contains("stage2.block2.conv1.weight [8, 3, 3, 3, 8] is not in the checkpoint"))
        #expect(try message(withInit("\(folder)/absent.safetensors"), "gn:groups=2")
                == "\(folder)/absent.safetensors: cannot start from this checkpoint (model.init): cannot read the checkpoint (no such file); save one with normbench run <workload> --save-model and point model.init at <run>/models/<cell>.safetensors")
        for m in [bn] { #expect(!m.contains("\n")) }
    }

    /// Another class count or another task: the head starts fresh, one notice line lists it.
    @Test func headOfAnotherTaskStartsFresh() throws {
        let path = "\(folder)/cls.safetensors"
        _ = try pretrain("bn", to: path)
        let classes = withInit(path) { $0.data.synthetic.classes = 3 }
        let notice = try CellCheckpoint.initialize(
            try classes.task.implementation.makeModel(classes, norm: try settings("bn").norm, seed: 0), spec: classes, cell: try settings("bn"))
        #expect(notice == "\(path): loaded 45 tensors; head left freshly initialized (another task or class count): fc.weight [3, 8] (checkpoint [4, 8]), fc.bias [3] (checkpoint [4])")
        // The dense backbone has a shortcut in its last stage only when the width changes there.
        var wide = spec
        wide.model.widths = [4, 8, 16]
        let widePath = "\(folder)/cls-wide.safetensors"
        _ = try pretrain("bn", to: widePath, spec: wide)
        let detection = withInit(widePath) { s in
            s.model.widths = [4, 8, 16]
            s.task = .detection
            s.model.architecture = .resnet3dTinyDense
            s.data.synthetic.classes = 2
        }
        let cell = try settings("frozenbn")
        let notes = try CellCheckpoint.verify(spec: detection, cells: [cell])
        #expect(notes.count == 1)
        #expect(notes[0].contains("head.conv.weight [16, 1, 3, 3, 16] (not in checkpoint)") && notes[0].contains("checkpoint head tensors not used: fc.weight, fc.bias"))
        #expect(!notes[0].contains("\n"))
    }

    @Test func initKeyParsesAndFrozenBNNeedsIt() throws {
        let dir = scratchDirectory("ckpt-spec")
        func parse(_ model: String, norms: String = "[bn]") throws -> WorkloadSpec {
            try WorkloadSpec.parse(yaml: "name: ft\nmodel: \(model)\nsweep: {norms: \(norms), groups: [8]}\n", file: "\(dir)/ft.yaml", defaultName: "ft")
        }
        #expect(try parse("{init: pre/bn.safetensors}").model.initialization == ModelInit(file: "pre/bn.safetensors", path: "\(dir)/pre/bn.safetensors"))
        #expect(try parse("{init: /abs/bn.safetensors}").model.initialization?.path == "/abs/bn.safetensors")
        let run = try parse("{init: {run: Results/pre/1, cell: bn_b8_w1_g-_s0_t2}}", norms: "[frozenbn, bn, syncbn]")
        #expect(run.model.initialization?.path == "\(dir)/Results/pre/1/models/bn_b8_w1_g-_s0_t2.safetensors")
        #expect(run.model.initialization?.cell == "bn_b8_w1_g-_s0_t2")
        func refusal(_ model: String, norms: String = "[bn]") -> String {
            do { _ = try parse(model, norms: norms); return "accepted" } catch { return "\(error)" }
        }
        #expect(refusal("{init: {run: Results/pre/1, cell: ../../etc}}").contains("`model.init.cell` is \"../../etc\", which has characters outside"))
        #expect(refusal("{init: bn.pt}").contains("`model.init` is \"bn.pt\"; it must name a .safetensors checkpoint"))
        #expect(refusal("{init: {run: Results/pre/1}}").contains("`model.init.cell` is required"))
        #expect(refusal("{init: {run: R, cell: c, extra: 1}}").contains("`model.init.extra` is not a known key"))
        let frozen = refusal("{widths: [8, 8, 8]}", norms: "[bn, frozenbn]")
        #expect(frozen == "\(dir)/ft.yaml: `sweep.norms` lists frozenbn, whose statistics and affine (BN*) must come from a pretrained checkpoint, but `model.init` is not set; add model.init (a checkpoint saved by normbench run --save-model) or remove frozenbn, e.g. `init: ../Results/pretrain/models/bn_b8_w1_g-_s0_t2.safetensors`")
        #expect(try WorkloadSpec.parse(yaml: "name: s\ntraining: {saveModel: true}\n", file: "s.yaml", defaultName: "s").training.saveModel == true)
        #expect(try WorkloadSpec.parse(yaml: "name: s\n", file: "s.yaml", defaultName: "s").training.saveModel == nil)
        // Run descriptions written before these keys existed still decode.
        var withInit = ModelSpec()
        withInit.initialization = ModelInit(file: "a.safetensors", path: "/w/a.safetensors")
        var object = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(withInit)) as? [String: Any])
        #expect((object["init"] as? [String: String])?["path"] == "/w/a.safetensors")
        #expect(try JSONDecoder().decode(ModelSpec.self, from: try JSONEncoder().encode(withInit)) == withInit)
        object["init"] = nil
        #expect(try JSONDecoder().decode(ModelSpec.self, from: try JSONSerialization.data(withJSONObject: object)) == ModelSpec())
    }
}
