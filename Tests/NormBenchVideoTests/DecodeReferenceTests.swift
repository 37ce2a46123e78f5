import Foundation
import NormBenchVideo
import Testing

/// One clip made with the ffmpeg CLI at test time.
struct ReferenceCase: CustomStringConvertible, Sendable {
    let name: String
    let args: [String]
    var description: String { name }

    static let src = ["-f", "lavfi", "-i"]
    static let all: [ReferenceCase] = [
        .init(name: "h264-bframes.mp4", args: src + ["testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-bf", "3", "-g", "12", "-pix_fmt", "yuv420p"]),
        .init(name: "h264-intra.mp4", args: src + ["testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-g", "1", "-pix_fmt", "yuv420p"]),
        .init(name: "h264-longgop.mp4", args: src + ["testsrc2=size=320x240:rate=25:duration=3", "-c:v", "libx264", "-g", "250", "-x264-params", "scenecut=0", "-pix_fmt", "yuv420p"]),
        .init(name: "vp9-odd.webm", args: src + ["testsrc2=size=321x241:rate=25:duration=1", "-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime", "-pix_fmt", "yuv420p"]),
        .init(name: "h264-10bit.mp4", args: src + ["testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p10le"]),
        .init(name: "h264-444.mp4", args: src + ["testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv444p"]),
        .init(name: "mjpeg-full.avi", args: src + ["testsrc2=size=320x240:rate=25:duration=1", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", "3"]),
        .init(name: "vp9.webm", args: src + ["testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime"]),
        .init(name: "ffv1.mkv", args: src + ["testsrc2=size=320x240:rate=25:duration=1", "-c:v", "ffv1", "-pix_fmt", "yuv420p"]),
        .init(name: "vfr.mkv", args: src + ["testsrc2=size=320x240:rate=25:duration=2", "-vf", "setpts='(N+floor(N/3)*2)/(25*TB)'", "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt", "yuv420p"]),
        .init(name: "audio-first.mp4", args: ["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
                                               "-map", "0:a", "-map", "1:v", "-c:a", "aac", "-c:v", "libx264", "-pix_fmt", "yuv420p"]),
        .init(name: "bt709.mp4", args: src + ["testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                                              "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]),
        .init(name: "h264-fullrange.mp4", args: src + ["testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-color_range", "pc"]),
    ]
}

@Suite("Decoding matches the ffmpeg CLI byte for byte")
struct DecodeReferenceTests {
    /// Output sizes: the native size, a downscale to a square, an odd upscale-ish size.
    static let sizes: [(Int, Int)?] = [nil, (112, 112), (97, 61)]

    @Test(arguments: ReferenceCase.all)
    func matchesCLI(_ c: ReferenceCase) throws {
        let file = try Fixtures.shared.file(c.name, c.args)
        for size in Self.sizes {
            var options = DecodeOptions(autorotate: false)
            if let size { options.resize = .exact(width: size.0, height: size.1) }
            let clip = try ClipDecoder.decode(file, options: options)
            let reference = try FFmpegCLI.referenceFrames(file, width: clip.width, height: clip.height)
            let label = "\(c.name) at \(clip.width)x\(clip.height)"
            #expect(clip.data.count == reference.count, "\(label): \(clip.data.count) bytes, CLI \(reference.count)")
            guard clip.data.count == reference.count else { continue }
            var maxDiff = 0, firstBad = -1, bad = 0
            for i in 0..<reference.count where clip.data[i] != reference[i] {
                let d = abs(Int(clip.data[i]) - Int(reference[i]))
                maxDiff = max(maxDiff, d)
                bad += 1
                if firstBad < 0 { firstBad = i }
            }
            let fb = clip.frameBytes
            #expect(bad == 0, "\(label): \(bad) bytes differ, max |diff| \(maxDiff), first at byte \(firstBad) (frame \(firstBad / max(fb, 1)))")
        }
    }

    /// Sampled frames (after seeks and skipped non-reference frames) equal the CLI's frames at those indices.
    @Test(arguments: ["h264-bframes.mp4", "h264-longgop.mp4", "vp9.webm", "vfr.mkv", "mjpeg-full.avi"])
    func sampledFramesMatchCLI(_ name: String) throws {
        let c = ReferenceCase.all.first { $0.name == name }!
        let file = try Fixtures.shared.file(c.name, c.args)
        let reference = try FFmpegCLI.referenceFrames(file, width: 64, height: 48)
        let frameBytes = 64 * 48 * 3
        let count = reference.count / frameBytes
        for sampling in [FrameSampling.uniform(count: 5), .dense(count: 3, stride: 7, start: 9), .random(count: 4, stride: 3, seed: 3)] {
            let clip = try ClipDecoder.decode(file, options: DecodeOptions(sampling: sampling, resize: .exact(width: 64, height: 48), autorotate: false))
            #expect(clip.frameIndices == sampling.indices(frameCount: count))
            for (t, index) in clip.frameIndices.enumerated() {
                let ours = clip.data[(t * frameBytes)..<((t + 1) * frameBytes)]
                let theirs = reference[(index * frameBytes)..<((index + 1) * frameBytes)]
                #expect(ours.elementsEqual(theirs), "\(name) \(sampling): output frame \(t) (source frame \(index)) differs from the CLI")
            }
        }
    }

    /// Containers that need care: an mp4 cut with stream copy (edit list: packets before the
    /// cut are decoded but never shown) and MPEG-TS (timestamps start late; seeking by
    /// timestamp is imprecise, so the loader never rewinds or seeks it).
    @Test(arguments: [("edit-list.mp4", ["-ss", "1.3"]), ("mpegts.ts", [])])
    func streamCopiedContainersMatchCLI(_ name: String, _ inputOptions: [String]) throws {
        let source = try Fixtures.shared.file("gop25-4s.mp4", ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
                                                              "-c:v", "libx264", "-g", "25", "-bf", "3", "-pix_fmt", "yuv420p"])
        let file = try Fixtures.shared.file(name, inputOptions + ["-i", source, "-c", "copy"])
        let reference = try FFmpegCLI.referenceFrames(file, width: 64, height: 48)
        let clip = try ClipDecoder.decode(file, options: DecodeOptions(resize: .exact(width: 64, height: 48)))
        #expect(clip.frames * clip.frameBytes == reference.count, "\(name): \(clip.frames) frames, CLI \(reference.count / (64 * 48 * 3))")
        #expect(clip.data == reference, "\(name): frames differ from the CLI")
        #expect(!clip.isDamaged, "\(name): lost \(clip.lostPackets) packets, \(clip.corruptFrames) damaged frames")
        let sampled = try ClipDecoder.decode(file, options: DecodeOptions(sampling: .uniform(count: 4), resize: .exact(width: 64, height: 48)))
        for (t, index) in sampled.frameIndices.enumerated() {
            #expect(sampled.data[(t * sampled.frameBytes)..<((t + 1) * sampled.frameBytes)]
                .elementsEqual(reference[(index * sampled.frameBytes)..<((index + 1) * sampled.frameBytes)]), "\(name): sampled frame \(index)")
        }
    }
}
