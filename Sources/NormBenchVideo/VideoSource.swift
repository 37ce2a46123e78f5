internal import CFFmpeg
import Foundation

/// One open video file: the demuxer, the decoder of its first video stream, one
/// packet and one frame, each owned here and freed in `deinit`.
///
/// `nextFrame()` runs FFmpeg's send/receive loop; EAGAIN and EOF are control
/// flow. Packets the decoder rejects are counted in `lostPackets`, not thrown.
final class VideoSource {
    let path: String
    /// The demuxer's last warning/error line (FFmpeg's own words for error messages).
    private let log = LogBuffer()
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    /// The most recently decoded frame (valid after `nextFrame()` returned true).
    private(set) var frame: UnsafeMutablePointer<AVFrame>?
    let streamIndex: Int32
    private let stream: UnsafeMutablePointer<AVStream>
    /// The stream's time base, seconds per pts tick.
    let timeBase: Double

    /// Packets that the decoder rejected or that decoded to an error after the first
    /// frame came out (damage inside the clip).
    private(set) var lostPackets = 0
    /// Packets the decoder rejected before it returned any frame: a stream that starts
    /// mid-GOP (references missing, parameter sets not seen yet). Not frames of the
    /// clip, not damage: the ffmpeg CLI drops them the same way.
    private(set) var leadingErrors = 0
    /// Frames returned since the file was opened.
    private(set) var framesReturned = 0
    /// Decoded frames that FFmpeg flagged as corrupt (kept, counted).
    private(set) var corruptFrames = 0
    /// The demuxer's error when it stopped before end of file (truncated data).
    private(set) var readError: String?
    /// Packets whose pts is not in this set are decoded with `skip_frame = NONREF`:
    /// frames no other frame refers to and nobody asked for are not decoded at all.
    /// nil = decode everything.
    var wantedPTS: Set<Int64>?
    private var skipping = false
    /// Largest pts sent to the decoder since the last seek: how far the demuxer has
    /// read in display order (decoders hold several packets: B-frame reordering,
    /// frame threads).
    private(set) var maxSentPTS: Int64?
    private var inputDone = false
    private var decoderDone = false

    /// Opens `path` and the decoder for its first video stream.
    /// - Parameter threads: decoder threads (0 = FFmpeg's choice, nproc + 1).
    init(path: String, threads: Int) throws(VideoError) {
        _ = ffmpegLogLevelOnce
        self.path = path
        try Self.checkRegularFile(path)

        var fmt: UnsafeMutablePointer<AVFormatContext>? = avformat_alloc_context()
        fmt?.pointee.opaque = UnsafeMutableRawPointer(log.bytes)  // freed by avformat_open_input on failure
        let openStatus = avformat_open_input(&fmt, path, nil, nil)
        guard openStatus >= 0, let fmt else {
            throw .openFailed(path: path, message: ffmpegMessage(openStatus, log: log))
        }
        format = fmt
        let infoStatus = avformat_find_stream_info(fmt, nil)
        if infoStatus < 0 {
            avformat_close_input(&format)
            throw .openFailed(path: path, message: ffmpegMessage(infoStatus, log: log))
        }
        let index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard index >= 0 else {
            var kinds: [String] = []
            for i in 0..<Int(fmt.pointee.nb_streams) {
                let par = fmt.pointee.streams[i]!.pointee.codecpar!.pointee
                let type = av_get_media_type_string(par.codec_type).map { String(cString: $0) } ?? "unknown"
                kinds.append("\(type) \(String(cString: avcodec_get_name(par.codec_id)))")
            }
            avformat_close_input(&format)
            throw .noVideoStream(path: path, streams: kinds.isEmpty ? "none" : kinds.joined(separator: ", "))
        }
        streamIndex = index
        stream = fmt.pointee.streams[Int(index)]!
        timeBase = av_q2d(stream.pointee.time_base)
        // Drop every other stream's packets in the demuxer.
        for i in 0..<Int(fmt.pointee.nb_streams) where i != Int(index) {
            fmt.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL
        }

        let par = stream.pointee.codecpar!
        guard let decoder = avcodec_find_decoder(par.pointee.codec_id) else {
            let name = String(cString: avcodec_get_name(par.pointee.codec_id))
            avformat_close_input(&format)
            throw .decoderNotFound(path: path, codec: name)
        }
        codec = avcodec_alloc_context3(decoder)
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        guard let codec, packet != nil, frame != nil else {
            throw .ffmpeg(path: path, operation: "allocating decoder", message: ffmpegMessage(nb_averror_enomem()))
        }
        try check(avcodec_parameters_to_context(codec, par), "avcodec_parameters_to_context", path: path)
        codec.pointee.thread_count = Int32(threads)
        codec.pointee.pkt_timebase = stream.pointee.time_base
        try check(avcodec_open2(codec, decoder, nil), "avcodec_open2 (\(String(cString: decoder.pointee.name)))", path: path)
    }

    deinit {
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&codec)
        avformat_close_input(&format)
    }

    // MARK: Metadata

    /// Stream and container metadata from the headers (no decoding).
    func headerInfo() -> VideoInfo {
        let fmt = format!.pointee
        let st = stream.pointee
        let par = st.codecpar!.pointee
        let q = { (r: AVRational) -> Double in r.den == 0 ? 0 : av_q2d(r) }
        var duration = 0.0
        if st.duration != nb_av_nopts_value() && st.duration > 0 {
            duration = Double(st.duration) * timeBase
        } else if fmt.duration != nb_av_nopts_value() && fmt.duration > 0 {
            duration = Double(fmt.duration) / Double(nb_av_time_base())
        }
        let pixFmt = av_get_pix_fmt_name(AVPixelFormat(rawValue: par.format)).map { String(cString: $0) } ?? "unknown"
        return VideoInfo(
            path: path,
            container: String(cString: fmt.iformat.pointee.name),
            codec: String(cString: avcodec_get_name(par.codec_id)),
            width: Int(par.width), height: Int(par.height),
            pixelFormat: pixFmt,
            colorMatrix: String(cString: av_color_space_name(par.color_space) ?? av_color_space_name(AVCOL_SPC_UNSPECIFIED)),
            colorRange: String(cString: av_color_range_name(par.color_range) ?? av_color_range_name(AVCOL_RANGE_UNSPECIFIED)),
            rotation: Int(nb_stream_rotation(stream)),
            averageFrameRate: q(st.avg_frame_rate),
            nominalFrameRate: q(st.r_frame_rate),
            duration: duration,
            headerFrameCount: st.nb_frames > 0 ? Int(st.nb_frames) : nil,
            frameCount: nil,
            keyframes: nil)
    }

    // MARK: Index scan

    /// Timestamps of every packet of the stream, read without decoding.
    struct PacketIndex {
        /// Presentation timestamps in display order (sorted).
        var pts: [Int64]
        /// Display-order indices of keyframes (sorted).
        var keyframes: [Int]
        /// False when some packet has neither pts nor dts: frames are then counted, not timed.
        var timed: Bool
        /// All non-empty packets of the stream, including those never shown (edit lists).
        var packets: Int
        /// The first packet in decode order is a keyframe (false: the stream starts mid-GOP).
        var startsWithKeyframe: Bool
        /// Timestamps of the shown packets before the first keyframe in decode order (a
        /// stream cut mid-GOP); all of them when there is no keyframe.
        var leadingPTS: [Int64]
        /// Every shown packet has its own timestamp.
        var uniqueTimestamps: Bool
    }

    /// Reads every packet of the video stream (no decoding) to count packets and
    /// find keyframes. Zero-size packets hold no picture and are not counted.
    ///
    /// The scan uses a second demuxer on the same file, so the decoding demuxer
    /// never moves backward: rewinding by timestamp is unreliable for some
    /// containers (MPEG-TS lands on a later keyframe). Packets flagged
    /// `AV_PKT_FLAG_DISCARD` (before an mp4 edit list's start) are decoded but
    /// never shown: they are not frames of the clip.
    func scan() throws(VideoError) -> PacketIndex {
        let scanLog = LogBuffer()
        var fmt: UnsafeMutablePointer<AVFormatContext>? = avformat_alloc_context()
        fmt?.pointee.opaque = UnsafeMutableRawPointer(scanLog.bytes)
        let status = avformat_open_input(&fmt, path, nil, nil)
        guard status >= 0, let scanFormat = fmt else {
            throw .openFailed(path: path, message: ffmpegMessage(status, log: scanLog))
        }
        defer { avformat_close_input(&fmt) }
        // The same stream in the second demuxer: by container id, else by index.
        let id = stream.pointee.id
        var scanIndex = streamIndex
        for i in 0..<Int(scanFormat.pointee.nb_streams) where scanFormat.pointee.streams[i]!.pointee.id == id {
            scanIndex = Int32(i)
            break
        }
        for i in 0..<Int(scanFormat.pointee.nb_streams) where i != Int(scanIndex) {
            scanFormat.pointee.streams[i]!.pointee.discard = AVDISCARD_ALL
        }
        guard let pkt = av_packet_alloc() else {
            throw .ffmpeg(path: path, operation: "av_packet_alloc", message: ffmpegMessage(nb_averror_enomem()))
        }
        var packet: UnsafeMutablePointer<AVPacket>? = pkt
        defer { av_packet_free(&packet) }
        let nopts = nb_av_nopts_value()
        var entries: [(ts: Int64, key: Bool)] = []
        var timed = true
        var packets = 0
        var startsWithKeyframe = false
        var seenKeyframe = false
        var leadingPTS: [Int64] = []
        while true {
            let r = av_read_frame(scanFormat, pkt)
            if r < 0 {
                if r != nb_averror_eof() { readError = ffmpegMessage(r, log: scanLog) }
                break
            }
            if pkt.pointee.stream_index == scanIndex && pkt.pointee.size > 0 {
                packets += 1
                if packets == 1 { startsWithKeyframe = (pkt.pointee.flags & nb_pkt_flag_key()) != 0 }
                if (pkt.pointee.flags & AV_PKT_FLAG_DISCARD) == 0 {
                    var ts = pkt.pointee.pts
                    if ts == nopts { ts = pkt.pointee.dts }
                    if ts == nopts { timed = false }
                    let key = (pkt.pointee.flags & nb_pkt_flag_key()) != 0
                    if key { seenKeyframe = true } else if !seenKeyframe { leadingPTS.append(ts) }
                    entries.append((ts, key))
                }
            }
            av_packet_unref(pkt)
        }
        scanLastLog = scanLog.line
        let order = timed ? entries.indices.sorted { entries[$0].ts < entries[$1].ts } : Array(entries.indices)
        var keyframes: [Int] = []
        for (displayIndex, i) in order.enumerated() where entries[i].key { keyframes.append(displayIndex) }
        let pts = order.map { entries[$0].ts }
        let unique = timed && zip(pts, pts.dropFirst()).allSatisfy { $0 < $1 }
        return PacketIndex(pts: pts, keyframes: keyframes, timed: timed, packets: packets,
                           startsWithKeyframe: startsWithKeyframe, leadingPTS: leadingPTS, uniqueTimestamps: unique)
    }

    /// False for containers whose timestamp seeking may land past the wanted
    /// keyframe (timestamp discontinuities: MPEG-TS, MPEG-PS); those are read in one pass.
    var canSeekPrecisely: Bool {
        (format!.pointee.iformat.pointee.flags & AVFMT_TS_DISCONT) == 0
    }

    /// Seeks forward to the keyframe at or before `pts` and resets the decoder.
    func seek(toKeyframeAt pts: Int64) throws(VideoError) {
        try check(av_seek_frame(format!, streamIndex, pts, AVSEEK_FLAG_BACKWARD), "seeking to pts \(pts) (av_seek_frame)", path: path)
        avcodec_flush_buffers(codec!)
        maxSentPTS = nil
        inputDone = false
        decoderDone = false
    }

    // MARK: Decoding

    /// Decodes the next frame in display order into `frame`.
    /// - Returns: false at the end of the stream.
    func nextFrame() throws(VideoError) -> Bool {
        let ctx = codec!, pkt = packet!, out = frame!, fmt = format!
        let eagain = nb_averror_eagain(), eof = nb_averror_eof()
        while !decoderDone {
            let received = avcodec_receive_frame(ctx, out)
            if received == 0 {
                framesReturned += 1
                if (out.pointee.flags & nb_frame_flag_corrupt()) != 0 || out.pointee.decode_error_flags != 0 {
                    corruptFrames += 1
                }
                return true
            }
            if received == eof { decoderDone = true; break }
            if received != eagain {
                countError()  // a decode error on a frame; keep going
                continue
            }
            // The decoder wants input.
            if inputDone {
                decoderDone = true  // flushed and still EAGAIN: nothing more will come
                break
            }
            let r = av_read_frame(fmt, pkt)
            if r < 0 {
                if r != eof { readError = ffmpegMessage(r, log: log) }
                inputDone = true
                _ = avcodec_send_packet(ctx, nil)  // enter draining mode
                continue
            }
            defer { av_packet_unref(pkt) }
            // Zero-size packets (AVI "repeat" chunks) hold no picture; sent to the
            // decoder they would mean "end of stream".
            if pkt.pointee.stream_index != streamIndex || pkt.pointee.size == 0 { continue }
            if let wanted = wantedPTS {
                let skip = pkt.pointee.pts != nb_av_nopts_value() && !wanted.contains(pkt.pointee.pts)
                if skip != skipping {
                    ctx.pointee.skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
                    skipping = skip
                }
            }
            if pkt.pointee.pts != nb_av_nopts_value() { maxSentPTS = max(maxSentPTS ?? pkt.pointee.pts, pkt.pointee.pts) }
            let sent = avcodec_send_packet(ctx, pkt)
            if sent < 0 && sent != eagain { countError() }
        }
        return false
    }

    private func countError() {
        if framesReturned == 0 { leadingErrors += 1 } else { lostPackets += 1 }
    }

    /// True when the decoded frame is a keyframe.
    var frameIsKey: Bool { frame!.pointee.key_frame != 0 }

    /// The scanning demuxer's last warning/error line ("" when none).
    private(set) var scanLastLog = ""

    /// The decoded frame's presentation timestamp (best effort).
    var framePTS: Int64 { frame!.pointee.best_effort_timestamp }

    /// Raw access for the scaler: the frame being held.
    var currentFrame: UnsafeMutablePointer<AVFrame> { frame! }
}
