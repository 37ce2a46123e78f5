import Foundation

/// The safetensors file format (as Hugging Face's `safetensors` library reads
/// and writes it), for float32 tensors.
///
/// Layout: 8 bytes, a little-endian u64 N; N bytes of UTF-8 JSON, the header,
/// `{"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {"<key>": "<text>", ...}}`, padded with spaces so that the
/// data starts at a multiple of 8; then the tensors' bytes, little-endian,
/// row-major (last dimension fastest). Offsets are relative to the start of the
/// data; the tensors' ranges are contiguous, in the order written, from 0 to
/// the end of the file.
public enum SafeTensors {
    /// One named float32 tensor.
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// A decoded file: its tensors in data order, and its metadata.
    public struct File: Sendable {
        public var entries: [Entry]
        public var metadata: [String: String]

        public init(entries: [Entry], metadata: [String: String]) {
            self.entries = entries
            self.metadata = metadata
        }

        /// The tensor named `name`, if any.
        public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }
    }

    /// Largest header accepted when reading (as the reference implementation: 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// The file's bytes: header (tensors in the given order, then `__metadata__`)
    /// and data. Names must be unique and not `__metadata__`.
    public static func encode(_ entries: [Entry], metadata: [String: String]) -> [UInt8] {
        var header = "{"
        var offset = 0
        for e in entries {
            precondition(e.values.count == e.shape.reduce(1, *), "SafeTensors: \(e.name) has \(e.values.count) values for shape \(e.shape)")
            let end = offset + 4 * e.values.count
            header += "\(jsonString(e.name)):{\"dtype\":\"F32\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]},"
            offset = end
        }
        let meta = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
        header += "\"__metadata__\":{\(meta)}}"
        var headerBytes = Array(header.utf8)
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out += $0 }
        out += headerBytes
        for e in entries {
            for v in e.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        }
        return out
    }

    /// Parses a file's bytes.
    /// - Throws: `SafeTensorsError` saying what is malformed.
    public static func decode(_ bytes: [UInt8]) throws(SafeTensorsError) -> File {
        guard bytes.count >= 8 else { throw .malformed("is \(bytes.count) bytes long, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(maxHeaderBytes), Int(n) <= bytes.count - 8 else {
            throw .malformed("declares a \(n)-byte header but the file has \(bytes.count - 8) bytes after the length")
        }
        let headerEnd = 8 + Int(n)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw .malformed("has a header that is not JSON")
        }
        guard let header = json as? [String: Any] else { throw .malformed("has a header that is not a JSON object") }
        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let m = m as? [String: Any] else { throw .malformed("has __metadata__ that is not an object of strings") }
            for (k, v) in m {
                guard let s = v as? String else { throw .malformed("has __metadata__ entry \(k) that is not a string") }
                metadata[k] = s
            }
        }
        let dataCount = bytes.count - headerEnd
        var spans: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any] else { throw .malformed("has tensor \(name) whose entry is not an object") }
            guard let dtype = info["dtype"] as? String else { throw .malformed("has tensor \(name) without a dtype") }
            guard dtype == "F32" else { throw .unsupported("tensor \(name) has dtype \(dtype); only F32 is read") }
            guard let shape = integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw .malformed("has tensor \(name) without a shape of non-negative integers")
            }
            guard let offsets = integers(info["data_offsets"]), offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw .malformed("has tensor \(name) without data_offsets [begin, end]")
            }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw .malformed("has tensor \(name) with a shape too large: \(shape)") }
                elements = p
            }
            guard elements <= (Int.max / 4), offsets[1] - offsets[0] == 4 * elements else {
                throw .malformed("has tensor \(name) whose \(offsets[1] - offsets[0]) bytes do not hold shape \(shape) in F32 (\(elements) × 4 bytes)")
            }
            spans.append((name, shape, offsets[0], offsets[1]))
        }
        spans.sort { $0.begin != $1.begin ? $0.begin < $1.begin : $0.end < $1.end }
        var expected = 0
        for s in spans {
            guard s.begin == expected else {
                throw .malformed("has tensor \(s.name) at data offset \(s.begin) where \(expected) was expected (tensors must be contiguous)")
            }
            expected = s.end
        }
        guard expected == dataCount else {
            throw .malformed("has \(dataCount) data bytes but its tensors cover \(expected)")
        }
        let entries = spans.map { s -> Entry in
            var values = [Float](repeating: 0, count: (s.end - s.begin) / 4)
            for i in 0..<values.count {
                let p = headerEnd + s.begin + 4 * i
                let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
                values[i] = Float(bitPattern: bits)
            }
            return Entry(name: s.name, shape: s.shape, values: values)
        }
        return File(entries: entries, metadata: metadata)
    }

    /// Writes `bytes` to `path` so that a reader sees the old file or the whole
    /// new one: a temporary file in the same folder, flushed, renamed over `path`.
    /// Creates the folder.
    /// - Throws: `SafeTensorsError.io` naming the path and the system's reason.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(SafeTensorsError) {
        do { try AtomicWrite.write(Data(bytes), to: path) } catch { throw .io(path: path, reason: error.reason) }
    }

    /// Encodes and writes atomically (`encode`, `writeAtomically`); returns the bytes written.
    @discardableResult
    public static func write(_ entries: [Entry], metadata: [String: String], to path: String) throws(SafeTensorsError) -> [UInt8] {
        let bytes = encode(entries, metadata: metadata)
        try writeAtomically(bytes, to: path)
        return bytes
    }

    /// Reads and decodes the file at `path` (a regular file).
    public static func read(path: String) throws(SafeTensorsError) -> File {
        try decode(readBytes(path: path))
    }

    /// The bytes of the regular file at `path`.
    public static func readBytes(path: String) throws(SafeTensorsError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .io(path: path, reason: "no such file") }
        guard !isDirectory.boolValue else { throw .io(path: path, reason: "is a folder, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw .io(path: path, reason: "not readable") }
        return [UInt8](data)
    }

    private static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var out: [Int] = []
        for item in list {
            guard let n = item as? NSNumber, let i = Int(exactly: n.doubleValue) else { return nil }
            out.append(i)
        }
        return out
    }

    /// `s` as a JSON string literal.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// A safetensors file that cannot be read or written. One line each.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not a valid safetensors file: what is wrong ("has ...").
    case malformed(String)
    /// Valid, but holds what this reader does not take.
    case unsupported(String)
    /// The file system refused.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let what): "not a safetensors file: it \(what)"
        case .unsupported(let what): "unsupported safetensors content: \(what)"
        case let .io(path, reason): "\(path): \(reason)"
        }
    }
}
