import NormBenchEngine

/// Cuts training samples out of a `ClipBank` into an engine input tensor.
///
/// A sample is (clip, first frame, flip): `frames` frames `stride` apart from
/// the first, each pixel normalized as (v/255 − mean[c]) / std[c], optionally
/// mirrored left-right. Output `[n, frames, size, size, 3]` (NDHWC), ledger: data.
/// Assembly is a strided copy (from a bank in a file, after one `pread` of each
/// sample's window): ~1 ms for a batch of 8 clips of 8×64×64, well
/// under 1 % of a training step here, so it runs inline (no prefetch thread);
/// `normbench run` reports its share of step time.
public struct BatchAssembler: Sendable {
    public let frames: Int
    public let stride: Int
    /// Per-channel affine: value·scale[c] + shift[c].
    private let scale: (Float, Float, Float)
    private let shift: (Float, Float, Float)

    public struct Sample: Sendable, Equatable {
        public var clip: Int
        public var start: Int
        public var flip: Bool
        public init(clip: Int, start: Int, flip: Bool = false) {
            self.clip = clip
            self.start = start
            self.flip = flip
        }
    }

    public init(frames: Int, stride: Int, mean: [Double], std: [Double]) {
        precondition(mean.count == 3 && std.count == 3, "BatchAssembler: mean and std need 3 channels")
        self.frames = frames
        self.stride = stride
        let s = (0..<3).map { Float(1 / (255 * std[$0])) }
        let b = (0..<3).map { Float(-mean[$0] / std[$0]) }
        scale = (s[0], s[1], s[2])
        shift = (b[0], b[1], b[2])
    }

    /// Frames one sample spans in its clip.
    public var span: Int { (frames - 1) * stride + 1 }

    /// A new `[samples.count, frames, size, size, 3]` tensor holding `samples` of `bank`.
    public func assemble(_ samples: [Sample], from bank: ClipBank) -> Tensor {
        let size = bank.size
        let out = Tensor(shape: [samples.count, frames, size, size, 3], category: .data)
        let frameBytes = size * size * 3
        let (s0, s1, s2) = scale, (b0, b1, b2) = shift
        // Where a bank kept in a file reads each sample's window (one buffer for the batch).
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: span * frameBytes)
        defer { scratch.deallocate() }
        for (i, sample) in samples.enumerated() {
            bank.withFrames(sample.clip, first: sample.start, count: span, scratch: scratch) { window in
                for t in 0..<frames {
                    let src = window + t * stride * frameBytes
                    let dst = out.data + (i * frames + t) * frameBytes
                    for y in 0..<size {
                        let row = src + y * size * 3
                        let o = dst + y * size * 3
                        for x in 0..<size {
                            let sx = sample.flip ? size - 1 - x : x
                            let p = row + sx * 3
                            o[x * 3] = Float(p[0]) * s0 + b0
                            o[x * 3 + 1] = Float(p[1]) * s1 + b1
                            o[x * 3 + 2] = Float(p[2]) * s2 + b2
                        }
                    }
                }
            }
        }
        return out
    }
}
