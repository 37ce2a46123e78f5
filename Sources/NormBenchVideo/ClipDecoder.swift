internal import CFFmpeg
import Foundation

/// Decodes one clip: open, scan the packet index, sample frames, seek or decode
/// forward, scale/rotate/crop to packed RGB24.
///
/// Seeking: the targets are visited in display order. Before decoding towards a
/// target, if the keyframe at or before it lies more than `seekThreshold` frames
/// past the decoder's position, the decoder seeks (forward) to that keyframe;
/// otherwise it decodes forward. So a long-GOP or single-keyframe clip is read in
/// one pass, and a short-GOP clip skips whole GOPs. It never seeks backward and
/// stops after the last target.
public enum ClipDecoder {
    /// Decodes `path` as `options` asks.
    /// - Returns: the clip (T×H×W×3 uint8), metadata, counts and timings.
    /// - Throws: `VideoError` for unreadable files, clips that are too short
    ///   (unless padding), truncated files and invalid requests.
    public static func decode(_ path: String, options: DecodeOptions = DecodeOptions()) throws(VideoError) -> Clip {
        try options.validate(path: path)
        var clock = Stopwatch()
        var timings = DecodeTimings()

        let source = try VideoSource(path: path, threads: options.threads)
        var info = source.headerInfo()
        timings.open = clock.lap()

        let index = try source.scan()
        info.frameCount = index.pts.count
        info.keyframes = index.keyframes
        timings.scan = clock.lap()
        // Truncated: the demuxer stopped on an error, or found fewer packets than the
        // header's frame count (mp4/avi store it exactly; the mov demuxer reports a
        // cut-off file as "partial file" warnings and end of file).
        if let message = source.readError {
            throw .truncated(path: path, framesDecoded: index.packets,
                             framesExpected: max(info.headerFrameCount ?? index.packets, index.packets), message: message)
        }
        if let expected = info.headerFrameCount, index.packets < expected {
            let log = source.scanLastLog
            throw .truncated(path: path, framesDecoded: index.packets, framesExpected: expected,
                             message: log.isEmpty ? "the header lists \(expected) frames, the file holds \(index.packets)" : log)
        }
        let frameCount = index.pts.count
        let canSeek = source.canSeekPrecisely
        if frameCount == 0 { throw .noFrames(path: path, lostPackets: 0) }

        // Frames to produce, in output order, and what is missing at the end.
        var wanted = options.sampling.indices(frameCount: frameCount)
        var padded = 0
        if let last = wanted.last, last >= frameCount {
            if options.shortClip == .error {
                throw .tooShort(path: path, available: frameCount, needed: last + 1)
            }
            for i in wanted.indices where wanted[i] >= frameCount {
                wanted[i] = frameCount - 1
                padded += 1
            }
        }

        // Geometry: rotation, scale, crop.
        let rotation = options.autorotate ? info.rotation : 0
        let display = rotation == 90 || rotation == 270 ? (info.height, info.width) : (info.width, info.height)
        let scaled = options.scaledSize(displayWidth: display.0, displayHeight: display.1)
        let window = try cropWindow(options.crop, width: scaled.width, height: scaled.height, path: path)
        // swscale works before rotation: a 90°/270° frame is scaled to the transposed size.
        let preRotation = rotation == 90 || rotation == 270 ? (scaled.height, scaled.width) : scaled
        // Planar YUV frames are rotated before scaling, as the CLI does (byte-identical
        // output at any size); other formats are rotated after conversion to RGB.
        let rgbPlacer = Placer(srcWidth: preRotation.0, srcHeight: preRotation.1, rotation: rotation, window: window)
        let yuvPlacer = Placer(srcWidth: scaled.width, srcHeight: scaled.height, rotation: 0, window: window)
        let rotator = rotation == 0 ? nil : FrameRotator(rotation: rotation)
        let scaler = Scaler(interpolation: options.interpolation)
        let stride = (max(preRotation.0, scaled.width) * 3 + 63) & ~63
        var scratch = [UInt8](repeating: 0, count: stride * max(preRotation.1, scaled.height) + 64)

        // Output slots for each distinct source frame.
        let targets = Array(Set(wanted)).sorted()
        var slots: [Int: [Int]] = [:]
        for (slot, frame) in wanted.enumerated() { slots[frame, default: []].append(slot) }

        if index.timed && targets.count < frameCount {
            source.wantedPTS = Set(targets.map { index.pts[$0] })
        }

        let frameBytes = window.height * window.width * 3
        var data = [UInt8](repeating: 0, count: frameBytes * wanted.count)
        var timestamps = [Double](repeating: 0, count: wanted.count)
        var filled = [Bool](repeating: false, count: wanted.count)
        var decoded = 0, seeks = 0, substituted = 0
        var position = 0          // display index of the next frame the decoder will return
        var havePTS: Int64? = nil // pts (or ordinal when untimed) of the frame held by the decoder
        var ti = 0
        let rank = { (p: Int64) -> Int in lowerBound(index.pts, p) }

        while ti < targets.count {
            let target = targets[ti]
            let targetPTS = index.timed ? index.pts[target] : Int64(target)
            if let p = havePTS, p >= targetPTS {
                if p != targetPTS { substituted += slots[target]!.count }
                let scaleStart = clock.now()
                let placer: Placer
                if let rotator, FrameRotator.supports(source.currentFrame.pointee.format) {
                    let rotated = try rotator.rotate(source.currentFrame, path: path)
                    try scaler.scale(rotated, width: scaled.width, height: scaled.height, into: &scratch, stride: stride, path: path)
                    placer = yuvPlacer
                } else {
                    try scaler.scale(source.currentFrame, width: preRotation.0, height: preRotation.1,
                                     into: &scratch, stride: stride, path: path)
                    placer = rgbPlacer
                }
                for slot in slots[target]! {
                    data.withUnsafeMutableBufferPointer { out in
                        scratch.withUnsafeBufferPointer { src in
                            placer.place(src.baseAddress!, stride: stride, into: out.baseAddress! + slot * frameBytes)
                        }
                    }
                    timestamps[slot] = index.timed ? Double(p - index.pts[0]) * source.timeBase : 0
                    filled[slot] = true
                }
                timings.scale += clock.now() - scaleStart
                ti += 1
                continue
            }
            // Seek only past what the demuxer has already read, so a seek is always forward.
            let demuxed = max(position, source.maxSentPTS.map { rank($0) + 1 } ?? 0)
            if index.timed, canSeek, let key = lastKeyframe(atOrBefore: target, in: index.keyframes),
               key > demuxed + options.seekThreshold {
                try source.seek(toKeyframeAt: index.pts[key])
                seeks += 1
                position = key
                havePTS = nil
            }
            guard try source.nextFrame() else { break }
            decoded += 1
            if index.timed {
                let p = source.framePTS
                havePTS = p
                position = rank(p) + 1
            } else {
                havePTS = Int64(position)
                position += 1
            }
        }
        timings.decode = clock.lap()

        // What did not arrive: the file ended early (decode errors at the end) → pad or fail.
        let missing = filled.indices.filter { !filled[$0] }
        if !missing.isEmpty {
            if let message = source.readError {
                throw .truncated(path: path, framesDecoded: decoded, framesExpected: frameCount, message: message)
            }
            guard let lastFilled = filled.lastIndex(of: true) else {
                throw .noFrames(path: path, lostPackets: source.lostPackets)
            }
            if options.shortClip == .error && source.lostPackets == 0 {
                throw .tooShort(path: path, available: decoded, needed: wanted.count)
            }
            // Frames lost to corruption at the end: repeat the last good one (counted).
            for slot in missing {
                data.withUnsafeMutableBufferPointer { out in
                    let base = out.baseAddress!
                    (base + slot * frameBytes).update(from: base + lastFilled * frameBytes, count: frameBytes)
                }
                timestamps[slot] = timestamps[lastFilled]
                substituted += 1
            }
        }
        timings.total = clock.total()
        return Clip(frames: wanted.count, height: window.height, width: window.width, channels: 3,
                    data: data, frameIndices: wanted, timestamps: timestamps, info: info,
                    framesDecoded: decoded, seeks: seeks, lostPackets: source.lostPackets,
                    corruptFrames: source.corruptFrames, substitutedFrames: substituted,
                    paddedFrames: padded, timings: timings)
    }

    private static func cropWindow(_ crop: Crop, width: Int, height: Int, path: String) throws(VideoError) -> Placer.Window {
        switch crop {
        case .none:
            return .init(x: 0, y: 0, width: width, height: height)
        case .center(let w, let h), .random(let w, let h, _):
            guard w <= width && h <= height else {
                throw .invalidRequest(path: path, problem: "crop \(w)x\(h) is larger than the scaled frame \(width)x\(height); use a smaller --crop or a larger --size")
            }
            if case .random(_, _, let seed) = crop {
                var rng = SplitMix64(seed: seed)
                let x = Int(rng.next() % UInt64(width - w + 1))
                let y = Int(rng.next() % UInt64(height - h + 1))
                return .init(x: x, y: y, width: w, height: h)
            }
            return .init(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
        }
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
