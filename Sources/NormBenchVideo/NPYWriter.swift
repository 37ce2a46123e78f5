import Foundation

/// Writes arrays as NumPy `.npy` files (format version 1.0), so any Python user can
/// `numpy.load` a decoded clip.
///
/// Header: magic `\x93NUMPY`, version 1.0, little-endian header length, then a
/// Python dict literal `{'descr': '|u1', 'fortran_order': False, 'shape': (T, H, W, 3), }`
/// padded with spaces and a newline so the data starts on a 64-byte boundary.
public enum NPYWriter {
    /// Writes uint8 data of `shape` to `path` (atomically: temporary file, then rename).
    public static func write(_ data: [UInt8], shape: [Int], to path: String) throws(VideoError) {
        try write(descr: "|u1", shape: shape, count: data.count, to: path) { data.withUnsafeBytes { Data($0) } }
    }

    /// Writes float32 data of `shape` to `path` (little-endian `<f4`).
    public static func write(_ data: [Float], shape: [Int], to path: String) throws(VideoError) {
        try write(descr: "<f4", shape: shape, count: data.count, to: path) { data.withUnsafeBytes { Data($0) } }
    }

    /// The header for `descr` and `shape`, padded to a multiple of 64 bytes.
    public static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xff), UInt8(length >> 8)] + Array(dict.utf8)
    }

    private static func write(descr: String, shape: [Int], count: Int, to path: String, body: () -> Data) throws(VideoError) {
        precondition(shape.reduce(1, *) == count, "NPYWriter: shape \(shape) does not match \(count) elements")
        var file = Data(header(descr: descr, shape: shape))
        file.append(body())
        try AtomicFile.write(file, to: path)
    }
}

/// Writes a `.npy` file frame by frame as frames are decoded, so memory stays flat in
/// clip length. The file is written under a temporary name; the header (room for any
/// shape) is rewritten with the final shape by `finish`, then the file is renamed.
public final class NPYStreamWriter: @unchecked Sendable {
    public let path: String
    private let float: Bool
    private let scale: [Float], shift: [Float]
    private var handle: FileHandle?
    private let temporary: String
    private var converted: [Float] = []
    /// Bytes reserved for the header: enough for a 4-D shape of 19-digit numbers.
    public static let headerBytes = 192

    /// - Parameters:
    ///   - float: write float32 `(x / 255 − mean) / std` instead of uint8, computed as
    ///     `Clip.floatData` computes it (x × 1/(255·std) − mean/std).
    public init(path: String, float: Bool, mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) {
        self.path = path
        self.float = float
        scale = (0..<3).map { 1 / (255 * std[$0]) }
        shift = (0..<3).map { -mean[$0] / std[$0] }
        temporary = AtomicFile.temporaryPath(for: path)
    }

    /// Appends one H×W×3 frame.
    public func append(_ frame: UnsafeBufferPointer<UInt8>) throws(VideoError) {
        do {
            if handle == nil {
                AtomicFile.removeStale(for: path)
                guard FileManager.default.createFile(atPath: temporary, contents: Data(count: Self.headerBytes)),
                      let h = FileHandle(forWritingAtPath: temporary) else {
                    throw VideoError.writeFailed(path: path, message: "cannot create \(temporary)")
                }
                try h.seekToEnd()
                handle = h
            }
            if float {
                converted.removeAll(keepingCapacity: true)
                // The same arithmetic as Clip.floatData, so the values are bit for bit the same.
                for (i, x) in frame.enumerated() { converted.append(Float(x) * scale[i % 3] + shift[i % 3]) }
                try handle!.write(contentsOf: converted.withUnsafeBytes { Data($0) })
            } else {
                try handle!.write(contentsOf: Data(buffer: frame))
            }
        } catch let error as VideoError {
            discard()
            throw error
        } catch {
            discard()
            throw .writeFailed(path: path, message: error.localizedDescription)
        }
    }

    /// Writes the header for `shape` (T, H, W, 3) and renames the file into place.
    public func finish(shape: [Int]) throws(VideoError) {
        if handle == nil {  // no frame: still a valid file
            AtomicFile.removeStale(for: path)
            FileManager.default.createFile(atPath: temporary, contents: Data(count: Self.headerBytes))
            handle = FileHandle(forWritingAtPath: temporary)
        }
        var header = NPYWriter.header(descr: float ? "<f4" : "|u1", shape: shape)
        // Pad the dict to the reserved size (spaces before the closing newline).
        header.removeLast()
        header += [UInt8](repeating: 0x20, count: Self.headerBytes - header.count - 1) + [0x0a]
        let length = UInt16(Self.headerBytes - 10)
        header[8] = UInt8(length & 0xff)
        header[9] = UInt8(length >> 8)
        do {
            try handle?.seek(toOffset: 0)
            try handle?.write(contentsOf: Data(header))
            try handle?.close()
            handle = nil
        } catch {
            discard()
            throw .writeFailed(path: path, message: error.localizedDescription)
        }
        if rename(temporary, path) != 0 {
            let message = String(cString: strerror(errno))
            discard()
            throw .writeFailed(path: path, message: message)
        }
    }

    /// Removes the temporary file (the clip failed).
    public func discard() {
        try? handle?.close()
        handle = nil
        unlink(temporary)
    }
}

/// Writes a whole file under a temporary name in the same directory, then renames it,
/// so readers never see a partial file.
enum AtomicFile {
    /// `.<name>.<pid>.partial` next to `path`.
    static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial").path
    }

    /// Removes temporary files left for `path` by processes that no longer run (killed writes).
    static func removeStale(for path: String) {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent)."
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where name.hasPrefix(prefix) && name.hasSuffix(".partial") {
            let pidText = name.dropFirst(prefix.count).dropLast(".partial".count)
            guard let pid = Int32(pidText), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(dir + "/" + name) }
        }
    }

    static func write(_ data: Data, to path: String) throws(VideoError) {
        removeStale(for: path)
        let temporary = URL(fileURLWithPath: temporaryPath(for: path))
        do {
            try data.write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .writeFailed(path: path, message: "\(error.localizedDescription)")
        }
        if rename(temporary.path, path) != 0 {
            let message = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw .writeFailed(path: path, message: message)
        }
    }
}

/// Frames kept on disk instead of in memory: uint8 H×W×3 frames, one after another, in a
/// temporary file next to an output, for outputs that need every frame before they can be
/// written (a C×T×H×W `.npy` needs T before its first plane is complete; a contact sheet
/// needs the frame count for its grid). A second pass reads them back a few at a time.
public final class FrameSpool: @unchecked Sendable {
    /// The file the frames are in.
    public let path: String
    /// Where the frames start in `path`.
    public let offset: Int
    /// Frames written (or, for an existing file, held).
    public private(set) var frames: Int
    /// Bytes per frame (0 until the first frame).
    public private(set) var frameBytes: Int
    private let reportedPath: String
    private let owned: Bool
    private var fd: Int32 = -1

    /// A spool written frame by frame to `.<target>.frames.<pid>.partial` next to `target`;
    /// write errors name `reportedPath` (the output the user asked for).
    public init(nextTo target: String, reportedPath: String? = nil) {
        path = AtomicFile.temporaryPath(for: target + ".frames")
        AtomicFile.removeStale(for: target + ".frames")
        offset = 0
        frames = 0
        frameBytes = 0
        self.reportedPath = reportedPath ?? target
        owned = true
    }

    /// Frames already in a file (e.g. a streamed T×H×W×C `.npy` past its header); never removed.
    public init(reading path: String, offset: Int, frames: Int, frameBytes: Int) {
        self.path = path
        self.offset = offset
        self.frames = frames
        self.frameBytes = frameBytes
        reportedPath = path
        owned = false
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Appends one H×W×3 frame.
    public func append(_ frame: UnsafeBufferPointer<UInt8>) throws(VideoError) {
        precondition(owned, "FrameSpool: appending to a file it does not own")
        if fd < 0 {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd < 0 { throw failure("cannot create \(path): \(String(cString: strerror(errno)))") }
            frameBytes = frame.count
        }
        precondition(frame.count == frameBytes, "FrameSpool: frames of \(frame.count) and \(frameBytes) bytes")
        do {
            try Self.writeAll(fd, UnsafeRawBufferPointer(frame), at: offset + frames * frameBytes)
        } catch {
            discard()
            throw failure(error.message)
        }
        frames += 1
    }

    /// Reads frames `first ..< first + count` into `buffer` (at least `count × frameBytes` bytes).
    public func read(first: Int, count: Int, into buffer: UnsafeMutableRawBufferPointer) throws(VideoError) {
        precondition(first >= 0 && count >= 0 && first + count <= frames && buffer.count >= count * frameBytes)
        if fd >= 0 && owned { close(fd); fd = -1 }  // writing is over
        if fd < 0 {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw failure("cannot read back \(path): \(String(cString: strerror(errno)))") }
        }
        var done = 0
        let total = count * frameBytes
        while done < total {
            let n = pread(fd, buffer.baseAddress! + done, total - done, off_t(offset + first * frameBytes + done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw failure("cannot read back \(path): " + (n == 0 ? "file ends early" : String(cString: strerror(errno)))) }
            done += n
        }
    }

    /// Removes the temporary file (when the spool owns it). Safe to call more than once.
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        if owned { unlink(path) }
    }

    private func failure(_ message: String) -> VideoError { .writeFailed(path: reportedPath, message: message) }

    struct IOFailure: Error { let message: String }

    /// Writes all of `bytes` at `offset` (pwrite may write less than asked).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(IOFailure) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw IOFailure(message: n == 0 ? "nothing written" : String(cString: strerror(errno))) }
            done += n
        }
    }
}

extension NPYWriter {
    /// Writes the frames of `spool` (H×W×3 each) as a C×T×H×W `.npy` at `path`, reading a
    /// few frames at a time, so memory does not depend on the frame count. Bytes equal
    /// `write(clip.uint8Data(layout: .cthw), ...)` or, with `float`,
    /// `write(clip.floatData(layout: .cthw, mean:, std:), ...)` for the same frames.
    /// Written under a temporary name, then renamed; nothing is left on failure.
    public static func writeCTHW(from spool: FrameSpool, height: Int, width: Int, float: Bool,
                                 mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1], to path: String) throws(VideoError) {
        precondition(mean.count == 3 && std.count == 3, "NPYWriter.writeCTHW: mean and std need 3 values (R, G, B)")
        let t = spool.frames, plane = height * width, frameBytes = plane * 3
        precondition(t == 0 || spool.frameBytes == frameBytes, "NPYWriter.writeCTHW: \(spool.frameBytes)-byte frames for \(width)x\(height)x3")
        let header = NPYWriter.header(descr: float ? "<f4" : "|u1", shape: [3, t, height, width])
        let element = float ? 4 : 1
        // The same arithmetic as Clip.floatData, so the values are bit for bit the same.
        let scale = (0..<3).map { 1 / (255 * std[$0]) }
        let shift = (0..<3).map { -mean[$0] / std[$0] }
        AtomicFile.removeStale(for: path)
        let temporary = AtomicFile.temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw .writeFailed(path: path, message: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        // About 4 MB of frames per read.
        let batch = max(1, min(t, (4 << 20) / max(1, frameBytes)))
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, batch * frameBytes), alignment: 16)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, batch * plane * element), alignment: 16)
        defer {
            input.deallocate()
            output.deallocate()
        }
        var failure: VideoError?
        do throws(FrameSpool.IOFailure) {
            let headerError = header.withUnsafeBytes { bytes -> FrameSpool.IOFailure? in
                do throws(FrameSpool.IOFailure) { try FrameSpool.writeAll(fd, bytes, at: 0) } catch { return error }
                return nil
            }
            if let headerError { throw headerError }
            var t0 = 0
            while t0 < t {
                let n = min(batch, t - t0)
                do throws(VideoError) {
                    try spool.read(first: t0, count: n, into: input)
                } catch {
                    failure = error
                    break
                }
                let src = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let count = n * plane
                for c in 0..<3 {
                    if float {
                        let dst = output.baseAddress!.assumingMemoryBound(to: Float.self)
                        let (s, b) = (scale[c], shift[c])
                        for p in 0..<count { dst[p] = Float(src[p &* 3 &+ c]) * s + b }
                    } else {
                        let dst = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        for p in 0..<count { dst[p] = src[p &* 3 &+ c] }
                    }
                    try FrameSpool.writeAll(fd, UnsafeRawBufferPointer(start: output.baseAddress, count: count * element),
                                            at: header.count + (c * t + t0) * plane * element)
                }
                t0 += n
            }
        } catch {
            failure = .writeFailed(path: path, message: error.message)
        }
        if let failure {
            close(fd)
            unlink(temporary)
            throw failure
        }
        if close(fd) != 0 {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw .writeFailed(path: path, message: message)
        }
        if rename(temporary, path) != 0 {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw .writeFailed(path: path, message: message)
        }
    }
}
