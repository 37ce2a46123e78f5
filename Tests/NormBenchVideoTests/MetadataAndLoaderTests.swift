import Foundation
import NormBenchVideo
import Testing

@Suite("Metadata and the parallel loader")
struct MetadataAndLoaderTests {
    static func fixture(_ name: String) throws -> String {
        let c = ReferenceCase.all.first { $0.name == name }!
        return try Fixtures.shared.file(c.name, c.args)
    }

    @Test func probeReportsHeadersAndScan() throws {
        let h264 = try VideoInfo.probe(try Self.fixture("h264-bframes.mp4"))
        #expect(h264.container.contains("mp4") && h264.codec == "h264" && h264.pixelFormat == "yuv420p")
        #expect(h264.width == 320 && h264.height == 240 && h264.rotation == 0)
        #expect(h264.averageFrameRate == 25 && h264.nominalFrameRate == 25)
        #expect(abs(h264.duration - 2) < 0.05, "duration \(h264.duration)")
        #expect(h264.frameCount == 50 && h264.headerFrameCount == 50)
        #expect(h264.keyframes == [0, 12, 24, 36, 48])

        let bt709 = try VideoInfo.probe(try Self.fixture("bt709.mp4"))
        #expect(bt709.colorMatrix == "bt709")
        let mjpeg = try VideoInfo.probe(try Self.fixture("mjpeg-full.avi"))
        #expect(mjpeg.pixelFormat == "yuvj420p" && mjpeg.colorRange == "pc")
        let tenBit = try VideoInfo.probe(try Self.fixture("h264-10bit.mp4"), scan: false)
        #expect(tenBit.pixelFormat == "yuv420p10le" && tenBit.frameCount == nil && tenBit.keyframes == nil)
        let vfr = try VideoInfo.probe(try Self.fixture("vfr.mkv"))
        #expect(vfr.frameCount == 50 && vfr.headerFrameCount == nil)
        let audioFirst = try VideoInfo.probe(try Self.fixture("audio-first.mp4"))
        #expect(audioFirst.codec == "h264" && audioFirst.frameCount == 25)
    }

    @Test func loaderMatchesSequentialAndIsolatesFailures() throws {
        let files = [try Self.fixture("h264-bframes.mp4"), Fixtures.shared.dir + "/missing.mp4",
                     try Self.fixture("vp9.webm"), try Self.fixture("ffv1.mkv"), Fixtures.shared.dir]
        let options = DecodeOptions(sampling: .uniform(count: 4), resize: .exact(width: 32, height: 24))
        for workers in [1, 2, 3] {
            let results = ClipLoader.decode(files, options: options, workers: workers)
            #expect(results.count == files.count)
            for (file, result) in zip(files, results) {
                switch result {
                case .success(let clip)?:
                    let sequential = try ClipDecoder.decode(file, options: options)
                    #expect(clip.data == sequential.data, "\(file) with \(workers) workers")
                case .failure(let error)?:
                    #expect(error.path == file)
                    #expect(error.kind == (file.hasSuffix("missing.mp4") ? "file-not-found" : "not-a-file"))
                case nil:
                    Issue.record("\(file): no result without stopOnFailure")
                }
            }
        }
        // Streaming form: every clip handed over exactly once, same results.
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var indices: [Int] = []
        }
        let seen = Seen()
        ClipLoader.forEach(files, options: options, workers: 2) { i, _ in
            seen.lock.lock(); seen.indices.append(i); seen.lock.unlock()
        }
        #expect(seen.indices.sorted() == Array(0..<files.count))
        let strict = ClipLoader.decode([Fixtures.shared.dir + "/missing.mp4"] + files, options: options, workers: 1, stopOnFailure: true)
        #expect(strict.dropFirst().allSatisfy { $0 == nil })
    }

    @Test func threadedDecodersGiveTheSameFrames() throws {
        let file = try Self.fixture("h264-bframes.mp4")
        var options = DecodeOptions(sampling: .dense(count: 6, stride: 5, start: 3), resize: .exact(width: 40, height: 30))
        let one = try ClipDecoder.decode(file, options: options)
        options.threads = 0
        let auto = try ClipDecoder.decode(file, options: options)
        #expect(one.data == auto.data)
    }

    @Test func errorsAreOneLineWithPathAndHint() throws {
        let missing = Fixtures.shared.dir + "/nothing-here.mp4"
        do {
            _ = try ClipDecoder.decode(missing)
            Issue.record("expected an error")
        } catch {
            #expect(error == .fileNotFound(path: missing))
            #expect(!error.description.contains("\n") && error.description.hasPrefix(missing) && error.description.contains("check the path"))
        }
        #expect(throws: VideoError.invalidRequest(path: missing, problem: "frames must be at least 1, got 0; e.g. --frames 16")) {
            _ = try ClipDecoder.decode(missing, options: DecodeOptions(sampling: .uniform(count: 0)))
        }
    }
}
