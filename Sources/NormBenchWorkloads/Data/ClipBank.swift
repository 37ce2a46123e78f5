import Foundation
import NormBenchEngine
import NormBenchVideo

/// Where a `ClipBank` keeps its decoded frames.
public enum ClipBankPlacement: Sendable {
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
    private let clips: [[UInt8]]
    /// The unlinked file, and each clip's byte offset in it.
    private let file: BankFile?
    private let offsets: [Int]

    public var count: Int { labels.count }
    /// Bytes of one stored frame.
    public var frameBytes: Int { size * size * 3 }
    /// Frames stored for clip `i`.
    public func frames(of i: Int) -> Int { frameCounts[i] }
    /// Bytes stored for clip `i`.
    public func clipBytes(_ i: Int) -> Int { frameCounts[i] * frameBytes }

    /// Frames `first..<first + count` of clip `i`, contiguous, valid during `body`:
    /// in place (memory), or read into `scratch`, which must hold `count × frameBytes`
    /// bytes (file). A caller that reads many windows passes one scratch for all.
    public func withFrames<R>(_ i: Int, first: Int, count: Int, scratch: UnsafeMutablePointer<UInt8>, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        precondition(first >= 0 && count >= 1 && first + count <= frameCounts[i], "ClipBank: frames \(first)..<\(first + count) outside clip \(i)'s \(frameCounts[i])")
        guard let file else {
            return clips[i].withUnsafeBufferPointer { body($0.baseAddress! + first * frameBytes) }
        }
        file.read(into: scratch, count: count * frameBytes, at: offsets[i] + first * frameBytes)
        return body(UnsafePointer(scratch))
    }

    /// Every frame of clip `i`, valid during `body`.
    public func withClip<R>(_ i: Int, _ body: (UnsafePointer<UInt8>) -> R) -> R {
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: file == nil ? 1 : clipBytes(i))
        defer { scratch.deallocate() }
        return withFrames(i, first: 0, count: frameCounts[i], scratch: scratch, body)
    }

    /// A bank of `clips` in memory, or, with `file`, of clips at `offsets` in it, `byteCounts` long.
    init(size: Int, labels: [Int], boxes: [[[SyntheticRenderer.Box]]], skipped: [String], decodeSeconds: Double,
         clips: [[UInt8]] = [], file: BankFile? = nil, offsets: [Int] = [], byteCounts: [Int] = []) {
        self.size = size
        self.labels = labels
        self.boxes = boxes
        self.skipped = skipped
        self.decodeSeconds = decodeSeconds
        self.clips = clips
        self.file = file
        self.offsets = offsets
        let frameBytes = size * size * 3
        let byteCounts = file == nil ? clips.map(\.count) : byteCounts
        frameCounts = byteCounts.map { $0 / frameBytes }
        framesDecoded = frameCounts.reduce(0, +)
        bytes = byteCounts.reduce(0, +)
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
        let file: BankFile?
        switch placement {
        case .memory: file = nil
        case let .file(folder): file = try BankFile(folder: folder)
        }
        /// One clip's outcome: its frames (in memory) or their place in the file, or why it failed.
        struct Decoded {
            var data: [UInt8] = [], offset = 0, byteCount = 0
            var error: String?
            var boxMapping = (sx: 1.0, sy: 1.0, dx: 0.0, dy: 0.0)
        }
        var results = [Decoded](repeating: Decoded(), count: entries.count)
        let start = DispatchTime.now().uptimeNanoseconds
        results.withUnsafeMutableBufferPointer { out in
            let box = UncheckedSendable(out)
            Parallel.forEach(chunks: entries.count, threads: threads) { i in
                var r = Decoded()
                defer { box.value[i] = r }
                let options = DecodeOptions(
                    sampling: .all, resize: .shortSide(size), crop: .center(width: size, height: size), threads: 1)
                do throws(VideoError) {
                    let clip = try ClipDecoder.decode("\(folder)/\(entries[i].path)", options: options)
                    guard clip.frames >= frames else {
                        r.error = "has \(clip.frames) frames but a window spans \(frames) (clip.frames, clip.stride); lower them or leave the clip out"
                        return
                    }
                    if let b = entries[i].boxes, b.count < clip.frames {
                        r.error = "has \(clip.frames) frames but its boxes list \(b.count); give one list per frame (an empty list for none)"
                        return
                    }
                    r.byteCount = clip.frames * frameBytes
                    clip.data.withUnsafeBufferPointer { src in
                        if let file {
                            r.offset = file.append(src.baseAddress!, count: r.byteCount)
                        } else {
                            r.data = Array(src.prefix(r.byteCount))
                        }
                    }
                    // Box mapping: scale by the resize, shift by the crop offset.
                    let (w, h) = clip.info.displaySize
                    let scale = Double(size) / Double(min(w, h))
                    r.boxMapping = (scale, scale, (Double(w) * scale - Double(size)) / 2, (Double(h) * scale - Double(size)) / 2)
                } catch {
                    r.error = "\(error)"
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let file, let failure = file.finish() { throw DatasetError.bankFile(folder: file.folder, problem: failure) }
        var keep: [Int] = []
        var skipped: [String] = []
        for (i, r) in results.enumerated() {
            if let e = r.error {
                guard skipBad else { throw DatasetError.clip(path: "\(folder)/\(entries[i].path)", problem: e) }
                skipped.append(entries[i].path)
            } else {
                keep.append(i)
            }
        }
        let boxes: [[[SyntheticRenderer.Box]]] = keep.map { i in
            let (sx, sy, dx, dy) = results[i].boxMapping
            return (entries[i].boxes ?? []).prefix(results[i].byteCount / frameBytes).map { frame in
                frame.map { b in
                    SyntheticRenderer.Box(x0: b.x0 * sx - dx, y0: b.y0 * sy - dy, x1: b.x1 * sx - dx, y1: b.y1 * sy - dy, label: b.label)
                }
            }
        }
        return ClipBank(
            size: size, labels: keep.map { entries[$0].label }, boxes: boxes, skipped: skipped, decodeSeconds: seconds,
            clips: file == nil ? keep.map { results[$0].data } : [],
            file: file, offsets: keep.map { results[$0].offset }, byteCounts: keep.map { results[$0].byteCount })
    }
}

/// An unlinked file of decoded clips: appended to from several decoding threads,
/// read back by offset, closed with its last reference (the bank's).
final class BankFile: @unchecked Sendable {
    let folder: String
    private let descriptor: Int32
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

    deinit { close(descriptor) }

    /// Writes `count` bytes at the end of the file; returns their offset. After a
    /// failed write, later appends write nothing (`finish` reports the failure).
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

    /// Flushes the file to the disk now, not by the kernel's flusher ~30 s later,
    /// in the middle of the first cell's timed steps. Returns the first write or
    /// flush failure, nil when every byte is on the disk.
    func finish() -> String? {
        if let failure = lock.withLock({ firstFailure }) { return failure }
        return fdatasync(descriptor) == 0 ? nil : "flushing decoded clips failed (\(String(cString: strerror(errno))))"
    }

    /// Reads `count` bytes at `offset` into `buffer`.
    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int, at offset: Int) {
        var done = 0
        while done < count {
            let r = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if r < 0, errno == EINTR { continue }
            // The file is the bank's own, written and unlinked by it: a failed read is an I/O failure of the disk.
            guard r > 0 else { fatalError("ClipBank: reading decoded clips back from their file in \(folder) failed (\(r < 0 ? String(cString: strerror(errno)) : "end of file")); rerun with --data-bank memory") }
            done += r
        }
    }
}
