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

    /// A bank in a file gives the bytes a bank in memory gives, clip by clip and
    /// window by window, also with a skipped clip between; the file is unlinked at once.
    @Test func fileBankReadsWhatMemoryHolds() throws {
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: "\(root)/clips/c3.mkv"))
        let s = try spec("clips/c0.mkv,0,train\nclips/c3.mkv,1,train\nclips/c1.mkv,1,train\nclips/c2.mkv,0,train\nclips/c1.mkv,1,eval\n")
        let (folder, manifest) = try FolderDataset.load(s)
        let fileFolder = "\(root)/bank"
        try FileManager.default.createDirectory(atPath: fileFolder, withIntermediateDirectories: true)
        let memory = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: 3, skipBad: true)
        let file = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: 3, skipBad: true,
                                       placement: .file(folder: fileFolder))
        #expect(try FileManager.default.contentsOfDirectory(atPath: fileFolder).isEmpty)
        #expect(file.residentBytes == 0 && memory.residentBytes == memory.bytes)
        #expect(file.bytes == 3 * 5 * 16 * 16 * 3 && file.bytes == memory.bytes)
        #expect(file.skipped == ["clips/c3.mkv"] && file.labels == memory.labels && file.frameCounts == memory.frameCounts)
        for i in 0..<file.count {
            let n = file.clipBytes(i)
            #expect(file.withClip(i) { Array(UnsafeBufferPointer(start: $0, count: n)) } == memory.withClip(i) { Array(UnsafeBufferPointer(start: $0, count: n)) })
            // Frame 2 of clip c_k is the flat value 20·k + 2 (c0, c1, c2 kept).
            var scratch = [UInt8](repeating: 0, count: 2 * 16 * 16 * 3)
            #expect(scratch.withUnsafeMutableBufferPointer { s in file.withFrames(i, first: 2, count: 2, scratch: s.baseAddress!) { $0[0] } } == UInt8(20 * [0, 1, 2][i] + 2))
        }
        let assembler = BatchAssembler(frames: 2, stride: 2, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3])
        let samples = [BatchAssembler.Sample(clip: 2, start: 1, flip: true), BatchAssembler.Sample(clip: 0, start: 0)]
        let a = assembler.assemble(samples, from: file), b = assembler.assemble(samples, from: memory)
        #expect(Array(UnsafeBufferPointer(start: a.data, count: a.count)) == Array(UnsafeBufferPointer(start: b.data, count: b.count)))
    }

    @Test func bankFolderThatCannotHoldTheFileIsNamed() throws {
        let s = try spec("clips/c0.mkv,0,train\nclips/c1.mkv,1,eval\n")
        let (folder, manifest) = try FolderDataset.load(s)
        do {
            _ = try ClipBank.decode(manifest: manifest, folder: folder, split: "train", size: 16, frames: 3, placement: .file(folder: "\(root)/no/such"))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix("\(root)/no/such: cannot keep the decoded clips in a file there") && "\(error)".contains("--data-bank memory"), "\(error)")
        }
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
