internal import CFFmpeg

/// Scaling filter used by swscale.
public enum Interpolation: String, Sendable, Codable, CaseIterable {
    case bilinear, bicubic, area, nearest

    var swsFlags: Int32 {
        switch self {
        case .bilinear: return SWS_BILINEAR
        case .bicubic: return SWS_BICUBIC
        case .area: return SWS_AREA
        case .nearest: return SWS_POINT
        }
    }
}

/// Converts decoded frames to packed RGB24 with swscale, set up exactly as the
/// ffmpeg CLI's `scale` filter (libavfilter 8, FFmpeg 5.1) sets up its context,
/// so the output is byte-identical to `ffmpeg -vf scale=W:H:flags=bilinear -pix_fmt rgb24`:
/// - the source's colour matrix (`AVFrame.colorspace`; unspecified → BT.601) is used
///   for both tables, and the range comes from the frame (`yuvj*` formats are full range);
/// - for `yuv420p` sources the vertical chroma position is MPEG-2's (`src_v_chr_pos=128`).
///
/// The context is cached by (source size, format, matrix, range, destination size)
/// and rebuilt only when one of these changes.
final class Scaler {
    private struct Key: Equatable {
        var srcWidth: Int32, srcHeight: Int32, srcFormat: Int32
        var colorspace: UInt32, range: UInt32
        var dstWidth: Int32, dstHeight: Int32, flags: Int32
    }
    private var context: OpaquePointer?
    private var key: Key?
    let interpolation: Interpolation

    init(interpolation: Interpolation) { self.interpolation = interpolation }
    deinit { sws_freeContext(context) }

    /// Scales `frame` to `width`×`height` RGB24 into `dst` (rows `stride` bytes apart).
    ///
    /// `dst` must have room for `stride × height + 64` bytes: swscale's SIMD paths
    /// may write a few bytes past the last pixel of a row.
    func scale(_ frame: UnsafeMutablePointer<AVFrame>, width: Int, height: Int,
               into dst: UnsafeMutablePointer<UInt8>, stride: Int, path: String) throws(VideoError) {
        let f = frame.pointee
        let k = Key(srcWidth: f.width, srcHeight: f.height, srcFormat: f.format,
                    colorspace: f.colorspace.rawValue, range: f.color_range.rawValue,
                    dstWidth: Int32(width), dstHeight: Int32(height), flags: interpolation.swsFlags)
        if k != key {
            sws_freeContext(context)
            context = nil
            key = nil
            context = try Self.makeContext(k, frame: frame, path: path)
            key = k
        }
        let r = nb_sws_scale_to_packed(context, frame, dst, Int32(stride))
        if r <= 0 {
            throw .ffmpeg(path: path, operation: "sws_scale \(f.width)x\(f.height) → \(width)x\(height) rgb24",
                          message: r < 0 ? ffmpegMessage(r) : "no rows written")
        }
    }

    private static func makeContext(_ k: Key, frame: UnsafeMutablePointer<AVFrame>, path: String) throws(VideoError) -> OpaquePointer {
        let fmtName = av_get_pix_fmt_name(AVPixelFormat(rawValue: k.srcFormat)).map { String(cString: $0) } ?? "\(k.srcFormat)"
        let operation = "creating the scaler (\(fmtName) \(k.srcWidth)x\(k.srcHeight) → rgb24 \(k.dstWidth)x\(k.dstHeight))"
        guard let ctx = sws_alloc_context() else {
            throw .ffmpeg(path: path, operation: operation, message: ffmpegMessage(nb_averror_enomem()))
        }
        let raw = UnsafeMutableRawPointer(ctx)
        av_opt_set_int(raw, "srcw", Int64(k.srcWidth), 0)
        av_opt_set_int(raw, "srch", Int64(k.srcHeight), 0)
        av_opt_set_int(raw, "src_format", Int64(k.srcFormat), 0)
        av_opt_set_int(raw, "dstw", Int64(k.dstWidth), 0)
        av_opt_set_int(raw, "dsth", Int64(k.dstHeight), 0)
        av_opt_set_int(raw, "dst_format", Int64(AV_PIX_FMT_RGB24.rawValue), 0)
        av_opt_set_int(raw, "sws_flags", Int64(k.flags), 0)
        // vf_scale: "Override YUV420P default settings to have the correct (MPEG-2) chroma positions".
        if k.srcFormat == AV_PIX_FMT_YUV420P.rawValue {
            av_opt_set_int(raw, "src_v_chr_pos", 128, 0)
        }
        let status = sws_init_context(ctx, nil, nil)
        if status < 0 {
            sws_freeContext(ctx)
            throw .ffmpeg(path: path, operation: operation, message: ffmpegMessage(status))
        }
        // vf_scale's scale_frame: in_color_matrix=auto → the frame's matrix for both tables;
        // the frame's range when it is specified.
        var invTable: UnsafeMutablePointer<Int32>? = nil
        var table: UnsafeMutablePointer<Int32>? = nil
        var srcFull: Int32 = 0, dstFull: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        sws_getColorspaceDetails(ctx, &invTable, &srcFull, &table, &dstFull, &brightness, &contrast, &saturation)
        let coefficients = sws_getCoefficients(Int32(k.colorspace))
        if k.range != AVCOL_RANGE_UNSPECIFIED.rawValue {
            srcFull = k.range == AVCOL_RANGE_JPEG.rawValue ? 1 : 0
        }
        sws_setColorspaceDetails(ctx, coefficients, srcFull, coefficients, dstFull, brightness, contrast, saturation)
        return ctx
    }
}
