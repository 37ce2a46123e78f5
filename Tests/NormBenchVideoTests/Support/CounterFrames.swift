import NormBenchVideo

/// Frames that carry their own index: 8 vertical stripes, stripe b white when bit b
/// of the index is set, black otherwise. Survives lossy compression; read back by
/// averaging the middle of each stripe.
enum CounterFrames {
    static let width = 128, height = 64

    static func frame(_ index: Int) -> [UInt8] {
        var f = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width where (index >> (x / 16)) & 1 == 1 {
                let o = (y * width + x) * 3
                f[o] = 255; f[o + 1] = 255; f[o + 2] = 255
            }
        }
        return f
    }

    /// The index drawn into frame `t` of `clip` (any output size; no crop).
    static func read(_ clip: Clip, frame t: Int) -> Int {
        var index = 0
        let w = clip.width, h = clip.height
        for b in 0..<8 {
            let x0 = b * w / 8 + w / 32, x1 = (b + 1) * w / 8 - w / 32
            var sum = 0, n = 0
            for y in h / 4..<(3 * h / 4) {
                for x in x0..<x1 {
                    sum += Int(clip.data[((t * h + y) * w + x) * 3 + 1])
                    n += 1
                }
            }
            if sum / max(n, 1) > 128 { index |= 1 << b }
        }
        return index
    }

    /// Writes `count` counter frames with `codec` to `path`.
    static func write(_ path: String, count: Int, fps: Int = 25, codec: VideoCodec) throws {
        let encoder = try VideoEncoder(path: path, width: width, height: height, fps: fps, codec: codec)
        for i in 0..<count { try encoder.append(frame(i)) }
        try encoder.finish()
    }
}
