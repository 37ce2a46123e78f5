internal import CFFmpeg
import Foundation

/// Codec and container for `VideoEncoder`.
public enum VideoCodec: Sendable, Equatable {
    /// H.264 (libx264), yuv420p, for .mp4. `gop` = keyframe interval in frames;
    /// `bFrames` = maximum consecutive B-frames (0 = none); `crf` = quality (0 best, 51 worst).
    case h264(crf: Int = 18, gop: Int = 250, bFrames: Int = 3, preset: String = "medium")
    /// FFV1 (lossless RGB, from bgr0), for .mkv: frames read back bit-exact.
    case ffv1
}

/// Writes RGB24 frames to a video file at a constant frame rate.
///
/// Frame k gets pts k in time base 1/fps and duration 1, so the file holds exactly
/// the frames written with exact timestamps. The file is written under a
/// temporary name and renamed to `path` by `finish()`; an encoder dropped without
/// `finish()` removes its partial file.
///
/// Shapes:
///   each frame: height × width × 3 (R, G, B), uint8, row-major.
public final class VideoEncoder {
    public let path: String
    public let width: Int
    public let height: Int
    public let fps: Int
    /// Frames accepted so far.
    public private(set) var framesWritten = 0

    private let temporaryPath: String
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var sws: OpaquePointer?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var finished = false

    /// Opens `path` for writing (container from its extension: .mp4, .mkv, .avi, ...).
    /// - Throws: `VideoError.invalidRequest` for odd H.264 sizes or fps < 1,
    ///   `VideoError.ffmpeg` / `.writeFailed` when FFmpeg or the file system refuses.
    public init(path: String, width: Int, height: Int, fps: Int, codec: VideoCodec) throws(VideoError) {
        _ = ffmpegLogLevelOnce
        self.path = path
        self.width = width
        self.height = height
        self.fps = fps
        let url = URL(fileURLWithPath: path)
        temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial").path
        guard width > 0, height > 0, fps > 0 else {
            throw .invalidRequest(path: path, problem: "encoder needs positive width, height and fps, got \(width)x\(height) at \(fps) fps")
        }
        var pixelFormat = AV_PIX_FMT_YUV420P
        let encoder: UnsafePointer<AVCodec>?
        switch codec {
        case .h264:
            guard width % 2 == 0, height % 2 == 0 else {
                throw .invalidRequest(path: path, problem: "H.264 yuv420p needs even width and height, got \(width)x\(height); use even sizes or .ffv1")
            }
            encoder = avcodec_find_encoder_by_name("libx264")
        case .ffv1:
            encoder = avcodec_find_encoder(AV_CODEC_ID_FFV1)
            pixelFormat = AV_PIX_FMT_BGR0  // FFV1's 8-bit RGB input; stored losslessly (RCT)
        }
        guard let encoder else {
            let name = codec == .ffv1 ? "ffv1" : "libx264"
            throw .invalidRequest(path: path, problem: "this libavcodec has no \(name) encoder; install a full FFmpeg build (Debian: libavcodec59) or use another codec")
        }

        let status = avformat_alloc_output_context2(&format, nil, nil, path)
        guard status >= 0, let format else {
            throw .writeFailed(path: path, message: "no container for this file name extension (\(ffmpegMessage(status))); use .mp4 or .mkv")
        }
        guard let ctx = avcodec_alloc_context3(encoder) else {
            throw .ffmpeg(path: path, operation: "encoding: avcodec_alloc_context3", message: ffmpegMessage(nb_averror_enomem()))
        }
        codecContext = ctx
        // Bit-exact output: no random container UIDs (Matroska), no version strings that vary.
        format.pointee.flags |= AVFMT_FLAG_BITEXACT
        ctx.pointee.flags |= AV_CODEC_FLAG_BITEXACT
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(fps))
        ctx.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        ctx.pointee.pix_fmt = pixelFormat
        if case .h264(let crf, let gop, let bFrames, let preset) = codec {
            // libx264 defaults to threads=auto, and its output then varies run to run
            // when the machine is busy (seen here: different bytes for the same frames).
            // One thread per encoder makes files reproducible; encode clips in parallel instead.
            ctx.pointee.thread_count = 1
            ctx.pointee.gop_size = Int32(gop)
            ctx.pointee.max_b_frames = Int32(bFrames)
            av_opt_set(ctx.pointee.priv_data, "crf", "\(crf)", 0)
            av_opt_set(ctx.pointee.priv_data, "preset", preset, 0)
            // Keyframes exactly every `gop` frames (no scene-cut keyframes), so tests can rely on the spacing.
            av_opt_set(ctx.pointee.priv_data, "x264-params", "scenecut=0:keyint_min=\(gop)", 0)
        } else {
            ctx.pointee.gop_size = 1
        }
        if (format.pointee.oformat.pointee.flags & nb_fmt_globalheader()) != 0 {
            ctx.pointee.flags |= nb_codec_flag_global_header()
        }
        try check(avcodec_open2(ctx, encoder, nil), "encoding: avcodec_open2 (\(String(cString: encoder.pointee.name)))", path: path)
        guard let st = avformat_new_stream(format, nil) else {
            throw .ffmpeg(path: path, operation: "encoding: avformat_new_stream", message: ffmpegMessage(nb_averror_enomem()))
        }
        stream = st
        try check(avcodec_parameters_from_context(st.pointee.codecpar, ctx), "encoding: avcodec_parameters_from_context", path: path)
        st.pointee.time_base = ctx.pointee.time_base
        st.pointee.avg_frame_rate = ctx.pointee.framerate

        let openStatus = avio_open(&format.pointee.pb, temporaryPath, AVIO_FLAG_WRITE)
        if openStatus < 0 { throw .writeFailed(path: path, message: ffmpegMessage(openStatus)) }
        try check(avformat_write_header(format, nil), "encoding: avformat_write_header", path: path)

        frame = av_frame_alloc()
        packet = av_packet_alloc()
        guard let frame, packet != nil else {
            throw .ffmpeg(path: path, operation: "encoding: av_frame_alloc", message: ffmpegMessage(nb_averror_enomem()))
        }
        frame.pointee.format = pixelFormat.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        try check(av_frame_get_buffer(frame, 0), "encoding: av_frame_get_buffer", path: path)
        sws = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height),
                             pixelFormat, SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
        if sws == nil {
            throw .ffmpeg(path: path, operation: "encoding: sws_getContext rgb24 → encoder format", message: "unsupported conversion")
        }
    }

    deinit {
        sws_freeContext(sws)
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&codecContext)
        if let format {
            if format.pointee.pb != nil { avio_closep(&format.pointee.pb) }
            avformat_free_context(format)
        }
        if !finished { unlink(temporaryPath) }
    }

    /// Encodes one frame of `height × width × 3` RGB bytes.
    public func append(_ rgb: UnsafeBufferPointer<UInt8>) throws(VideoError) {
        precondition(!finished, "VideoEncoder.append after finish()")
        precondition(rgb.count == width * height * 3,
                     "VideoEncoder.append: frame has \(rgb.count) bytes, expected \(height)x\(width)x3 = \(width * height * 3)")
        let frame = frame!
        try check(av_frame_make_writable(frame), "encoding: av_frame_make_writable", path: path)
        _ = nb_sws_scale_from_packed(sws, rgb.baseAddress, Int32(width * 3), Int32(height), frame)
        frame.pointee.pts = Int64(framesWritten)
        try send(frame)
        framesWritten += 1
    }

    /// Encodes one frame given as an array (`height × width × 3` bytes).
    public func append(_ rgb: [UInt8]) throws(VideoError) {
        var result: Result<Void, VideoError> = .success(())
        rgb.withUnsafeBufferPointer { b in
            do { try append(b) } catch let e as VideoError { result = .failure(e) } catch { }
        }
        try result.get()
    }

    /// Flushes the encoder, writes the trailer and moves the file to `path`.
    public func finish() throws(VideoError) {
        precondition(!finished, "VideoEncoder.finish called twice")
        try send(nil)
        let format = format!
        try check(av_write_trailer(format), "encoding: av_write_trailer", path: path)
        avio_closep(&format.pointee.pb)
        if rename(temporaryPath, path) != 0 {
            throw .writeFailed(path: path, message: String(cString: strerror(errno)))
        }
        finished = true
    }

    private func send(_ frame: UnsafeMutablePointer<AVFrame>?) throws(VideoError) {
        let ctx = codecContext!, pkt = packet!
        try check(avcodec_send_frame(ctx, frame), "encoding: avcodec_send_frame", path: path)
        while true {
            let r = avcodec_receive_packet(ctx, pkt)
            if r == nb_averror_eagain() || r == nb_averror_eof() { return }
            try check(r, "encoding: avcodec_receive_packet", path: path)
            pkt.pointee.duration = 1  // without it the mp4 muxer drops the last frame's duration
            av_packet_rescale_ts(pkt, ctx.pointee.time_base, stream!.pointee.time_base)
            pkt.pointee.stream_index = stream!.pointee.index
            let w = av_interleaved_write_frame(format, pkt)
            if w < 0 { throw .writeFailed(path: path, message: ffmpegMessage(w)) }
        }
    }
}
