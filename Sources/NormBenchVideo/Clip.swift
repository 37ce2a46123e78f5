/// Memory order of a clip tensor.
public enum TensorLayout: String, Sendable, Codable, CaseIterable {
    /// T×H×W×C, channels last: what decoding produces, what the engine, decord and torchvision use.
    case thwc
    /// C×T×H×W: what PyTorch video models take.
    case cthw
}

/// Time spent on one clip, in seconds.
public struct DecodeTimings: Sendable, Codable, Equatable {
    /// Opening the file and the decoder, reading headers.
    public var open: Double = 0
    /// Reading every packet for the frame index (no decoding).
    public var scan: Double = 0
    /// Decoding, seeking and converting frames (includes `scale`).
    public var decode: Double = 0
    /// swscale conversion and copying into the clip (part of `decode`).
    public var scale: Double = 0
    /// Everything.
    public var total: Double = 0
}

/// A decoded clip: `frames` RGB images of `height`×`width`, uint8, T×H×W×C.
///
/// Shapes:
///   data: [frames, height, width, channels], channels = 3 (R, G, B), row-major.
public struct Clip: Sendable {
    /// T: number of frames in `data`.
    public var frames: Int
    public var height: Int
    public var width: Int
    /// Always 3 (R, G, B).
    public var channels: Int
    /// Pixels, T×H×W×C, uint8.
    public var data: [UInt8]
    /// Display-order index of the source frame for each output frame.
    public var frameIndices: [Int]
    /// Presentation time in seconds of each output frame, from the first frame of the stream.
    public var timestamps: [Double]
    /// The file's metadata (with the scanned frame count and keyframes).
    public var info: VideoInfo
    /// Frames the decoder produced, including those decoded only to reach a target.
    public var framesDecoded: Int
    /// Seeks performed.
    public var seeks: Int
    /// Packets lost to decode errors (corrupt data); their frames are missing.
    public var lostPackets: Int
    /// Decoded frames that FFmpeg flagged as damaged (kept).
    public var corruptFrames: Int
    /// Packets the decoder could not use before its first frame (a stream cut mid-GOP);
    /// they are not frames of the clip, as in the ffmpeg CLI.
    public var undecodableLeadingPackets: Int
    /// Output frames that repeat the last frame because the clip was too short (`ShortClipPolicy.padWithLastFrame`).
    public var paddedFrames: Int
    /// How the frames were found: "sequential" (full decode), "packets" (packet index,
    /// seeks by timestamp) or "decoded" (index from a counting decode pass, frames by ordinal).
    public var frameIndex: String
    /// Set when the file ends before its data does (full decodes only; a sample of such a
    /// file is refused): why, and how many frames are good. Every frame that decoded is kept.
    public var truncation: String?
    public var timings: DecodeTimings

    /// Bytes of one frame (H × W × C).
    public var frameBytes: Int { height * width * channels }

    /// True when the decoder reported damage inside the clip (packets it rejected after
    /// its first frame, frames it returned flagged as corrupt) or the file ends early. (Padding is not damage:
    /// the caller asked for it and `paddedFrames` reports it.)
    public var isDamaged: Bool { lostPackets > 0 || corruptFrames > 0 || truncation != nil }

    /// The pixels as uint8 in `layout` (a transpose for `.cthw`, a copy for `.thwc`).
    public func uint8Data(layout: TensorLayout) -> [UInt8] {
        if layout == .thwc { return data }
        var out = [UInt8](repeating: 0, count: data.count)
        let plane = frames * height * width
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for p in 0..<plane {
                    let s = p &* 3
                    dst[p] = src[s]
                    dst[plane &+ p] = src[s &+ 1]
                    dst[2 &* plane &+ p] = src[s &+ 2]
                }
            }
        }
        return out
    }

    /// The pixels as float32 in `layout`: `(x / 255 − mean[c]) / std[c]` per channel.
    /// - Parameters:
    ///   - mean: per-channel mean (R, G, B) on the 0...1 scale; default 0.
    ///   - std: per-channel standard deviation; default 1.
    public func floatData(layout: TensorLayout, mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) -> [Float] {
        precondition(mean.count == 3 && std.count == 3, "Clip.floatData: mean and std need 3 values (R, G, B)")
        let scale = (0..<3).map { 1 / (255 * std[$0]) }
        let shift = (0..<3).map { -mean[$0] / std[$0] }
        var out = [Float](repeating: 0, count: data.count)
        let plane = frames * height * width
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let (s0, s1, s2) = (scale[0], scale[1], scale[2])
                let (b0, b1, b2) = (shift[0], shift[1], shift[2])
                if layout == .thwc {
                    for p in 0..<plane {
                        let s = p &* 3
                        dst[s] = Float(src[s]) * s0 + b0
                        dst[s &+ 1] = Float(src[s &+ 1]) * s1 + b1
                        dst[s &+ 2] = Float(src[s &+ 2]) * s2 + b2
                    }
                } else {
                    for p in 0..<plane {
                        let s = p &* 3
                        dst[p] = Float(src[s]) * s0 + b0
                        dst[plane &+ p] = Float(src[s &+ 1]) * s1 + b1
                        dst[2 &* plane &+ p] = Float(src[s &+ 2]) * s2 + b2
                    }
                }
            }
        }
        return out
    }
}
