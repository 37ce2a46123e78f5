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

/// Keeps FFmpeg quiet unless something is really wrong (libx264 stats, decoder chatter).
/// Decode errors are counted and reported by normbench itself.
let ffmpegLogLevelOnce: Void = {
    av_log_set_level(AV_LOG_QUIET)
}()
