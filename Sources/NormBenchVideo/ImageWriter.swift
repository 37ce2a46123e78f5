internal import CFFmpeg
import Foundation

/// Still images: a contact sheet of a clip's frames, PNG-encoded with libavcodec's PNG encoder.
public enum ImageWriter {
    /// Encodes `height × width × 3` RGB bytes as PNG and writes them to `path` (atomically).
    public static func writePNG(_ rgb: [UInt8], width: Int, height: Int, to path: String) throws(VideoError) {
        precondition(rgb.count == width * height * 3, "ImageWriter.writePNG: \(rgb.count) bytes for \(width)x\(height)x3")
        try writePNG(width: width, height: height, to: path) { plane, linesize in
            rgb.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    (plane + y * linesize).update(from: src.baseAddress! + y * width * 3, count: width * 3)
                }
            }
        }
    }

    /// Encodes a `height × width` RGB image that `fill` draws straight into the encoder's
    /// frame (rows `linesize` bytes apart), so no second copy of the image is held.
    static func writePNG(width: Int, height: Int, to path: String,
                         fill: (UnsafeMutablePointer<UInt8>, Int) throws(VideoError) -> Void) throws(VideoError) {
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
        try fill(nb_frame_data(frame, 0)!, Int(nb_frame_linesize(frame, 0)))
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

    /// The contact sheet's grid for `frames` frames of `width`×`height`: `columns` wide
    /// (default ⌈√frames⌉), 2-pixel gutters.
    static func sheetGrid(frames: Int, width: Int, height: Int, columns: Int?)
        -> (cols: Int, gap: Int, width: Int, height: Int) {
        let cols = max(1, min(columns ?? Int(Double(frames).squareRoot().rounded(.up)), frames))
        let rows = (frames + cols - 1) / cols
        let gap = 2
        return (cols, gap, cols * width + (cols + 1) * gap, rows * height + (rows + 1) * gap)
    }

    /// Lays a clip's frames out in a grid (`columns` wide, 2-pixel gray gutters).
    /// - Returns: the sheet's RGB bytes and size.
    public static func contactSheet(_ clip: Clip, columns: Int? = nil) -> (rgb: [UInt8], width: Int, height: Int) {
        let (cols, gap, width, height) = sheetGrid(frames: clip.frames, width: clip.width, height: clip.height, columns: columns)
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

    /// Writes the contact sheet of the frames in `spool` (each `frameWidth`×`frameHeight`×3)
    /// as PNG to `path`, reading one frame at a time and drawing straight into the
    /// encoder's frame: the PNG is byte for byte `writePNG(contactSheet(clip))` of the same
    /// frames, without the clip in memory (the sheet image itself is still held once).
    public static func writeContactSheet(from spool: FrameSpool, frameWidth: Int, frameHeight: Int,
                                         columns: Int? = nil, to path: String) throws(VideoError) {
        let frames = spool.frames
        let (cols, gap, width, height) = sheetGrid(frames: frames, width: frameWidth, height: frameHeight, columns: columns)
        let rowBytes = frameWidth * 3
        precondition(frames == 0 || spool.frameBytes == rowBytes * frameHeight, "ImageWriter.writeContactSheet: frame size")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, rowBytes * frameHeight), alignment: 16)
        defer { buffer.deallocate() }
        try writePNG(width: width, height: height, to: path) { plane, linesize throws(VideoError) in
            for y in 0..<height { (plane + y * linesize).update(repeating: 64, count: width * 3) }
            for t in 0..<frames {
                try spool.read(first: t, count: 1, into: buffer)
                let x0 = gap + (t % cols) * (frameWidth + gap)
                let y0 = gap + (t / cols) * (frameHeight + gap)
                let src = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                for y in 0..<frameHeight {
                    (plane + (y0 + y) * linesize + x0 * 3).update(from: src + y * rowBytes, count: rowBytes)
                }
            }
        }
    }
}
