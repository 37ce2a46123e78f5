import Foundation
import Testing
import NormBenchEngine
import NormBenchWorkloads
import NormBenchHarness

/// Every key a shipped workload file sets does something: changing its value
/// changes what a run would do (the cells, the data set, the model, the
/// optimization, the sample windows), or is refused with one line.
@Suite struct WorkloadKeyTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Workloads")

    /// A changed value for every key the shipped files set (key path → new value).
    static let changes: [String: String] = [
        "name": "renamed", "description": "another line", "task": "classification",
        "data.source": "folder",
        "data.synthetic.trainClips": "100", "data.synthetic.evalClips": "50", "data.synthetic.classes": "3",
        "data.synthetic.frames": "40", "data.synthetic.width": "80", "data.synthetic.height": "80",
        "data.synthetic.distractors": "3", "data.synthetic.noise": "5", "data.synthetic.seed": "9", "data.synthetic.objects": "2",
        "clip.frames": "3", "clip.stride": "3", "clip.size": "48", "clip.sampling": "dense", "clip.evalViews": "3",
        "model.architecture": "resnet3d-tiny-dense", "model.widths": "[16, 16, 16]", "model.blocks": "[2, 1, 1]",
        "training.epochs": "3", "training.steps": "100", "training.baseLR": "0.05", "training.referenceBatch": "32",
        "training.warmupSteps": "5", "training.schedule": "step",
        "sweep.norms": "[ln]", "sweep.batches": "[4]", "sweep.groups": "[4]", "sweep.seeds": "[5]", "sweep.threads": "[1]",
        "training.evaluations": "5", "training.evaluationPhase": "0.5", "sweep.stepClips": "32",
        "data.synthetic.stationary": "0.5", "training.warmupEpochs": "2", "training.preciseBNBatches": "10",
        "sweep.batchesByNorm": "{ln: [4]}",
    ]

    /// Values that differ for some file from the change above (the file already has it).
    static let alternatives: [String: String] = [
        "task": "detection", "model.architecture": "resnet3d-tiny", "data.synthetic.classes": "2", "clip.sampling": "random",
        "model.widths": "[16, 16]", "model.blocks": "[2, 1]", "data.synthetic.objects": "1", "clip.stride": "1",
        "training.evaluations": "3", "sweep.stepClips": "64",
    ]

    /// What a run of `spec` would do, as text: two specs that give the same text run the same.
    static func behaviour(_ spec: WorkloadSpec) throws -> [String] {
        var out = [spec.name, spec.description, "\(type(of: spec.task.implementation))"]
        out.append(SyntheticDataset.settingsDigest(spec))
        out.append("bank \(try MemoryPlanner.dataBankBytes(spec: spec)) span \(spec.clip.span)")
        out.append(try spec.cells().map(\.key.id).joined(separator: ","))
        let plan = TrainingPlan(training: spec.training, trainClips: spec.data.synthetic.trainClips, batch: 4, workers: 1)
        out.append("steps \(plan.steps) rates \((0..<plan.steps).map { plan.schedule.rate(at: $0) })")
        out.append("preciseBN \(spec.training.preciseBNBatches)")
        out.append("evaluations \(EvaluationSchedule.steps(totalSteps: plan.steps, evaluations: spec.training.evaluations, phase: spec.training.evaluationPhase))")
        let frames = spec.framesPerClip
        out.append("starts \(spec.clip.sampling.trainingStart(clipFrames: frames, span: spec.clip.span) { 7 }) \(spec.clip.sampling.evaluationStarts(clipFrames: frames, span: spec.clip.span, views: spec.clip.evalViews))")
        let model = try spec.task.implementation.makeModel(spec, norm: NormalizationSpec(method: .batchNorm), seed: 0)
        let input = Tensor(shape: [1, spec.clip.frames, spec.clip.size, spec.clip.size, 3], category: .data)
        input.fill(0.5)
        var digest = FNV1a()
        digest.add(model.forward(input, mode: .evaluation).array)
        out.append("model \(model.parameters.map(\.value.shape)) output \(digest.hex)")
        return out
    }

    /// The key paths a YAML file sets, from its indentation (two spaces a level).
    static func keys(of text: String) -> [(path: String, line: Int)] {
        var stack: [String] = []
        var out: [(String, Int)] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard let colon = line.firstIndex(of: ":"), !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let depth = line.prefix { $0 == " " }.count / 2
            stack = Array(stack.prefix(depth)) + [line[..<colon].trimmingCharacters(in: .whitespaces)]
            if !line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces).isEmpty { out.append((stack.joined(separator: "."), i)) }
        }
        return out
    }

    @Test(arguments: ["smoke", "video-cls", "video-cls-long", "video-cls-ghost", "video-det", "groups"])
    func everyShippedKeyChangesTheRunOrIsRefused(name: String) throws {
        let path = Self.folder.appendingPathComponent("\(name).yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let original = try Self.behaviour(WorkloadSpec.parse(yaml: text, file: path, defaultName: name))
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (key, index) in Self.keys(of: text) {
            let value = try #require(Self.changes[key], "\(name).yaml sets \(key): add a changed value for it to this test")
            let old = lines[index]
            let indent = String(old.prefix { $0 == " " })
            let current = old.split(separator: ":", maxSplits: 1)[1].split(separator: "#")[0].trimmingCharacters(in: .whitespaces)
            let new = current == value ? try #require(Self.alternatives[key], "\(key): no alternative to \(value)") : value
            lines[index] = "\(indent)\(key.split(separator: ".").last!): \(new)"
            defer { lines[index] = old }
            do {
                let changed = try Self.behaviour(WorkloadSpec.parse(yaml: lines.joined(separator: "\n"), file: path, defaultName: name))
                #expect(changed != original, "\(name).yaml: \(key) \(current) → \(new) changed nothing a run does")
            } catch let error as WorkloadError {
                // Refused: one line naming the file and the key (or the key it conflicts with).
                #expect(!"\(error)".contains("\n") && "\(error)".hasPrefix(path), "\(error)")
            }
        }
    }

    /// Keys some shipped files do not set, each set (to its value in `changes`) in
    /// every shipped file that does not: it changes what a run does, or is refused
    /// with one line.
    static let unshipped = [
        "clip.evalViews", "training.evaluations", "training.evaluationPhase", "sweep.stepClips",
        "training.warmupEpochs", "training.preciseBNBatches", "sweep.batchesByNorm",
    ]

    @Test(arguments: ["smoke", "video-cls", "video-cls-long", "video-cls-ghost", "video-det", "groups"])
    func everyUnshippedKeyChangesTheRunOrIsRefused(name: String) throws {
        let path = Self.folder.appendingPathComponent("\(name).yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let original = try Self.behaviour(WorkloadSpec.parse(yaml: text, file: path, defaultName: name))
        for key in Self.unshipped {
            if Self.keys(of: text).contains(where: { $0.path == key }) { continue }  // the test above covers it
            let value = try #require(Self.changes[key], "\(key): add a changed value for it to `changes`")
            let parts = key.split(separator: ".").map(String.init)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            // Under the section's line (two spaces a level), or a new section at the end.
            if let at = lines.firstIndex(where: { $0.hasPrefix("\(parts[0]):") }) {
                lines.insert("  \(parts[1]): \(value)", at: at + 1)
            } else {
                lines += ["\(parts[0]):", "  \(parts[1]): \(value)"]
            }
            do {
                let changed = try Self.behaviour(WorkloadSpec.parse(yaml: lines.joined(separator: "\n"), file: path, defaultName: name))
                #expect(changed != original, "\(name).yaml: setting \(key) to \(value) changed nothing a run does")
            } catch let error as WorkloadError {
                #expect(!"\(error)".contains("\n") && "\(error)".hasPrefix(path) && "\(error)".contains(key), "\(error)")
            }
        }
    }

    /// Values that mean nothing are refused with the file, the key and a fix.
    @Test(arguments: [
        ("clip:\n  sampling: uniform\n", "`clip.sampling` is \"uniform\"; must be one of random, dense; uniform"),
        ("task: detection\nmodel:\n  architecture: resnet3d-tiny\n", "`model.architecture` is resnet3d-tiny, which has no detection head"),
        ("training:\n  epochs: 3\n  steps: 10\n", "`training.epochs` and `training.steps` are both set"),
        ("training:\n  schedule: linear\n", "`training.schedule` is \"linear\"; must be one of cosine, step, constant"),
        ("data:\n  synthetic:\n    codec: vp9\n", "`data.synthetic.codec` is \"vp9\"; must be one of ffv1, h264"),
        ("task: detection\nmodel:\n  widths: [32]\n  blocks: [1]\n", "`model.widths` has 1 stage; resnet3d-tiny-dense needs at least 2"),
        ("data:\n  synthetic:\n    classes: 13\n", "`data.synthetic.classes` is 13; must be in 2...12"),
    ])
    func meaninglessValuesAreRefused(yaml: String, message: String) {
        #expect(throws: WorkloadError.self) { try WorkloadSpec.parse(yaml: yaml, file: "t.yaml", defaultName: "t") }
        do { _ = try WorkloadSpec.parse(yaml: yaml, file: "t.yaml", defaultName: "t") } catch {
            #expect("\(error)".contains(message) && "\(error)".hasPrefix("t.yaml"), "\(error)")
        }
    }

    /// `sweep.stepClips`: every cell takes a step of stepClips clips, W = stepClips / batch.
    @Test func stepClipsSetsTheWorkersOfEachBatch() throws {
        let spec = try WorkloadSpec.parse(yaml: "sweep:\n  norms: [bn, gn]\n  batches: [1, 2, 4, 8]\n  groups: [8]\n  stepClips: 16\n", file: "t.yaml", defaultName: "t")
        let cells = try spec.cells()
        #expect(cells.count == 8)
        for cell in cells {
            #expect(cell.settings.workers == 16 / cell.settings.batch)
            #expect(cell.settings.workers * cell.settings.batch == 16)
        }
        #expect(cells.map(\.key.id).contains("bn_b2_w8_g-_s0_t2"))
        let plan = TrainingPlan(training: spec.training, trainClips: 64, batch: 2, workers: 8)
        let other = TrainingPlan(training: spec.training, trainClips: 64, batch: 8, workers: 2)
        #expect(plan.samplesPerStep == 16 && other.samplesPerStep == 16 && plan.schedule.base == other.schedule.base && plan.steps == other.steps)
        // Without it, W is training.workers.
        let plain = try WorkloadSpec.parse(yaml: "training:\n  workers: 3\n", file: "t.yaml", defaultName: "t")
        #expect(try plain.cells().allSatisfy { $0.settings.workers == 3 })
    }

    /// `clip.sampling` decides where windows start: random draws a start, dense takes frame 0.
    @Test func samplingDecidesTheWindows() {
        #expect(ClipSpec.Sampling.random.trainingStart(clipFrames: 16, span: 8) { 7 } == 7)
        #expect(ClipSpec.Sampling.random.evaluationStart(clipFrames: 16, span: 8) == 4)
        #expect(ClipSpec.Sampling.dense.trainingStart(clipFrames: 16, span: 8) { 7 } == 0)
        #expect(ClipSpec.Sampling.dense.evaluationStart(clipFrames: 16, span: 8) == 0)
        // `clip.evalViews`: windows centred in equal parts of the starts 0...8.
        #expect(ClipSpec.Sampling.random.evaluationStarts(clipFrames: 16, span: 8, views: 1) == [4])
        #expect(ClipSpec.Sampling.random.evaluationStarts(clipFrames: 16, span: 8, views: 2) == [2, 6])
    }
}
