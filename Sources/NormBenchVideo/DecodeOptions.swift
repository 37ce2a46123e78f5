/// Output size before cropping.
public enum Resize: Sendable, Equatable {
    /// Keep the (displayed) size.
    case original
    /// Scale to exactly `width`×`height`.
    case exact(width: Int, height: Int)
    /// Scale so the shorter side is `size`, keeping the aspect ratio (the longer side rounds to nearest).
    case shortSide(Int)
}

/// A crop taken after scaling.
public enum Crop: Sendable, Equatable {
    case none
    /// The centre `width`×`height` window (offsets round down).
    case center(width: Int, height: Int)
    /// A `width`×`height` window at an offset drawn with a generator seeded by `seed`.
    case random(width: Int, height: Int, seed: UInt64)
}

/// How to decode one clip.
public struct DecodeOptions: Sendable, Equatable {
    /// Which frames.
    public var sampling: FrameSampling = .all
    /// Output size before the crop.
    public var resize: Resize = .original
    /// Crop after scaling.
    public var crop: Crop = .none
    /// swscale filter.
    public var interpolation: Interpolation = .bilinear
    /// Apply the file's rotation metadata (as the ffmpeg CLI does by default).
    public var autorotate: Bool = true
    /// Decoder threads for this clip (0 = FFmpeg's choice: nproc + 1).
    public var threads: Int = 1
    /// Clips shorter than the sampling needs: fail (default) or repeat the last frame.
    public var shortClip: ShortClipPolicy = .error
    /// Seek to a later keyframe only when it skips more than this many frames
    /// (below that, decoding forward is cheaper than flushing the decoder).
    public var seekThreshold: Int = 8

    public init(sampling: FrameSampling = .all, resize: Resize = .original, crop: Crop = .none,
                interpolation: Interpolation = .bilinear, autorotate: Bool = true, threads: Int = 1,
                shortClip: ShortClipPolicy = .error) {
        self.sampling = sampling
        self.resize = resize
        self.crop = crop
        self.interpolation = interpolation
        self.autorotate = autorotate
        self.threads = threads
        self.shortClip = shortClip
    }

    /// Checks values that do not depend on the file; the message names the value and a valid example.
    public func validate(path: String) throws(VideoError) {
        func bad(_ s: String) -> VideoError { .invalidRequest(path: path, problem: s) }
        switch sampling {
        case .all: break
        case .uniform(let n):
            if n < 1 { throw bad("frames must be at least 1, got \(n); e.g. --frames 16") }
        case .dense(let n, let s, let start):
            if n < 1 { throw bad("frames must be at least 1, got \(n); e.g. --frames 16") }
            if s < 1 { throw bad("stride must be at least 1, got \(s); e.g. --stride 2") }
            if start < 0 { throw bad("start must be >= 0, got \(start)") }
        case .random(let n, let s, _):
            if n < 1 { throw bad("frames must be at least 1, got \(n); e.g. --frames 16") }
            if s < 1 { throw bad("stride must be at least 1, got \(s); e.g. --stride 2") }
        }
        switch resize {
        case .original: break
        case .exact(let w, let h):
            if w < 1 || h < 1 { throw bad("size must be positive, got \(w)x\(h); e.g. --size 112x112") }
        case .shortSide(let s):
            if s < 1 { throw bad("size must be positive, got \(s); e.g. --size 112") }
        }
        switch crop {
        case .none: break
        case .center(let w, let h), .random(let w, let h, _):
            if w < 1 || h < 1 { throw bad("crop must be positive, got \(w)x\(h); e.g. --crop 112") }
        }
        if threads < 0 { throw bad("threads must be >= 0 (0 = FFmpeg's choice), got \(threads)") }
    }

    /// The scaled size for a displayed size.
    func scaledSize(displayWidth w: Int, displayHeight h: Int) -> (width: Int, height: Int) {
        switch resize {
        case .original: return (w, h)
        case .exact(let ow, let oh): return (ow, oh)
        case .shortSide(let s):
            if w <= h { return (s, max(1, Int((Double(h) * Double(s) / Double(w)).rounded()))) }
            return (max(1, Int((Double(w) * Double(s) / Double(h)).rounded())), s)
        }
    }
}
