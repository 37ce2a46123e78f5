import Foundation
import NormBenchEngine
import NormBenchVideo

/// A data set decoded once into memory: every clip's frames as uint8 RGB at the
/// training size, so that sampling a window for a step is a copy, not a decode.
///
/// Layout: clip-major, then T×H×W×3 (channels-last, as the engine wants).
public final class ClipBank: @unchecked Sendable {
    /// Frames stored per clip (all frames of the video).
    public let framesPerClip: Int
    /// Height and width of the stored frames.
    public let size: Int
    public let labels: [Int]
    /// Per clip, per frame: boxes scaled to `size` pixels (detection).
    public let boxes: [[[SyntheticRenderer.Box]]]
    /// Paths (as listed) of clips that failed to decode and were skipped.
    public let skipped: [String]
    /// Decoding throughput of the whole set.
    public let decodeSeconds: Double
    public let framesDecoded: Int
    private let storage: [UInt8]

    public var count: Int { labels.count }
    public var clipBytes: Int { framesPerClip * size * size * 3 }
    /// Memory the bank holds.
    public var bytes: Int { storage.count }

    /// Pointer to clip `i`'s first byte (valid while the bank lives).
    public func withClip<R>(_ i: Int, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        storage.withUnsafeBufferPointer { body($0.baseAddress! + i * clipBytes) }
    }

    init(framesPerClip: Int, size: Int, labels: [Int], boxes: [[[SyntheticRenderer.Box]]], skipped: [String], decodeSeconds: Double, framesDecoded: Int, storage: [UInt8]) {
        self.framesPerClip = framesPerClip
        self.size = size
        self.labels = labels
        self.boxes = boxes
        self.skipped = skipped
        self.decodeSeconds = decodeSeconds
        self.framesDecoded = framesDecoded
        self.storage = storage
    }

    /// Decodes the clips of `split` listed in `manifest` (paths relative to `folder`).
    ///
    /// Each clip is scaled so its shorter side is `size` and centre-cropped to
    /// `size`×`size`; `frames` frames are kept from its start (clips shorter than
    /// that fail). Clips decode in parallel, one decoder thread each.
    /// - Parameter skipBad: count and skip clips that fail instead of failing.
    public static func decode(
        manifest: DatasetManifest, folder: String, split: String, size: Int, frames: Int,
        threads: Int = Parallel.threads, skipBad: Bool = false
    ) throws -> ClipBank {
        let entries = manifest.entries.filter { $0.split == split }
        let clipBytes = frames * size * size * 3
        var storage = [UInt8](repeating: 0, count: entries.count * clipBytes)
        var errors = [VideoError?](repeating: nil, count: entries.count)
        var scales = [(Double, Double, Double, Double)](repeating: (1, 1, 0, 0), count: entries.count)
        let start = DispatchTime.now().uptimeNanoseconds
        storage.withUnsafeMutableBufferPointer { out in
            errors.withUnsafeMutableBufferPointer { errs in
                scales.withUnsafeMutableBufferPointer { sc in
                    let box = UncheckedSendable((out, errs, sc))
                    Parallel.forEach(chunks: entries.count, threads: threads) { i in
                        let path = "\(folder)/\(entries[i].path)"
                        let options = DecodeOptions(
                            sampling: .dense(count: frames, stride: 1, start: 0), resize: .shortSide(size),
                            crop: .center(width: size, height: size), threads: 1)
                        do throws(VideoError) {
                            let clip = try ClipDecoder.decode(path, options: options)
                            let (o, _, s) = box.value
                            clip.data.withUnsafeBufferPointer { src in
                                (o.baseAddress! + i * clipBytes).update(from: src.baseAddress!, count: clipBytes)
                            }
                            // Box mapping: scale by the resize, shift by the crop offset.
                            let (w, h) = clip.info.displaySize
                            let scale = Double(size) / Double(min(w, h))
                            s[i] = (scale, scale, (Double(w) * scale - Double(size)) / 2, (Double(h) * scale - Double(size)) / 2)
                        } catch {
                            box.value.1[i] = error
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
                guard skipBad else { throw DatasetError.clip(path: "\(folder)/\(entries[i].path)", problem: "\(e)") }
                skipped.append(entries[i].path)
            } else {
                keep.append(i)
            }
        }
        if keep.count < entries.count {
            var compact = [UInt8](repeating: 0, count: keep.count * clipBytes)
            for (k, i) in keep.enumerated() {
                compact.replaceSubrange((k * clipBytes)..<((k + 1) * clipBytes), with: storage[(i * clipBytes)..<((i + 1) * clipBytes)])
            }
            storage = compact
        }
        let boxes: [[[SyntheticRenderer.Box]]] = keep.map { i in
            let (sx, sy, dx, dy) = scales[i]
            return (entries[i].boxes ?? []).prefix(frames).map { frame in
                frame.map { b in
                    SyntheticRenderer.Box(x0: b.x0 * sx - dx, y0: b.y0 * sy - dy, x1: b.x1 * sx - dx, y1: b.y1 * sy - dy, label: b.label)
                }
            }
        }
        return ClipBank(
            framesPerClip: frames, size: size, labels: keep.map { entries[$0].label }, boxes: boxes, skipped: skipped,
            decodeSeconds: seconds, framesDecoded: keep.count * frames, storage: storage)
    }
}
