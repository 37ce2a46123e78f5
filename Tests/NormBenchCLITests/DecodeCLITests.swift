import Foundation
import Testing

/// `normbench decode` as a built binary: output, .npy files, PNG, JSON, bad input and exit codes.
@Suite("normbench decode (built binary)")
struct DecodeCLITests {
    /// Clips made once with the ffmpeg CLI, plus bad inputs users have met.
    final class Inputs: @unchecked Sendable {
        static let shared = Inputs()
        let dir: String
        let good: String          // H.264 320x240, 50 frames, moov at the end
        let goodFastStart: String // same, moov first
        let bad: [(name: String, path: String, expect: String)]
        let corrupt: String
        let setupError: String?

        init() {
            dir = NSTemporaryDirectory() + "normbench-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            good = dir + "/good.mp4"
            goodFastStart = dir + "/good-faststart.mp4"
            corrupt = dir + "/corrupt.mp4"
            var bad: [(String, String, String)] = []
            var setupError: String?
            do {
                try FileManager.default.createDirectory(atPath: dir + "/a-directory.mp4", withIntermediateDirectories: true)
                let src = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"]
                _ = try ffmpeg(src + [good])
                _ = try ffmpeg(src + ["-movflags", "+faststart", goodFastStart])
                _ = try ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", dir + "/audio-only.m4a"])
                try Data().write(to: URL(fileURLWithPath: dir + "/empty.mp4"))
                try Data("this is not a video\n".utf8).write(to: URL(fileURLWithPath: dir + "/text.mp4"))
                var rng: UInt64 = 12345
                let noise = (0..<40_000).map { _ -> UInt8 in rng = rng &* 6364136223846793005 &+ 1442695040888963407; return UInt8(rng >> 56) }
                try Data(noise).write(to: URL(fileURLWithPath: dir + "/random.mp4"))
                let fastStart = try Data(contentsOf: URL(fileURLWithPath: goodFastStart))
                try Data(fastStart.prefix(fastStart.count * 6 / 10)).write(to: URL(fileURLWithPath: dir + "/truncated.mp4"))
                var plain = try Data(contentsOf: URL(fileURLWithPath: good))
                try Data(plain.prefix(plain.count * 6 / 10)).write(to: URL(fileURLWithPath: dir + "/no-moov.mp4"))
                // Corrupt packets mid-stream: scramble bytes inside mdat (the moov at the end stays intact).
                let start = plain.count / 3
                for i in stride(from: start, to: start + 3000, by: 7) { plain[i] ^= 0xA5 }
                try plain.write(to: URL(fileURLWithPath: corrupt))
                bad = [
                    ("missing", dir + "/does-not-exist.mp4", "no such file"),
                    ("directory", dir + "/a-directory.mp4", "is a directory"),
                    ("empty", dir + "/empty.mp4", "file is empty"),
                    ("text", dir + "/text.mp4", "FFmpeg cannot open it as video: Invalid data found when processing input"),
                    ("random bytes", dir + "/random.mp4", "FFmpeg cannot open it as video"),
                    ("audio only", dir + "/audio-only.m4a", "no video stream (streams: audio aac)"),
                    ("missing moov", dir + "/no-moov.mp4", "moov atom not found"),
                ]
            } catch {
                setupError = "\(error)"
            }
            self.bad = bad
            self.setupError = setupError
        }
    }

    static func ffmpeg(_ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-y"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw BuiltBinary.NotFound(description: "ffmpeg \(args) failed") }
        return data
    }

    /// A parsed .npy file (version 1.0 header).
    struct NPY {
        var descr: String
        var shape: [Int]
        var data: Data

        init(_ path: String) throws {
            let file = try Data(contentsOf: URL(fileURLWithPath: path))
            let bytes = [UInt8](file)
            #expect(Array(bytes[0..<6]) == [0x93] + Array("NUMPY".utf8), "magic")
            #expect(bytes[6] == 1 && bytes[7] == 0, "version 1.0")
            let length = Int(bytes[8]) | Int(bytes[9]) << 8
            #expect((10 + length) % 64 == 0, "data must start on a 64-byte boundary")
            let header = String(decoding: bytes[10..<(10 + length)], as: UTF8.self)
            #expect(header.hasSuffix("\n") && header.contains("'fortran_order': False"), "\(header)")
            let d = header.range(of: "'descr': '")!.upperBound
            descr = String(header[d...].prefix { $0 != "'" })
            let s = header.range(of: "'shape': (")!.upperBound
            shape = header[s...].prefix { $0 != ")" }.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            data = file.subdata(in: (10 + length)..<file.count)
        }
    }

    func inputs() throws -> Inputs {
        let i = Inputs.shared
        if let e = i.setupError { throw BuiltBinary.NotFound(description: "fixture setup failed: \(e)") }
        return i
    }

    @Test func summaryNpyMatchesFFmpegCLI() throws {
        let i = try inputs()
        let out = i.dir + "/npy-all"
        let r = try BuiltBinary.run(["decode", i.good, "--size", "48x36", "--npy", out])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(r.stdout)")
        #expect(lines.first?.contains("good.mp4  h264  320x240 -> 48x36  25.00 fps  50 frames") == true, "\(r.stdout)")
        #expect(lines.last?.hasPrefix("total: 1 clips ok, 0 failed, 50 frames") == true, "\(r.stdout)")
        let npy = try NPY(out + "/good.npy")
        #expect(npy.descr == "|u1" && npy.shape == [50, 36, 48, 3])
        let reference = try Self.ffmpeg(["-i", i.good, "-vf", "scale=48:36:flags=bilinear", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"])
        #expect(npy.data == reference, "decoded tensor must equal the ffmpeg CLI's frames byte for byte")
    }

    @Test func float32CTHWNormalized() throws {
        let i = try inputs()
        let u8 = i.dir + "/npy-u8", f32 = i.dir + "/npy-f32"
        let common = ["decode", i.good, "--sampling", "dense", "--frames", "3", "--stride", "5", "--start", "12", "--size", "16"]
        #expect(try BuiltBinary.run(common + ["--npy", u8]).status == 0)
        let r = try BuiltBinary.run(common + ["--npy", f32, "--dtype", "float32", "--layout", "cthw", "--mean", "0.45,0.4,0.35", "--std", "0.2,0.25,0.3"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try NPY(u8 + "/good.npy"), b = try NPY(f32 + "/good.npy")
        #expect(a.shape == [3, 16, 21, 3])   // --size 16: shorter side 16, 320x240 → 21x16
        #expect(b.descr == "<f4" && b.shape == [3, 3, 16, 21])
        let floats: [Float] = b.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let (t, h, w) = (3, 16, 21)
        let mean: [Float] = [0.45, 0.4, 0.35], std: [Float] = [0.2, 0.25, 0.3]
        var maxError: Float = 0
        for c in 0..<3 { for p in 0..<(t * h * w) {
            let expected = (Float(a.data[a.data.startIndex + p * 3 + c]) / 255 - mean[c]) / std[c]
            maxError = max(maxError, abs(floats[c * t * h * w + p] - expected))
        } }
        #expect(maxError < 1e-5, "max |error| \(maxError)")
    }

    @Test func jsonAndSheet() throws {
        let i = try inputs()
        let sheet = i.dir + "/sheet.png"
        let r = try BuiltBinary.run(["decode", i.good, "--sampling", "uniform", "--frames", "6", "--size", "40x30", "--json", "--sheet", sheet])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let clip = (json["clips"] as! [[String: Any]])[0]
        #expect(clip["frameIndices"] as? [Int] == [4, 12, 20, 29, 37, 45])
        let info = clip["info"] as! [String: Any]
        #expect(info["codec"] as? String == "h264" && info["frameCount"] as? Int == 50 && info["keyframes"] as? [Int] == [0, 10, 20, 30, 40])
        #expect((json["total"] as! [String: Any])["frames"] as? Int == 6)
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sheet)))
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 3 * 40 + 4 * 2 && height == 2 * 30 + 3 * 2, "3x2 grid with 2-pixel gutters, got \(width)x\(height)")
        let pixels = try Self.ffmpeg(["-i", sheet, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        #expect(pixels.count == width * height * 3, "ffmpeg reads the PNG back")
    }

    @Test func badInputsFailWithOneLine() throws {
        let i = try inputs()
        for bad in i.bad {
            let out = i.dir + "/npy-bad"
            let r = try BuiltBinary.run(["decode", bad.path, "--npy", out, "--sheet", i.dir + "/bad.png"])
            #expect(r.status == 1, "\(bad.name): exit \(r.status)")
            #expect(r.stderrLines.count == 1, "\(bad.name): stderr must be one line, got \(r.stderr)")
            #expect(r.stderr.contains(bad.path) && r.stderr.contains(bad.expect), "\(bad.name): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal") && !r.stderr.contains("crashed"))
            let written = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            #expect(written.isEmpty, "\(bad.name): no output files, found \(written)")
            #expect(!FileManager.default.fileExists(atPath: i.dir + "/bad.png"))
        }
    }

    @Test func corruptPacketsKeepFramesAndExit3() throws {
        let i = try inputs()
        let out = i.dir + "/npy-corrupt"
        let r = try BuiltBinary.run(["decode", i.corrupt, "--size", "32x24", "--npy", out])
        #expect(r.status == 3, "exit \(r.status): \(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains("packets lost to decode errors"), "\(r.stderr)")
        // The frames the decoder returned, as many as the CLI writes: none invented for the lost packets.
        let reference = try Self.ffmpeg(["-i", i.corrupt, "-vf", "scale=32:24:flags=bilinear", "-pix_fmt", "rgb24",
                                         "-fps_mode", "passthrough", "-f", "rawvideo", "-"])
        #expect(try NPY(out + "/corrupt.npy").shape == [reference.count / (32 * 24 * 3), 24, 32, 3])
    }

    /// A file that ends early: a full decode keeps every good frame (the CLI's frames),
    /// warns in one line and exits 3; a sample of it is refused (exit 1).
    @Test func truncatedFileKeepsGoodFramesAndExit3() throws {
        let i = try inputs()
        let mkv = i.dir + "/truncated.mkv"
        if !FileManager.default.fileExists(atPath: mkv) {
            _ = try Self.ffmpeg(["-i", i.good, "-c", "copy", i.dir + "/whole.mkv"])
            let whole = try Data(contentsOf: URL(fileURLWithPath: i.dir + "/whole.mkv"))
            try Data(whole.prefix(whole.count * 6 / 10)).write(to: URL(fileURLWithPath: mkv))
        }
        for file in [i.dir + "/truncated.mp4", mkv] {
            let out = i.dir + "/npy-truncated"
            let r = try BuiltBinary.run(["decode", file, "--size", "32x24", "--npy", out])
            #expect(r.status == 3, "\(file): exit \(r.status): \(r.stderr)")
            #expect(r.stderrLines.count == 1 && r.stderr.contains("\(file): warning: file is truncated") && r.stderr.contains("good frames"),
                    "\(r.stderr)")
            let reference = try Self.ffmpeg(["-i", file, "-vf", "scale=32:24:flags=bilinear", "-pix_fmt", "rgb24",
                                             "-fps_mode", "passthrough", "-f", "rawvideo", "-"])
            let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            let npy = try NPY(out + "/\(name).npy")
            #expect(npy.shape.first == reference.count / (32 * 24 * 3) && npy.data == reference, "\(file): frames differ from the CLI's")
            let sampled = try BuiltBinary.run(["decode", file, "--sampling", "uniform", "--frames", "4"])
            #expect(sampled.status == 1 && sampled.stderr.contains("file is truncated"), "\(sampled.stderr)")
        }
    }

    @Test func shortClipAndPad() throws {
        let i = try inputs()
        let r = try BuiltBinary.run(["decode", i.good, "--sampling", "dense", "--frames", "8", "--stride", "4", "--start", "30"])
        #expect(r.status == 1 && r.stderrLines.count == 1)
        #expect(r.stderr.contains("clip has 50 frames but the sampling needs 59"), "\(r.stderr)")
        let padded = try BuiltBinary.run(["decode", i.good, "--sampling", "dense", "--frames", "8", "--stride", "4", "--start", "30", "--pad", "--json"])
        #expect(padded.status == 0, "\(padded.stderr)")
        #expect(padded.stdout.contains("\"paddedFrames\" : 3"), "\(padded.stdout)")
    }

    @Test(arguments: [
        (["--size", "0"], "--size must be positive"), (["--size", "0x10"], "--size must be positive"),
        (["--sampling", "uniform", "--frames", "0"], "--frames must be at least 1"),
        (["--sampling", "sometimes"], "--sampling must be"), (["--crop", "12x"], "--crop must be WxH or S"),
    ])
    func invalidOptionsExit2(_ args: [String], _ message: String) throws {
        let i = try inputs()
        let r = try BuiltBinary.run(["decode", i.good] + args)
        #expect(r.status == 2, "exit \(r.status)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains(message), "\(r.stderr)")
    }

    @Test func oneBadFileDoesNotStopTheOthersUnlessStrict() throws {
        let i = try inputs()
        let out = i.dir + "/npy-mixed"
        let missing = i.dir + "/nope.mp4"
        let r = try BuiltBinary.run(["decode", i.good, missing, i.goodFastStart, "--sampling", "uniform", "--frames", "2", "--npy", out, "--jobs", "2"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("total: 2 clips ok, 1 failed") && r.stdout.contains("failed: \(missing)"), "\(r.stdout)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == ["good.npy", "good-faststart.npy"])
        let strictOut = i.dir + "/npy-strict"
        let s = try BuiltBinary.run(["decode", missing, i.good, "--strict", "--jobs", "1", "--npy", strictOut])
        #expect(s.status == 1)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: strictOut)) ?? []).isEmpty)
    }
}
