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
    func autorotateMatchesCLI(_ degrees: Int) throws {
        let file = try Self.rotated(degrees)
        let native = try ClipDecoder.decode(file)
        #expect(native.info.rotation == degrees)
        let swapped = degrees != 180
        #expect(native.width == (swapped ? 96 : 160) && native.height == (swapped ? 160 : 96))
        // The CLI with autorotate (its default): transpose/flip filters on the YUV planes, then scale.
        for size in [(native.width, native.height), (112, 112), (61, 97)] {
            let clip = try ClipDecoder.decode(file, options: DecodeOptions(resize: .exact(width: size.0, height: size.1)))
            let reference = [UInt8](try FFmpegCLI.run(["-i", file, "-vf", "scale=\(size.0):\(size.1):flags=bilinear",
                                                       "-pix_fmt", "rgb24", "-f", "rawvideo", "-"]))
            #expect(reference.count == clip.data.count)
            var bad = 0
            for i in 0..<min(reference.count, clip.data.count) where reference[i] != clip.data[i] { bad += 1 }
            #expect(bad == 0, "\(degrees)° at \(size.0)x\(size.1): \(bad) bytes differ from the CLI")
        }

        // Ignoring the metadata gives the coded picture.
        let raw = try ClipDecoder.decode(file, options: DecodeOptions(autorotate: false))
        #expect(raw.width == 160 && raw.height == 96)
    }
}
