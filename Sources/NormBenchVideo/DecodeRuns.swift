internal import CFFmpeg
import Dispatch

/// A full decode in display order: every frame the decoder returns, kept or streamed.
struct SequentialRun {
    let frameBytes: Int
    let keepData: Bool
    var data: [UInt8] = []
    var pts: [Int64] = []
    var keyframes: [Int] = []
    var timestamps: [Double] = []

    init(frameBytes: Int, keepData: Bool, capacity: Int) {
        self.frameBytes = frameBytes
        self.keepData = keepData
        // The packet count is a hint: reserve for it, grow past it if the decoder returns more.
        if keepData { data.reserveCapacity(capacity * frameBytes) }
    }

    mutating func decodeAll(_ source: VideoSource, renderer: FrameRenderer, sink: ClipDecoder.FrameSink?,
                            info: VideoInfo) throws(VideoError) {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: frameBytes)
        defer { buffer.deallocate() }
        let frame = UnsafeBufferPointer(start: buffer, count: frameBytes)
        let nopts = nb_av_nopts_value()
        var firstPTS: Int64?
        let rate = info.averageFrameRate > 0 ? info.averageFrameRate : (info.nominalFrameRate > 0 ? info.nominalFrameRate : 1)
        while try source.nextFrame() {
            try renderer.render(source.currentFrame, into: buffer)
            if let sink { try sink(frame) } else { data.append(contentsOf: frame) }
            let p = source.framePTS
            if source.frameIsKey { keyframes.append(pts.count) }
            if p != nopts && firstPTS == nil { firstPTS = p }
            if let firstPTS, p != nopts {
                timestamps.append(Double(p - firstPTS) * source.timeBase)
            } else {
                timestamps.append(Double(pts.count) / rate)
            }
            pts.append(p)
        }
    }
}

/// Sampled frames decoded into their output slots.
struct SampledRun {
    var data: [UInt8]
    var decoded = 0
    var seeks = 0
    var lostPackets = 0
    var corruptFrames = 0
    var leadingErrors = 0

    private init(plan: SamplePlan, frameBytes: Int) {
        data = [UInt8](repeating: 0, count: plan.wanted.count * frameBytes)
    }

    /// Renders the source's current frame into every slot that wants it.
    private mutating func place(_ source: VideoSource, slots: [Int], renderer: FrameRenderer,
                                buffer: UnsafeMutablePointer<UInt8>) throws(VideoError) {
        try renderer.render(source.currentFrame, into: buffer)
        let fb = renderer.frameBytes
        data.withUnsafeMutableBufferPointer { out in
            for slot in slots { (out.baseAddress! + slot * fb).update(from: buffer, count: fb) }
        }
    }

    private mutating func finish(_ source: VideoSource) {
        lostPackets = source.lostPackets
        corruptFrames = source.corruptFrames
        leadingErrors = source.leadingErrors
    }

    /// Seeks and skips by timestamp along a packet index. Every decoded frame is checked
    /// against the index: returns nil when the decoder's output disagrees with it (a frame
    /// whose timestamp the index lacks, a target passed over, the stream ending early),
    /// so the caller can fall back to counting the decoder's frames.
    static func byTimestamp(_ source: VideoSource, index: FrameIndex, plan: SamplePlan,
                            renderer: FrameRenderer, options: DecodeOptions) throws(VideoError) -> SampledRun? {
        var run = SampledRun(plan: plan, frameBytes: renderer.frameBytes)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: renderer.frameBytes)
        defer { buffer.deallocate() }
        if plan.targets.count < index.count { source.wantedPTS = Set(plan.targets.map { index.pts[$0] }) }
        let canSeek = source.canSeekPrecisely
        var position = 0          // display index of the next frame the decoder will return
        var havePTS: Int64? = nil // pts of the frame held by the decoder
        var ti = 0
        let rank = { (p: Int64) -> Int in lowerBound(index.pts, p) }
        while ti < plan.targets.count {
            let target = plan.targets[ti]
            let targetPTS = index.pts[target]
            if let p = havePTS, p >= targetPTS {
                if p != targetPTS { return nil }
                try run.place(source, slots: plan.slots[target]!, renderer: renderer, buffer: buffer)
                ti += 1
                continue
            }
            // Seek only past what the demuxer has already read, so a seek is always forward.
            let demuxed = max(position, source.maxSentPTS.map { rank($0) + 1 } ?? 0)
            if canSeek, let key = lastKeyframe(atOrBefore: target, in: index.keyframes),
               key > demuxed + options.seekThreshold {
                try source.seek(toKeyframeAt: index.pts[key])
                run.seeks += 1
                position = key
                havePTS = nil
            }
            guard try source.nextFrame() else {
                if let message = source.readError {
                    throw .truncated(path: source.path, framesDecoded: position, framesExpected: index.count, message: message)
                }
                return nil
            }
            run.decoded += 1
            let p = source.framePTS
            let r = rank(p)
            if r >= index.count || index.pts[r] != p { return nil }
            havePTS = p
            position = r + 1
        }
        run.finish(source)
        return run
    }

    /// Decodes sequentially from the start and takes frames by their ordinal in the
    /// decoder's output (the index was built the same way). No seeking, no skipping.
    static func byOrdinal(_ source: VideoSource, index: FrameIndex, plan: SamplePlan,
                          renderer: FrameRenderer) throws(VideoError) -> SampledRun {
        var run = SampledRun(plan: plan, frameBytes: renderer.frameBytes)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: renderer.frameBytes)
        defer { buffer.deallocate() }
        var ti = 0
        var ordinal = 0
        while ti < plan.targets.count {
            guard try source.nextFrame() else {
                let message = source.readError ?? "the decoder returned \(ordinal) frames, \(index.count) when the index was built"
                throw .truncated(path: source.path, framesDecoded: ordinal, framesExpected: index.count, message: message)
            }
            run.decoded += 1
            if ordinal == plan.targets[ti] {
                try run.place(source, slots: plan.slots[ordinal]!, renderer: renderer, buffer: buffer)
                ti += 1
            }
            ordinal += 1
        }
        run.finish(source)
        return run
    }
}

/// Index of the first element >= `value` in a sorted array.
func lowerBound(_ a: [Int64], _ value: Int64) -> Int {
    var lo = 0, hi = a.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if a[mid] < value { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

/// The last keyframe index <= `frame` (keyframes sorted).
func lastKeyframe(atOrBefore frame: Int, in keyframes: [Int]) -> Int? {
    var lo = 0, hi = keyframes.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if keyframes[mid] <= frame { lo = mid + 1 } else { hi = mid }
    }
    return lo == 0 ? nil : keyframes[lo - 1]
}

/// Wall-clock laps.
struct Stopwatch {
    private let start: UInt64
    private var last: UInt64
    init() { start = DispatchTime.now().uptimeNanoseconds; last = start }
    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
    mutating func lap() -> Double {
        let t = DispatchTime.now().uptimeNanoseconds
        defer { last = t }
        return Double(t - last) * 1e-9
    }
    func total() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
}
