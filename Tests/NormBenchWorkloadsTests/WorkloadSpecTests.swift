import Foundation
import Testing
import NormBenchWorkloads

/// The repository's Workloads/ folder, found from this file's path.
let workloadsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Workloads")

@Suite struct WorkloadSpecTests {
    @Test func everyShippedWorkloadIsTested() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: workloadsDirectory.path).filter { $0.hasSuffix(".yaml") }
        #expect(Set(files.map { String($0.dropLast(5)) }) == Set(Self.shipped))
    }

    static let shipped = ["smoke", "video-cls", "video-cls-long", "video-cls-ghost", "video-det", "groups", "video-pretrain", "video-det-transfer", "video-det-transfer-2x", "video-det-transfer-2x-long"]

    @Test(arguments: shipped)
    func shippedWorkloadsParse(name: String) throws {
        let spec = try WorkloadSpec.load(path: workloadsDirectory.appendingPathComponent("\(name).yaml").path)
        #expect(spec.name == name)
        #expect(!spec.description.isEmpty)
        #expect(!spec.sweep.norms.isEmpty)
    }

    /// A longer variant is its base workload with twice the epochs and nothing
    /// else changed but, where it runs fewer cells, its sweep; so the pages can
    /// compare the two cell by cell.
    @Test(arguments: [("video-det-transfer-2x-long", "video-det-transfer-2x", true),
                      ("video-det-transfer-2x", "video-det-transfer", false)])
    func longerVariantChangesOnlyEpochs(name: String, base: String, sameSweep: Bool) throws {
        var spec = try WorkloadSpec.load(path: workloadsDirectory.appendingPathComponent("\(name).yaml").path)
        let reference = try WorkloadSpec.load(path: workloadsDirectory.appendingPathComponent("\(base).yaml").path)
        #expect(spec.training.epochs == 2 * reference.training.epochs)
        spec.name = reference.name
        spec.description = reference.description
        spec.training.epochs = reference.training.epochs
        if !sameSweep { spec.sweep = reference.sweep }
        #expect(spec == reference)
    }

    @Test func groupsAblationHasPaperGroups() throws {
        let spec = try WorkloadSpec.load(path: workloadsDirectory.appendingPathComponent("groups.yaml").path)
        #expect(spec.sweep.groups.map(\.description) == ["1", "2", "4", "8", "16", "32", "C"])
        #expect(spec.sweep.groups.last?.groups(channels: 64) == 64)
    }

    @Test func defaultsFillMissingKeys() throws {
        let spec = try WorkloadSpec.parse(yaml: "name: tiny\n", file: "tiny.yaml", defaultName: "x")
        var expected = WorkloadSpec(name: "tiny")
        expected.description = ""
        #expect(spec == expected)
    }

    /// Each bad file gives one line naming the file, the key, the problem and an example.
    @Test(arguments: [
        ("sweep:\n  batches: [2, 0]\n", "t.yaml:2: `sweep.batches` must be a batch size in 1...4096; got \"0\", e.g. `batches: [2, 8]`"),
        ("sweep:\n  norms: [bn, xn]\n", "`sweep.norms` must be one of"),
        ("sweep:\n  groups: [0]\n", "`sweep.groups` must be a group count in 1...4096 or C"),
        ("sweep:\n  norms: [gn]\n  groups: [3]\n", "`sweep.groups` contains 3, which does not divide the model width 32"),
        ("training:\n  lr: 0.1\n", "t.yaml:2: `training.lr` is not a known key"),
        ("colour: red\n", "t.yaml:1: `colour` is not a known key"),
        ("training:\n  epochs: many\n", "`training.epochs` must be an integer in 1...100000, got \"many\", e.g. `epochs: 10`"),
        ("task: segmentation\n", "`task` is \"segmentation\"; must be one of classification, detection"),
        ("clip:\n  size: 60\n", "`clip.size` is 60; the model downsamples by 8"),
        ("clip:\n  frames: 20\n  stride: 2\n", "`clip.frames` (20) × stride (2) needs 39 frames but videos have 16"),
        ("data:\n  source: folder\n", "`data.folder` is required when `data.source` is folder"),
        ("sweep: [1, 2\n", "not valid YAML (did not find expected ',' or ']')"),
        ("- a\n- b\n", "`(top level)` must be a mapping"),
        ("", "`(top level)` is empty"),
        ("name: ../../elsewhere/x\n", "`name` is \"../../elsewhere/x\", which has characters outside A-Z a-z 0-9 . _ -"),
        ("name: ..\n", "`name` is \"..\", which names a folder"),
        ("data:\n  synthetic:\n    classes: 13\n", "`data.synthetic.classes` is 13; must be in 2...12"),
        ("clip:\n  size: 100000\n", "`clip.size` is 100000; must be in 8...1024"),
        ("training:\n  steps: 9223372036854775807\n", "`training.steps` is 9223372036854775807; must be in 1...10000000"),
        ("sweep:\n  seeds: [0, 1, 0]\n", "`sweep.seeds` lists 0 more than once"),
        ("clip:\n  mean: [.nan, 0, 0]\n", "`clip.mean` must be a finite number"),
        ("training:\n  evaluations: 0\n", "`training.evaluations` is 0; must be in 1...1000"),
        ("training:\n  evaluations: 5\n  evaluationPhase: 0\n", "`training.evaluationPhase` is 0; it is the fraction of training"),
        ("training:\n  evaluations: 5\n  evaluationPhase: 1.5\n", "`training.evaluationPhase` is 1.5; must be in 0.0...1.0"),
        ("training:\n  evaluationPhase: 0.5\n", "`training.evaluationPhase` is set but `training.evaluations` is 1"),
        ("sweep:\n  batches: [2, 8]\n  stepClips: 12\n", "`sweep.stepClips` is 12, which batch 8 does not divide (every cell takes stepClips / batch workers); use a common multiple of sweep.batches, e.g. `stepClips: 8`"),
        ("training:\n  workers: 2\nsweep:\n  stepClips: 16\n", "`sweep.stepClips` is 16 and `training.workers` is 2"),
        ("sweep:\n  batches: [1]\n  stepClips: 2048\n", "`sweep.stepClips` is 2048, which gives batch 1 2048 workers; W must be in 1...1024"),
        ("sweep:\n  stepClips: 0\n", "`sweep.stepClips` is 0; must be in 1..."),
    ])
    func badSpecsGiveOneClearLine(yaml: String, message: String) {
        do {
            _ = try WorkloadSpec.parse(yaml: yaml, file: "t.yaml", defaultName: "t")
            Issue.record("expected an error for \(yaml.debugDescription)")
        } catch {
            let text = "\(error)"
            #expect(text.contains(message), "got: \(text)")
            #expect(text.hasPrefix("t.yaml"))
            #expect(!text.contains("\n"))
        }
    }

    /// A run description written before the evaluation keys reads with their defaults.
    @Test func olderRunDescriptionsReadWithOneEvaluation() throws {
        var spec = WorkloadSpec(name: "t")
        spec.training.evaluations = 5
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(spec)) as! [String: Any]
        var training = json["training"] as! [String: Any]
        #expect(training["evaluations"] as? Int == 5)
        training["evaluations"] = nil
        training["evaluationPhase"] = nil
        var old = json
        old["training"] = training
        let read = try JSONDecoder().decode(WorkloadSpec.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(read.training.evaluations == 1 && read.training.evaluationPhase == 0.2)
        #expect(read.sweep.stepClips == nil)
        #expect(read == WorkloadSpec(name: "t"))
        // The phase is written only where it means something, so a printed spec loads again.
        let one = try JSONSerialization.jsonObject(with: JSONEncoder().encode(WorkloadSpec(name: "t"))) as! [String: Any]
        #expect((one["training"] as! [String: Any])["evaluationPhase"] == nil)
        #expect(training.isEmpty == false && (json["training"] as! [String: Any])["evaluationPhase"] as? Double == 0.2)
    }

    @Test func missingFileIsNamed() {
        #expect(throws: WorkloadError.unreadable(file: "/nonexistent/w.yaml", reason: "no such file")) {
            try WorkloadSpec.load(path: "/nonexistent/w.yaml")
        }
    }
}
