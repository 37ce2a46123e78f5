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
    private let mean: [Float], std: [Float]
    private var handle: FileHandle?
    private let temporary: String
    private var converted: [Float] = []
    /// Bytes reserved for the header: enough for a 4-D shape of 19-digit numbers.
    static let headerBytes = 192

    /// - Parameters:
    ///   - float: write float32 `(x / 255 − mean) / std` instead of uint8.
    public init(path: String, float: Bool, mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) {
        self.path = path
        self.float = float
        self.mean = mean
        self.std = std
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
                for (i, x) in frame.enumerated() { converted.append((Float(x) / 255 - mean[i % 3]) / std[i % 3]) }
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
