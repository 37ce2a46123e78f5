import Foundation
import NormBenchEngine
import NormBenchVideo

/// A data set decoded once into memory: every frame of every clip as uint8 RGB
/// at the training size, so that sampling a window for a step is a copy, not a decode.
///
/// Layout: one buffer per clip, T×H×W×3 (channels-last, as the engine wants),
/// where T is the clip's own length (`frames(of:)`): a synthetic set's clips all
/// have the same length, a folder's may differ.
public final class ClipBank: @unchecked Sendable {
    /// Height and width of the stored frames.
    public let size: Int
    public let labels: [Int]
    /// Frames stored per clip: every frame the clip decoded to.
    public let frameCounts: [Int]
    /// Per clip, per frame (every stored frame): boxes scaled to `size` pixels (detection).
    public let boxes: [[[SyntheticRenderer.Box]]]
    /// Paths (as listed) of clips that failed to decode and were skipped.
    public let skipped: [String]
    /// Decoding throughput of the whole set.
    public let decodeSeconds: Double
    public let framesDecoded: Int
    /// Memory the bank holds: Σ frames_i × size² × 3 bytes (each buffer is allocated at its exact size).
    public let bytes: Int
    private let clips: [[UInt8]]

    public var count: Int { labels.count }
    /// Bytes of one stored frame.
    public var frameBytes: Int { size * size * 3 }
    /// Frames stored for clip `i`.
    public func frames(of i: Int) -> Int { frameCounts[i] }
    /// Bytes stored for clip `i`.
    public func clipBytes(_ i: Int) -> Int { frameCounts[i] * frameBytes }

    /// Pointer to clip `i`'s first byte (valid while the bank lives).
    public func withClip<R>(_ i: Int, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        clips[i].withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    init(size: Int, labels: [Int], boxes: [[[SyntheticRenderer.Box]]], skipped: [String], decodeSeconds: Double, clips: [[UInt8]]) {
        self.size = size
        self.labels = labels
        self.boxes = boxes
        self.skipped = skipped
        self.decodeSeconds = decodeSeconds
        self.clips = clips
        let frameBytes = size * size * 3
        frameCounts = clips.map { $0.count / frameBytes }
        framesDecoded = frameCounts.reduce(0, +)
        bytes = clips.reduce(0) { $0 + $1.count }
    }

    /// Decodes the clips of `split` listed in `manifest` (paths relative to `folder`).
    ///
    /// Each clip is scaled so its shorter side is `size` and centre-cropped to
    /// `size`×`size`; every frame is kept. Clips decode in parallel, one decoder thread each.
    /// - Parameters:
    ///   - frames: the frames a clip must have at least (one window's span); a
    ///     shorter clip fails, naming it.
    ///   - skipBad: count and skip clips that fail instead of failing.
    public static func decode(
        manifest: DatasetManifest, folder: String, split: String, size: Int, frames: Int,
        threads: Int = Parallel.threads, skipBad: Bool = false
    ) throws -> ClipBank {
        let entries = manifest.entries.filter { $0.split == split }
        let frameBytes = size * size * 3
        var clips = [[UInt8]](repeating: [], count: entries.count)
        var errors = [String?](repeating: nil, count: entries.count)
        var scales = [(Double, Double, Double, Double)](repeating: (1, 1, 0, 0), count: entries.count)
        let start = DispatchTime.now().uptimeNanoseconds
        clips.withUnsafeMutableBufferPointer { out in
            errors.withUnsafeMutableBufferPointer { errs in
                scales.withUnsafeMutableBufferPointer { sc in
                    let box = UncheckedSendable((out, errs, sc))
                    Parallel.forEach(chunks: entries.count, threads: threads) { i in
                        let (o, e, s) = box.value
                        let path = "\(folder)/\(entries[i].path)"
                        let options = DecodeOptions(
                            sampling: .all, resize: .shortSide(size), crop: .center(width: size, height: size), threads: 1)
                        do throws(VideoError) {
                            let clip = try ClipDecoder.decode(path, options: options)
                            guard clip.frames >= frames else {
                                e[i] = "has \(clip.frames) frames but a window spans \(frames) (clip.frames, clip.stride); lower them or leave the clip out"
                                return
                            }
                            if let b = entries[i].boxes, b.count < clip.frames {
                                e[i] = "has \(clip.frames) frames but its boxes list \(b.count); give one list per frame (an empty list for none)"
                                return
                            }
                            let n = clip.frames * frameBytes
                            o[i] = clip.data.withUnsafeBufferPointer { src in
                                [UInt8](unsafeUninitializedCapacity: n) { dst, count in
                                    dst.baseAddress!.update(from: src.baseAddress!, count: n)
                                    count = n
                                }
                            }
                            // Box mapping: scale by the resize, shift by the crop offset.
                            let (w, h) = clip.info.displaySize
                            let scale = Double(size) / Double(min(w, h))
                            s[i] = (scale, scale, (Double(w) * scale - Double(size)) / 2, (Double(h) * scale - Double(size)) / 2)
                        } catch {
                            e[i] = "\(error)"
                        }
                    }
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var keep: [Int] = []
        var skipped: [String] = []
        for i in entries.indices {
            if let e = errors[i] {
                guard skipBad else { throw DatasetError.clip(path: "\(folder)/\(entries[i].path)", problem: e) }
                skipped.append(entries[i].path)
            } else {
                keep.append(i)
            }
        }
        let boxes: [[[SyntheticRenderer.Box]]] = keep.map { i in
            let (sx, sy, dx, dy) = scales[i]
            return (entries[i].boxes ?? []).prefix(clips[i].count / frameBytes).map { frame in
                frame.map { b in
                    SyntheticRenderer.Box(x0: b.x0 * sx - dx, y0: b.y0 * sy - dy, x1: b.x1 * sx - dx, y1: b.y1 * sy - dy, label: b.label)
                }
            }
        }
        return ClipBank(
            size: size, labels: keep.map { entries[$0].label }, boxes: boxes, skipped: skipped,
            decodeSeconds: seconds, clips: keep.map { clips[$0] })
    }
}
