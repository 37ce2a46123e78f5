import Foundation
import Testing

/// `normbench decode --sampling all` keeps no clip in memory: a C×T×H×W `.npy` and a
/// contact sheet are made in a second pass from frames on disk. Their bytes must equal
/// the in-memory path's (the same 50 frames asked for as `--sampling dense --frames 50`,
/// which keeps the clip), and no temporary file may be left, on success or failure.
@Suite("normbench decode streaming (built binary)")
struct DecodeStreamCLITests {
    typealias NPY = DecodeCLITests.NPY

    func inputs() throws -> DecodeCLITests.Inputs { try DecodeCLITests().inputs() }

    /// The same frames through the in-memory path (`good.mp4` has 50 frames).
    static let inMemory = ["--sampling", "dense", "--frames", "50", "--stride", "1", "--start", "0"]

    func files(_ dir: String) -> Set<String> { Set((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []) }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// uint8 at the native size (several read batches in the second pass), float32 with
    /// mean/std, and a small size.
    @Test(arguments: [
        ["--layout", "cthw"],
        ["--layout", "cthw", "--dtype", "float32", "--mean", "0.45,0.4,0.35", "--std", "0.2,0.25,0.3"],
        ["--layout", "cthw", "--size", "16"],
    ])
    func cthwStreamedEqualsInMemory(_ options: [String]) throws {
        let i = try inputs()
        let tag = "\(options.count)-\(options.last!)".replacingOccurrences(of: ",", with: "_")
        let streamed = i.dir + "/stream-cthw-\(tag)", kept = i.dir + "/memory-cthw-\(tag)"
        let a = try BuiltBinary.run(["decode", i.good, "--npy", streamed] + options)
        #expect(a.status == 0, "\(a.stderr)")
        let b = try BuiltBinary.run(["decode", i.good, "--npy", kept] + Self.inMemory + options)
        #expect(b.status == 0, "\(b.stderr)")
        let npy = try NPY(streamed + "/good.npy")
        #expect(npy.shape.prefix(2) == [3, 50], "\(npy.shape)")
        #expect(try bytes(streamed + "/good.npy") == bytes(kept + "/good.npy"), "streamed C×T×H×W file must equal the in-memory one byte for byte")
        #expect(files(streamed) == ["good.npy"], "no temporary file left: \(files(streamed))")
    }

    /// The sheet alone (frames spooled next to it), beside a uint8 T×H×W×C `.npy` (read
    /// back from it), beside a float32 one (spooled), beside a C×T×H×W one.
    @Test(arguments: [[String](), ["--npy"], ["--npy", "--dtype", "float32"], ["--npy", "--layout", "cthw"]])
    func sheetStreamedEqualsInMemory(_ options: [String]) throws {
        let i = try inputs()
        let tag = options.joined().replacingOccurrences(of: "-", with: "")
        let streamed = i.dir + "/stream-sheet-\(tag)", kept = i.dir + "/memory-sheet-\(tag)"
        for dir in [streamed, kept] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        func args(_ dir: String) -> [String] {
            ["decode", i.good, "--size", "40x30", "--sheet", dir + "/s.png"] + options.flatMap { $0 == "--npy" ? [$0, dir + "/npy"] : [$0] }
        }
        let a = try BuiltBinary.run(args(streamed))
        #expect(a.status == 0, "\(a.stderr)")
        let b = try BuiltBinary.run(args(kept) + Self.inMemory)
        #expect(b.status == 0, "\(b.stderr)")
        let png = try bytes(streamed + "/s.png"), reference = try bytes(kept + "/s.png")
        #expect(png.count > 100 && png == reference, "streamed sheet must equal the in-memory one byte for byte")
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 8 * 40 + 9 * 2 && height == 7 * 30 + 8 * 2, "8x7 grid for 50 frames, got \(width)x\(height)")
        if options.isEmpty {
            #expect(files(streamed) == ["s.png"], "no temporary file left: \(files(streamed))")
        } else {
            #expect(files(streamed) == ["s.png", "npy"] && files(streamed + "/npy") == ["good.npy"],
                    "no temporary file left: \(files(streamed)) \(files(streamed + "/npy"))")
            if options.contains("cthw") {
                #expect(try bytes(streamed + "/npy/good.npy") == bytes(kept + "/npy/good.npy"))
            } else {
                // The streamed T×H×W×C file reserves a 192-byte header; the values are the same.
                let a = try NPY(streamed + "/npy/good.npy"), b = try NPY(kept + "/npy/good.npy")
                #expect(a.shape == b.shape && a.data == b.data)
            }
        }
    }

    /// The C×T×H×W file cannot be put in place (its name is taken by a folder): exit 1,
    /// one line naming the file, and neither the spooled frames nor a partial file left.
    @Test func cthwWriteFailureLeavesNothing() throws {
        let i = try inputs()
        let out = i.dir + "/stream-cthw-fail"
        try FileManager.default.createDirectory(atPath: out + "/good.npy", withIntermediateDirectories: true)
        let r = try BuiltBinary.run(["decode", i.good, "--npy", out, "--layout", "cthw"])
        #expect(r.status == 1, "exit \(r.status): \(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("normbench decode: ") && r.stderr.contains(out + "/good.npy: cannot write"), "\(r.stderr)")
        #expect(files(out) == ["good.npy"], "only the folder that was there: \(files(out))")
    }

    /// The sheet's folder is a file: the frames cannot be spooled; exit 1, one line naming
    /// the sheet, nothing written.
    @Test func sheetFolderUnwritableLeavesNothing() throws {
        let i = try inputs()
        let dir = i.dir + "/stream-sheet-fail"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("a file, not a folder\n".utf8).write(to: URL(fileURLWithPath: dir + "/not-a-folder"))
        let sheet = dir + "/not-a-folder/s.png"
        let r = try BuiltBinary.run(["decode", i.good, "--sheet", sheet])
        #expect(r.status == 1, "exit \(r.status): \(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("normbench decode: \(sheet): cannot write"), "\(r.stderr)")
        #expect(files(dir) == ["not-a-folder"], "\(files(dir))")
    }

    /// The sheet cannot be put in place after the `.npy` was written: exit 1, one line, the
    /// `.npy` kept, the spooled frames removed.
    @Test func sheetWriteFailureRemovesSpool() throws {
        let i = try inputs()
        let dir = i.dir + "/stream-sheet-fail2"
        try FileManager.default.createDirectory(atPath: dir + "/s.png", withIntermediateDirectories: true)
        let r = try BuiltBinary.run(["decode", i.good, "--size", "16", "--npy", dir + "/npy", "--layout", "cthw", "--sheet", dir + "/s.png"])
        #expect(r.status == 1, "exit \(r.status): \(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains(dir + "/s.png: cannot write"), "\(r.stderr)")
        #expect(files(dir) == ["s.png", "npy"] && files(dir + "/npy") == ["good.npy"], "\(files(dir)) \(files(dir + "/npy"))")
        #expect(files(dir + "/s.png").isEmpty)
    }

    /// Frames spooled by a killed earlier run (`.<name>.npy.frames.<pid>.partial`) are removed.
    @Test func staleSpoolIsRemoved() throws {
        let i = try inputs()
        let out = i.dir + "/stream-stale"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data(count: 1000).write(to: URL(fileURLWithPath: out + "/.good.npy.frames.4194999.partial"))
        let r = try BuiltBinary.run(["decode", i.good, "--size", "16", "--npy", out, "--layout", "cthw"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(files(out) == ["good.npy"], "\(files(out))")
    }
}
