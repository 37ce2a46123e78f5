/// Which frames of a clip to decode, the way video training pipelines pick them.
///
/// Frame `i` is the i-th frame in display order (by timestamp, also for
/// variable-frame-rate files).
public enum FrameSampling: Sendable, Equatable {
    /// Every frame.
    case all
    /// `count` frames spread evenly over the whole video: index
    /// `floor((i + 0.5) · frameCount / count)` for i in 0..<count (centre of each segment).
    case uniform(count: Int)
    /// `count` frames `stride` apart starting at `start`.
    case dense(count: Int, stride: Int, start: Int)
    /// `count` frames `stride` apart from a start drawn uniformly from all valid starts
    /// with a generator seeded by `seed` (same seed, same file length → same frames).
    case random(count: Int, stride: Int, seed: UInt64)

    /// Frames asked for (nil for `.all`).
    public var count: Int? {
        switch self {
        case .all: return nil
        case .uniform(let n), .dense(let n, _, _), .random(let n, _, _): return n
        }
    }

    /// The largest index `indices(frameCount:)` will return, computed without
    /// allocating; nil when it overflows `Int`. At or past `frameCount`: the clip is too short.
    public func lastIndex(frameCount: Int) -> Int? {
        switch self {
        case .all:
            return frameCount - 1
        case .uniform(let n):
            return n > frameCount ? n - 1 : frameCount - 1
        case .dense(let n, let stride, let start):
            let (span, o1) = (n - 1).multipliedReportingOverflow(by: stride)
            let (last, o2) = start.addingReportingOverflow(span)
            return o1 || o2 ? nil : last
        case .random(let n, let stride, _):
            let (span, o) = (n - 1).multipliedReportingOverflow(by: stride)
            return o ? nil : max(span, frameCount - 1)
        }
    }

    /// Display-order frame indices to decode, ascending, for a clip of `frameCount` frames.
    /// Indices at or past `frameCount` mean the clip is too short (the caller decides: error or pad).
    public func indices(frameCount: Int) -> [Int] {
        switch self {
        case .all:
            return Array(0..<frameCount)
        case .uniform(let n):
            guard frameCount > 0 else { return Array(repeating: 0, count: n) }
            if frameCount < n { return Array(0..<n) }  // too short: the caller pads or fails
            return (0..<n).map { i in (2 * i + 1) * frameCount / (2 * n) }
        case .dense(let n, let stride, let start):
            return (0..<n).map { start + $0 * stride }
        case .random(let n, let stride, let seed):
            let span = (n - 1) * stride + 1
            let starts = max(frameCount - span + 1, 1)
            var rng = SplitMix64(seed: seed)
            let start = Int(rng.next() % UInt64(starts))
            return (0..<n).map { start + $0 * stride }
        }
    }
}

/// What to do when a clip has fewer frames than the sampling asks for.
public enum ShortClipPolicy: String, Sendable, Codable {
    /// Fail with `VideoError.tooShort` (the default: nothing is silently invented).
    case error
    /// Repeat the last frame of the clip for the missing positions (counted in `Clip.paddedFrames`).
    case padWithLastFrame = "pad"
}

/// A tiny seeded generator (SplitMix64) so the video module needs no engine import.
/// Not part of the library API: public only to the tests (`@_spi(Testing) import NormBenchVideo`).
@_spi(Testing) public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
