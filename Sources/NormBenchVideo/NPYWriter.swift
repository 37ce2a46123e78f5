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

/// Writes a whole file under a temporary name in the same directory, then renames it,
/// so readers never see a partial file.
enum AtomicFile {
    static func write(_ data: Data, to path: String) throws(VideoError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial")
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
