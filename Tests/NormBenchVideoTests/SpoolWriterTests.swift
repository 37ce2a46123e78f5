import Foundation
@_spi(Testing) import NormBenchVideo
import Testing

/// The second-pass writers (frames spooled to disk, read back a batch at a time) against
/// the in-memory writers on the same decoded frames: equal bytes.
@Suite("Spooled C×T×H×W .npy and contact sheet")
struct SpoolWriterTests {
    /// 200 testsrc2 frames of 128×64 (every pixel value, so float32 rounding shows): the
    /// C×T×H×W pass reads 170 frames per batch, so a full batch and a partial one.
    func decoded() throws -> (clip: Clip, spool: FrameSpool, dir: String) {
        let video = try Fixtures.shared.file("testsrc2-200.mp4", ["-f", "lavfi", "-i", "testsrc2=size=128x64:rate=25:duration=8",
                                                                  "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        let clip = try ClipDecoder.decode(video, options: DecodeOptions())
        let dir = FFmpegCLI.temporaryDirectory("spool")
        let spool = FrameSpool(nextTo: dir + "/clip.npy")
        let streamed = try ClipDecoder.decode(video, options: DecodeOptions()) { frame throws(VideoError) in try spool.append(frame) }
        #expect(clip.frames == 200 && streamed.frames == 200 && spool.frames == 200)
        return (clip, spool, dir)
    }

    @Test func cthwEqualsInMemory() throws {
        let (clip, spool, dir) = try decoded()
        defer { spool.discard() }
        let shape = [clip.channels, clip.frames, clip.height, clip.width]
        try NPYWriter.write(clip.uint8Data(layout: .cthw), shape: shape, to: dir + "/memory-u8.npy")
        try NPYWriter.writeCTHW(from: spool, height: clip.height, width: clip.width, float: false, to: dir + "/spool-u8.npy")
        let mean: [Float] = [0.45, 0.4, 0.35], std: [Float] = [0.2, 0.25, 0.3]
        try NPYWriter.write(clip.floatData(layout: .cthw, mean: mean, std: std), shape: shape, to: dir + "/memory-f32.npy")
        try NPYWriter.writeCTHW(from: spool, height: clip.height, width: clip.width, float: true, mean: mean, std: std,
                                to: dir + "/spool-f32.npy")
        for kind in ["u8", "f32"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/memory-\(kind).npy"))
            let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/spool-\(kind).npy"))
            #expect(a.count > 200 * 128 * 64 * 3 && a == b, "\(kind): spooled C×T×H×W file must equal the in-memory one")
        }
        spool.discard()
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "temporary files left: \(left)")
    }

    @Test func sheetEqualsInMemory() throws {
        let (clip, spool, dir) = try decoded()
        defer { spool.discard() }
        let image = ImageWriter.contactSheet(clip)
        try ImageWriter.writePNG(image.rgb, width: image.width, height: image.height, to: dir + "/memory.png")
        try ImageWriter.writeContactSheet(from: spool, frameWidth: clip.width, frameHeight: clip.height, to: dir + "/spool.png")
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/memory.png"))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/spool.png"))
        #expect(a.count > 1000 && a == b, "spooled sheet must equal the in-memory one")
    }

    /// A C×T×H×W file that cannot be put in place: the error names it, no partial file.
    @Test func cthwFailureLeavesNothing() throws {
        let (clip, spool, dir) = try decoded()
        defer { spool.discard() }
        try FileManager.default.createDirectory(atPath: dir + "/taken.npy", withIntermediateDirectories: true)
        #expect(throws: VideoError.self) {
            try NPYWriter.writeCTHW(from: spool, height: clip.height, width: clip.width, float: false, to: dir + "/taken.npy")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") && !$0.contains(".frames.") }
        #expect(left.isEmpty, "partial files left: \(left)")
    }
}
