import Foundation

/// The frames of a clip as a full decode produces them, in display order.
///
/// A frame is what the decoder outputs. Two ways to know the frames before decoding
/// the wanted ones:
/// - `.packets`: one demux-only pass. Trusted only when every non-empty packet is one
///   picture with its own timestamp and the stream starts at a keyframe; then packets
///   map to frames one to one, and the decoder can seek and skip by timestamp. The
///   decode loop still checks every frame it gets against this index and falls back
///   to `.decoded` when they disagree.
/// - `.decoded`: one full decode pass without conversion, counting the frames the
///   decoder returns (with their timestamps and key flags). Used for streams where
///   packets and pictures do not match one to one: MPEG-4 Part 2 (packed B-frames,
///   N-VOPs), raw elementary streams (timestamps guessed by a parser), streams cut
///   mid-GOP (leading packets that cannot be decoded). Frames are then found by their
///   ordinal in a sequential decode: no seeking, no skipping.
struct FrameIndex {
    enum Kind: String { case packets, decoded }
    var kind: Kind
    /// Presentation timestamp of each frame, display order (`.decoded`: as returned;
    /// may hold `nb_av_nopts_value()` for untimed frames).
    var pts: [Int64]
    /// Display-order indices of keyframes.
    var keyframes: [Int]
    var count: Int { pts.count }

    /// Codecs whose packets do not map one to one to pictures (packed B-frames, N-VOPs).
    static let packedCodecs: Set<String> = ["mpeg4", "msmpeg4v3", "msmpeg4v2", "msmpeg4v1", "h263"]
    /// Demuxers for raw elementary streams: timestamps come from a parser, durations are guesses.
    static let rawStreamDemuxers: Set<String> = [
        "mpegvideo", "h264", "hevc", "m4v", "cavsvideo", "vc1", "h261", "h263", "vvc", "avs2", "avs3", "dirac", "mjpeg_2000",
    ]

    /// Whether a demux-only scan can stand for the decoder's output.
    /// - Parameter verified: the frames will be checked against the index while decoding
    ///   (a sample); then a stream cut mid-GOP qualifies too, its packets before the first
    ///   keyframe left out (`init(packets:droppingLeading:)`), as decoders drop them.
    ///   Unverified uses (`VideoInfo.probe`) need a stream that starts at a keyframe.
    static func packetsAreFrames(_ scan: VideoSource.PacketIndex, info: VideoInfo, verified: Bool = false) -> Bool {
        let start = scan.startsWithKeyframe || (verified && !scan.keyframes.isEmpty)
        return scan.timed && scan.uniqueTimestamps && start
            && !packedCodecs.contains(info.codec) && !rawStreamDemuxers.contains(info.container)
    }

    /// The scan's frames; with `droppingLeading`, without the packets before the first
    /// keyframe in decode order.
    init(packets scan: VideoSource.PacketIndex, droppingLeading: Bool = false) {
        kind = .packets
        guard droppingLeading && !scan.leadingPTS.isEmpty else {
            pts = scan.pts
            keyframes = scan.keyframes
            return
        }
        let drop = Set(scan.leadingPTS), keys = Set(scan.keyframes)
        pts = []
        keyframes = []
        for (i, p) in scan.pts.enumerated() where !drop.contains(p) {
            if keys.contains(i) { keyframes.append(pts.count) }
            pts.append(p)
        }
    }

    /// Decodes the whole file once (no conversion) and records every frame returned.
    init(decoding path: String, threads: Int) throws(VideoError) {
        let source = try VideoSource(path: path, threads: threads)
        kind = .decoded
        pts = []
        keyframes = []
        while try source.nextFrame() {
            if source.frameIsKey { keyframes.append(pts.count) }
            pts.append(source.framePTS)
        }
    }
}

extension VideoSource {
    /// Refuses paths that are not regular files, naming what they are.
    static func checkRegularFile(_ path: String) throws(VideoError) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .fileNotFound(path: path) }
            throw .openFailed(path: path, message: String(cString: strerror(errno)))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            if st.st_size == 0 { throw .emptyFile(path: path) }
        case S_IFDIR: throw .notAFile(path: path)
        case S_IFCHR: throw .notRegularFile(path: path, kind: "a character device")
        case S_IFBLK: throw .notRegularFile(path: path, kind: "a block device")
        case S_IFIFO: throw .notRegularFile(path: path, kind: "a FIFO (named pipe)")
        case S_IFSOCK: throw .notRegularFile(path: path, kind: "a socket")
        default: throw .notRegularFile(path: path, kind: "not a regular file")
        }
    }
}
