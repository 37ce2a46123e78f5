internal import CFFmpeg
import Foundation

/// Still images: a contact sheet of a clip's frames, PNG-encoded with libavcodec's PNG encoder.
public enum ImageWriter {
    /// Encodes `height × width × 3` RGB bytes as PNG and writes them to `path` (atomically).
    public static func writePNG(_ rgb: [UInt8], width: Int, height: Int, to path: String) throws(VideoError) {
        precondition(rgb.count == width * height * 3, "ImageWriter.writePNG: \(rgb.count) bytes for \(width)x\(height)x3")
        _ = ffmpegLogLevelOnce
        guard let encoder = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw .invalidRequest(path: path, problem: "this libavcodec has no PNG encoder; install a full FFmpeg build (Debian: libavcodec59)")
        }
        var ctx = avcodec_alloc_context3(encoder)
        var frame = av_frame_alloc()
        var packet = av_packet_alloc()
        defer { av_packet_free(&packet); av_frame_free(&frame); avcodec_free_context(&ctx) }
        guard let ctx, let frame, let packet else {
            throw .ffmpeg(path: path, operation: "encoding: allocating the PNG encoder", message: ffmpegMessage(nb_averror_enomem()))
        }
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_RGB24
        ctx.pointee.time_base = AVRational(num: 1, den: 1)
        try check(avcodec_open2(ctx, encoder, nil), "encoding: avcodec_open2 (png)", path: path)
        frame.pointee.format = AV_PIX_FMT_RGB24.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        try check(av_frame_get_buffer(frame, 0), "encoding: av_frame_get_buffer", path: path)
        let plane = nb_frame_data(frame, 0)!, linesize = Int(nb_frame_linesize(frame, 0))
        rgb.withUnsafeBufferPointer { src in
            for y in 0..<height {
                (plane + y * linesize).update(from: src.baseAddress! + y * width * 3, count: width * 3)
            }
        }
        frame.pointee.pts = 0
        try check(avcodec_send_frame(ctx, frame), "encoding: avcodec_send_frame (png)", path: path)
        try check(avcodec_send_frame(ctx, nil), "encoding: avcodec_send_frame (png flush)", path: path)
        var bytes = Data()
        while true {
            let r = avcodec_receive_packet(ctx, packet)
            if r == nb_averror_eof() || r == nb_averror_eagain() { break }
            try check(r, "encoding: avcodec_receive_packet (png)", path: path)
            bytes.append(packet.pointee.data, count: Int(packet.pointee.size))
            av_packet_unref(packet)
        }
        try AtomicFile.write(bytes, to: path)
    }

    /// Lays a clip's frames out in a grid (`columns` wide, 2-pixel gray gutters).
    /// - Returns: the sheet's RGB bytes and size.
    public static func contactSheet(_ clip: Clip, columns: Int? = nil) -> (rgb: [UInt8], width: Int, height: Int) {
        let cols = max(1, min(columns ?? Int(Double(clip.frames).squareRoot().rounded(.up)), clip.frames))
        let rows = (clip.frames + cols - 1) / cols
        let gap = 2
        let width = cols * clip.width + (cols + 1) * gap
        let height = rows * clip.height + (rows + 1) * gap
        var sheet = [UInt8](repeating: 64, count: width * height * 3)
        let rowBytes = clip.width * 3
        sheet.withUnsafeMutableBufferPointer { dst in
            clip.data.withUnsafeBufferPointer { src in
                for t in 0..<clip.frames {
                    let x0 = gap + (t % cols) * (clip.width + gap)
                    let y0 = gap + (t / cols) * (clip.height + gap)
                    for y in 0..<clip.height {
                        (dst.baseAddress! + ((y0 + y) * width + x0) * 3)
                            .update(from: src.baseAddress! + (t * clip.height + y) * rowBytes, count: rowBytes)
                    }
                }
            }
        }
        return (sheet, width, height)
    }
}
