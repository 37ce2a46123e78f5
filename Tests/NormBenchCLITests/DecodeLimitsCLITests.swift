import Foundation
import Testing

/// `normbench decode` at the edges: option limits and overflow, what is not a file,
/// options that a sampling would not use, outputs named and listed, stale temporary files.
/// Every refusal is one stderr line `normbench decode: <file or option>: <problem>; <fix>`
/// and an exit code, never a signal.
@Suite("normbench decode limits (built binary)")
struct DecodeLimitsCLITests {
    typealias Inputs = DecodeCLITests.Inputs

    func inputs() throws -> Inputs { try DecodeCLITests().inputs() }

    static let huge = "9223372036854775807"

    @Test(arguments: [
        (["--decoder-threads", "100000"], "--decoder-threads must be 0..."), (["--decoder-threads", "-1"], "--decoder-threads must be 0..."),
        (["--threads", "-1"], "--decoder-threads must be 0..."), (["--workers", "-1"], "--jobs must be 1..."),
        (["--jobs", "1000000000"], "--jobs must be 1..."), (["--jobs", "-1"], "--jobs must be 1..."),
        (["--sampling", "dense", "--stride", huge], "overflows"), (["--sampling", "dense", "--start", huge], "overflows"),
        (["--sampling", "random", "--frames", "3", "--stride", huge, "--pad"], "overflows"),
        (["--sampling", "dense", "--start", "-1"], "--start must be >= 0"), (["--sampling", "dense", "--stride", "-5"], "--stride must be at least 1"),
        (["--sampling", "uniform", "--frames", "100000000", "--pad"], "GB of memory; ask for fewer frames"),
        (["--sampling", "uniform", "--frames", huge, "--pad"], "more than 9e18 bytes"),
        (["--sampling", "dense", "--frames", huge, "--pad"], "more than 9e18 bytes"),
        (["--frames", "4"], "--frames: not used by --sampling all"), (["--stride", "2"], "--stride: not used by --sampling all"),
        (["--sampling", "uniform", "--stride", "2"], "--stride: not used by --sampling uniform"),
        (["--sampling", "random", "--start", "3"], "--start: not used by --sampling random"),
    ])
    func refusedWithExit2(_ args: [String], _ message: String) throws {
        let i = try inputs()
        let r = try BuiltBinary.run(["decode", i.good] + args, timeout: 60)
        #expect(r.status == 2, "\(args): exit \(r.status): \(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("normbench decode: ") && r.stderr.contains(message), "\(args): \(r.stderr)")
        #expect(r.stderr.contains(";"), "a fix follows the problem: \(r.stderr)")
    }

    /// A clip shorter than a huge request is refused from its frame count, before any allocation.
    @Test func hugeSampleRefusedFromTheFrameCount() throws {
        let i = try inputs()
        let r = try BuiltBinary.run(["decode", i.good, "--sampling", "uniform", "--frames", "1000000000"], timeout: 30)
        #expect(r.status == 1 && r.stderrLines.count == 1, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("clip has 50 frames but the sampling needs 1000000000"), "\(r.stderr)")
    }

    @Test func devicesFifosAndDirectoriesSayWhatTheyAre() throws {
        let i = try inputs()
        let fifo = i.dir + "/a-fifo.mp4"
        if !FileManager.default.fileExists(atPath: fifo) { #expect(mkfifo(fifo, 0o600) == 0) }
        for (path, expect) in [("/dev/zero", "is a character device"), ("/dev/urandom", "is a character device"),
                               (fifo, "is a FIFO (named pipe)"), (i.dir + "/a-directory.mp4", "is a directory")] {
            let r = try BuiltBinary.run(["decode", path], timeout: 30)
            #expect(r.status == 1 && r.stderrLines.count == 1, "\(path): exit \(r.status): \(r.stderr)")
            #expect(r.stderr.contains("normbench decode: \(path): \(expect)") && !r.stderr.contains("empty"), "\(r.stderr)")
        }
    }

    /// A write killed mid-way leaves `.<name>.<pid>.partial`; the next run removes it.
    @Test func staleTemporaryFilesAreRemoved() throws {
        let i = try inputs()
        let out = i.dir + "/npy-stale"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // pid_max is at most 4194304: this pid cannot be running.
        for name in [".good.npy.4194999.partial", ".good-faststart.npy.4194998.partial"] {
            try Data(count: 1000).write(to: URL(fileURLWithPath: out + "/" + name))
        }
        let all = try BuiltBinary.run(["decode", i.good, "--npy", out])
        #expect(all.status == 0, "\(all.stderr)")
        let sampled = try BuiltBinary.run(["decode", i.goodFastStart, "--sampling", "uniform", "--frames", "2", "--npy", out])
        #expect(sampled.status == 0, "\(sampled.stderr)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == ["good.npy", "good-faststart.npy"])
    }

    /// Inputs sharing a base name get "-2", "-3" in command-line order; `--json` lists each
    /// output, the padding and the frame indices.
    @Test func sameNamesAreNumberedAndListed() throws {
        let i = try inputs()
        let other = i.dir + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        let copy = other + "/good.mp4"
        if !FileManager.default.fileExists(atPath: copy) { try FileManager.default.copyItem(atPath: i.good, toPath: copy) }
        let out = i.dir + "/npy-names"
        let r = try BuiltBinary.run(["decode", i.good, copy, "--sampling", "dense", "--frames", "4", "--stride", "4",
                                     "--start", "40", "--pad", "--npy", out, "--json", "--jobs", "2", "--sheet", out + "/s.png"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let clips = json["clips"] as! [[String: Any]]
        #expect(clips.map { $0["output"] as? String } == [out + "/good.npy", out + "/good-2.npy"])
        #expect(clips.map { $0["sheet"] as? String } == [out + "/s-good.png", out + "/s-good-2.png"])
        #expect(clips.allSatisfy { $0["paddedFrames"] as? Int == 1 && $0["frameIndices"] as? [Int] == [40, 44, 48, 49] })
        // A third input whose own name is "good-2": the second "good" moves on to "good-3".
        let named = other + "/good-2.mp4"
        if !FileManager.default.fileExists(atPath: named) { try FileManager.default.copyItem(atPath: i.good, toPath: named) }
        let out3 = i.dir + "/npy-names3"
        let text = try BuiltBinary.run(["decode", i.good, copy, named, "--sampling", "uniform", "--frames", "2", "--npy", out3])
        let listed = text.stdout.split(separator: "\n").compactMap { line in line.range(of: "-> ").map { String(line[$0.upperBound...]) } }
        #expect(listed.isEmpty == false && Set(listed).count == 3, "\(text.stdout)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out3)) == ["good.npy", "good-3.npy", "good-2.npy"])
    }

    /// Frames streamed to a float32 `.npy` equal the uint8 tensor converted.
    @Test func streamedFloat32MatchesUInt8() throws {
        let i = try inputs()
        let u8 = i.dir + "/npy-stream-u8", f32 = i.dir + "/npy-stream-f32"
        #expect(try BuiltBinary.run(["decode", i.good, "--size", "16", "--npy", u8]).status == 0)
        let r = try BuiltBinary.run(["decode", i.good, "--size", "16", "--npy", f32, "--dtype", "float32", "--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try DecodeCLITests.NPY(u8 + "/good.npy"), b = try DecodeCLITests.NPY(f32 + "/good.npy")
        #expect(a.shape == [50, 16, 21, 3] && b.shape == a.shape && b.descr == "<f4")
        let floats: [Float] = b.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let mean: [Float] = [0.5, 0.4, 0.3], std: [Float] = [0.2, 0.25, 0.3]
        var maxError: Float = 0
        for (k, x) in a.data.enumerated() { maxError = max(maxError, abs(floats[k] - (Float(x) / 255 - mean[k % 3]) / std[k % 3])) }
        #expect(floats.count == a.data.count && maxError < 1e-5, "max |error| \(maxError)")
    }
}
