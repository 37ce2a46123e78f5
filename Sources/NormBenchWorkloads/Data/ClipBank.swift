import Foundation
import NormBenchEngine
import NormBenchVideo

/// Where a `ClipBank` keeps its decoded frames.
public enum ClipBankPlacement: Sendable, Equatable {
    /// In the process's memory, one buffer per clip.
    case memory
    /// In a file in `folder` that is unlinked as soon as it is made (nothing is
    /// left behind, even if the process is killed), read window by window with
    /// `pread`. The kernel's page cache keeps the file's pages: outside the process,
    /// and given back to the system under memory pressure.
    case file(folder: String)
}

/// A data set decoded once: every frame of every clip as uint8 RGB at the
/// training size, so that sampling a window for a step is a copy, not a decode.
///
/// Layout: per clip, T×H×W×3 (channels-last, as the engine wants), where T is
/// the clip's own length (`frames(of:)`): a synthetic set's clips all have the
/// same length, a folder's may differ. The frames live in memory or in an
/// unlinked file (`ClipBankPlacement`); reads give the same bytes either way.
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
    /// Bytes of decoded frames: Σ frames_i × size² × 3.
    public let bytes: Int
    /// Of `bytes`, what the process's memory holds: all of it in memory, none in a file.
    public var residentBytes: Int { file == nil ? bytes : 0 }
    /// "memory" or "file".
    public var storage: String { file == nil ? "memory" : "file" }
    private let clips: [[UInt8]]
    /// The unlinked file and each clip's byte offset in it.
    private let file: (descriptor: Int32, offsets: [Int])?

    public var count: Int { labels.count }
    /// Bytes of one stored frame.
    public var frameBytes: Int { size * size * 3 }
    /// Frames stored for clip `i`.
    public func frames(of i: Int) -> Int { frameCounts[i] }
    /// Bytes stored for clip `i`.
    public func clipBytes(_ i: Int) -> Int { frameCounts[i] * frameBytes }

    /// Frames `first..<first + count` of clip `i`, contiguous, valid during `body`.
    /// From a file they are read into a buffer of their own (one window, freed after).
    public func withFrames<R>(_ i: Int, first: Int, count: Int, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        precondition(first >= 0 && count >= 1 && first + count <= frameCounts[i], "ClipBank: frames \(first)..<\(first + count) outside clip \(i)'s \(frameCounts[i])")
        guard let file else {
            return clips[i].withUnsafeBufferPointer { body($0.baseAddress! + first * frameBytes) }
        }
        let n = count * frameBytes
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
        defer { buffer.deallocate() }
        var done = 0
        while done < n {
            let r = pread(file.descriptor, buffer + done, n - done, off_t(file.offsets[i] + first * frameBytes + done))
            if r < 0, errno == EINTR { continue }
            // The file is the bank's own, written and unlinked by it: a failed read is an I/O failure of the disk.
            guard r > 0 else { fatalError("ClipBank: reading decoded clip \(i) back from its file failed (\(r < 0 ? String(cString: strerror(errno)) : "end of file")); rerun with --data-bank memory") }
            done += r
        }
        return body(UnsafePointer(buffer))
    }

    /// Every frame of clip `i` (see `withFrames`).
    public func withClip<R>(_ i: Int, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        withFrames(i, first: 0, count: frameCounts[i], body)
    }

    init(size: Int, labels: [Int], boxes: [[[SyntheticRenderer.Box]]], skipped: [String], decodeSeconds: Double,
         clips: [[UInt8]] = [], file: (descriptor: Int32, offsets: [Int], byteCounts: [Int])? = nil) {
        self.size = size
        self.labels = labels
        self.boxes = boxes
        self.skipped = skipped
        self.decodeSeconds = decodeSeconds
        self.clips = clips
        self.file = file.map { ($0.descriptor, $0.offsets) }
        let frameBytes = size * size * 3
        let byteCounts = file?.byteCounts ?? clips.map(\.count)
        frameCounts = byteCounts.map { $0 / frameBytes }
        framesDecoded = frameCounts.reduce(0, +)
        bytes = byteCounts.reduce(0, +)
    }

    deinit {
        if let file { close(file.descriptor) }
    }

    /// Decodes the clips of `split` listed in `manifest` (paths relative to `folder`).
    ///
    /// Each clip is scaled so its shorter side is `size` and centre-cropped to
    /// `size`×`size`; every frame is kept. Clips decode in parallel, one decoder
    /// thread each; with `.file` placement each decoded clip goes to the file at once.
    /// - Parameters:
    ///   - frames: the frames a clip must have at least (one window's span); a
    ///     shorter clip fails, naming it.
    ///   - skipBad: count and skip clips that fail instead of failing.
    /// - Throws: `DatasetError.clip` (a clip), `DatasetError.bankFile` (the file cannot be made or written).
    public static func decode(
        manifest: DatasetManifest, folder: String, split: String, size: Int, frames: Int,
        threads: Int = Parallel.threads, skipBad: Bool = false, placement: ClipBankPlacement = .memory
    ) throws -> ClipBank {
        let entries = manifest.entries.filter { $0.split == split }
        let frameBytes = size * size * 3
        let writer = try placement.writer()
        var clips = [[UInt8]](repeating: [], count: writer == nil ? entries.count : 0)
        var offsets = [Int](repeating: 0, count: entries.count)
        var byteCounts = [Int](repeating: 0, count: entries.count)
        var errors = [String?](repeating: nil, count: entries.count)
        var scales = [(Double, Double, Double, Double)](repeating: (1, 1, 0, 0), count: entries.count)
        let start = DispatchTime.now().uptimeNanoseconds
        clips.withUnsafeMutableBufferPointer { out in
            errors.withUnsafeMutableBufferPointer { errs in
                scales.withUnsafeMutableBufferPointer { sc in
                    offsets.withUnsafeMutableBufferPointer { off in
                        byteCounts.withUnsafeMutableBufferPointer { counts in
                            let box = UncheckedSendable((out, errs, sc, off, counts))
                            Parallel.forEach(chunks: entries.count, threads: threads) { i in
                                let (o, e, s, off, counts) = box.value
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
                                    counts[i] = n
                                    clip.data.withUnsafeBufferPointer { src in
                                        if let writer {
                                            off[i] = writer.append(src.baseAddress!, count: n)
                                        } else {
                                            o[i] = [UInt8](unsafeUninitializedCapacity: n) { dst, count in
                                                dst.baseAddress!.update(from: src.baseAddress!, count: n)
                                                count = n
                                            }
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
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Written to the disk now, not by the kernel's flusher ~30 s later, in the middle of the first cell's timed steps.
        if let writer, let failure = writer.failure ?? (fdatasync(writer.descriptor) == 0 ? nil : "flushing decoded clips failed (\(String(cString: strerror(errno))))") {
            close(writer.descriptor)
            throw DatasetError.bankFile(folder: writer.folder, problem: failure)
        }
        var keep: [Int] = []
        var skipped: [String] = []
        for i in entries.indices {
            if let e = errors[i] {
                guard skipBad else {
                    if let writer { close(writer.descriptor) }
                    throw DatasetError.clip(path: "\(folder)/\(entries[i].path)", problem: e)
                }
                skipped.append(entries[i].path)
            } else {
                keep.append(i)
            }
        }
        let boxes: [[[SyntheticRenderer.Box]]] = keep.map { i in
            let (sx, sy, dx, dy) = scales[i]
            return (entries[i].boxes ?? []).prefix(byteCounts[i] / frameBytes).map { frame in
                frame.map { b in
                    SyntheticRenderer.Box(x0: b.x0 * sx - dx, y0: b.y0 * sy - dy, x1: b.x1 * sx - dx, y1: b.y1 * sy - dy, label: b.label)
                }
            }
        }
        return ClipBank(
            size: size, labels: keep.map { entries[$0].label }, boxes: boxes, skipped: skipped, decodeSeconds: seconds,
            clips: writer == nil ? keep.map { clips[$0] } : [],
            file: writer.map { ($0.descriptor, keep.map { offsets[$0] }, keep.map { byteCounts[$0] }) })
    }
}

/// Appends decoded clips to an unlinked file from several decoding threads.
private final class BankFileWriter: @unchecked Sendable {
    let folder: String
    let descriptor: Int32
    private let lock = NSLock()
    private var end = 0
    private var firstFailure: String?

    init(folder: String) throws(DatasetError) {
        self.folder = folder
        var template = Array("\(folder)/.normbench-bank-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw DatasetError.bankFile(folder: folder, problem: "cannot create a file there (\(String(cString: strerror(errno))))") }
        // Unlinked at once: the space is the process's until it exits, however it exits.
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        descriptor = fd
    }

    /// The first write error, if any (later appends are skipped after one).
    var failure: String? { lock.withLock { firstFailure } }

    /// Writes `count` bytes at the end of the file; returns their offset.
    func append(_ bytes: UnsafePointer<UInt8>, count: Int) -> Int {
        let offset: Int? = lock.withLock {
            guard firstFailure == nil else { return nil }
            defer { end += count }
            return end
        }
        guard let offset else { return 0 }
        var done = 0
        while done < count {
            let w = pwrite(descriptor, bytes + done, count - done, off_t(offset + done))
            if w < 0, errno == EINTR { continue }
            guard w > 0 else {
                let why = w < 0 ? String(cString: strerror(errno)) : "nothing written"
                lock.withLock { if firstFailure == nil { firstFailure = "writing decoded clips failed (\(why))" } }
                return 0
            }
            done += w
        }
        return offset
    }
}

extension ClipBankPlacement {
    fileprivate func writer() throws(DatasetError) -> BankFileWriter? {
        switch self {
        case .memory: return nil
        case let .file(folder): return try BankFileWriter(folder: folder)
        }
    }
}
