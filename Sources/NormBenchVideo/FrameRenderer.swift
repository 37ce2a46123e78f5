internal import CFFmpeg

/// Turns decoded frames into clip frames: rotation, scaling to packed RGB24, crop.
///
/// Planar YUV frames are rotated before scaling, as the CLI does (byte-identical
/// output at any size); other formats are rotated after conversion to RGB.
///
/// Shapes:
///   output frame: window.height × window.width × 3 bytes (R, G, B)
final class FrameRenderer {
    let window: Placer.Window
    private let scaled: (width: Int, height: Int)
    /// swscale works before rotation: a 90°/270° frame is scaled to the transposed size.
    private let preRotation: (width: Int, height: Int)
    private let rgbPlacer: Placer
    private let yuvPlacer: Placer
    private let rotator: FrameRotator?
    private let scaler: Scaler
    private let stride: Int
    private var scratch: [UInt8]
    private let path: String

    /// Bytes of one output frame.
    var frameBytes: Int { window.height * window.width * 3 }

    init(info: VideoInfo, options: DecodeOptions, path: String) throws(VideoError) {
        self.path = path
        let rotation = options.autorotate ? info.rotation : 0
        let display = rotation == 90 || rotation == 270 ? (info.height, info.width) : (info.width, info.height)
        scaled = options.scaledSize(displayWidth: display.0, displayHeight: display.1)
        window = try Self.cropWindow(options.crop, width: scaled.width, height: scaled.height, path: path)
        preRotation = rotation == 90 || rotation == 270 ? (scaled.height, scaled.width) : scaled
        rgbPlacer = Placer(srcWidth: preRotation.width, srcHeight: preRotation.height, rotation: rotation, window: window)
        yuvPlacer = Placer(srcWidth: scaled.width, srcHeight: scaled.height, rotation: 0, window: window)
        rotator = rotation == 0 ? nil : FrameRotator(rotation: rotation)
        scaler = Scaler(interpolation: options.interpolation)
        stride = (max(preRotation.width, scaled.width) * 3 + 63) & ~63
        scratch = [UInt8](repeating: 0, count: stride * max(preRotation.height, scaled.height) + 64)
    }

    /// Converts `frame` and writes `frameBytes` bytes at `out`.
    func render(_ frame: UnsafeMutablePointer<AVFrame>, into out: UnsafeMutablePointer<UInt8>) throws(VideoError) {
        let placer: Placer
        if let rotator, FrameRotator.supports(frame.pointee.format) {
            let rotated = try rotator.rotate(frame, path: path)
            try scaler.scale(rotated, width: scaled.width, height: scaled.height, into: &scratch, stride: stride, path: path)
            placer = yuvPlacer
        } else {
            try scaler.scale(frame, width: preRotation.width, height: preRotation.height, into: &scratch, stride: stride, path: path)
            placer = rgbPlacer
        }
        scratch.withUnsafeBufferPointer { src in placer.place(src.baseAddress!, stride: stride, into: out) }
    }

    private static func cropWindow(_ crop: Crop, width: Int, height: Int, path: String) throws(VideoError) -> Placer.Window {
        switch crop {
        case .none:
            return .init(x: 0, y: 0, width: width, height: height)
        case .center(let w, let h), .random(let w, let h, _):
            guard w <= width && h <= height else {
                throw .invalidRequest(path: path, problem: "crop \(w)x\(h) is larger than the scaled frame \(width)x\(height); use a smaller --crop or a larger --size")
            }
            if case .random(_, _, let seed) = crop {
                var rng = SplitMix64(seed: seed)
                let x = Int(rng.next() % UInt64(width - w + 1))
                let y = Int(rng.next() % UInt64(height - h + 1))
                return .init(x: x, y: y, width: w, height: h)
            }
            return .init(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
        }
    }
}
