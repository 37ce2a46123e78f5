import Foundation
import Testing
import NormBenchWorkloads
import NormBenchTestSupport

func tinySpec(cache: String, codec: SyntheticSpec.Codec = .ffv1, task: WorkloadSpec.Task = .classification) -> WorkloadSpec {
    var spec = WorkloadSpec(name: "tiny")
    spec.task = task
    spec.model = ModelSpec(for: task)
    spec.data.cache = cache
    spec.data.synthetic.trainClips = 6
    spec.data.synthetic.evalClips = 3
    spec.data.synthetic.frames = 6
    spec.data.synthetic.width = 32
    spec.data.synthetic.height = 32
    spec.data.synthetic.codec = codec
    return spec
}

/// A workload for whole cells in seconds (16×16 clips of 2 frames, widths 4/8/8,
/// `steps` steps) and its decoded data.
func tinyCellData(cache: String, evalClips: Int = 4, steps: Int = 3) throws -> (spec: WorkloadSpec, train: ClipBank, eval: ClipBank) {
    var s = tinySpec(cache: cache)
    s.data.synthetic.width = 16
    s.data.synthetic.height = 16
    s.data.synthetic.trainClips = 8
    s.data.synthetic.evalClips = evalClips
    s.clip.frames = 2
    s.clip.stride = 2
    s.clip.size = 16
    s.model.widths = [4, 8, 8]
    s.training.steps = steps
    s.training.warmupSteps = 0
    let (folder, manifest) = try SyntheticDataset.prepare(s)
    return (s, try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: 6),
            try ClipBank.decode(manifest: manifest, folder: folder, split: "eval", size: 16, frames: 6))
}


@Suite struct SyntheticDatasetTests {
    @Test func sameSeedGivesIdenticalFiles() throws {
        let a = try SyntheticDataset.prepare(tinySpec(cache: scratchDirectory("data")), threads: 2)
        let b = try SyntheticDataset.prepare(tinySpec(cache: scratchDirectory("data")), threads: 1)
        #expect(a.manifest.entries.count == 9)
        #expect(a.manifest == b.manifest)
        for e in a.manifest.entries {
            #expect(FileManager.default.contents(atPath: "\(a.folder)/\(e.path)") == FileManager.default.contents(atPath: "\(b.folder)/\(e.path)"))
        }
    }

    @Test func damagedFilesAreRegeneratedAndReported() throws {
        let spec = tinySpec(cache: scratchDirectory("data"))
        let first = try SyntheticDataset.prepare(spec)
        let victim = "\(first.folder)/\(first.manifest.entries[2].path)"
        let original = FileManager.default.contents(atPath: victim)!
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.removeItem(atPath: "\(first.folder)/\(first.manifest.entries[4].path)")
        var lines: [String] = []
        let second = try SyntheticDataset.prepare(spec) { lines.append($0) }
        #expect(second.manifest == first.manifest)
        #expect(FileManager.default.contents(atPath: victim) == original)
        #expect(lines.contains { $0.contains(first.manifest.entries[2].path) && $0.contains("changed") })
        #expect(lines.contains { $0.contains(first.manifest.entries[4].path) && $0.contains("missing") })
        // A clean reuse generates nothing.
        var quiet: [String] = []
        _ = try SyntheticDataset.prepare(spec) { quiet.append($0) }
        #expect(quiet.isEmpty)
    }

    /// FFV1 is lossless: the bank holds exactly the rendered frames.
    @Test func bankHoldsRenderedFramesExactly() throws {
        let spec = tinySpec(cache: scratchDirectory("data"), codec: .ffv1)
        let (folder, manifest) = try SyntheticDataset.prepare(spec)
        let bank = try ClipBank.decode(manifest: manifest, folder: folder, split: "eval", size: 32, frames: 6)
        #expect(bank.count == 3)
        #expect(bank.labels == [0, 1, 2])
        let s = spec.data.synthetic
        let renderer = SyntheticRenderer(width: 32, height: 32, frames: 6, classes: s.classes, distractors: s.distractors, noise: s.noise, objects: s.objects, seed: UInt64(s.seed))
        for i in 0..<3 {
            let expected = renderer.classificationClip(i, split: .eval).rgb
            let got = bank.withClip(i) { Array(UnsafeBufferPointer(start: $0, count: bank.clipBytes(i))) }
            #expect(got == expected, "clip \(i) differs from its rendering")
        }
    }

    @Test func corruptClipIsNamedOrSkipped() throws {
        let spec = tinySpec(cache: scratchDirectory("data"))
        let (folder, manifest) = try SyntheticDataset.prepare(spec)
        let bad = manifest.entries.first { $0.split == "eval" }!.path
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: "\(folder)/\(bad)"))
        #expect(throws: DatasetError.self) {
            try ClipBank.decode(manifest: manifest, folder: folder, split: "eval", size: 16, frames: 4)
        }
        let bank = try ClipBank.decode(manifest: manifest, folder: folder, split: "eval", size: 16, frames: 4, skipBad: true)
        #expect(bank.skipped == [bad])
        #expect(bank.count == 2)
    }
}

@Suite struct BatchAssemblerTests {
    @Test func normalizesWindowsAndFlips() throws {
        let spec = tinySpec(cache: scratchDirectory("data"))
        let (folder, manifest) = try SyntheticDataset.prepare(spec)
        let bank = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 32, frames: 6)
        let a = BatchAssembler(frames: 2, stride: 2, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 1])
        let x = a.assemble([.init(clip: 1, start: 1), .init(clip: 1, start: 1, flip: true)], from: bank)
        #expect(x.shape == [2, 2, 32, 32, 3])
        bank.withClip(1) { clip in
            // Sample 0, frame t=1 is clip frame 1 + 2 = 3; pixel (y 5, x 7).
            for c in 0..<3 {
                let v = Double(clip[((3 * 32 + 5) * 32 + 7) * 3 + c]) / 255
                let expected = (v - [0.5, 0.25, 0][c]) / [0.5, 0.25, 1][c]
                #expect(abs(Double(x.data[(((0 * 2 + 1) * 32 + 5) * 32 + 7) * 3 + c]) - expected) < 1e-5)
                // The flipped sample holds the same pixel at x = 31 − 7.
                #expect(x.data[(((1 * 2 + 1) * 32 + 5) * 32 + 24) * 3 + c] == x.data[(((0 * 2 + 1) * 32 + 5) * 32 + 7) * 3 + c])
            }
        }
    }
}
