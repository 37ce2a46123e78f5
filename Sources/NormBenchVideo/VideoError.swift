/// Everything that can go wrong while reading, decoding, sampling or writing video.
///
/// `description` is one line: the file, what went wrong (with FFmpeg's own
/// message where there is one) and what to do about it.
public enum VideoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path does not exist.
    case fileNotFound(path: String)
    /// The path is a directory, not a file.
    case notAFile(path: String)
    /// The file has zero bytes.
    case emptyFile(path: String)
    /// The path is a device, FIFO or socket: decoding needs a seekable regular file.
    case notRegularFile(path: String, kind: String)
    /// FFmpeg could not open or probe the file (not a video container, missing moov atom, ...).
    case openFailed(path: String, message: String)
    /// The container has no video stream (e.g. audio only).
    case noVideoStream(path: String, streams: String)
    /// No decoder for the stream's codec in the linked libavcodec.
    case decoderNotFound(path: String, codec: String)
    /// An FFmpeg call failed; `operation` names the call.
    case ffmpeg(path: String, operation: String, message: String)
    /// The file ended (or stopped being readable) before its index said it would.
    case truncated(path: String, framesDecoded: Int, framesExpected: Int, message: String)
    /// No frame could be decoded at all.
    case noFrames(path: String, lostPackets: Int)
    /// The clip has fewer frames than the sampling asks for.
    case tooShort(path: String, available: Int, needed: Int)
    /// The request itself is invalid (frames 0, size 0, crop larger than the frame, ...).
    case invalidRequest(path: String, problem: String)
    /// Writing an output file failed.
    case writeFailed(path: String, message: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .fileNotFound(let p), .notAFile(let p), .emptyFile(let p),
             .notRegularFile(let p, _), .openFailed(let p, _), .noVideoStream(let p, _), .decoderNotFound(let p, _),
             .ffmpeg(let p, _, _), .truncated(let p, _, _, _), .noFrames(let p, _),
             .tooShort(let p, _, _), .invalidRequest(let p, _), .writeFailed(let p, _):
            return p
        }
    }

    /// A short machine-readable name of the case (used in JSON output and tests).
    public var kind: String {
        switch self {
        case .fileNotFound: return "file-not-found"
        case .notAFile: return "not-a-file"
        case .emptyFile: return "empty-file"
        case .notRegularFile: return "not-a-regular-file"
        case .openFailed: return "open-failed"
        case .noVideoStream: return "no-video-stream"
        case .decoderNotFound: return "decoder-not-found"
        case .ffmpeg: return "ffmpeg"
        case .truncated: return "truncated"
        case .noFrames: return "no-frames"
        case .tooShort: return "too-short"
        case .invalidRequest: return "invalid-request"
        case .writeFailed: return "write-failed"
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let p):
            return "\(p): no such file; check the path (globs that match nothing are passed literally by the shell)"
        case .notAFile(let p):
            return "\(p): is a directory, not a video file; pass the files inside it (e.g. \(p)/*.mp4)"
        case .emptyFile(let p):
            return "\(p): file is empty (0 bytes); re-download or re-encode it"
        case .notRegularFile(let p, let kind):
            return "\(p): is \(kind), not a video file; save the stream to a regular file first and pass that"
        case .openFailed(let p, let m):
            return "\(p): FFmpeg cannot open it as video: \(m); check that it is a complete video file (`ffprobe \(p)`), re-download or re-encode it"
        case .noVideoStream(let p, let s):
            return "\(p): no video stream (streams: \(s)); pass a file that contains video"
        case .decoderNotFound(let p, let c):
            return "\(p): no decoder for codec \(c) in this libavcodec; re-encode it (e.g. `ffmpeg -i \(p) -c:v libx264 out.mp4`) or install a fuller FFmpeg"
        case .ffmpeg(let p, let op, let m):
            if op.hasPrefix("encoding") {
                return "\(p): \(op) failed: \(m); check the output size, frame rate and codec, and that the directory is writable"
            }
            return "\(p): \(op) failed: \(m); check that the file is a valid video (`ffprobe \(p)`)"
        case .truncated(let p, let d, let e, let m):
            return "\(p): file is truncated: \(d) of \(e) frames readable (\(m)); re-download or re-encode the file"
        case .noFrames(let p, let lost):
            return "\(p): no frame could be decoded (\(lost) packets lost to decode errors); the stream is corrupt or starts "
                + "after its last keyframe (a cut without one), re-encode or replace it"
        case .tooShort(let p, let a, let n):
            return "\(p): clip has \(a) frames but the sampling needs \(n); ask for fewer frames or a smaller stride, or pad with the last frame (--pad)"
        case .invalidRequest(let p, let problem):
            return "\(p): \(problem)"
        case .writeFailed(let p, let m):
            return "\(p): cannot write: \(m); check that the directory exists and is writable"
        }
    }
}
