internal import CFFmpeg

/// The FFmpeg libraries this binary runs with (results record them).
public enum FFmpegLibraries {
    /// "5.1.x (avformat 59.27.100, avcodec 59.37.100, swscale 6.7.100)".
    public static var version: String {
        func v(_ n: UInt32) -> String { "\(n >> 16).\((n >> 8) & 0xFF).\(n & 0xFF)" }
        let info = String(cString: av_version_info())
        return "\(info) (avformat \(v(avformat_version())), avcodec \(v(avcodec_version())), swscale \(v(swscale_version())))"
    }
}
