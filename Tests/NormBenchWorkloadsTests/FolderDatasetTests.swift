import Foundation
import Testing
import NormBenchVideo
import NormBenchWorkloads
import NormBenchTestSupport

/// A user's folder: clips written with the encoder, a CSV manifest, bad lines.
@Suite struct FolderDatasetTests {
    let root: String

    init() throws {
        root = scratchDirectory("data")
        try FileManager.default.createDirectory(atPath: "\(root)/clips", withIntermediateDirectories: true)
        for i in 0..<4 {
            let e = try VideoEncoder(path: "\(root)/clips/c\(i).mkv", width: 16, height: 16, fps: 25, codec: .ffv1)
            for t in 0..<5 { try e.append([UInt8](repeating: UInt8(20 * i + t), count: 16 * 16 * 3)) }
            try e.finish()
        }
    }

    func spec(_ csv: String, classes: Int = 2) throws -> WorkloadSpec {
        try csv.write(toFile: "\(root)/clips.csv", atomically: true, encoding: .utf8)
        return try WorkloadSpec.parse(
            yaml: "data:\n  source: folder\n  folder: {root: \(root), manifest: clips.csv, classes: \(classes)}\nclip: {frames: 2, stride: 2, size: 16}\n",
            file: "w.yaml", defaultName: "w")
    }

    @Test func loadsAndDecodesAManifest() throws {
        let s = try spec("path,label,split\nclips/c0.mkv,0,train\nclips/c1.mkv,1,train\nclips/c2.mkv,1,val\n")
        let (folder, manifest) = try FolderDataset.load(s)
        #expect(manifest.entries.map(\.split) == ["train", "train", "eval"])
        let bank = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: s.framesPerClip)
        #expect(bank.count == 2 && bank.labels == [0, 1] && bank.frameCounts == [5, 5])
        // FFV1 is lossless: clip 1, frame 2 is the flat value 20·1 + 2.
        bank.withClip(1) { #expect($0[2 * 16 * 16 * 3] == 22) }
    }

    @Test(arguments: [
        ("clips/c0.mkv,0,train\nclips/nope.mkv,1,eval\n", "clips.csv:2: clip", "does not exist"),
        ("clips/c0.mkv,0,train\nclips/c1.mkv,7,eval\n", "clips.csv:2: label \"7\" is not in 0..<2", "raise data.folder.classes"),
        ("clips/c0.mkv,0,train\nclips/c1.mkv,1,holdout\n", "clips.csv:2: split \"holdout\"", "use `train` or `eval`"),
        ("clips/c0.mkv,0\n", "clips.csv:1: expected `path,label,split`", "e.g."),
        ("clips/c0.mkv,0,train\n", "no eval clips", "mark some lines `eval`"),
    ])
    func badManifestLinesAreNamed(csv: String, problem: String, fix: String) throws {
        let s = try spec(csv)
        do {
            _ = try FolderDataset.load(s)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains(problem) && "\(error)".contains(fix), "\(error)")
        }
    }

    @Test func corruptOrShortClipIsNamedOrSkipped() throws {
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: "\(root)/clips/c3.mkv"))
        let s = try spec("clips/c0.mkv,0,train\nclips/c3.mkv,1,train\nclips/c1.mkv,1,eval\n")
        let (folder, manifest) = try FolderDataset.load(s)
        #expect(throws: DatasetError.self) { try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: 3) }
        let bank = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: 3, skipBad: true)
        #expect(bank.skipped == ["clips/c3.mkv"] && bank.count == 1)
        // Asking for more frames than the clips have (5) is an error naming the clip.
        do {
            _ = try ClipBank.decode(manifest: manifest, folder: folder, split: "eval", size: 16, frames: 9)
            Issue.record("expected a too-short error")
        } catch {
            #expect("\(error)".contains("c1.mkv"), "\(error)")
        }
    }
}
