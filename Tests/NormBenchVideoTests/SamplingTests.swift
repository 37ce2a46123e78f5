import Foundation
import NormBenchVideo
import Testing

@Suite("Sampling picks the right frames")
struct SamplingTests {
    static let frameCount = 60
    /// H.264 with B-frames, a keyframe every 10 frames (GOP boundaries at 10, 20, ...).
    static var gop10: String {
        get throws {
            try Fixtures.shared.make("counter-gop10.mp4") { path in
                try CounterFrames.write(path, count: frameCount, codec: .h264(crf: 18, gop: 10, bFrames: 3, preset: "veryfast"))
            }
        }
    }
    /// H.264 with a single keyframe.
    static var gopAll: String {
        get throws {
            try Fixtures.shared.make("counter-gop250.mp4") { path in
                try CounterFrames.write(path, count: frameCount, codec: .h264(crf: 18, gop: 250, bFrames: 3, preset: "veryfast"))
            }
        }
    }
    /// Variable frame rate: FFV1 counter frames retimed by the ffmpeg CLI (gaps after every 3rd frame).
    static var vfr: String {
        get throws {
            let lossless = try Fixtures.shared.make("counter.mkv") { path in
                try CounterFrames.write(path, count: frameCount, codec: .ffv1)
            }
            return try Fixtures.shared.file("counter-vfr.mkv", ["-i", lossless, "-vf", "setpts='(N+floor(N/3)*2)/(25*TB)'", "-fps_mode", "vfr", "-c:v", "ffv1"])
        }
    }

    func contents(_ clip: Clip) -> [Int] { (0..<clip.frames).map { CounterFrames.read(clip, frame: $0) } }

    @Test func allFrames() throws {
        for file in [try Self.gop10, try Self.gopAll, try Self.vfr] {
            let clip = try ClipDecoder.decode(file)
            #expect(clip.frames == Self.frameCount)
            #expect(contents(clip) == Array(0..<Self.frameCount), "\(file)")
            #expect(clip.info.frameCount == Self.frameCount)
        }
    }

    @Test func uniformIndices() {
        #expect(FrameSampling.uniform(count: 4).indices(frameCount: 60) == [7, 22, 37, 52])
        #expect(FrameSampling.uniform(count: 60).indices(frameCount: 60) == Array(0..<60))
        #expect(FrameSampling.dense(count: 3, stride: 4, start: 5).indices(frameCount: 60) == [5, 9, 13])
        let r = FrameSampling.random(count: 4, stride: 2, seed: 7).indices(frameCount: 60)
        #expect(r == FrameSampling.random(count: 4, stride: 2, seed: 7).indices(frameCount: 60))
        #expect(r.count == 4 && r[0] >= 0 && r[3] < 60 && zip(r, r.dropFirst()).allSatisfy { $1 - $0 == 2 })
    }

    @Test(arguments: [
        FrameSampling.uniform(count: 8), .uniform(count: 16), .uniform(count: 3),
        .dense(count: 6, stride: 1, start: 7),   // crosses the keyframe at 10
        .dense(count: 5, stride: 3, start: 47),  // ends on the last frame (59)
        .dense(count: 4, stride: 10, start: 9),  // one frame before each keyframe
        .dense(count: 1, stride: 1, start: 59),
        .random(count: 8, stride: 2, seed: 1), .random(count: 8, stride: 4, seed: 42),
    ])
    func sampledContent(_ sampling: FrameSampling) throws {
        let expected = sampling.indices(frameCount: Self.frameCount)
        for file in [try Self.gop10, try Self.gopAll, try Self.vfr] {
            let clip = try ClipDecoder.decode(file, options: DecodeOptions(sampling: sampling))
            #expect(clip.frameIndices == expected)
            #expect(contents(clip) == expected, "\(sampling) on \(file)")
            #expect(clip.paddedFrames == 0 && !clip.isDamaged)
        }
    }

    @Test func seeksOnlyWhenKeyframesAreSparse() throws {
        let sparse = try ClipDecoder.decode(try Self.gop10, options: DecodeOptions(sampling: .dense(count: 2, stride: 40, start: 5)))
        #expect(contents(sparse) == [5, 45])
        #expect(sparse.seeks == 1)                    // skips from ~6 to the keyframe at 40
        #expect(sparse.framesDecoded < Self.frameCount - 10)
        let single = try ClipDecoder.decode(try Self.gopAll, options: DecodeOptions(sampling: .dense(count: 2, stride: 40, start: 5)))
        #expect(single.seeks == 0)                    // one keyframe: one pass
        #expect(contents(single) == [5, 45])
        #expect(single.framesDecoded <= 50)            // stops after the last frame needed (+ decoder delay)
    }

    /// Frame threads hold several packets inside the decoder; seeks must still go forward only
    /// and land on the right frames.
    @Test func manyDecoderThreadsSampleCorrectly() throws {
        for threads in [0, 4, 8] {
            var options = DecodeOptions(sampling: .dense(count: 4, stride: 15, start: 2))
            options.threads = threads
            let clip = try ClipDecoder.decode(try Self.gop10, options: options)
            #expect(contents(clip) == [2, 17, 32, 47], "threads \(threads)")
            #expect(!clip.isDamaged)
        }
    }

    @Test func timestampsFollowDisplayOrder() throws {
        let clip = try ClipDecoder.decode(try Self.vfr, options: DecodeOptions(sampling: .dense(count: 4, stride: 1, start: 2)))
        // Frame n is shown at (n + 2·floor(n/3)) / 25 s.
        let expected = [2, 3, 4, 5].map { Double($0 + 2 * ($0 / 3)) / 25 }
        for (a, b) in zip(clip.timestamps, expected) { #expect(abs(a - b) < 1e-3, "\(clip.timestamps) vs \(expected)") }
    }

    @Test func shortClipIsAnErrorUnlessPadding() throws {
        let sampling = FrameSampling.dense(count: 5, stride: 3, start: 52)  // needs frame 64
        #expect(throws: VideoError.tooShort(path: try Self.gop10, available: 60, needed: 65)) {
            try ClipDecoder.decode(try Self.gop10, options: DecodeOptions(sampling: sampling))
        }
        var options = DecodeOptions(sampling: sampling)
        options.shortClip = .padWithLastFrame
        let clip = try ClipDecoder.decode(try Self.gop10, options: options)
        #expect(contents(clip) == [52, 55, 58, 59, 59])
        #expect(clip.paddedFrames == 2)
        #expect(throws: VideoError.tooShort(path: try Self.gop10, available: 60, needed: 64)) {
            try ClipDecoder.decode(try Self.gop10, options: DecodeOptions(sampling: .uniform(count: 64)))
        }
    }

    @Test func cropAndResize() throws {
        var options = DecodeOptions(sampling: .dense(count: 2, stride: 1, start: 3), resize: .exact(width: 64, height: 32))
        let full = try ClipDecoder.decode(try Self.gop10, options: options)
        options.crop = .center(width: 32, height: 16)
        let cropped = try ClipDecoder.decode(try Self.gop10, options: options)
        #expect(cropped.width == 32 && cropped.height == 16 && cropped.frames == 2)
        for t in 0..<2 {
            for y in 0..<16 {
                for x in 0..<32 {
                    for c in 0..<3 {
                        let a = cropped.data[((t * 16 + y) * 32 + x) * 3 + c]
                        let b = full.data[((t * 32 + y + 8) * 64 + x + 16) * 3 + c]
                        if a != b { Issue.record("crop differs at t\(t) y\(y) x\(x) c\(c)"); return }
                    }
                }
            }
        }
        let short = try ClipDecoder.decode(try Self.gop10, options: DecodeOptions(sampling: .uniform(count: 1), resize: .shortSide(32)))
        #expect(short.width == 64 && short.height == 32)
        #expect(throws: VideoError.self) {
            try ClipDecoder.decode(try Self.gop10, options: DecodeOptions(resize: .exact(width: 16, height: 16), crop: .center(width: 32, height: 32)))
        }
    }
}
