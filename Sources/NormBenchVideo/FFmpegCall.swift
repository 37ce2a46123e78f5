internal import CFFmpeg

/// FFmpeg's own message for an error code (`av_strerror`).
func ffmpegMessage(_ code: Int32) -> String {
    var buf = [CChar](repeating: 0, count: 256)
    return buf.withUnsafeMutableBufferPointer { b in
        String(cString: nb_err2str(code, b.baseAddress, b.count))
    }
}

/// The one funnel for FFmpeg calls that return a status: negative codes become
/// `VideoError.ffmpeg` naming the file and the call.
@discardableResult
func check(_ code: Int32, _ operation: @autoclosure () -> String, path: String) throws(VideoError) -> Int32 {
    if code < 0 {
        throw VideoError.ffmpeg(path: path, operation: operation(), message: ffmpegMessage(code))
    }
    return code
}

/// FFmpeg's log is never printed (libx264 stats, decoder chatter): normbench counts
/// decode errors itself, and a demuxer's last warning/error line is kept in its
/// `LogBuffer` so error messages can quote it (`ffmpegMessage(_:log:)`).
let ffmpegLogLevelOnce: Void = {
    av_log_set_level(AV_LOG_WARNING)
    nb_install_log_capture()
}()

/// A demuxer's last warning/error line: FFmpeg's log callback writes it here
/// through `AVFormatContext.opaque` (see the shim's `nb_log_capture`).
final class LogBuffer {
    let bytes: UnsafeMutablePointer<CChar>
    init() {
        bytes = .allocate(capacity: NB_LOG_LINE)
        bytes.initialize(repeating: 0, count: NB_LOG_LINE)
    }
    deinit { bytes.deallocate() }
    var line: String { String(cString: bytes) }
    func clear() { bytes[0] = 0 }
}

/// FFmpeg's message for `code`, followed by the demuxer's last logged line when that
/// says more (e.g. "Invalid data found when processing input (moov atom not found)").
func ffmpegMessage(_ code: Int32, log: LogBuffer) -> String {
    let base = ffmpegMessage(code)
    let line = log.line
    return !line.isEmpty && line != base ? "\(base) (\(line))" : base
}
