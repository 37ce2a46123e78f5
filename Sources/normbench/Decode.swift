import ArgumentParser
import Foundation
import NormBenchVideo

/// `normbench decode`: decode clips with a sampling spec, print a summary, optionally
/// write `.npy` tensors, a PNG contact sheet and JSON.
///
/// Exit codes: 0 every clip decoded cleanly; 1 at least one clip failed;
/// 2 invalid option values (or a request no file could meet, e.g. too large for memory);
/// 3 every clip decoded but the decoder reported damage or a file ends early (every
/// good frame kept). Unknown options: 2 as well (`NormBench.main`).
struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode video clips into frame tensors; print what was decoded and how fast.",
        discussion: """
        Exit codes: 0 ok; 1 some clip failed (each failure is one line on stderr); \
        2 invalid option value; 3 all clips decoded but the decoder reported damage or a file ends early \
        (every good frame kept, the count on stderr). A frame is what the decoder outputs: the frames \
        `ffmpeg -fps_mode passthrough` writes.
        """)

    @Argument(help: "Video files.")
    var files: [String] = []

    @Option(help: "Frame sampling: all, uniform (N evenly spread), dense (N from --start every --stride), random (N every --stride from a seeded random start).")
    var sampling: String = "all"
    @Option(parsing: .unconditional, help: "Frames per clip (uniform, dense, random; default 16).")
    var frames: Int?
    @Option(parsing: .unconditional, help: "Frames between samples (dense, random; default 1).")
    var stride: Int?
    @Option(parsing: .unconditional, help: "First frame (dense; default 0).")
    var start: Int?
    @Option(help: "Seed for random sampling and --random-crop.")
    var seed: UInt64 = 0
    @Option(help: ArgumentHelp("Output size: WxH (exact) or S (shorter side S, aspect kept). Default: the video's size.", valueName: "WxH|S"))
    var size: String?
    @Option(help: ArgumentHelp("Crop after scaling: WxH or S (square).", valueName: "WxH|S"))
    var crop: String?
    @Flag(help: "Take the crop at a seeded random offset instead of the centre.")
    var randomCrop = false
    @Option(help: "Scaling filter: bilinear, bicubic, area, nearest.")
    var interpolation: String = "bilinear"
    @Flag(help: "Ignore rotation metadata (default: rotate as the ffmpeg CLI does).")
    var noAutorotate = false
    @Flag(help: "Clips shorter than asked: repeat the last frame instead of failing.")
    var pad = false
    @Option(parsing: .unconditional, help: "Decoder threads per clip, 0...4 × CPUs (0 = FFmpeg's choice). Default: CPUs / clips decoded at once, at least 1.")
    var decoderThreads: Int?
    @Option(parsing: .unconditional, help: "Clips decoded in parallel, 1...4 × CPUs (default: number of CPUs).")
    var jobs: Int?
    @Option(name: .customLong("threads"), parsing: .unconditional, help: .hidden)
    var threadsDeprecated: Int?
    @Option(name: .customLong("workers"), parsing: .unconditional, help: .hidden)
    var workersDeprecated: Int?
    @Flag(help: "Stop at the first clip that fails; write no outputs then.")
    var strict = false

    @Option(help: ArgumentHelp("Write each clip as DIR/<name>.npy.", valueName: "dir"))
    var npy: String?
    @Option(help: "Element type of .npy files: uint8 or float32 (x/255, then --mean/--std).")
    var dtype: String = "uint8"
    @Option(help: "Tensor layout of .npy files: thwc (T×H×W×C) or cthw (C×T×H×W).")
    var layout: String = "thwc"
    @Option(help: "float32 only: per-channel mean R,G,B subtracted after x/255 (e.g. 0.45,0.45,0.45).")
    var mean: String?
    @Option(help: "float32 only: per-channel std R,G,B divided by (e.g. 0.225,0.225,0.225).")
    var std: String?
    @Option(help: ArgumentHelp("Write a PNG contact sheet of the sampled frames (several clips: FILE-<clip>.png each).", valueName: "file.png"))
    var sheet: String?
    @Flag(help: "Print metadata and timings as JSON instead of the summary lines.")
    var json = false

    /// The old spellings: `--workers` (now `--jobs`: `run --workers` is the simulated
    /// data-parallel workers) and `--threads` (now `--decoder-threads`: elsewhere
    /// `--threads` is a list of compute thread counts).
    mutating func validate() throws {
        try validating {
            jobs = try deprecatedAlias(workersDeprecated, jobs, old: "--workers", new: "--jobs")
            decoderThreads = try deprecatedAlias(threadsDeprecated, decoderThreads, old: "--threads", new: "--decoder-threads")
            workersDeprecated = nil
            threadsDeprecated = nil
            _ = try DecodeRequest(self)
        }
    }

    func run() throws {
        let request = try DecodeRequest(self)
        if let npy { try DecodeRequest.createFolder(npy) }
        Deprecation.flush()
        let names = DecodeOutputs.uniqueNames(files)
        let streams = request.streamsFrames(npy: npy, sheet: sheet)
            ? DecodeOutputs.streams(files: files, names: names, npy: npy, sheet: sheet, request: request) : nil
        let clock = ContinuousClock()
        let started = clock.now
        var sinkFor: (@Sendable (Int) -> ClipDecoder.FrameSink?)?
        if let streams {
            sinkFor = { i in { frame throws(VideoError) in try streams[i].append(frame) } }
        } else if npy == nil && sheet == nil {
            // Nothing is written: every frame is still decoded, converted and scaled
            // (the summary reports them), but none is kept, so memory stays flat and no
            // time goes to growing a buffer nobody reads.
            sinkFor = { _ in { _ throws(VideoError) in } }
        }
        let results = ClipLoader.decode(files, options: request.options, workers: request.jobs, stopOnFailure: strict,
                                        frameSink: sinkFor)
        let wall = DecodeSupport.seconds(clock.now - started)

        var failures: [VideoError] = []
        var damaged = 0
        for (file, result) in zip(files, results) {
            switch result {
            case .failure(let error)?:
                failures.append(error)
                printError("normbench decode: \(error)")
            case .success(let clip)?:
                if let truncation = clip.truncation {
                    damaged += 1
                    printError("normbench decode: \(file): warning: file is truncated: \(truncation), all kept"
                        + (clip.lostPackets > 0 ? ", \(clip.lostPackets) packets lost to decode errors" : "")
                        + "; re-download or re-encode the file")
                } else if clip.isDamaged {
                    damaged += 1
                    printError("normbench decode: \(file): warning: the decoder reported damage: "
                        + "\(clip.lostPackets) packets lost to decode errors, \(clip.corruptFrames) of \(clip.frames) frames flagged damaged "
                        + "(kept; \(clip.frames - clip.corruptFrames) good); re-encode the file for clean data")
                }
            case nil:
                break
            }
        }
        let clips = results.compactMap { r -> Clip? in if case .success(let c)? = r { return c } else { return nil } }
        let skipped = results.filter { $0 == nil }.count

        var outputs = DecodeOutputs.Written(npy: Array(repeating: nil, count: files.count),
                                            sheet: Array(repeating: nil, count: files.count))
        if !(strict && !failures.isEmpty) {
            do {
                outputs = try DecodeOutputs.write(results, names: names, request: request, npy: npy, sheet: sheet, streams: streams)
            } catch {
                throw CommandFailure(error)
            }
        } else {
            streams?.forEach { $0.discard() }
        }
        if json {
            print(try DecodeReport(files: files, results: results, outputs: outputs, wall: wall).json())
        } else {
            for (result, output) in zip(results, outputs.npy) {
                if case .success(let clip)? = result { print(DecodeReport.line(clip, output: output)) }
            }
            print(DecodeReport.total(clips: clips, failures: failures, skipped: skipped, wall: wall))
        }
        // A request the file cannot meet (too large for memory, overflowing indices) is a usage error.
        if !failures.isEmpty && failures.allSatisfy({ $0.kind == "invalid-request" }) { throw ExitCode(2) }
        if !failures.isEmpty { throw ExitCode(1) }
        if damaged > 0 { throw ExitCode(3) }
    }
}
