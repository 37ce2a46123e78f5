import Foundation
import Testing
import NormBenchEngine
import NormBenchVideo
import NormBenchWorkloads
import NormBenchTestSupport

/// A folder's clips are kept whole: training windows start anywhere in each
/// clip's own length, evaluation takes `clip.evalViews` windows spread over it.
/// Every frame of the test clips is flat gray at its own index (FFV1 is
/// lossless), so a window's pixels tell where it starts.
@Suite struct WholeClipTests {
    let root: String
    /// Frames of the clips written (train: a, b, c; eval: d, e).
    static let lengths = ["a": 12, "b": 40, "c": 5, "d": 40, "e": 12, "f": 12, "short": 2]

    init() throws {
        root = scratchDirectory("whole")
        try FileManager.default.createDirectory(atPath: "\(root)/clips", withIntermediateDirectories: true)
        for (name, frames) in Self.lengths {
            let e = try VideoEncoder(path: "\(root)/clips/\(name).mkv", width: 16, height: 16, fps: 25, codec: .ffv1)
            for t in 0..<frames { try e.append([UInt8](repeating: UInt8(t), count: 16 * 16 * 3)) }
            try e.finish()
        }
    }

    /// A folder workload: windows of 2 frames 2 apart (span 3), pixels unnormalized.
    func spec(_ csv: String, clip: String = "", task: String = "classification") throws -> WorkloadSpec {
        try csv.write(toFile: "\(root)/clips.csv", atomically: true, encoding: .utf8)
        return try WorkloadSpec.parse(
            yaml: """
                task: \(task)
                data:
                  source: folder
                  folder: {root: \(root), manifest: clips.csv, classes: 2\(task == "detection" ? ", boxes: boxes.json" : "")}
                clip: {frames: 2, stride: 2, size: 16, mean: [0, 0, 0], std: [1, 1, 1]\(clip)}
                model: {widths: [4, 8], blocks: [1, 1]}
                sweep: {norms: [bn]}
                """,
            file: "w.yaml", defaultName: "w")
    }

    static let csv = "clips/a.mkv,0,train\nclips/b.mkv,1,train\nclips/c.mkv,1,train\nclips/d.mkv,0,eval\nclips/e.mkv,1,eval\n"

    func banks(_ s: WorkloadSpec) throws -> (train: ClipBank, eval: ClipBank) {
        let (folder, manifest) = try FolderDataset.load(s)
        return (try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: s.framesPerClip),
                try ClipBank.decode(manifest: manifest, folder: folder, split: "eval", size: 16, frames: s.framesPerClip))
    }

    /// The frame index a window's frame `t` shows, read from an assembled batch.
    static func frameShown(_ batch: Tensor, sample i: Int, frame t: Int, frames: Int) -> Int {
        Int((batch.data[(i * frames + t) * 16 * 16 * 3] * 255).rounded())
    }

    @Test func bankHoldsEveryFrameOfEachClip() throws {
        let (train, _) = try banks(spec(Self.csv))
        #expect(train.frameCounts == [12, 40, 5])
        #expect(train.framesDecoded == 57)
        #expect(train.bytes == 57 * 16 * 16 * 3)
        for i in 0..<train.count {
            #expect(train.clipBytes(i) == train.frames(of: i) * 16 * 16 * 3)
            let shown = train.withClip(i) { p in (0..<train.frames(of: i)).map { Int(p[$0 * 16 * 16 * 3]) } }
            #expect(shown == Array(0..<train.frames(of: i)), "clip \(i)")
        }
    }

    @Test func clipShorterThanAWindowIsNamed() throws {
        let s = try spec(Self.csv + "clips/short.mkv,0,train\n")
        let (folder, manifest) = try FolderDataset.load(s)
        do {
            _ = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: s.framesPerClip)
            Issue.record("expected a too-short error")
        } catch {
            #expect("\(error)".contains("short.mkv") && "\(error)".contains("has 2 frames but a window spans 3"), "\(error)")
        }
        let bank = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: s.framesPerClip, skipBad: true)
        #expect(bank.skipped == ["clips/short.mkv"] && bank.frameCounts == [12, 40, 5])
    }

    /// Random training windows start anywhere a window fits in each clip's own
    /// length (not only in the first span), and the batch shows those frames.
    @Test func trainingWindowsCoverEachWholeClip() throws {
        let s = try spec(Self.csv)
        let (train, _) = try banks(s)
        let sampler = TrainingSampler(spec: s)
        let assembler = BatchAssembler(frames: 2, stride: 2, mean: s.clip.mean, std: s.clip.std)
        var g = SeededGenerator(seed: 3)
        for clip in 0..<train.count {
            let samples = (0..<2000).map { _ in sampler.sample(clip, of: train, &g) }
            #expect(Set(samples.map(\.start)) == Set(0...(train.frames(of: clip) - 3)), "clip \(clip)")
            let some = Array(samples.prefix(64))
            let batch = assembler.assemble(some, from: train)
            for (i, sample) in some.enumerated() {
                #expect(Self.frameShown(batch, sample: i, frame: 0, frames: 2) == sample.start)
                #expect(Self.frameShown(batch, sample: i, frame: 1, frames: 2) == sample.start + 2)
            }
        }
        // Dense sampling keeps frame 0.
        let dense = TrainingSampler(spec: try spec(Self.csv, clip: ", sampling: dense"))
        #expect((0..<100).allSatisfy { dense.sample($0 % 3, of: train, &g).start == 0 })
    }

    /// Clips of one length draw from the generator exactly as a bank of one
    /// fixed length did: a start `next() % (frames − span + 1)`, then the flip.
    @Test func sameLengthClipsDrawAsBefore() throws {
        let s = try spec("clips/a.mkv,0,train\nclips/e.mkv,1,train\nclips/f.mkv,1,train\nclips/d.mkv,0,eval\n", clip: ", flip: true")
        let (train, _) = try banks(s)
        #expect(train.frameCounts == [12, 12, 12])
        let sampler = TrainingSampler(spec: s)
        var g = SeededGenerator(seed: 9), old = SeededGenerator(seed: 9)
        for k in 0..<500 {
            let got = sampler.sample(k % 3, of: train, &g)
            let start = Int(old.next() % UInt64(12 - 3 + 1))
            let flip = old.next() & 1 == 1
            #expect(got == BatchAssembler.Sample(clip: k % 3, start: start, flip: flip))
        }
    }

    /// k views: the windows centred in k equal parts of each clip's starts
    /// (40 frames, span 3: starts 0...37); one view is the centre window.
    @Test func evalViewsPickSpreadStarts() throws {
        let (_, eval) = try banks(spec(Self.csv))
        #expect(eval.frameCounts == [40, 12])
        let three = EvaluationPass(spec: try spec(Self.csv, clip: ", evalViews: 3")).windows(eval)
        #expect(three.map(\.clip) == [0, 0, 0, 1, 1, 1])
        #expect(three.map(\.start) == [6, 18, 30, 1, 4, 7])
        let one = EvaluationPass(spec: try spec(Self.csv)).windows(eval)
        #expect(one.map(\.start) == [18, 4])
        #expect(one.map(\.start) == (0..<2).map { ClipSpec.Sampling.random.evaluationStart(clipFrames: eval.frames(of: $0), span: 3) })
        #expect(ClipSpec.Sampling.random.evaluationStarts(clipFrames: 3, span: 3, views: 4) == [0, 0, 0, 0])
    }

    /// Top-1 ranks the average of the windows' softmax, not of their logits.
    @Test func averagedSoftmaxIsWhatMetricsRank() {
        // Clip 0: logits (10, 0), (0, 3), (0, 3): mean logits favour class 0, mean probabilities class 1.
        let logits: [Float] = [10, 0, 0, 3, 0, 3, 1, 0]
        let (scores, loss) = ClassificationTask.averageViews(logits: logits, clips: [0, 0, 0, 1], labels: [0, 0], classes: 2)
        let p = { (a: Double, b: Double) in exp(a) / (exp(a) + exp(b)) }
        let p0 = (p(10, 0) + p(0, 3) + p(0, 3)) / 3
        #expect(abs(Double(scores[0]) - p0) < 1e-6 && abs(Double(scores[1]) - (1 - p0)) < 1e-6)
        #expect(abs(Double(scores[2]) - p(1, 0)) < 1e-6)
        #expect(abs(loss - (-log(p0) - log(p(1, 0))) / 2) < 1e-9)
        #expect(ClassificationMetrics.topKError(scores: scores, labels: [0, 0], classes: 2, k: 1) == 0.5)
    }

    /// `evaluate` with k views scores exactly the averaged softmax of the windows
    /// it cut; with one view it is the centre window's logits and loss, as before.
    @Test func evaluateUsesTheViews() throws {
        for views in [1, 3] {
            let s = try spec(Self.csv, clip: ", evalViews: \(views)")
            let (_, eval) = try banks(s)
            let task = ClassificationTask()
            let model = try task.makeModel(s, norm: NormalizationSpec(method: .batchNorm), seed: 1)
            let pass = EvaluationPass(spec: s)
            let got = task.evaluate(model, s, eval: eval, pass: pass)

            let windows = pass.windows(eval)
            #expect(windows.count == eval.count * views)
            let assembler = BatchAssembler(frames: 2, stride: 2, mean: s.clip.mean, std: s.clip.std)
            var logits: [Float] = []
            var lossSum = 0.0
            for first in stride(from: 0, to: windows.count, by: 16) {
                let batch = Array(windows[first..<min(first + 16, windows.count)])
                let out = model.forward(assembler.assemble(batch, from: eval), mode: .evaluation)
                lossSum += Losses.softmaxCrossEntropy(logits: out, labels: batch.map { eval.labels[$0.clip] }, gradLogits: nil).loss * Double(batch.count)
                logits += out.array
            }
            let (scores, loss) = views == 1
                ? (logits, lossSum / Double(eval.count))
                : ClassificationTask.averageViews(logits: logits, clips: windows.map(\.clip), labels: eval.labels, classes: 2)
            #expect(got.loss == loss, "views \(views)")
            #expect(got.metrics == ["top1Error": ClassificationMetrics.topKError(scores: scores, labels: eval.labels, classes: 2, k: 1)])
        }
    }

    /// Run descriptions written before `clip.evalViews` existed read as one view.
    @Test func clipSettingsWithoutViewsReadAsOneView() throws {
        var clip = ClipSpec()
        clip.evalViews = 4
        let data = try JSONEncoder().encode(clip)
        #expect(try JSONDecoder().decode(ClipSpec.self, from: data) == clip)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["evalViews"] = nil
        let old = try JSONDecoder().decode(ClipSpec.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(old.evalViews == 1 && old.frames == clip.frames && old.sampling == clip.sampling)
    }

    @Test(arguments: [
        (", evalViews: 3", "detection", "`clip.evalViews` is 3; averaging scores over several windows is defined for classification"),
        (", evalViews: 2, sampling: dense", "classification", "`clip.evalViews` is 2 but `clip.sampling` dense"),
        (", evalViews: 0", "classification", "`clip.evalViews`"),
        (", evalViews: 1001", "classification", "1...1000"),
    ])
    func badViewsAreRefused(clip: String, task: String, message: String) throws {
        do {
            _ = try spec(Self.csv, clip: clip, task: task)
            Issue.record("expected \(message)")
        } catch {
            #expect("\(error)".contains(message) && "\(error)".hasPrefix("w.yaml") && !"\(error)".contains("\n"), "\(error)")
        }
    }
}
