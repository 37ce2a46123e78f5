import Foundation

/// FNV-1a 64-bit: a fast, dependency-free content digest (not cryptographic).
/// The one implementation of it: data set files and manifests, model states,
/// numerics fingerprints and the ranks' sweep digests all use this.
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// The digest of `text`'s UTF-8 bytes, hex.
    public static func hex(of text: String) -> String {
        var h = FNV1a()
        h.add(text)
        return h.hex
    }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        value = h
    }

    public mutating func add(_ text: String) {
        var t = text
        t.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    public mutating func add(_ data: Data) {
        data.withUnsafeBytes { add($0) }
    }

    /// The values' bytes in memory order (little-endian float32 on every supported CPU).
    public mutating func add(_ values: [Float]) {
        values.withUnsafeBytes { add($0) }
    }

    /// 16 hex digits, zero-padded.
    public var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - s.count)) + s
    }

    /// Digest of a file's bytes, or nil when it cannot be read.
    public static func file(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var h = FNV1a()
        h.add(data)
        return h.hex
    }
}
