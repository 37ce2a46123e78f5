internal import CFFmpeg

/// Rotates decoded YUV frames before scaling, the way the ffmpeg CLI's autorotate
/// does (`transpose=clock`, `transpose=cclock`, or `hflip,vflip` on the decoded
/// planes, then the scale filter), so rotated output matches the CLI at any size.
///
/// Works on planar formats whose chroma is subsampled equally in both directions
/// (yuv420p, yuvj420p, yuv444p, 10-bit variants, gbrp, gray, ...): the formats the
/// CLI's transpose filter accepts. For others `rotate` returns nil and the caller
/// rotates the RGB output instead.
///
/// Shapes (90°/270°): source plane ph × pw → destination plane pw × ph.
final class FrameRotator {
    private var output: UnsafeMutablePointer<AVFrame>?
    /// Clockwise degrees: 90, 180 or 270.
    let rotation: Int

    init(rotation: Int) {
        precondition([90, 180, 270].contains(rotation), "FrameRotator: rotation must be 90, 180 or 270, got \(rotation)")
        self.rotation = rotation
    }

    deinit { av_frame_free(&output) }

    /// True when `format` can be rotated plane by plane.
    static func supports(_ format: Int32) -> Bool {
        guard let desc = av_pix_fmt_desc_get(AVPixelFormat(rawValue: format)) else { return false }
        let d = desc.pointee
        let unsupported = UInt64(AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL)
        guard d.flags & unsupported == 0, d.flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0 || d.nb_components == 1,
              d.log2_chroma_w == d.log2_chroma_h else { return false }
        let components = [d.comp.0, d.comp.1, d.comp.2, d.comp.3].prefix(Int(d.nb_components))
        return components.allSatisfy { $0.step == 1 || $0.step == 2 }
    }

    /// The rotated copy of `frame` (owned by the rotator, valid until the next call).
    func rotate(_ frame: UnsafeMutablePointer<AVFrame>, path: String) throws(VideoError) -> UnsafeMutablePointer<AVFrame> {
        let f = frame.pointee
        let swap = rotation != 180
        let dstWidth = swap ? f.height : f.width, dstHeight = swap ? f.width : f.height
        if output == nil || output!.pointee.width != dstWidth || output!.pointee.height != dstHeight || output!.pointee.format != f.format {
            av_frame_free(&output)
            output = av_frame_alloc()
            guard let out = output else {
                throw .ffmpeg(path: path, operation: "allocating the rotation frame", message: ffmpegMessage(nb_averror_enomem()))
            }
            out.pointee.format = f.format
            out.pointee.width = dstWidth
            out.pointee.height = dstHeight
            try check(av_frame_get_buffer(out, 0), "av_frame_get_buffer (rotation \(dstWidth)x\(dstHeight))", path: path)
        }
        let out = output!
        try check(av_frame_copy_props(out, frame), "av_frame_copy_props", path: path)
        let desc = av_pix_fmt_desc_get(AVPixelFormat(rawValue: f.format))!.pointee
        let planes = Int(av_pix_fmt_count_planes(AVPixelFormat(rawValue: f.format)))
        let comps = [desc.comp.0, desc.comp.1, desc.comp.2, desc.comp.3]
        for plane in 0..<planes {
            // Bytes per sample: the step of a component that lives in this plane.
            let step = Int(comps.first { Int($0.plane) == plane }?.step ?? 1)
            let chroma = plane == 1 || plane == 2
            let sw = chroma ? ceilShift(Int(f.width), Int(desc.log2_chroma_w)) : Int(f.width)
            let sh = chroma ? ceilShift(Int(f.height), Int(desc.log2_chroma_h)) : Int(f.height)
            let src = UnsafePointer(nb_frame_data(frame, Int32(plane))!)
            let dst = nb_frame_data(out, Int32(plane))!
            let srcStride = Int(nb_frame_linesize(frame, Int32(plane))), dstStride = Int(nb_frame_linesize(out, Int32(plane)))
            if step == 1 {
                remap(src, srcStride, dst, dstStride, width: sw, height: sh, as: UInt8.self)
            } else {
                remap(src, srcStride, dst, dstStride, width: sw, height: sh, as: UInt16.self)
            }
        }
        return out
    }

    private func ceilShift(_ v: Int, _ s: Int) -> Int { -((-v) >> s) }

    /// Moves every sample of a `width`×`height` source plane to its rotated place.
    private func remap<T>(_ src: UnsafePointer<UInt8>, _ srcStride: Int, _ dst: UnsafeMutablePointer<UInt8>, _ dstStride: Int,
                          width: Int, height: Int, as: T.Type) {
        let size = MemoryLayout<T>.stride
        for y in 0..<height {
            let rowOffset: Int = y &* srcStride
            let row = UnsafeRawPointer(src + rowOffset).assumingMemoryBound(to: T.self)
            for x in 0..<width {
                // Destination (dx, dy) of source sample (x, y).
                let dx: Int, dy: Int
                switch rotation {
                case 90: dx = height &- 1 &- y; dy = x
                case 180: dx = width &- 1 &- x; dy = height &- 1 &- y
                default: dx = y; dy = width &- 1 &- x
                }
                let offset: Int = dy &* dstStride &+ dx &* size
                UnsafeMutableRawPointer(dst + offset).assumingMemoryBound(to: T.self).pointee = row[x]
            }
        }
    }
}
