internal import CFFmpeg
import Foundation

/// Decodes one clip: open, index the frames, sample, seek or decode forward,
/// scale/rotate/crop to packed RGB24.
///
/// A frame is what the decoder outputs; the frame index describes exactly those
/// frames (see `FrameIndex`). Header counts and durations are hints only, and no
/// frame is ever substituted: padding happens only with `ShortClipPolicy.padWithLastFrame`.
///
/// Seeking (trusted packet index only): the targets are visited in display order.
/// Before decoding towards a target, if the keyframe at or before it lies more than
/// `seekThreshold` frames past the decoder's position, the decoder seeks (forward) to
/// that keyframe; otherwise it decodes forward. It never seeks backward and stops
/// after the last target.
public enum ClipDecoder {
    /// Receives each output frame (H×W×3 bytes) in order; used to stream frames to a file.
    public typealias FrameSink = (UnsafeBufferPointer<UInt8>) throws(VideoError) -> Void

    /// Decodes `path` as `options` asks.
    /// - Parameter frameSink: when given, every output frame is handed to it as soon as it
    ///   is ready and `Clip.data` stays empty (memory stays flat in clip length for `.all`).
    /// - Returns: the clip (T×H×W×3 uint8), metadata, counts and timings.
    /// - Throws: `VideoError` for unreadable files, clips that are too short
    ///   (unless padding), truncated files and invalid requests.
    public static func decode(_ path: String, options: DecodeOptions = DecodeOptions(),
                              frameSink: FrameSink? = nil) throws(VideoError) -> Clip {
        try options.validate(path: path)
        var clock = Stopwatch()
        var timings = DecodeTimings()

        let source = try VideoSource(path: path, threads: options.threads)
        var info = source.headerInfo()
        if info.width <= 0 || info.height <= 0 {
            // The demuxer found no picture size (a stream cut before its first parameter
            // sets): take it from the first frame the decoder returns, or fail cleanly.
            let first = try VideoSource(path: path, threads: options.threads)
            guard try first.nextFrame() else { throw .noFrames(path: path, lostPackets: first.lostPackets + first.leadingErrors) }
            info.width = Int(first.currentFrame.pointee.width)
            info.height = Int(first.currentFrame.pointee.height)
        }
        timings.open = clock.lap()

        let scan = try source.scan()
        let truncation = truncationMessage(source, scan: scan, info: info)
        // A sample over a file that ends early would not be the sample asked for: refuse it.
        // A full decode keeps every good frame and reports the rest (`Clip.truncation`).
        if let truncation, options.sampling != .all {
            throw .truncated(path: path, framesDecoded: scan.packets,
                             framesExpected: max(info.headerFrameCount ?? scan.packets, scan.packets), message: truncation)
        }
        let renderer = try FrameRenderer(info: info, options: options, path: path)
        let frameBytes = renderer.frameBytes

        if options.sampling == .all {
            if frameSink == nil { try checkMemory(frames: scan.packets, frameBytes: frameBytes, path: path, streaming: true) }
            timings.scan = clock.lap()
            var run = SequentialRun(frameBytes: frameBytes, keepData: frameSink == nil, capacity: scan.packets)
            try run.decodeAll(source, renderer: renderer, sink: frameSink, info: info)
            timings.decode = clock.lap()
            if run.pts.isEmpty { throw .noFrames(path: path, lostPackets: source.lostPackets + source.leadingErrors) }
            info.frameCount = run.pts.count
            info.keyframes = run.keyframes
            timings.total = clock.total()
            let ended = truncation ?? source.readError
            return Clip(frames: run.pts.count, height: renderer.window.height, width: renderer.window.width, channels: 3,
                        data: run.data, frameIndices: Array(0..<run.pts.count), timestamps: run.timestamps,
                        info: info, framesDecoded: run.pts.count, seeks: 0, lostPackets: source.lostPackets,
                        corruptFrames: source.corruptFrames, undecodableLeadingPackets: source.leadingErrors,
                        paddedFrames: 0, frameIndex: "sequential",
                        truncation: ended.map { "\($0); \(run.pts.count) good frames" + (info.headerFrameCount.map { " (the header lists \($0))" } ?? "") },
                        timings: timings)
        }

        var index = FrameIndex.packetsAreFrames(scan, info: info, verified: true)
            ? FrameIndex(packets: scan, droppingLeading: true) : try FrameIndex(decoding: path, threads: options.threads)
        var plan = try SamplePlan(options: options, frameCount: index.count, frameBytes: frameBytes, path: path)
        timings.scan = clock.lap()

        var outcome: SampledRun?
        if index.kind == .packets {
            outcome = try SampledRun.byTimestamp(source, index: index, plan: plan, renderer: renderer, options: options)
        }
        if outcome == nil {
            // The decoder's output disagreed with the packet index (or the index was built by
            // decoding already): count the decoder's frames, then take them by ordinal.
            if index.kind == .packets {
                index = try FrameIndex(decoding: path, threads: options.threads)
                plan = try SamplePlan(options: options, frameCount: index.count, frameBytes: frameBytes, path: path)
            }
            let fresh = try VideoSource(path: path, threads: options.threads)
            outcome = try SampledRun.byOrdinal(fresh, index: index, plan: plan, renderer: renderer)
        }
        guard let run = outcome else { throw .noFrames(path: path, lostPackets: source.lostPackets) }
        timings.decode = clock.lap()
        info.frameCount = index.count
        info.keyframes = index.keyframes
        let firstPTS = index.pts.first { $0 != nb_av_nopts_value() }
        let rate = info.averageFrameRate > 0 ? info.averageFrameRate : (info.nominalFrameRate > 0 ? info.nominalFrameRate : 1)
        let timestamps = plan.wanted.map { i -> Double in
            let p = index.pts[i]
            guard let firstPTS, p != nb_av_nopts_value() else { return Double(i) / rate }
            return Double(p - firstPTS) * source.timeBase
        }
        var data = run.data
        if let frameSink {
            try data.withUnsafeBufferPointer { all throws(VideoError) in
                for t in 0..<plan.wanted.count {
                    try frameSink(UnsafeBufferPointer(rebasing: all[(t * frameBytes)..<((t + 1) * frameBytes)]))
                }
            }
            data = []
        }
        timings.total = clock.total()
        return Clip(frames: plan.wanted.count, height: renderer.window.height, width: renderer.window.width, channels: 3,
                    data: data, frameIndices: plan.wanted, timestamps: timestamps, info: info,
                    framesDecoded: run.decoded, seeks: run.seeks, lostPackets: run.lostPackets,
                    corruptFrames: run.corruptFrames, undecodableLeadingPackets: run.leadingErrors,
                    paddedFrames: plan.padded, frameIndex: index.kind.rawValue, truncation: nil, timings: timings)
    }

    /// Why the file ends before its data does, or nil: the demuxer stopped on an error; an
    /// mp4/mov holds fewer packets than its exact sample table lists (the mov demuxer reports
    /// a cut-off file only as warnings); or the demuxer's last word says so (Matroska's "File
    /// ended prematurely"). Other containers' counts are hints (AVI counts empty chunks).
    static func truncationMessage(_ source: VideoSource, scan: VideoSource.PacketIndex, info: VideoInfo) -> String? {
        if let message = source.readError { return message }
        let log = source.scanLastLog
        if info.container.hasPrefix("mov,"), let expected = info.headerFrameCount, scan.packets < expected {
            return log.isEmpty ? "the header lists \(expected) frames, the file holds \(scan.packets)" : log
        }
        let lower = log.lowercased()
        if ["ended prematurely", "partial file", "truncated"].contains(where: { lower.contains($0) }) { return log }
        return nil
    }

    /// Refuses an output that cannot fit in memory, before allocating it.
    static func checkMemory(frames: Int, frameBytes: Int, path: String, streaming: Bool = false) throws(VideoError) {
        let (bytes, overflow) = frames.multipliedReportingOverflow(by: frameBytes)
        let limit = Int(min(ProcessInfo.processInfo.physicalMemory, UInt64(Int.max)))
        if overflow || bytes > limit {
            let gb = overflow ? "more than 9e18 bytes" : String(format: "%.1f GB", Double(bytes) / 1e9)
            let fix = streaming ? "write frames as they are decoded (--npy DIR) or choose a smaller --size"
                                : "ask for fewer frames or a smaller --size"
            throw .invalidRequest(path: path, problem: "\(frames) frames of \(frameBytes) bytes need \(gb), more than this "
                                  + String(format: "machine's %.1f GB of memory; ", Double(limit) / 1e9) + fix)
        }
    }
}

/// Display-order indices to produce, checked against the clip length and memory before any allocation.
struct SamplePlan {
    var wanted: [Int]
    var padded = 0
    /// Distinct source frames, ascending, and the output slots each fills.
    var targets: [Int]
    var slots: [Int: [Int]] = [:]

    init(options: DecodeOptions, frameCount: Int, frameBytes: Int, path: String) throws(VideoError) {
        let sampling = options.sampling
        if frameCount == 0 { throw .noFrames(path: path, lostPackets: 0) }
        guard let last = sampling.lastIndex(frameCount: frameCount) else {
            throw .invalidRequest(path: path, problem: "the sampling's last frame index overflows; ask for fewer frames, a smaller --stride or --start")
        }
        if last >= frameCount && options.shortClip == .error {
            throw .tooShort(path: path, available: frameCount, needed: last == Int.max ? last : last + 1)
        }
        try ClipDecoder.checkMemory(frames: sampling.count ?? frameCount, frameBytes: frameBytes, path: path)
        wanted = sampling.indices(frameCount: frameCount)
        for i in wanted.indices where wanted[i] >= frameCount {
            wanted[i] = frameCount - 1
            padded += 1
        }
        targets = Array(Set(wanted)).sorted()
        for (slot, frame) in wanted.enumerated() { slots[frame, default: []].append(slot) }
    }
}
