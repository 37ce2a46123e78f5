import Foundation
import NormBenchVideo
import Testing

/// Streams whose packets are not pictures one to one, made with the ffmpeg CLI at test
/// time. A frame is what the decoder outputs: every one must decode to exactly the
/// frames `ffmpeg -fps_mode passthrough` writes (count and RGB bytes), in full and
/// sampled, with nothing substituted and no damage reported.
@Suite("Frames are what the decoder outputs")
struct DecoderFramesTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        /// Makes the file at the given path.
        let make: @Sendable (String) throws -> Void
        var description: String { name }
    }

    static let src = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4"]

    static let cases: [Case] = [
        // H.264 with B-frames in MPEG-TS, the head cut off at a TS packet boundary a third
        // of the way into a 25-frame GOP: the packets before the next IDR cannot be decoded
        // (no parameter sets, missing references), so the CLI writes 50 of 72 packets.
        Case(name: "cut-mid-gop.ts") { path in
            let full = path + ".full.ts"
            try FFmpegCLI.run(src + ["-c:v", "libx264", "-bf", "3", "-g", "25", "-pix_fmt", "yuv420p", full])
            let data = try Data(contentsOf: URL(fileURLWithPath: full))
            let cut = (data.count / 3 / 188) * 188
            try data.suffix(from: cut).write(to: URL(fileURLWithPath: path))
        },
        // MPEG-4 Part 2 with B-frames in AVI: libxvid writes packed B-frames (a P and a B
        // VOP in one chunk, then a not-coded placeholder VOP); the header lists 100 frames.
        Case(name: "xvid-packed.avi") { path in
            try FFmpegCLI.run(src + ["-c:v", "libxvid", "-bf", "2", path])
        },
        // The same codec from FFmpeg's own encoder (unpacked B-frames, XVID tag).
        Case(name: "mpeg4-bframes.avi") { path in
            try FFmpegCLI.run(src + ["-c:v", "mpeg4", "-bf", "2", "-vtag", "XVID", path])
        },
        // Raw elementary streams with B-frames: no container, timestamps from the parser.
        Case(name: "bframes.m1v") { path in
            try FFmpegCLI.run(src + ["-c:v", "mpeg1video", "-bf", "2", "-f", "mpeg1video", path])
        },
        Case(name: "bframes.m2v") { path in
            try FFmpegCLI.run(src + ["-c:v", "mpeg2video", "-bf", "2", "-f", "mpeg2video", path])
        },
        // AVI with empty index entries: frames with gaps in their timestamps make the AVI
        // muxer write zero-size "repeat" chunks (the header lists 96 frames, 20 hold a picture).
        Case(name: "empty-chunks.avi") { path in
            try FFmpegCLI.run(src + ["-vf", "select='not(mod(n\\,5))'", "-fps_mode", "passthrough", "-c:v", "cinepak", path])
        },
        // Decoder drain: H.264 with 3 B-frames and frame threads holds several frames at
        // end of stream; they only come out when the decoder is drained.
        Case(name: "drain.mkv") { path in
            try FFmpegCLI.run(src + ["-c:v", "libx264", "-bf", "3", "-g", "300", "-pix_fmt", "yuv420p", path])
        },
    ]

    static func file(_ c: Case) throws -> String {
        try Fixtures.shared.make(c.name) { path in try c.make(path) }
    }

    static func compare(_ clip: Clip, _ reference: [UInt8], indices: [Int], label: String) {
        let fb = clip.frameBytes
        #expect(clip.frames == indices.count, "\(label): \(clip.frames) frames, expected \(indices.count)")
        for (t, index) in indices.enumerated() where t < clip.frames {
            let ours = clip.data[(t * fb)..<((t + 1) * fb)]
            let theirs = reference[(index * fb)..<((index + 1) * fb)]
            if !ours.elementsEqual(theirs) {
                Issue.record("\(label): output frame \(t) (source frame \(index)) differs from the CLI's frame")
                return
            }
        }
    }

    @Test(arguments: cases)
    func fullDecodeMatchesCLI(_ c: Case) throws {
        let file = try Self.file(c)
        for threads in [1, 3] {
            let clip = try ClipDecoder.decode(file, options: DecodeOptions(resize: .exact(width: 64, height: 48), threads: threads))
            let reference = try FFmpegCLI.referenceFrames(file, width: 64, height: 48)
            let count = reference.count / clip.frameBytes
            #expect(clip.data.count == reference.count, "\(c.name), \(threads) threads: \(clip.frames) frames, CLI \(count)")
            #expect(clip.info.frameCount == count)
            #expect(!clip.isDamaged && clip.paddedFrames == 0, "\(c.name): lost \(clip.lostPackets), damaged \(clip.corruptFrames)")
            Self.compare(clip, reference, indices: Array(0..<count), label: "\(c.name) all, \(threads) threads")
        }
    }

    @Test(arguments: cases)
    func sampledFramesMatchCLI(_ c: Case) throws {
        let file = try Self.file(c)
        let reference = try FFmpegCLI.referenceFrames(file, width: 64, height: 48)
        let count = reference.count / (64 * 48 * 3)
        let info = try VideoInfo.probe(file)
        #expect(info.frameCount == count, "\(c.name): probe counts \(info.frameCount ?? -1) frames, CLI \(count)")
        for sampling in [FrameSampling.uniform(count: 5), .dense(count: 4, stride: 3, start: 2), .random(count: 3, stride: 2, seed: 7),
                         .dense(count: 2, stride: 1, start: count - 2)] {
            let clip = try ClipDecoder.decode(file, options: DecodeOptions(sampling: sampling, resize: .exact(width: 64, height: 48)))
            #expect(clip.frameIndices == sampling.indices(frameCount: count), "\(c.name) \(sampling)")
            #expect(!clip.isDamaged && clip.paddedFrames == 0)
            Self.compare(clip, reference, indices: clip.frameIndices, label: "\(c.name) \(sampling) (\(clip.frameIndex) index)")
            // A stream cut mid-GOP keeps the cheap packet index: its packets before the first
            // keyframe are left out, and every decoded frame confirms the rest.
            if c.name == "cut-mid-gop.ts" { #expect(clip.frameIndex == "packets", "\(sampling)") }
        }
    }

    /// A trusted packet index that the decoder contradicts (packets lost to corruption mid-
    /// stream: the mp4 lists 50 packets, the decoder returns fewer frames) is caught while
    /// sampling, and the sample is taken from the decoder's own frames.
    @Test func indexContradictedByTheDecoderFallsBack() throws {
        let file = try Fixtures.shared.make("corrupt-mid.mp4") { path in
            let good = path + ".good.mp4"
            try FFmpegCLI.run(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264",
                               "-g", "10", "-pix_fmt", "yuv420p", good])
            var data = try Data(contentsOf: URL(fileURLWithPath: good))
            let start = data.count / 3
            for i in Swift.stride(from: start, to: start + 3000, by: 7) { data[i] ^= 0xA5 }
            try data.write(to: URL(fileURLWithPath: path))
        }
        let full = try ClipDecoder.decode(file, options: DecodeOptions(resize: .exact(width: 32, height: 24)))
        let cli = try FFmpegCLI.referenceFrames(file, width: 32, height: 24).count / full.frameBytes
        #expect(full.frames == cli && full.frames < 50 && full.isDamaged, "\(full.frames) frames, CLI \(cli)")
        let sampled = try ClipDecoder.decode(file, options: DecodeOptions(sampling: .uniform(count: 8), resize: .exact(width: 32, height: 24)))
        #expect(sampled.frameIndex == "decoded" && sampled.info.frameCount == full.frames, "\(sampled.frameIndex), \(sampled.info.frameCount ?? -1)")
        #expect(sampled.frameIndices == FrameSampling.uniform(count: 8).indices(frameCount: full.frames))
        for (t, index) in sampled.frameIndices.enumerated() {
            let fb = full.frameBytes
            #expect(sampled.data[(t * fb)..<((t + 1) * fb)].elementsEqual(full.data[(index * fb)..<((index + 1) * fb)]),
                    "sampled frame \(t) is not frame \(index) of the full decode")
        }
    }

    /// A single-GOP stream whose head (and only keyframe) was cut off: the demuxer finds no
    /// picture size and the decoder no frame. A clean error, never a trap.
    @Test func streamWithoutAKeyframeIsAnError() throws {
        let file = try Fixtures.shared.make("no-keyframe.ts") { path in
            let full = path + ".full.ts"
            try FFmpegCLI.run(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=10", "-c:v", "libx264",
                               "-pix_fmt", "yuv420p", "-x264-params", "keyint=300:scenecut=0", full])
            let data = try Data(contentsOf: URL(fileURLWithPath: full))
            try data.suffix(from: (data.count / 10 / 188) * 188).write(to: URL(fileURLWithPath: path))
        }
        for sampling in [FrameSampling.all, .uniform(count: 4)] {
            #expect(throws: VideoError.self, "\(sampling)") {
                _ = try ClipDecoder.decode(file, options: DecodeOptions(sampling: sampling, resize: .shortSide(112)))
            }
            do {
                _ = try ClipDecoder.decode(file, options: DecodeOptions(sampling: sampling, resize: .shortSide(112)))
            } catch {
                #expect(error.kind == "no-frames", "\(error)")
            }
        }
    }

    /// Frames streamed to a sink are the frames a full decode keeps in memory.
    @Test func streamedFramesEqualKeptFrames() throws {
        let file = try Self.file(Self.cases[0])
        let options = DecodeOptions(resize: .exact(width: 32, height: 24))
        let kept = try ClipDecoder.decode(file, options: options)
        nonisolated(unsafe) var streamed: [UInt8] = []
        let clip = try ClipDecoder.decode(file, options: options) { frame throws(VideoError) in streamed.append(contentsOf: frame) }
        #expect(clip.data.isEmpty && clip.frames == kept.frames)
        #expect(streamed == kept.data)
    }
}
