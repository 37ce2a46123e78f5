import Foundation
@_spi(Testing) import NormBenchVideo
import Testing

@Suite("Encoder round trip")
struct EncoderTests {
    /// A frame of pseudo-random pixels (worst case for a lossy codec, exact for FFV1).
    static func noise(_ seed: UInt64, width: Int, height: Int) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    @Test func ffv1IsExact() throws {
        let path = Fixtures.shared.dir + "/roundtrip.mkv"
        let (w, h) = (37, 21)  // odd sizes work for FFV1
        let frames = (0..<7).map { Self.noise(UInt64($0), width: w, height: h) }
        let encoder = try VideoEncoder(path: path, width: w, height: h, fps: 30, codec: .ffv1)
        for f in frames { try encoder.append(f) }
        try encoder.finish()
        let clip = try ClipDecoder.decode(path)
        #expect(clip.frames == 7 && clip.width == w && clip.height == h)
        #expect(clip.data == frames.flatMap { $0 }, "FFV1 round trip must be bit-exact")
        for (i, t) in clip.timestamps.enumerated() { #expect(abs(t - Double(i) / 30) < 1e-3) }
        #expect(clip.info.codec == "ffv1")
    }

    @Test func h264CountTimestampsAndContent() throws {
        let path = Fixtures.shared.dir + "/roundtrip.mp4"
        let count = 31
        try CounterFrames.write(path, count: count, fps: 25, codec: .h264(crf: 12, gop: 8, bFrames: 2, preset: "veryfast"))
        let clip = try ClipDecoder.decode(path)
        #expect(clip.frames == count)
        #expect(clip.info.headerFrameCount == count)
        #expect(abs(clip.info.duration - Double(count) / 25) < 1e-6, "duration \(clip.info.duration)")
        #expect(clip.info.keyframes == [0, 8, 16, 24])
        for (i, t) in clip.timestamps.enumerated() { #expect(abs(t - Double(i) / 25) < 1e-6) }
        var maxError = 0, totalError = 0
        for t in 0..<count {
            let ref = CounterFrames.frame(t)
            for i in 0..<ref.count {
                let d = abs(Int(ref[i]) - Int(clip.data[t * ref.count + i]))
                maxError = max(maxError, d)
                totalError += d
            }
        }
        let mean = Double(totalError) / Double(clip.data.count)
        #expect(mean < 2.0, "mean |error| \(mean) (max \(maxError)) above H.264 tolerance")
    }

    @Test func partialFileIsRemoved() throws {
        let path = Fixtures.shared.dir + "/abandoned.mkv"
        do {
            let encoder = try VideoEncoder(path: path, width: 8, height: 8, fps: 10, codec: .ffv1)
            try encoder.append([UInt8](repeating: 7, count: 8 * 8 * 3))
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: Fixtures.shared.dir).filter { $0.contains("abandoned") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(throws: VideoError.self) {
            _ = try VideoEncoder(path: Fixtures.shared.dir + "/odd.mp4", width: 9, height: 8, fps: 10, codec: .h264())
        }
    }
}
