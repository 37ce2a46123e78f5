/// What a video file says about itself, plus what a scan of its packets found.
public struct VideoInfo: Sendable, Equatable, Codable {
    /// The file.
    public var path: String
    /// Demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm".
    public var container: String
    /// Codec name, e.g. "h264", "vp9", "ffv1".
    public var codec: String
    /// Coded size in pixels (before rotation).
    public var width: Int
    public var height: Int
    /// Pixel format name, e.g. "yuv420p", "yuv420p10le", "yuvj420p".
    public var pixelFormat: String
    /// Colour matrix ("bt709", "bt470bg", "smpte170m", "unknown" = BT.601 is used).
    public var colorMatrix: String
    /// Colour range ("tv" = limited, "pc" = full, "unknown" = limited unless the pixel format is yuvj).
    public var colorRange: String
    /// Clockwise rotation in degrees the display matrix asks for (0, 90, 180, 270).
    public var rotation: Int
    /// Average frame rate (frames / duration), frames per second; 0 when unknown.
    public var averageFrameRate: Double
    /// Nominal ("real base") frame rate from the stream; 0 when unknown.
    public var nominalFrameRate: Double
    /// Duration in seconds from the headers; 0 when unknown.
    public var duration: Double
    /// The header's frame count, when the container stores one (cheap, may be wrong).
    public var headerFrameCount: Int?
    /// Exact number of frames a full decode produces; nil when not scanned.
    public var frameCount: Int?
    /// Display-order indices of keyframes, when scanned.
    public var keyframes: [Int]?

    /// Width and height as displayed (swapped for 90°/270° rotation).
    public var displaySize: (width: Int, height: Int) {
        rotation == 90 || rotation == 270 ? (height, width) : (width, height)
    }
}

extension VideoInfo {
    /// Reads a file's metadata; with `scan` also counts the frames a full decode
    /// produces and finds the keyframes: from a packet scan (no decoding) where packets
    /// are pictures, else by decoding the stream once (see `FrameIndex`).
    /// - Throws: `VideoError` when the file cannot be opened as video.
    public static func probe(_ path: String, scan: Bool = true) throws(VideoError) -> VideoInfo {
        let source = try VideoSource(path: path, threads: 1)
        var info = source.headerInfo()
        if scan {
            let packets = try source.scan()
            let index = FrameIndex.packetsAreFrames(packets, info: info)
                ? FrameIndex(packets: packets) : try FrameIndex(decoding: path, threads: 0)
            info.frameCount = index.count
            info.keyframes = index.keyframes
        }
        return info
    }
}
