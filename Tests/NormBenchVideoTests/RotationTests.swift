import Foundation
import NormBenchVideo
import Testing

@Suite("Rotation metadata")
struct RotationTests {
    /// An H.264 clip with a display matrix asking for `degrees` of clockwise rotation.
    static func rotated(_ degrees: Int) throws -> String {
        let plain = try Fixtures.shared.file("rotation-source.mp4", ["-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=0.4",
                                                                     "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        // The mp4 `rotate` tag is counter-clockwise; the CLI turns the picture clockwise by it.
        return try Fixtures.shared.file("rotation-\(degrees).mp4", ["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=\((360 - degrees) % 360)"])
    }

    @Test(arguments: [90, 180, 270])
    func autorotateMatchesCLIAtNativeSize(_ degrees: Int) throws {
        let file = try Self.rotated(degrees)
        let clip = try ClipDecoder.decode(file)
        #expect(clip.info.rotation == degrees)
        let swapped = degrees != 180
        #expect(clip.width == (swapped ? 96 : 160) && clip.height == (swapped ? 160 : 96))
        // The CLI with autorotate (its default): transpose/flip filters, then the conversion.
        let reference = [UInt8](try FFmpegCLI.run(["-i", file, "-pix_fmt", "rgb24", "-f", "rawvideo", "-"]))
        #expect(reference.count == clip.data.count)
        var bad = 0
        for i in 0..<min(reference.count, clip.data.count) where reference[i] != clip.data[i] { bad += 1 }
        #expect(bad == 0, "\(degrees)°: \(bad) bytes differ from the CLI")

        // Ignoring the metadata gives the coded picture.
        let raw = try ClipDecoder.decode(file, options: DecodeOptions(autorotate: false))
        #expect(raw.width == 160 && raw.height == 96)
    }
}
